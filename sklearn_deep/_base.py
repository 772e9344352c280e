"""The shared estimator: parameters common to all, the one ``fit`` skeleton,
prediction plumbing, devices, seeding and persistence.

A family class (``MLPClassifier``, ``CNNRegressor``, ...) adds only its
parameters, ``_build_module``, and the kind of its inputs (``_input_kind``, one
of ``_data``'s ``TableInput``, ``ImageInput`` or ``SequenceInput``), which
validates X and turns it into the network's tensors.
"""

import contextlib
import copy
import dataclasses
import functools
import os
import tempfile
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
)

from sklearn_deep import _engine
from sklearn_deep._data import (
    Batch,
    TableInput,
    length_order,
    network_inputs,
    pad_rows,
    padded_batches,
    predict_batches,
    split_batch,
    unpadded_inputs,
    writable_storage,
)
from sklearn_deep._modules import (
    ACTIVATIONS,
    TargetAffine,
    seeded_global_rng,
    use_generators,
)
from sklearn_deep._modules._mlp import forget_numpy_copies
from sklearn_deep._persist import module_arrays, rebuild_module, shadowing
from sklearn_deep.callbacks import StopTraining, check_callbacks
from sklearn_deep.utils._compat import (
    SKLEARN_CALLBACKS,
    CallbackSupportMixin,
    Interval,
    StrOptions,
    _fit_context,
)
from sklearn_deep.utils._warnings import warn

_MAX_SEED = np.iinfo(np.int32).max

# the fitted attributes that hold an _engine.History, by its field names
_HISTORY_ATTRIBUTES = {
    "n_iter": "n_iter_",
    "t": "t_",
    "loss": "loss_",
    "loss_curve": "loss_curve_",
    "best_loss": "best_loss_",
    "validation_scores": "validation_scores_",
    "best_validation_score": "best_validation_score_",
    "no_improvement_count": "_no_improvement_count",
    "schedule_step": "_schedule_step",
    "validation_loss_curve": "_validation_loss_curve",
    "learning_rate_curve": "_learning_rate_curve",
    "epoch_seconds": "_epoch_seconds",
}

# early_stopping='auto' holds out a validation split of at least this many
# samples, or none: the log-loss of fewer picked epochs by chance
_AUTO_MIN_VALIDATION = 10

# what scikit-learn 1.9's callback machinery keeps on the estimator during a
# fit (its teardown needs them, so a failed fit's rollback keeps them)
_CALLBACK_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")

# Constraints of the parameters that several families take, written once; a
# family picks its own with shared_constraints(...).
_SHARED_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "class_weight": [dict, StrOptions({"balanced"}), None],
    "input_scaling": [StrOptions({"standard"}), None],
    # the families whose 'auto' budget follows the training set's size
    "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
}


def shared_constraints(*names):
    """The shared ``_parameter_constraints`` entries of ``names``, copied."""
    return {name: list(_SHARED_CONSTRAINTS[name]) for name in names}


def positive_ints(name, value, *, example="(100,)", empty=True):
    """``value`` (an int or a sequence of ints) as a list of positive ints.

    A ValueError names the parameter, the value and an example otherwise;
    ``empty=False`` also refuses an empty sequence.
    """
    values = list(value) if np.iterable(value) else [value]
    bad = any(not isinstance(v, Integral | np.integer) or v <= 0 for v in values)
    if bad or not (values or empty):
        raise ValueError(
            f"{name} must hold positive integers, got {value!r}; for example {example}."
        )
    return [int(v) for v in values]


def resolve_device(device):
    """Turn the ``device`` parameter into a ``torch.device`` that exists here."""
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; pass 'auto', 'cpu', "
            f"'cuda', 'cuda:N' or 'mps'."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but CUDA is not available here (torch "
                f"{torch.__version__}, CUDA build: {torch.version.cuda}). Pass "
                f"device='auto' to use a GPU only when there is one."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} but this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} but MPS is not available here; pass "
                f"device='auto' or 'cpu'."
            )
    return resolved


# The 'auto' budget of signals and sequences (see BaseDeepEstimator._auto_budget).
SMALL_DATA_BUDGET = {"batch": (8, 32), "samples": 10_000, "epochs": (20, 300)}


class BaseDeepEstimator(CallbackSupportMixin, BaseEstimator):
    """Base class of every sklearn_deep estimator. Not for direct use."""

    _parameter_constraints: dict = {
        "solver": [StrOptions({"sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [
            StrOptions(
                {"constant", "invscaling", "adaptive", "cosine", "onecycle", "plateau"}
            )
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "callbacks": [list, tuple, None],
        "precision": [StrOptions({"32", "bf16-mixed", "16-mixed"})],
        "compile": ["boolean", str],
        "n_devices": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"torchrun"}),
            None,
        ],
    }

    # What X is: validation, tensors, the network's input, augmentation, the
    # fast predict path, tags and the X docs (see _data's input kinds)
    _input_kind = TableInput()

    if SKLEARN_CALLBACKS:

        def set_callbacks(self, *callbacks):
            """Set scikit-learn callbacks (``sklearn.callback``, scikit-learn 1.9).

            The fit is a task whose subtasks are the epochs, so a search's
            ``ProgressBar`` shows them; a callback's ``on_fit_task_end``
            returning True stops training after that epoch. This package's
            own callbacks go in the ``callbacks`` parameter instead.

            Parameters
            ----------
            *callbacks : callback instances
                Objects following scikit-learn's ``FitCallback`` protocol.

            Returns
            -------
            self : object
                The estimator itself.
            """
            name = type(self).__name__
            for callback in callbacks:
                if hasattr(callback, "on_epoch_end") and not hasattr(
                    callback, "on_fit_task_end"
                ):
                    what = type(callback).__name__
                    raise TypeError(
                        f"{what} is a sklearn_deep callback: pass it as "
                        f"{name}(callbacks=[{what}(...)]) (or set_params("
                        f"callbacks=[...])); set_callbacks takes scikit-learn's "
                        f"callbacks (sklearn.callback)."
                    )
            return super().set_callbacks(*callbacks)

    # The parameters that shape the network (or how X is read into it): a
    # network kept by warm_start or partial_fit must have been built with
    # their current values
    _module_params = ()

    # ------------------------------------------------------------------
    # Hooks a family may override

    def _build_module(self, n_features_in, n_outputs):
        """Return a fresh ``torch.nn.Module`` mapping inputs to logits."""
        raise NotImplementedError

    def _penalty(self, n_samples):
        """The penalty (``_engine.Penalty``) of a fit on ``n_samples``; scikit-learn's
        MLP rule here.

        ``alpha`` is divided by the batch's total sample weight, except for
        AdamW, where it is the decoupled weight decay.
        """
        if self._resolved_solver() == "adamw":
            return _engine.Penalty(l2=self.alpha)
        return _engine.Penalty(l2=self.alpha, per_batch=True)

    def _resolved_solver(self):
        return self.solver

    def _resolved_learning_rate_init(self):
        return self.learning_rate_init

    def _check_params(self):
        """Rules linking several parameters, checked at the top of ``fit``."""
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name, None)
            takes_int = any(
                isinstance(c, Interval) and c.type is Integral for c in constraints
            )
            if isinstance(value, bool) and takes_int and "boolean" not in constraints:
                raise TypeError(
                    f"{name} must be an int, got the bool {value!r}; pass a number."
                )
        if self.n_devices not in (None, 1):
            if self._resolved_solver() not in _engine.STOCHASTIC_SOLVERS:
                raise ValueError(
                    f"n_devices={self.n_devices!r} trains by mini-batches, but "
                    f"solver={self._resolved_solver()!r} is full-batch; use a "
                    f"stochastic solver ('adam', 'sgd', ...) or n_devices=None."
                )
            if self.callbacks or getattr(self, "_skl_callbacks", None):
                raise ValueError(
                    f"callbacks cannot run with n_devices={self.n_devices!r}: "
                    f"training runs in other processes. Set callbacks=None, or "
                    f"n_devices=None to use them."
                )
        if self.early_stopping is True and self.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True needs validation_fraction > 0 to hold out "
                "a validation split; got validation_fraction=0."
            )
        self._input_kind.check_params(self)
        check_callbacks(self.callbacks, type(self).__name__)

    # ------------------------------------------------------------------
    # The one fit skeleton

    # The 'auto' budget of the families without a scikit-learn counterpart
    # (None: scikit-learn's rules, batch_size='auto' is min(200, n_samples)).
    # Small data needs many small steps (the FCN recipe of Wang et al. 2017:
    # batches of n / 10, 2000 epochs); a CPU minute affords about 10,000
    # training samples' worth of steps on the UCR sets, which reached the
    # published accuracies (docs/accuracy.md). Keys: the batch size is
    # n_samples / 10 clipped to ``batch``; the epochs ``samples / n_samples``
    # clipped to ``epochs``. SMALL_DATA_BUDGET is that rule.
    _auto_budget = None

    # what early stopping compares between epochs (_engine.TrainConfig.monitor)
    _early_stopping_monitor = "score"

    def _effective_batch_size(self, n_samples):
        if self.batch_size == "auto":
            if self._auto_budget is None:
                return min(200, n_samples)
            low, high = self._auto_budget["batch"]
            return min(n_samples, max(low, min(high, n_samples // 10)))
        if self.batch_size > n_samples:
            warn(
                f"Got batch_size={self.batch_size} larger than the "
                f"{n_samples} training samples; it is clipped to {n_samples}."
            )
            return n_samples
        return self.batch_size

    def _effective_max_iter(self, n_samples):
        """``max_iter``, with 'auto' resolved from the training set's size."""
        if not (isinstance(self.max_iter, str) and self.max_iter == "auto"):
            return self.max_iter
        low, high = self._auto_budget["epochs"]
        return int(min(high, max(low, round(self._auto_budget["samples"] / n_samples))))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on X and y.

        Parameters
        ----------
        {{X}}

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets: class labels for classifiers, real numbers for
            regressors.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples in the loss. With ``class_weight``, the two
            multiply.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        saved = dict(self.__dict__)
        # warm_start and partial_fit train in place (network, optimizer, history
        # lists, RNG): keep copies of those too, to put back on failure. A
        # fresh fit only assigns new objects, so the shallow copy is enough.
        module, optimizer = saved.get("module_"), saved.get("_optimizer")
        in_place = module is not None and (self.warm_start or incremental)
        if in_place:
            for key, value in saved.items():
                if key.endswith("_") or key.startswith("_"):
                    if key not in ("module_", "_optimizer"):
                        saved[key] = copy.deepcopy(value)
            weights = copy.deepcopy(module.state_dict())
            optimizer_state = None
            if optimizer is not None:
                with _engine.without_dynamo_import():
                    optimizer_state = copy.deepcopy(optimizer.state_dict())
        try:
            with _engine.without_dynamo_import():
                return self._fit_inner(X, y, sample_weight, incremental, classes)
        except BaseException:
            # nothing half-fit is left behind: put the previous state back
            if in_place:
                module.load_state_dict(weights)
                if optimizer is not None:
                    with _engine.without_dynamo_import():
                        optimizer.load_state_dict(optimizer_state)
            live = {k: self.__dict__[k] for k in _CALLBACK_STATE if k in self.__dict__}
            self.__dict__.clear()
            self.__dict__.update(saved)
            self.__dict__.update(live)
            raise

    def _fit_inner(self, X, y, sample_weight, incremental, classes):
        self._check_params()
        device = resolve_device(self.device)
        solver = self._resolved_solver()
        stochastic = solver in _engine.STOCHASTIC_SOLVERS
        # as scikit-learn's MLP: early stopping holds out a split of one
        # fit's data, so partial_fit (and the full-batch solvers) train
        # without it
        self._early_stopping_now = (
            bool(self.early_stopping) and stochastic and not incremental
        )
        fresh = not hasattr(self, "module_") or not (self.warm_start or incremental)
        if not fresh:
            self._check_same_network()

        kind = self._input_kind
        given = X
        with _numeric_hint():
            X, y = self._validate_fit_data(X, y, reset=fresh)
        y_encoded = self._encode_targets(y, fresh=fresh, classes=classes)
        weight = self._combine_weights(X, y_encoded, sample_weight)
        inputs = kind.to_tensors(self, X)
        if y_encoded is None:  # reconstruction: the target is the input itself
            y_encoded = inputs[0]
        n_samples = inputs[0].shape[0]

        if fresh or not hasattr(self, "_rng"):
            self._rng = np.random.RandomState(
                check_random_state(self.random_state).randint(_MAX_SEED)
            )
        seed, mask_seed = (int(s) for s in self._rng.randint(_MAX_SEED, size=2))
        generator = torch.Generator().manual_seed(seed)

        train = self._batch(inputs, y_encoded, weight)
        valid = None
        split = self._early_stopping_split(y_encoded, n_samples)
        if split is not None:
            # the two splits from the one converted copy of X: rows reordered
            # in place when that copy is ours, never a second copy of X
            train, valid = split_batch(
                train, *split, in_place=writable_storage(inputs, given)
            )
            valid = valid.to(device)
        # the task's target scaling, from the training split alone
        train, valid = self._scale_targets(train, valid, fresh)
        train = train.to(device)

        if fresh:
            with seeded_global_rng(seed, device):  # layers draw their weights
                # kept so that sklearn_deep.load can rebuild the same network
                self._module_inputs = kind.network_input(train.inputs)
                self.module_ = self._build_module(self._module_inputs, self.n_outputs_)
            self._built_with = self._network_params()
            self._optimizer = None
        self.module_.to(device)
        if fresh and hasattr(self.module_, "fit_statistics"):
            # data-dependent layers (input scaling): the training split only,
            # without its samples of weight 0 (as if they were not there)
            statistics_inputs = unpadded_inputs(train.inputs)
            if train.weight is not None and all(
                isinstance(t, torch.Tensor)
                and t.layout == torch.strided
                and t.shape[0] == len(train.weight)  # rows are samples
                for t in statistics_inputs
            ):
                keep = (train.weight > 0).nonzero()[:, 0]
                if len(keep) < len(train.weight):
                    statistics_inputs = tuple(
                        t.index_select(0, keep.to(t.device)) for t in statistics_inputs
                    )
            self.module_.fit_statistics(*statistics_inputs)
        self._device = device
        self._fitted_precision = self.precision
        compiled = getattr(self, "_compiled", None)
        if not self.compile:
            self._compiled = None
        elif compiled is None or compiled.module is not self.module_:
            if device.type == "cpu":
                _engine.note_compile_on_cpu(type(self).__name__, self.compile)
            self._compiled = _engine.CompiledForward(
                self.module_, self.compile, type(self).__name__
            )
        config = self._train_config(
            len(train), incremental, fit_data=(X, y, sample_weight)
        )
        task = self._engine_task()
        # dropout masks come from this fit's generator on the device, never
        # from torch's global one, which threads share; its own seed, so that
        # the masks do not replay the draws of the batch order
        masks = torch.Generator(device=device).manual_seed(mask_seed)
        with use_generators(masks), _training(self.module_):
            if stochastic:
                if self._optimizer is None or not incremental:
                    self._optimizer = _engine.make_optimizer(
                        self.module_, config, device
                    )
                    self._load_optimizer_state(incremental)
                if self.n_devices in (None, 1):
                    history = _engine.run_stochastic(
                        self.module_,
                        self._optimizer,
                        train,
                        valid,
                        config,
                        task,
                        self._history(fresh),
                        incremental=incremental,
                        generator=generator,
                    )
                else:
                    history = self._fit_data_parallel(
                        train,
                        valid,
                        config,
                        self._history(fresh),
                        incremental,
                        generator,
                        seed,
                    )
            elif solver == "lbfgs":
                history = _engine.run_lbfgs(self.module_, train, config, task)
            else:  # 'normal'
                history = _engine.run_normal_equations(
                    self.module_, train, config, task
                )
            self._keep_history(history)
            if valid is not None and not incremental:
                self._calibrate(valid)  # the task's, on the held-out split
        return self

    def _network_params(self):
        """The values of ``_module_params``, comparable across set_params."""
        return {name: _comparable(getattr(self, name)) for name in self._module_params}

    def _check_same_network(self):
        """warm_start and partial_fit continue the fitted network: refuse to
        when a parameter that shapes it changed since it was built.

        Rebuilding instead would throw away the trained weights that
        warm_start asks to keep, and keeping them silently would train a
        network that does not match get_params().
        """
        built = getattr(self, "_built_with", None)
        if built is None:  # fitted by an older version: nothing to compare
            return
        now = self._network_params()
        changed = [
            name
            for name in self._module_params
            if name in built and _comparable(built[name]) != now[name]
        ]
        if changed:
            was = ", ".join(f"{name}={built[name]!r}" for name in changed)
            is_ = ", ".join(f"{name}={getattr(self, name)!r}" for name in changed)
            raise ValueError(
                f"warm_start=True and partial_fit continue the fitted network, "
                f"which was built with {was}; now {is_}. Set "
                f"{'them' if len(changed) > 1 else 'it'} back to continue, or "
                f"set warm_start=False (or fit a clone) to train a new network."
            )

    def _validate_fit_data(self, X, y, *, reset):
        """Validated X and y; a task without targets validates X alone."""
        return self._input_kind.validate_fit(self, X, y, reset=reset)

    # ------------------------------------------------------------------
    # The engine's contract: a configuration and a task in, a history out

    def _train_config(self, n_samples, incremental, fit_data=None):
        """The frozen ``_engine.TrainConfig`` of this fit's parameters.

        ``fit_data`` (X, y, sample_weight) is what scikit-learn 1.9's
        callbacks may ask for.
        """
        solver = self._resolved_solver()
        schedule = self.learning_rate
        if schedule not in _engine.ALL_SOLVER_SCHEDULES and solver != "sgd":
            schedule = "constant"  # scikit-learn's three are for solver='sgd' only
        if not incremental or not hasattr(self, "_max_iter"):
            self._max_iter = self._effective_max_iter(n_samples)
        stochastic = solver in _engine.STOCHASTIC_SOLVERS
        penalty = dataclasses.replace(
            self._penalty(n_samples),
            decoupled=solver == "adamw",
            weight_mean=self._weight_mean,
        )
        return _engine.TrainConfig(
            solver=solver,
            learning_rate_init=self._resolved_learning_rate_init(),
            schedule=schedule,
            power_t=self.power_t,
            momentum=self.momentum,
            nesterovs_momentum=self.nesterovs_momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            batch_size=(
                self._effective_batch_size(n_samples) if stochastic else n_samples
            ),
            max_iter=self._max_iter,
            max_fun=self.max_fun,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            early_stopping=self._early_stopping_now,
            monitor=self._early_stopping_monitor,
            penalty=penalty,
            precision=self.precision,
            verbose=bool(self.verbose),
            name=type(self).__name__,
            notify=self._notifier(
                (1 if incremental else self._max_iter) if stochastic else 0, fit_data
            ),
        )

    def _engine_task(self):
        """The task half's loss and score, and the predict plumbing."""
        return _engine.Task(
            loss=self._loss,
            score=self._validation_score,
            predict=self._forward_tensors,
            augment=functools.partial(self._input_kind.augment, self),
            forward=getattr(self, "_compiled", None),
        )

    def _history(self, fresh):
        """A fresh ``_engine.History``, or the one the fitted attributes hold."""
        if fresh or not hasattr(self, "loss_curve_"):
            return _engine.History.fresh(self._early_stopping_now)
        return _engine.History(
            **{
                field: getattr(self, name)
                for field, name in _HISTORY_ATTRIBUTES.items()
                if hasattr(self, name)
            }
        )

    def _keep_history(self, history):
        """Copy a history into the fitted attributes."""
        for field, name in _HISTORY_ATTRIBUTES.items():
            setattr(self, name, getattr(history, field))

    def _notifier(self, n_epochs=0, fit_data=None):
        """The callbacks' hooks, called with this estimator, history up to date.

        With scikit-learn >= 1.9 callbacks (``set_callbacks``, or propagated
        by a search), the fit is also a task of scikit-learn's task tree with
        the ``n_epochs`` epochs as its subtasks.
        """
        callbacks = tuple(self.callbacks or ())
        tasks = None
        if SKLEARN_CALLBACKS and getattr(self, "_skl_callbacks", None):
            tasks = _SklearnTasks(self, n_epochs, fit_data)
        if not callbacks and tasks is None:
            return _engine._no_callbacks

        def notify(hook, history, **kwargs):
            self._keep_history(history)  # callbacks see the history live
            for callback in callbacks:
                method = getattr(callback, hook, None)
                if method is not None:
                    method(self, **kwargs)
            if tasks is not None:
                tasks.notify(hook)

        return notify

    @property
    def history_(self):
        """The training history, one row per epoch, as a pandas DataFrame.

        Columns: ``epoch`` (counting over all calls, as ``loss_curve_``),
        ``train_loss`` (``loss_curve_``), ``validation_loss`` and
        ``validation_score`` (with ``early_stopping=True``, else NaN),
        ``learning_rate`` (NaN for the full-batch solvers) and ``seconds``.
        A row is an L-BFGS iteration for ``solver='lbfgs'``.
        """
        import pandas as pd

        check_is_fitted(self, "loss_curve_")
        columns = {
            "train_loss": self.loss_curve_,
            "validation_loss": getattr(self, "_validation_loss_curve", None),
            "validation_score": self.validation_scores_,
            "learning_rate": getattr(self, "_learning_rate_curve", None),
            "seconds": getattr(self, "_epoch_seconds", None),
        }
        n = len(self.loss_curve_)
        frame = {"epoch": np.arange(1, n + 1)}
        for name, values in columns.items():
            column = np.full(n, np.nan)
            values = [] if values is None else values[:n]
            # an epoch that diverged has a loss but no validation: NaN at the end
            column[: len(values)] = values
            frame[name] = column
        return pd.DataFrame(frame)

    def _combine_weights(self, X, y_encoded, sample_weight):
        """Sample weight times class weight, or None when all are equal."""
        weight = None
        if sample_weight is not None:
            weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        class_weight = self._class_weights(y_encoded)
        if class_weight is not None:
            weight = class_weight if weight is None else weight * class_weight
        self._weight_mean = 1.0
        if weight is None:
            return None
        if weight.sum() <= 0:
            raise ValueError(
                "sample_weight (times class_weight) sums to zero: at least one "
                "sample needs a positive weight."
            )
        self._weight_mean = float(weight.mean())
        if np.all(weight == weight[0]):
            return None  # equal weights: the plain mean is the same objective
        return weight.astype(np.float32)

    def _validation_split(self, y_encoded, n_samples):
        """Indices of the training and early-stopping samples, as scikit-learn.

        Binary problems are stratified, as scikit-learn stratifies
        single-output classification; like it, a class too small to be split
        is an error.
        """
        index = np.arange(n_samples)
        seed = int(self._rng.randint(_MAX_SEED))
        stratify = None
        if is_classifier(self) and self._target_kind == "binary":
            stratify = y_encoded.ravel()
        try:
            train, valid = train_test_split(
                index,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=stratify,
            )
        except ValueError as exc:
            if stratify is None:
                raise
            counts = np.bincount(stratify.astype(np.int64), minlength=2).tolist()
            raise ValueError(
                f"early_stopping=True holds out a validation split stratified by "
                f"class, as scikit-learn's MLP does, and these {n_samples} "
                f"samples cannot be split so (samples per class: "
                f"{dict(zip(self.classes_.tolist(), counts))}, "
                f"validation_fraction={self.validation_fraction}): each class "
                f"needs 2 samples or more, and a share of both splits. Pass more "
                f"samples of the rare class, change validation_fraction, or set "
                f"early_stopping=False."
            ) from exc
        if len(valid) < 2:
            raise ValueError(
                f"The validation set is too small ({len(valid)} of {n_samples} "
                f"samples). Increase validation_fraction (now "
                f"{self.validation_fraction}) or the size of your dataset, or "
                f"set early_stopping=False."
            )
        return np.sort(train), np.sort(valid)

    def _early_stopping_split(self, y_encoded, n_samples):
        """The (train, validation) indices of early stopping, or None.

        ``early_stopping='auto'`` holds out a split when it would have at
        least ``_AUTO_MIN_VALIDATION`` samples and can be made (stratified,
        for classes); else that fit trains without one, on scikit-learn's
        training-loss rule. True always splits, or says why it cannot.
        """
        if not self._early_stopping_now:
            return None
        if isinstance(self.early_stopping, str):  # 'auto'
            if n_samples * self.validation_fraction < _AUTO_MIN_VALIDATION:
                self._early_stopping_now = False
                return None
            try:
                return self._validation_split(y_encoded, n_samples)
            except ValueError:  # a class too small to be split
                self._early_stopping_now = False
                return None
        return self._validation_split(y_encoded, n_samples)

    @staticmethod
    def _batch(inputs, y_encoded, weight):
        target = y_encoded
        if not isinstance(target, torch.Tensor):
            target = torch.from_numpy(np.ascontiguousarray(y_encoded))
        w = None if weight is None else torch.from_numpy(weight)
        return Batch(tuple(inputs), target, w)

    def _load_optimizer_state(self, incremental):
        # an unpickled estimator's optimizer state continues partial_fit only;
        # fit (warm or not) starts a fresh optimizer, as without pickling
        state = self.__dict__.pop("_optimizer_state", None)
        if state is not None and incremental:
            self._optimizer.load_state_dict(state)

    def _fit_data_parallel(
        self, train, valid, config, history, incremental, generator, seed
    ):
        """Run the mini-batch solver on ``n_devices`` data-parallel ranks.

        An int spawns the ranks (torch.multiprocessing, 'spawn': safe in
        notebooks and with CUDA) and copies rank 0's result into this
        estimator; ``'torchrun'`` trains here as one rank of the launcher's
        process group. Every rank holds the same weights throughout.
        """
        payload = {
            "train": train.to("cpu"),
            "valid": None if valid is None else valid.to("cpu"),
            # callbacks are refused (_check_params); the notifier is a closure
            "config": dataclasses.replace(config, notify=_engine._no_callbacks),
            "history": history,
            "incremental": incremental,
            "generator": generator.get_state(),
            "seed": seed,
            "optimizer": _to_cpu(self._optimizer.state_dict()),
            "device": self._device,  # a pickled estimator says 'cpu'
        }
        device = self._device
        if self.n_devices == "torchrun":
            dist = torch.distributed
            if not dist.is_initialized():  # from torchrun's environment
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
            if device.type == "cuda":
                device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            history, optimizer, state = _data_parallel_rank(
                self, dist.get_rank(), dist.get_world_size(), device, payload
            )
            self._optimizer = optimizer
            generator.set_state(state)
            return history
        world = self.n_devices
        if device.type not in ("cpu", "cuda"):
            raise ValueError(
                f"n_devices={world} runs on CPUs (gloo) or CUDA devices (NCCL), "
                f"not on device={self.device!r}; set device='cpu' or 'cuda'."
            )
        if device.type == "cuda" and world > torch.cuda.device_count():
            raise ValueError(
                f"n_devices={world} needs {world} CUDA devices, but this machine "
                f"has {torch.cuda.device_count()}; lower n_devices or set "
                f"device='cpu'."
            )
        # each rank its share of this process's threads: torch reads
        # OMP_NUM_THREADS when it starts in the spawned process (this
        # process's own thread setting is never touched)
        threads = str(max(1, torch.get_num_threads() // world))
        with tempfile.TemporaryDirectory() as tmp, _environ(OMP_NUM_THREADS=threads):
            result = os.path.join(tmp, "rank0.pt")
            torch.multiprocessing.start_processes(
                _data_parallel_worker,
                args=(world, os.path.join(tmp, "rendezvous"), result, self, payload),
                nprocs=world,
                join=True,
                start_method="spawn",
            )
            weights, history, optimizer_state, state = torch.load(
                result, weights_only=False
            )
        self.module_.load_state_dict(weights)
        self.module_.eval()
        with _engine.without_dynamo_import():
            self._optimizer.load_state_dict(optimizer_state)
        generator.set_state(state)
        return history

    # ------------------------------------------------------------------
    # Prediction

    def _forward(self, X, method=None):
        """Validated X -> network output as a float32 numpy array.

        ``method`` names another method of the network than ``forward`` (an
        autoencoder's ``encode``).
        """
        if not hasattr(self, "module_"):  # fitted: check_is_fitted would pass
            check_is_fitted(self, "module_")  # (and costs ~10 µs of tag lookup)
        kind = self._input_kind
        module = self.module_
        _check_not_training_elsewhere(self, module)
        layers = getattr(module, "numpy_layers", None)
        if (
            layers is not None
            and method is None
            and self._device.type == "cpu"
            and id(module) not in _TRAINING  # a callback's predict during a fit
        ):
            out = kind.fast_layers(self, X, layers)
            if out is not None:
                return out
        inputs = kind.fast_inputs(self, X)
        if inputs is None:
            with _numeric_hint():
                inputs = kind.to_tensors(self, kind.validate(self, X, reset=False))
        return self._forward_tensors(inputs, method).float().cpu().numpy()

    def network_inputs(self, X):
        """The tensors that ``module_`` takes for X, made as ``predict`` makes them.

        For tools that work on the network itself, such as
        ``shap.GradientExplainer(estimator.module_, estimator.network_inputs(X))``:
        X is validated and converted exactly as for ``predict`` (images to
        ``(n_samples, C, H, W)``, sequences padded to ``(n_samples, T,
        n_features)``), as float32 tensors on the CPU. ``module_(*inputs)``
        returns logits (use ``module_.eval()`` first, to turn dropout off).

        Parameters
        ----------
        {{X}}

        Returns
        -------
        inputs : tuple of torch.Tensor
            The network's inputs: one tensor, or with padded sequences of
            different lengths the values and their lengths.
        """
        check_is_fitted(self, "module_")
        kind = self._input_kind
        with _numeric_hint():
            inputs = kind.to_tensors(self, kind.validate(self, X, reset=False))
        return network_inputs(inputs)

    def _forward_tensors(self, inputs, method=None):
        """Network output for CPU or device tensors, in chunks, on the device."""
        device = self._device
        module = self.module_
        _check_not_training_elsewhere(self, module)
        network = module if method is None else getattr(module, method)
        compiled = getattr(self, "_compiled", None)
        if method is None and compiled is not None:
            network = compiled  # the compiled forward (not the other methods)
        was_training = module.training
        if was_training:
            module.eval()
        on_cpu = device.type == "cpu"
        fixed = self._input_kind.predict_chunk_rows
        order = length_order(inputs)
        if order is not None:  # sequences of similar lengths in each chunk
            inputs = Batch(tuple(inputs)).take(order.to(inputs[0].device)).inputs
        size = 4096
        if on_cpu and inputs[0].shape[0] > 512 and all(t.ndim == 2 for t in inputs):
            size = _dense_chunk_rows(module)
        outputs = []
        # the precision the network was fitted with, not a later set_params
        precision = getattr(self, "_fitted_precision", self.precision)
        with torch.inference_mode(), _engine.autocast(precision, device, inputs):
            if fixed is not None:
                for chunk, m in padded_batches(inputs, fixed):
                    chunk = network_inputs(chunk)
                    if not on_cpu:
                        chunk = tuple(t.to(device, non_blocking=True) for t in chunk)
                    outputs.append(network(*chunk)[:m])
            elif inputs[0].shape[0] < _MIN_GEMM_ROWS and on_cpu:
                # the CPU's GEMM takes another kernel below 4 rows, which
                # rounds a row 1 ulp differently than in a larger batch: a few
                # rows are predicted padded to 4 with copies of the first
                m = inputs[0].shape[0]
                padded = tuple(pad_rows(t, _MIN_GEMM_ROWS) for t in inputs)
                outputs.append(network(*network_inputs(padded))[:m])
            else:
                # one chunk skips the chunking machinery
                chunks = (inputs,) if inputs[0].shape[0] <= size else None
                for chunk in chunks or predict_batches(inputs, size):
                    chunk = network_inputs(chunk)
                    if not on_cpu:
                        chunk = tuple(t.to(device, non_blocking=True) for t in chunk)
                    outputs.append(network(*chunk))
        if was_training:
            module.train()
        out = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
        if order is not None:  # back to the order of the inputs
            out = out.index_select(0, torch.argsort(order).to(out.device))
        return out

    # ------------------------------------------------------------------
    # Interoperability

    def to_skorch(self, **net_params):
        """Hand a copy of the trained network to an equivalent skorch net.

        For users who want skorch's callbacks and logging: the returned net is
        initialized with a deep copy of ``module_`` (so training it does not
        change this estimator), the matching loss, and this estimator's
        optimizer settings, ready for ``partial_fit``, ``predict`` or
        ``predict_proba``. skorch works on encoded targets: class indices
        into ``classes_`` for classifiers (0/1 for binary and multilabel
        targets, of any numeric dtype), and for regressors the values, of
        shape ``(n_samples,)`` or ``(n_samples, n_targets)`` as ``fit``
        takes them: the loss reads a 1-D y as the single output's column
        (torch's own ``MSELoss`` would broadcast it to ``(n, n)``). skorch's
        ``predict`` of a regressor returns ``(n_samples, n_targets)``.

        Parameters
        ----------
        **net_params : dict
            Passed to the skorch net's constructor, overriding the defaults
            derived from this estimator (``max_epochs``, ``lr``, ...).

        Returns
        -------
        net : skorch.NeuralNet
            A ``NeuralNetClassifier``, ``NeuralNetBinaryClassifier`` or
            ``NeuralNetRegressor``, initialized.
        """
        check_is_fitted(self, "module_")
        net_class, criterion = self._skorch_net()
        solver = self._resolved_solver()
        optimizer = _engine._OPTIMIZERS.get(solver, torch.optim.Adam)
        batch_size = self.batch_size if self.batch_size != "auto" else 200
        module = copy.deepcopy(self.module_)
        scale = getattr(self, "_target_scale", None)
        if scale is not None:  # skorch trains on the targets in their units
            module = TargetAffine(
                module, scale, self._target_shift, log_link=self._poisson()
            )
        params = {
            "module": module,
            "criterion": criterion,
            "optimizer": optimizer,
            "lr": self._resolved_learning_rate_init(),
            "max_epochs": getattr(self, "_max_iter", self.max_iter),
            "batch_size": batch_size,
            "train_split": None,
            "device": str(self._device),
            "verbose": int(self.verbose),
        }
        params.update(net_params)
        return net_class(**params).initialize()

    # ------------------------------------------------------------------
    # Persistence: a GPU-fitted estimator unpickles on a CPU-only machine. The
    # state holds no torch object: the network is its state dict as numpy
    # arrays (rebuilt by _build_module on load, sizes checked first), so that
    # skops can store it as well as pickle, and always on the CPU.

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never alter the live one
        module = state.get("module_")
        if isinstance(module, torch.nn.Module):
            state["module_"] = module_arrays(module)
        state.pop("_compiled", None)  # compiled code is this process's
        optimizer = state.pop("_optimizer", None)
        if optimizer is not None:
            with _engine.without_dynamo_import():
                state["_optimizer_state"] = optimizer.state_dict()
        if state.get("_optimizer_state") is not None:
            state["_optimizer_state"] = _convert(
                state["_optimizer_state"], torch.Tensor, _tensor_to_numpy
            )
        if "_device" in state:
            state["_device"] = "cpu"
        return state

    def __setstate__(self, state):
        hidden = shadowing(type(self), state)
        if hidden:  # skops and pickle files alike: data never replaces code
            raise ValueError(
                f"The stored state of {type(self).__name__} sets "
                f"{sorted(map(repr, hidden))}, which are methods or properties "
                f"of the class, not attributes; the file is damaged or forged."
            )
        state = dict(state)
        weights = state.pop("module_", None)
        if state.get("_optimizer_state") is not None:
            state["_optimizer_state"] = _convert(
                state["_optimizer_state"], np.ndarray, torch.from_numpy
            )
        if "_device" in state:
            state["_device"] = torch.device(state["_device"])
        super().__setstate__(state)
        if isinstance(weights, dict):
            weights = rebuild_module(self, weights, f"this {type(self).__name__}")
        if weights is not None:  # a torch module: a pickle of an older version
            self.module_ = weights
            self._optimizer = None

    def __sklearn_tags__(self):
        return self._input_kind.update_tags(super().__sklearn_tags__())


class _SklearnTasks:
    """A fit as a task of scikit-learn 1.9's callback API, epochs as subtasks.

    The root task ("fit") merges into a search's task when the search
    propagated its callbacks (its ProgressBar then shows our epochs under
    its own bar); each epoch is a leaf subtask. An ``on_fit_task_end`` that
    returns True stops training after that epoch, as StopTraining does.
    """

    def __init__(self, estimator, n_epochs, fit_data):
        X, y, sample_weight = fit_data or (None, None, None)
        self.estimator = estimator
        self.data = {"X": X, "y": y, "metadata": {"sample_weight": sample_weight}}
        self.root = estimator._init_callback_context(
            task_name="fit", max_subtasks=n_epochs
        )
        self.root.call_on_fit_task_begin(estimator=estimator, **self.data)
        self.epoch = None

    def notify(self, hook):
        estimator = self.estimator
        if hook == "on_epoch_begin":
            self.epoch = self.root.subcontext(task_name="epoch")
            self.epoch.call_on_fit_task_begin(estimator=estimator, **self.data)
        elif hook == "on_epoch_end":
            # the estimator predicts as it is now: the hooks' fitted_estimator
            stop = self.epoch.call_on_fit_task_end(
                estimator=estimator, reconstruction_attributes=dict, **self.data
            )
            if stop:
                raise StopTraining("a scikit-learn callback asked to stop")
        elif hook == "on_train_end":
            self.root.call_on_fit_task_end(
                estimator=estimator, reconstruction_attributes=dict, **self.data
            )


# The networks being trained, by id, and the thread training each.
_TRAINING = {}


@contextlib.contextmanager
def _training(module):
    """Mark ``module`` as being trained by the calling thread, for a block."""
    _TRAINING[id(module)] = threading.get_ident()
    try:
        yield
    finally:
        _TRAINING.pop(id(module), None)
        forget_numpy_copies(module)  # the weights have changed


def _check_not_training_elsewhere(est, module):
    """A predict from another thread during a fit would switch the network
    being trained to eval mode and back under the training loop."""
    owner = _TRAINING.get(id(module))
    if owner is not None and owner != threading.get_ident():
        raise RuntimeError(
            f"{type(est).__name__} is being fitted in another thread, and "
            f"predicting now would switch the network it trains between "
            f"training and eval mode. Wait for fit to return (join its thread), "
            f"predict from a copy taken before the fit (copy.deepcopy), or "
            f"predict from a callback's on_epoch_end, which runs in the fitting "
            f"thread."
        )


@contextlib.contextmanager
def _numeric_hint():
    """Add what to do to numpy's errors about strings or objects in the data."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        text = str(exc)
        if "convert string to float" not in text and "a real number" not in text:
            raise
        raise type(exc)(
            f"{text}. The inputs must be numbers: encode string or categorical "
            f"features first, for example with OneHotEncoder or OrdinalEncoder "
            f"in a Pipeline (and pass numeric targets to a regressor)."
        ) from exc


def _comparable(value):
    """A parameter value as plain, comparable Python: sequences as tuples."""
    if isinstance(value, str | bytes) or value is None:
        return value
    if isinstance(value, dict):
        return tuple(sorted((str(k), _comparable(v)) for k, v in value.items()))
    if np.iterable(value):
        return tuple(_comparable(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


# Row counts below this take another GEMM kernel on the CPU (measured: a row
# predicted alone differed from the same row in a batch of 30 by 9.5e-7 for a
# 256-256-256 MLP, and by 0 when padded to 4 rows).
_MIN_GEMM_ROWS = 4


def _dense_chunk_rows(module):
    """Rows per predict chunk of a network on table rows, on the CPU.

    Chunks whose widest layer output fits in about 512 KB (a core's L2 cache)
    ran 1.1-1.2x the rows/s of 4096-row chunks on a 256-256 MLP; a narrow
    network (a linear model) gets large chunks, where per-chunk dispatch
    would dominate. A power of two from 512 to 65536: row counts that are
    not multiples of 512 can change the GEMM kernels' rounding.
    """
    widest = max((p.shape[0] for p in module.parameters() if p.ndim == 2), default=1)
    rows = 2**17 // max(widest, 1)
    return min(max(1 << (rows.bit_length() - 1) if rows else 1, 512), 65536)


@contextlib.contextmanager
def _environ(**values):
    """Set environment variables for the processes started inside."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _data_parallel_rank(est, rank, world, device, payload):
    """Train ``est.module_`` as rank ``rank`` of ``world``, in place.

    Returns the history, the optimizer and the batch generator's state.
    """
    from torch.nn.parallel import DistributedDataParallel

    module = est.module_.to(device)
    est._device = device  # the validation score predicts on this device
    train = payload["train"].to(device)
    valid = None if payload["valid"] is None else payload["valid"].to(device)
    ids = [device.index] if device.type == "cuda" else None
    parallel = DistributedDataParallel(module, device_ids=ids)
    forward = parallel
    if est.compile:
        forward = _engine.CompiledForward(parallel, est.compile, type(est).__name__)
    task = dataclasses.replace(est._engine_task(), forward=forward)
    config = payload["config"]
    with _engine.without_dynamo_import():
        optimizer = _engine.make_optimizer(module, config, device)
        optimizer.load_state_dict(payload["optimizer"])
    generator = torch.Generator()
    generator.set_state(payload["generator"])
    # dropout masks from a generator of this rank's own (each rank's rows differ)
    masks = torch.Generator(device=device).manual_seed(payload["seed"] + rank)
    with _engine.without_dynamo_import(), use_generators(masks):
        history = _engine.run_stochastic(
            module,
            optimizer,
            train,
            valid,
            config,
            task,
            payload["history"],
            incremental=payload["incremental"],
            generator=generator,
            shard=(rank, world),
        )
    return history, optimizer, generator.get_state()


def _data_parallel_worker(rank, world, rendezvous, result, est, payload):
    """The entry point of a process that ``n_devices=k`` spawns."""
    device = payload["device"]
    cuda = device.type == "cuda"
    # torch.multiprocessing passed the tensors in shared memory: the weights
    # and optimizer state are made this rank's own (the data stay shared)
    est.module_ = copy.deepcopy(est.module_)
    payload["optimizer"] = copy.deepcopy(payload["optimizer"])
    if cuda:
        device = torch.device("cuda", rank)
        torch.cuda.set_device(device)
    torch.distributed.init_process_group(
        "nccl" if cuda else "gloo",
        init_method=f"file://{rendezvous}",
        rank=rank,
        world_size=world,
    )
    try:
        history, optimizer, state = _data_parallel_rank(
            est, rank, world, device, payload
        )
        if rank == 0:
            with _engine.without_dynamo_import():
                optimizer_state = _to_cpu(optimizer.state_dict())
            weights = _to_cpu(est.module_.state_dict())
            torch.save((weights, history, optimizer_state, state), result)
    finally:
        torch.distributed.destroy_process_group()


def _to_cpu(obj):
    """``obj`` with every tensor in it detached and on the CPU."""
    return _convert(obj, torch.Tensor, lambda t: t.detach().cpu())


def _tensor_to_numpy(tensor):
    return tensor.detach().to("cpu", copy=True).numpy()


def _convert(obj, kind, how):
    """``obj`` with every value of type ``kind`` in its dicts, lists and tuples
    replaced by ``how(value)``."""
    if isinstance(obj, kind):
        return how(obj)
    if isinstance(obj, dict):
        return {k: _convert(v, kind, how) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_convert(v, kind, how) for v in obj)
    return obj


__all__ = ["BaseDeepEstimator", "resolve_device"]
