"""The training engine: every solver, behind one explicit contract.

Small on purpose (docs/architecture.md, "The engine"): tensors are built and
moved once, a batch is an index slice of a permutation, the L2 penalty is added
to the weight gradients (or is AdamW's decoupled decay), and the loss is
synchronised once per epoch. Early stopping, ``tol`` and ``n_iter_no_change``
follow scikit-learn's MLP exactly; so do the ``learning_rate`` schedules of
``solver='sgd'``.

The contract: ``_base.py`` builds a frozen :class:`TrainConfig` (solver,
optimizer settings, schedule, budget, :class:`Penalty`, stopping rule,
precision, callbacks) and a :class:`Task` (loss, validation score, predict,
augmentation), and passes them with the module and the tensors; each solver
returns a :class:`History`, which ``_base.py`` copies into the fitted
attributes. The engine never reads an estimator. The mini-batch loop is cut
into named steps as skorch's is (fit loop, epoch, batch step, end of epoch),
without its per-batch cost.
"""

import contextlib
import inspect
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_deep._data import BatchIterator, is_sparse, network_inputs, slice_rows
from sklearn_deep._modules._random import _CallSeeds, seeded_call
from sklearn_deep._modules._sparse import transpose_of
from sklearn_deep.callbacks import StopTraining
from sklearn_deep.utils._warnings import warn

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")

_OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}
# Fused kernels exist for these on CPU and CUDA; RMSprop gets foreach only.
_FUSED = {"sgd", "adam", "adamw", "adagrad"}

_AUTOCAST_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}

# Schedules over the whole budget of ``max_iter`` epochs, stepped every batch.
# The training-loss stopping rule does not cut them short (the annealing at
# the end is the point); the early-stopping rule on a validation split does.
BUDGET_SCHEDULES = ("cosine", "onecycle")


class BudgetConvergenceWarning(ConvergenceWarning):
    """A budget schedule ran all of ``max_iter`` while the loss fell fast.

    A ``ConvergenceWarning``: filters and ``pytest.warns`` written for
    scikit-learn's "increase max_iter" warning catch it too.
    """


ALL_SOLVER_SCHEDULES = (*BUDGET_SCHEDULES, "plateau")


# ----------------------------------------------------------------------
# The contract


@dataclass(frozen=True)
class Penalty:
    """The penalty on the weights (never on biases or norms), in one place.

    ``l2`` is the coefficient of ``||w||^2 / 2`` and ``l1`` of ``||w||_1``.
    With ``per_batch`` the L2 coefficient is divided by the batch's total
    sample weight, as scikit-learn's MLP does (``weight_mean`` is the fit's
    mean sample weight); with ``decoupled`` it is AdamW's weight decay, a step
    rule rather than a loss term. L1 is a proximal step after each update.
    """

    l2: float = 0.0
    l1: float = 0.0
    per_batch: bool = False
    decoupled: bool = False
    weight_mean: float = 1.0

    def batch_l2(self, n_rows):
        """The L2 coefficient for a batch of ``n_rows``."""
        if self.per_batch:
            return self.l2 / (n_rows * self.weight_mean)
        return self.l2

    def full_batch_l2(self, n_rows, weight):
        """The L2 coefficient of a full-batch loss (L-BFGS)."""
        if not self.per_batch:
            return self.l2
        return self.l2 / (n_rows if weight is None else float(weight.sum()))

    def value(self, module, n_batches, n_samples):
        """The penalty's share of the reported epoch loss."""
        l2 = 0.0 if self.decoupled else self.l2
        if not (l2 or self.l1):
            return 0.0
        weights, _ = split_params(module)
        with torch.no_grad():
            value = 0.0
            if l2:
                squares = sum(float((w * w).sum()) for w in weights)
                scale = n_batches / (n_samples * self.weight_mean)
                value += 0.5 * l2 * squares * (scale if self.per_batch else 1)
            if self.l1:
                value += self.l1 * sum(float(w.abs().sum()) for w in weights)
        return value

    def add_to_gradients(self, weights, coef):
        """``grad += coef * weight``, as torch's ``weight_decay``: one kernel."""
        with_grad = [w for w in weights if w.grad is not None]
        with torch.no_grad():
            torch._foreach_add_([w.grad for w in with_grad], with_grad, alpha=coef)

    def proximal_step(self, weights, lr):
        """Soft-thresholding: the proximal step of the L1 part."""
        threshold = lr * self.l1
        with torch.no_grad():
            for p in weights:
                p.copy_(torch.sign(p) * torch.clamp(p.abs() - threshold, min=0.0))


def _no_callbacks(hook, history, **kwargs):
    pass


def _unchanged(inputs, generator):
    return inputs


@dataclass(frozen=True)
class TrainConfig:
    """Everything a solver needs to know, resolved and frozen before it runs.

    ``name`` names the estimator in messages; ``notify(hook, history,
    **kwargs)`` runs the callbacks' hooks (``on_train_begin``,
    ``on_epoch_begin``, ``on_epoch_end``, ``on_train_end``).
    """

    solver: str = "adam"
    learning_rate_init: float = 0.001
    schedule: str = "constant"
    power_t: float = 0.5
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    batch_size: int = 200
    max_iter: int = 200
    max_fun: int = 15000
    shuffle: bool = True
    tol: float = 1e-4
    n_iter_no_change: int = 10
    early_stopping: bool = False
    # what early stopping compares: the validation 'score' (scikit-learn's
    # rule) or the validation 'loss' (continuous, so no ties between epochs)
    monitor: str = "score"
    penalty: Penalty = field(default_factory=Penalty)
    precision: str = "32"
    verbose: bool = False
    name: str = "estimator"
    notify: Callable = _no_callbacks

    @property
    def budget(self):
        """Whether the schedule runs the whole ``max_iter`` budget."""
        return self.schedule in BUDGET_SCHEDULES

    def log(self, message):
        if self.verbose:
            print(message, flush=True)


@dataclass(frozen=True)
class Task:
    """What the task (classification, regression) gives the engine.

    ``loss(output, target, weight)`` is the differentiable training loss;
    ``score(valid)`` the early-stopping score (higher is better) and the
    data loss of a Batch, as two floats from one forward pass and one
    synchronisation, with the network in eval mode; ``predict(inputs)`` the
    network's eval output for a tuple of tensors; ``augment(inputs,
    generator)`` transforms a training batch's inputs; ``forward(*inputs)``
    the network's training forward pass (None: the module itself; else a
    compiled or data-parallel wrapper of it).
    """

    loss: Callable
    score: Callable = None
    predict: Callable = None
    augment: Callable = _unchanged
    forward: Callable = None


@dataclass
class History:
    """What a fit leaves: the history attributes, and the state to resume.

    ``n_iter`` counts the epochs (or L-BFGS iterations) of the last call, as
    scikit-learn does; ``t`` the training samples seen over all calls. The
    per-epoch lists (``loss_curve``, ``validation_scores``,
    ``validation_loss_curve``, ``learning_rate_curve``, ``epoch_seconds``)
    run over all calls, as scikit-learn's ``loss_curve_`` does.
    """

    n_iter: int = 0
    t: int = 0
    loss: float = float("nan")
    loss_curve: list = field(default_factory=list)
    best_loss: float | None = np.inf
    validation_scores: list | None = None
    best_validation_score: float | None = None
    no_improvement_count: int = 0
    schedule_step: int = 0
    validation_loss_curve: list | None = None
    learning_rate_curve: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list, compare=False)  # timing

    @classmethod
    def fresh(cls, early_stopping):
        """The history of a fit that starts over."""
        if early_stopping:
            return cls(
                best_loss=None,
                validation_scores=[],
                best_validation_score=-np.inf,
                validation_loss_curve=[],
            )
        return cls()

    def improve(self, loss, score, config, valid_loss=None):
        """scikit-learn's MLP rule for one epoch; True when it is a new best."""
        if config.early_stopping and config.monitor == "loss":
            # the validation loss picks the best epoch and counts the epochs
            # without improvement; validation_scores keeps the scores
            self.validation_scores.append(score)
            best = getattr(self, "_best_validation_loss", np.inf)
            if valid_loss > best - config.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if valid_loss < best:
                self._best_validation_loss = valid_loss
                self.best_validation_score = score
                return True
            return False
        if config.early_stopping:
            self.validation_scores.append(score)
            if score < self.best_validation_score + config.tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                return True
            return False
        if self.best_loss is None:  # after a fit with early stopping
            self.best_loss = np.inf
        if loss > self.best_loss - config.tol:
            self.no_improvement_count += 1
        else:
            self.no_improvement_count = 0
        if loss < self.best_loss:
            self.best_loss = loss
            return True
        return False


# ----------------------------------------------------------------------
# Shared pieces


def autocast(precision, device, inputs=()):
    """The autocast context for a ``precision`` setting on ``device``.

    Sparse ``inputs`` run in float32: torch's sparse CSR products have no
    float16 or bfloat16 kernels on the CPU (NotImplementedError).
    """
    dtype = _AUTOCAST_DTYPES.get(precision)
    if dtype is None or any(is_sparse(t) for t in inputs):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def split_params(module):
    """Weights (penalised) and the rest (biases, norms: not penalised)."""
    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        is_weight = name.endswith("weight") and p.ndim > 1
        (decay if is_weight else no_decay).append(p)
    return decay, no_decay


def make_optimizer(module, config, device):
    """A torch optimizer for ``config.solver``.

    For ``'adamw'``, the L2 coefficient is AdamW's decoupled weight decay of
    the weights (a second parameter group holds the rest). For the other
    solvers the L2 penalty is added to the gradients of the weights by the
    batch step, as torch's ``weight_decay`` would, so one parameter group
    holds everything: one optimizer kernel per step instead of two.
    """
    decay, no_decay = split_params(module)
    solver = config.solver
    if solver == "adamw":
        groups = [
            {"params": decay, "weight_decay": config.penalty.l2},
            {"params": no_decay, "weight_decay": 0.0},
        ]
    else:
        groups = [{"params": decay + no_decay, "weight_decay": 0.0}]
    kwargs = {"lr": float(config.learning_rate_init)}  # torch refuses some ints
    if solver == "sgd":
        kwargs.update(
            momentum=float(config.momentum),
            nesterov=bool(config.nesterovs_momentum and config.momentum > 0),
        )
    elif solver in ("adam", "adamw"):
        kwargs.update(
            betas=(float(config.beta_1), float(config.beta_2)), eps=config.epsilon
        )
    elif solver in ("rmsprop", "adagrad"):
        kwargs.update(eps=config.epsilon)
    if solver in _FUSED and device.type in ("cpu", "cuda"):
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = True
    return _OPTIMIZERS[solver](groups, **kwargs)


# torch.optim imports torch._dynamo (1.2-1.8 s of CPU here, most of a cold
# process's first fit) the first time an optimizer is built, stepped or its
# state read: to exclude those calls from a compilation, which only exists once
# torch._dynamo is imported. Until then the exclusion is a no-op, so these
# calls skip it (the eager code runs unchanged) and a process that never
# compiles never pays the import.
_DYNAMO_GUARDED = ("add_param_group", "state_dict", "load_state_dict", "zero_grad")
_guard_lock = threading.Lock()
_guard_depth = [0]


def _dynamo_loaded():
    return "torch._dynamo" in sys.modules


@contextlib.contextmanager
def without_dynamo_import():
    """Build optimizers and read their state without importing torch._dynamo.

    torch's ``_disable_dynamo`` wrapper looks up a cached disabled function on
    the wrapped one; while torch._dynamo is not imported, the function itself
    is that cache (nothing can be compiling), put back when the last caller
    leaves. Once torch._dynamo is imported, this does nothing.
    """
    functions = [
        inspect.unwrap(getattr(torch.optim.Optimizer, name)) for name in _DYNAMO_GUARDED
    ]
    with _guard_lock:
        guard = not _dynamo_loaded() or _guard_depth[0] > 0
        if guard:
            _guard_depth[0] += 1
            for fn in functions:
                if not hasattr(fn, "__dynamo_disable"):
                    fn.__dynamo_disable = fn
    try:
        yield
    finally:
        if guard:
            with _guard_lock:
                _guard_depth[0] -= 1
                if _guard_depth[0] == 0:
                    for fn in functions:
                        if getattr(fn, "__dynamo_disable", None) is fn:
                            del fn.__dynamo_disable


def optimizer_step(optimizer, closure=None):
    """``optimizer.step(closure)``; eager and import-free while nothing compiles.

    torch's step wrapper imports torch._dynamo to mark graph breaks around
    the update; with torch._dynamo not imported there is no graph to break,
    so the undecorated step runs under ``no_grad``, as the wrapper would run
    it (optimizer hooks are not used by the engine).
    """
    if _dynamo_loaded() or optimizer.defaults.get("differentiable"):
        return optimizer.step(closure)
    with torch.no_grad():
        return inspect.unwrap(type(optimizer).step)(optimizer, closure)


# architecture -> the code object that compiled calls of such networks run
_CALL_CODES = {}


def _call_of(module):
    """A function calling ``module``, whose code object is its architecture's.

    torch.compile keeps its compiled graphs, and counts recompilations against
    a limit (8), per code object. Compiling the module itself, every network
    of a class shares its ``forward``'s code: a grid search over hidden sizes
    recompiled at every new shape and, from the ninth, silently ran eagerly.
    One code object per architecture (class and parameter shapes) keeps those
    apart, while fits of the same architecture (a search over ``alpha``)
    still reuse one compiled graph.
    """

    def call(*inputs):
        return module(*inputs)

    key = (
        type(module),
        tuple((name, tuple(p.shape), p.dtype) for name, p in module.named_parameters()),
    )
    code = _CALL_CODES.get(key)
    if code is None:
        code = _CALL_CODES[key] = call.__code__.replace()
    call.__code__ = code
    return call


# whether this process was told what compile costs on a CPU
_CPU_COMPILE_NOTED = False


def note_compile_on_cpu(name, backend):
    """Say once per process what ``compile`` costs on a CPU.

    Measured on one thread of the development machines: the first fit of a
    small MLP with compile=True spent 30-150 s of CPU generating code, each
    new predict batch shape compiled again, and small dense networks then ran
    0.55-0.62x as fast as uncompiled (``benchmarks.run --cases compile``).
    """
    global _CPU_COMPILE_NOTED
    if _CPU_COMPILE_NOTED:
        return
    _CPU_COMPILE_NOTED = True
    warn(
        f"{name}: compile={backend!r} on a CPU. The first fit spends 30 s or "
        f"more of CPU building the compiled network (30-150 s measured for "
        f"small MLPs), predict compiles again for new batch shapes, and on one "
        f"CPU thread small dense networks then ran at 0.55-0.62x the speed of "
        f"uncompiled ones: it pays for convolutions and on GPUs. Set "
        f"compile=False to skip it. (This note is shown once per process.)",
        UserWarning,
    )


class CompiledForward:
    """A module's forward pass through :func:`torch.compile`, or eager.

    torch.compile is lazy: the graph is built, and a missing C compiler or an
    unsupported platform found, at the first call. A failure there (or when
    torch.compile itself refuses) warns once and runs the module uncompiled
    from then on; errors of the inputs themselves pass through unchanged.
    ``backend`` is True (torch's default) or a backend's name.
    """

    def __init__(self, module, backend, name="estimator"):
        self.module = module
        self.name = name
        self.compiled = None
        self._seeds = _CallSeeds(module)
        kwargs = {} if backend is True else {"backend": backend}
        try:
            self.compiled = torch.compile(_call_of(module), **kwargs)
        except Exception as exc:  # an unknown backend, an unsupported platform
            self._fall_back(exc)

    def _fall_back(self, exc):
        self.compiled = None
        cause = getattr(exc, "inner_exception", None) or exc  # the backend's error
        text = str(cause).strip().splitlines()
        warn(
            f"{self.name}: torch.compile failed here, so the network runs "
            f"uncompiled ({type(cause).__name__}: {text[0] if text else ''}). "
            f"Set compile=False to silence this warning.",
            UserWarning,
        )

    def __call__(self, *inputs):
        if self.compiled is not None:
            import torch._dynamo.exc as dynamo_errors  # imported by compile

            try:
                with seeded_call(self._seeds, self.module, inputs[0].device):
                    return self.compiled(*inputs)
            except dynamo_errors.TorchDynamoException as exc:
                self._fall_back(exc)
        return self.module(*inputs)


class _Snapshot:
    """A copy of a module's state, refreshed in place (no allocation per epoch)."""

    def __init__(self, module):
        self._live = list(module.state_dict().values())
        self._saved = [t.detach().clone() for t in self._live]

    def save(self):
        with torch.no_grad():
            torch._foreach_copy_(self._saved, self._live)

    def restore(self):
        with torch.no_grad():
            torch._foreach_copy_(self._live, self._saved)


def scheduled_lr(schedule, base_lr, step, total_steps):
    """The step size of a budget schedule at ``step`` of ``total_steps``.

    ``'cosine'``: a linear warm-up over the first 5 % of the steps, then a
    cosine decay to zero (Loshchilov & Hutter 2017). ``'onecycle'``: a cosine
    rise from ``base_lr / 25`` to ``base_lr`` over the first 30 %, then a
    cosine decay to ``base_lr / 25e4`` (Smith & Topin 2019, torch's defaults).
    Past the budget (``partial_fit`` beyond ``max_iter``) it stays at the end.
    """
    step = min(step, total_steps - 1)
    if schedule == "cosine":
        warm = max(1, round(0.05 * total_steps))
        if step < warm:
            return base_lr * (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    start, end = base_lr / 25.0, base_lr / 25e4
    rise = max(1, round(0.3 * total_steps))
    if step < rise:
        return start + (base_lr - start) * 0.5 * (1 - math.cos(math.pi * step / rise))
    progress = (step - rise) / max(1, total_steps - rise)
    return end + (base_lr - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _current_lr(optimizer):
    return optimizer.param_groups[0]["lr"]


def _set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def _keep_finite(module, task, best, start, train):
    """Restore the best weights after a divergence, if they predict finite values.

    A finite training loss does not make finite predictions: a batch-norm
    network trains on batch statistics, and its running statistics (used to
    predict) can overflow where the batch ones did not. When the best weights
    predict a non-finite value on the training inputs, the weights the fit
    started from are restored instead. Returns whether the best ones were kept.
    """
    best.restore()
    if _predicts_finite(module, task, train):
        return True
    start.restore()
    return False


def _predicts_finite(module, task, data):
    state = module.state_dict().values()
    if not all(bool(torch.isfinite(t).all()) for t in state if t.is_floating_point()):
        return False
    return bool(torch.isfinite(task.predict(data.inputs)).all())


# ----------------------------------------------------------------------
# Mini-batch solvers


class _StochasticRun:
    """One call of the mini-batch solvers, cut into named steps.

    ``fit_loop`` runs the epochs; ``run_epoch`` the batches of one; the batch
    step (``train_step``) is the only code that runs per batch, and it
    allocates and synchronises nothing; ``end_epoch`` records the epoch and
    applies the stopping and schedule rules; ``finish`` restores the weights
    to keep and warns.
    """

    def __init__(
        self,
        module,
        optimizer,
        train,
        valid,
        config,
        task,
        history,
        *,
        incremental,
        generator,
        shard=None,
    ):
        self.module, self.optimizer = module, optimizer
        self.forward = task.forward or module
        # (rank, world size) of a data-parallel run: this process trains on
        # its part of every batch (see _local_part); None: the whole batch
        self.shard = shard
        self.train, self.valid = train, valid
        self.config, self.task, self.history = config, task, history
        self.incremental = incremental
        self.generator = generator
        self.device = train.inputs[0].device
        self.n = len(train)
        self.batches = BatchIterator(
            train, config.batch_size, config.shuffle, generator
        )
        self.scaler = None
        if config.precision == "16-mixed" and self.device.type == "cuda":
            self.scaler = torch.amp.GradScaler("cuda")
        self.best = _Snapshot(module)
        self.start = _Snapshot(module)  # the fallback of a divergence
        self.weights, _ = split_params(module)
        self.params = [p for g in optimizer.param_groups for p in g["params"]]
        self.total_steps = config.max_iter * len(self.batches)
        self.kept_best = False  # whether this call saved a best epoch
        self.stop_reason = None

    # the loop

    def fit_loop(self):
        config, history = self.config, self.history
        history.n_iter = 0  # scikit-learn counts the epochs of this call only
        if not self.incremental:
            history.schedule_step = 0
        n_epochs = 1 if self.incremental else config.max_iter
        config.notify("on_train_begin", history)
        self.module.train()
        try:
            for _ in range(n_epochs):
                epoch = history.n_iter + 1
                config.notify("on_epoch_begin", history, epoch=epoch)
                tic = time.perf_counter()
                loss = self.run_epoch()
                if self.end_epoch(epoch, loss, tic):
                    break
        except StopTraining as exc:
            self.stop_reason = "callback"
            config.log(f"Stopped by a callback: {exc}")
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            warn(
                f"Training interrupted by user after {history.n_iter} epochs; "
                f"{config.name} keeps the weights reached"
                + (" (the best validation epoch)." if config.early_stopping else ".")
                + " Call fit again to start over, or partial_fit to continue.",
                UserWarning,
            )
        finally:
            self.module.eval()
        self.finish()
        config.notify("on_train_end", history)
        return history

    def run_epoch(self):
        """Train one epoch; returns its loss (data loss plus penalty)."""
        total = torch.zeros((), device=self.device)
        for batch in self.batches:
            total += self.train_step(batch) * len(batch)
        if self.shard is not None:
            torch.distributed.all_reduce(total)  # every rank: the global loss
        data_loss = total.item() / self.n  # the one synchronisation of the epoch
        # the penalty's share, added to the validation loss too (comparable curves)
        self.penalty_value = self.config.penalty.value(
            self.module, len(self.batches), self.n
        )
        return data_loss + self.penalty_value

    def train_step(self, batch):
        """One optimizer step on ``batch``; returns its loss, on the device."""
        config, optimizer, penalty = self.config, self.optimizer, self.config.penalty
        if config.budget:
            history = self.history
            lr = scheduled_lr(
                config.schedule,
                config.learning_rate_init,
                history.schedule_step,
                self.total_steps,
            )
            _set_lr(optimizer, lr)
            history.schedule_step += 1
        l2 = penalty.batch_l2(len(batch)) if penalty.l2 else 0.0
        if l2 and penalty.decoupled and penalty.per_batch:
            optimizer.param_groups[0]["weight_decay"] = l2
        share = None
        if self.shard is not None:
            batch, share = self._local_part(batch)
        inputs = self.task.augment(network_inputs(batch.inputs), self.generator)
        with autocast(config.precision, self.device, inputs):
            output = self.forward(*inputs)
            if len(batch):
                loss = self.task.loss(output, batch.target, batch.weight)
            else:  # a batch smaller than the world: no rows here, no gradient
                loss = output.sum() * 0.0
        if share is not None:
            # DDP averages the ranks' gradients; weighting each rank's mean
            # loss by its share of the batch makes that average the gradient
            # of the whole batch's mean loss, as in one process
            world = self.shard[1]
            loss = loss * (share * world)
        for p in self.params:  # optimizer.zero_grad(set_to_none=True)
            p.grad = None
        if self.scaler is None:
            loss.backward()
        else:
            self.scaler.scale(loss).backward()
        if l2 and not penalty.decoupled:
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            penalty.add_to_gradients(self.weights, l2)
        if self.scaler is None:
            optimizer_step(optimizer)
        else:
            self.scaler.step(optimizer)
            self.scaler.update()
        if penalty.l1:
            penalty.proximal_step(self.weights, _current_lr(optimizer))
        if share is not None:
            return loss.detach() / self.shard[1]  # this rank's part of the mean
        return loss.detach()

    def _local_part(self, batch):
        """This rank's rows of a batch, and their share of its loss."""
        rank, world = self.shard
        n = len(batch)
        part = batch.slice(n * rank // world, n * (rank + 1) // world)
        if batch.weight is None:
            return part, len(part) / n
        return part, part.weight.sum() / batch.weight.sum()

    def end_epoch(self, epoch, loss, tic):
        """Record the epoch, apply the stopping and schedule rules; True stops."""
        config, history, optimizer = self.config, self.history, self.optimizer
        history.n_iter += 1
        history.t += self.n
        history.loss = loss
        history.loss_curve.append(loss)
        history.learning_rate_curve.append(_current_lr(optimizer))
        if not np.isfinite(loss):
            history.epoch_seconds.append(time.perf_counter() - tic)
            self.stop_reason = "diverged"
            return True
        score = valid_loss = None
        if self.valid is not None:
            self.module.eval()
            score, valid_loss = self.task.score(self.valid)
            self.module.train()
            valid_loss += self.penalty_value
            if history.validation_loss_curve is not None:
                history.validation_loss_curve.append(valid_loss)
        history.epoch_seconds.append(time.perf_counter() - tic)
        if history.improve(loss, score, config, valid_loss):
            self.best.save()
            self.kept_best = True
        if config.verbose:
            config.log(self._epoch_line(loss, score, tic))
        if config.schedule == "invscaling":
            lr = config.learning_rate_init / (history.t + 1) ** config.power_t
            _set_lr(optimizer, lr)
        config.notify(
            "on_epoch_end", history, epoch=epoch, loss=loss, validation_score=score
        )
        if config.budget and not config.early_stopping:
            return False  # the schedule runs its budget (best epoch kept)
        if history.no_improvement_count <= config.n_iter_no_change:
            return False
        what = "Validation score" if config.early_stopping else "Training loss"
        message = (
            f"{what} did not improve more than tol={config.tol} for "
            f"{config.n_iter_no_change} consecutive epochs."
        )
        lr = _current_lr(optimizer)
        if config.schedule in ("adaptive", "plateau") and lr > 1e-6:
            _set_lr(optimizer, lr / 5.0)
            history.no_improvement_count = 0
            config.log(f"{message} Setting learning rate to {lr / 5.0:g}.")
            return False
        config.log(f"{message} Stopping.")
        self.stop_reason = "converged"
        return True

    def finish(self):
        """Keep the weights to keep, and say why training ended if it should."""
        config, history = self.config, self.history
        if self.stop_reason == "diverged":
            good = [v for v in history.loss_curve if np.isfinite(v)]
            history.loss = min(good) if good else float("nan")
            if _keep_finite(self.module, self.task, self.best, self.start, self.train):
                kept = f"The weights of the best finite epoch (loss {history.loss:.6g})"
            else:
                history.loss = float("nan")
                kept = (
                    "Those of the best finite epoch predict non-finite values, so "
                    "the weights this fit started from"
                )
            warn(
                f"{config.name} diverged at epoch {history.n_iter}: the "
                f"training loss became {history.loss_curve[-1]}. {kept} were "
                f"restored. Lower learning_rate_init (now "
                f"{config.learning_rate_init}) or scale the inputs, for example "
                f"with StandardScaler.",
                ConvergenceWarning,
            )
        elif self.kept_best and not self.incremental:
            # the best epoch is what the model keeps, whichever rule stopped it:
            # the best validation score, or else the lowest training loss
            self.best.restore()
        if (
            self.stop_reason is None
            and not self.incremental
            and not config.budget
            and history.n_iter >= config.max_iter
        ):
            warn(
                f"Stochastic Optimizer: Maximum iterations ({config.max_iter}) "
                f"reached and the optimization hasn't converged yet. Increase "
                f"max_iter to train longer.",
                ConvergenceWarning,
            )
        elif (
            self.stop_reason is None
            and not self.incremental
            and config.budget
            and history.n_iter >= config.max_iter
        ):
            _warn_if_still_falling(config, history.loss_curve)

    def _epoch_line(self, loss, score, tic):
        history = self.history
        width = len(str(self.config.max_iter))
        line = f"epoch {history.n_iter:>{width}}  loss {loss:.6f}"
        if score is not None:
            if history.validation_loss_curve:
                line += f"  validation loss {history.validation_loss_curve[-1]:.6f}"
            line += f"  validation score {score:.4f}"
            if score == history.best_validation_score:
                line += " *"
        lr = _current_lr(self.optimizer)
        return line + f"  lr {lr:.3g}  {time.perf_counter() - tic:.2f}s"


# A budget schedule's fit is still learning fast when more than this share of
# its loss's fall (first epoch to last) came in the second half of the epochs.
# Measured on digits (MLPClassifier with either schedule, CNNClassifier's
# onecycle default): 0.19-0.38 after 3 epochs and 0.08-0.16 after 5, where
# more epochs still raised the training accuracy; 0.00-0.08 after 10 epochs
# and more, and 0.06 for the CNN's max_iter='auto'.
_STILL_FALLING = 0.1


def _warn_if_still_falling(config, loss_curve):
    """Warn that a budget schedule ended while the loss was still falling fast.

    ``'cosine'`` and ``'onecycle'`` anneal the step size to zero by the last of
    ``max_iter`` epochs, so the loss always flattens at the end and scikit-
    learn's rule (no improvement by ``tol``) cannot say whether ``max_iter``
    was too small. A fit whose loss fell by a large share of its whole fall in
    the second half of its epochs was stopped while learning.
    """
    curve = [v for v in loss_curve if np.isfinite(v)]
    if len(curve) < 2 or len(curve) != len(loss_curve):
        return
    first, middle, last = curve[0], curve[(len(curve) - 1) // 2], curve[-1]
    fall = first - last
    if fall <= 0 or (middle - last) / fall <= _STILL_FALLING:
        return
    warn(
        f"{config.name} trained for all max_iter={config.max_iter} epochs of its "
        f"learning_rate={config.schedule!r} schedule while the training loss "
        f"was still falling fast: {100 * (middle - last) / fall:.0f}% of its fall "
        f"({first:.4g} -> {last:.4g}) came in the last half of the epochs, and "
        f"the schedule lowered the step size to zero at the end. Increase "
        f"max_iter to train longer (the schedule stretches over the new "
        f"budget), for example max_iter={2 * config.max_iter}.",
        BudgetConvergenceWarning,
    )


def run_stochastic(
    module,
    optimizer,
    train,
    valid,
    config,
    task,
    history,
    *,
    incremental=False,
    generator=None,
    shard=None,
):
    """Train ``module`` by mini-batches for up to ``config.max_iter`` epochs.

    One epoch with ``incremental`` (``partial_fit``). ``train`` and ``valid``
    (the early-stopping split, or None) are Batches on the training device;
    ``history`` is a fresh :class:`History` or the one to continue, updated
    and returned. ``module`` ends in eval mode with the weights to keep.
    With ``shard=(rank, world_size)`` this is one process of a data-parallel
    run: every rank holds the same ``train``, draws the same batches, and
    trains on its part of each through ``task.forward`` (a
    ``DistributedDataParallel`` wrapper), so that all ranks keep the same
    weights and stop at the same epoch.
    """
    run = _StochasticRun(
        module,
        optimizer,
        train,
        valid,
        config,
        task,
        history,
        incremental=incremental,
        generator=generator,
        shard=shard,
    )
    return run.fit_loop()


# ----------------------------------------------------------------------
# Full-batch solvers


class _NonFiniteLoss(Exception):
    """Raised inside the L-BFGS closure to stop at a non-finite loss."""


def run_lbfgs(module, train, config, task):
    """Train ``module`` on the full batch with torch's L-BFGS.

    The L2 penalty is a loss term here (the gradient is full-batch, so it
    costs nothing noticeable). The history's ``loss_curve`` holds the loss at
    each iteration.
    """
    device = train.inputs[0].device
    n = len(train)
    l2 = config.penalty.full_batch_l2(n, train.weight)
    decay, _ = split_params(module)
    optimizer = torch.optim.LBFGS(
        [p for p in module.parameters() if p.requires_grad],
        lr=1.0,
        max_iter=config.max_iter,
        max_eval=config.max_fun,
        tolerance_grad=config.tol,
        tolerance_change=1e-9,
        history_size=10,
        line_search_fn="strong_wolfe",
    )
    state = optimizer.state[optimizer._params[0]]
    per_iter, per_iter_time = {}, {}
    best, best_loss = _Snapshot(module), [np.inf]
    start = _Snapshot(module)
    history = History()
    inputs = network_inputs(train.inputs)  # sequences padded once, not per call

    def closure():
        optimizer.zero_grad(set_to_none=True)
        with autocast(config.precision, device, inputs):
            output = (task.forward or module)(*inputs)
            loss = task.loss(output, train.target, train.weight)
        if l2:
            loss = loss + 0.5 * l2 * sum((w * w).sum() for w in decay)
        loss.backward()
        k = state.get("n_iter", 0)
        value = per_iter[k] = loss.item()
        per_iter_time[k] = time.perf_counter()
        if not np.isfinite(value):  # torch's line search cannot recover: stop
            raise _NonFiniteLoss
        if value < best_loss[0]:  # the weights of the lowest finite loss so far
            best_loss[0] = value
            best.save()
        return loss

    config.notify("on_train_begin", history)
    module.train()
    tic = time.perf_counter()
    stopped = False
    try:
        optimizer_step(optimizer, closure)
    except KeyboardInterrupt:
        warn(
            f"Training interrupted by user; {config.name} keeps the weights reached.",
            UserWarning,
        )
    except _NonFiniteLoss:
        stopped = True
    except RuntimeError as exc:  # a line-search step too large for float32
        if "overflow" not in str(exc):
            raise
        stopped = True
    finally:
        module.eval()
    history.n_iter = int(state.get("n_iter", 0))
    history.t = n * max(history.n_iter, 1)
    # per_iter[0] is the loss before the first step; keep one per iteration
    history.loss_curve = [
        per_iter[k] for k in sorted(per_iter) if k or len(per_iter) == 1
    ]
    # seconds per iteration: from the last loss evaluation of one to the next's
    ends = [tic] + [per_iter_time[k] for k in sorted(per_iter_time)]
    history.epoch_seconds = [b - a for a, b in zip(ends, ends[1:])]
    history.epoch_seconds = history.epoch_seconds[-len(history.loss_curve) :]
    history.loss = history.loss_curve[-1] if history.loss_curve else float("nan")
    good = [v for v in history.loss_curve if np.isfinite(v)]
    history.best_loss = min(good) if good else float("nan")
    diverged = stopped or not np.isfinite(history.loss)
    diverged = diverged or not all(torch.isfinite(p).all() for p in module.parameters())
    if diverged:
        last, history.loss = history.loss, best_loss[0]
        kept = f"the weights of the lowest finite loss ({history.loss:.6g})"
        if not _keep_finite(module, task, best, start, train):
            history.loss = float("nan")
            kept = "the weights it started from (the others predict non-finite values)"
    config.log(
        f"lbfgs: {history.n_iter} iterations, {state.get('func_evals', 0)} loss "
        f"evaluations, loss {history.loss:.6f}, {time.perf_counter() - tic:.2f}s"
    )
    if diverged:
        warn(
            f"{config.name}: L-BFGS diverged (last loss {last}); {kept} were "
            f"restored. Scale the inputs, for example with StandardScaler, or "
            f"raise alpha.",
            ConvergenceWarning,
        )
    elif history.n_iter >= config.max_iter:
        warn(
            f"lbfgs failed to converge after {config.max_iter} iterations. "
            f"Increase max_iter or scale the inputs, for example with "
            f"StandardScaler.",
            ConvergenceWarning,
        )
    config.notify("on_train_end", history)
    return history


# rows per float64 chunk of the normal equations: a few MB, whatever n is
_CHUNK = 8192


def run_normal_equations(module, train, config, task):
    """Weighted ridge / least squares by the normal equations, in float64.

    ``module`` is a ``LinearModel`` (an intercept when its layer has a bias);
    the L2 coefficient of ``config.penalty`` is the ridge penalty. X (dense,
    or sparse CSR) is centred (with the sample weights) chunk by chunk, so no
    float64 or dense copy of the whole of X is made; the intercept
    follows from the means. Rank-deficient X gets the minimum-norm solution,
    as scikit-learn's LinearRegression.
    """
    config.notify("on_train_begin", History())
    tic = time.perf_counter()
    X, y = train.inputs[0], train.target
    device = X.device if X.device.type != "mps" else torch.device("cpu")
    X, y = X.to(device), y.to(device).double()
    n, p = X.shape
    w = (
        torch.ones(n, dtype=torch.float64, device=device)
        if train.weight is None
        else train.weight.to(device).double()
    )
    w_sum = w.sum()
    if module.linear.bias is not None:
        x_mean = _chunked_mean(X, w)
        y_mean = (w @ y) / w_sum
    else:
        x_mean = torch.zeros(p, dtype=torch.float64, device=device)
        y_mean = torch.zeros(y.shape[1], dtype=torch.float64, device=device)
    alpha = config.penalty.l2
    if p > _GRAM_MAX_FEATURES:
        coef, how = _least_squares_cgls(X, y - y_mean, w, x_mean, alpha, config)
    else:
        coef, how = _solve_gram(X, y - y_mean, w, x_mean, alpha)
    intercept = y_mean - x_mean @ coef
    module.set_parameters(coef.T.float(), intercept.float())
    seconds = time.perf_counter() - tic

    with torch.no_grad():
        loss = float(task.loss(module(train.inputs[0]), train.target, train.weight))
    loss += config.penalty.value(module, 1, n)
    config.log(
        f"normal equations: {n} samples, {p} features, solved by {how} in "
        f"float64 on {device}, loss {loss:.6f}, {seconds:.2f}s"
    )
    history = History(
        n_iter=1,
        t=n,
        loss=loss,
        loss_curve=[loss],
        best_loss=loss,
        epoch_seconds=[seconds],
    )
    config.notify("on_train_end", history)
    return history


def _solve_gram(X, y_centred, w, x_mean, alpha):
    """The normal equations' solution through the p x p Gram matrix."""
    n, p = X.shape
    device = y_centred.device
    gram = torch.zeros(p, p, dtype=torch.float64, device=device)
    xty = torch.zeros(p, y_centred.shape[1], dtype=torch.float64, device=device)
    chunk = _chunk_rows(X)
    for start in range(0, n, chunk):
        xc = _dense_rows(X, start, start + chunk) - x_mean
        wc = w[start : start + chunk, None]
        gram += xc.T @ (wc * xc)
        xty += xc.T @ (wc * y_centred[start : start + chunk])
    w_sum = w.sum()
    gram /= w_sum
    xty /= w_sum
    if alpha:
        gram += alpha * torch.eye(p, dtype=torch.float64, device=device)
    chol, info = torch.linalg.cholesky_ex(gram)
    if int(info) == 0 and _well_conditioned(chol):
        return torch.cholesky_solve(xty, chol), "Cholesky"
    # singular: the minimum-norm solution, as scipy's lstsq
    coef = torch.linalg.pinv(gram.cpu(), hermitian=True).to(device) @ xty
    return coef, "pseudo-inverse (rank-deficient X: the minimum-norm solution)"


# Beyond this many features the Gram matrix (8 p^2 bytes: 128 MB at 4096, 80
# GB for a 100,000-word vocabulary) and its O(p^3) factorisation cost more
# than an iterative solve whose every step is two products with X.
_GRAM_MAX_FEATURES = 4096
# CGLS stops when the normal equations' residual falls below this fraction of
# its starting value (float64: about the accuracy of the Cholesky route)
_CGLS_RTOL = 1e-10


def _least_squares_cgls(X, y_centred, w, x_mean, alpha, config):
    """The normal equations' solution by conjugate gradients (CGLS), for wide X.

    Minimises ``|W^1/2 (y - Xc b)|^2 + alpha * sum(w) |b|^2`` (the scaled form
    of the ridge objective, Xc the weighted-centred X) with products by X and
    X.T only: memory is X, a float64 copy of its nonzero values (sparse) and a
    few vectors of length n and p. Started from zero, CGLS converges to the
    minimum-norm solution when X is rank-deficient, as lstsq. One run per
    target, vectorised over the columns of y.
    """
    n, p = X.shape
    device = y_centred.device
    root_w = w.sqrt()[:, None]
    lam = float(alpha) * float(w.sum())
    if is_sparse(X):
        X64, XT64 = X.double(), transpose_of(X).double()

        def times(v):  # X @ v
            return X64 @ v

        def times_t(u):  # X.T @ u
            return XT64 @ u

    else:
        chunk = _chunk_rows(X)

        def times(v):
            return torch.cat(
                [X[s : s + chunk].double() @ v for s in range(0, n, chunk)]
            )

        def times_t(u):
            out = torch.zeros(p, u.shape[1], dtype=torch.float64, device=device)
            for s in range(0, n, chunk):
                out += X[s : s + chunk].double().T @ u[s : s + chunk]
            return out

    def matvec(v):  # W^1/2 Xc v
        return root_w * (times(v) - x_mean @ v)

    def rmatvec(u):  # Xc.T W^1/2 u
        u = root_w * u
        return times_t(u) - x_mean[:, None] * u.sum(0)

    t = y_centred.shape[1]
    coef = torch.zeros(p, t, dtype=torch.float64, device=device)
    residual = root_w * y_centred
    s = rmatvec(residual)
    direction = s.clone()
    gamma = (s * s).sum(0)
    stop = _CGLS_RTOL**2 * gamma
    limit = 2 * min(n, p) + 100
    iterations = 0
    converged = bool((gamma <= stop).all())
    while not converged and iterations < limit:
        q = matvec(direction)
        delta = (q * q).sum(0) + lam * (direction * direction).sum(0)
        step = torch.where(delta > 0, gamma / delta, torch.zeros_like(gamma))
        coef += step * direction
        residual -= step * q
        s = rmatvec(residual) - lam * coef
        gamma_next = (s * s).sum(0)
        beta = torch.where(gamma > 0, gamma_next / gamma, torch.zeros_like(gamma))
        direction = s + beta * direction
        gamma = gamma_next
        iterations += 1
        converged = bool((gamma <= stop).all())
    if not converged:
        warn(
            f"The least-squares solve of {p} features by conjugate gradients "
            f"stopped after {limit} iterations short of its tolerance: X is "
            f"badly conditioned. Standardise the features (StandardScaler, "
            f"with_mean=False for sparse X), or add a ridge penalty "
            f"(penalty='l2', alpha > 0).",
            ConvergenceWarning,
        )
    how = (
        f"conjugate gradients in {iterations} iterations (no {p} x {p} Gram "
        f"matrix for so many features)"
    )
    return coef, how


def _chunked_mean(X, w):
    total = torch.zeros(X.shape[1], dtype=torch.float64, device=X.device)
    chunk = _chunk_rows(X)
    for start in range(0, X.shape[0], chunk):
        total += w[start : start + chunk] @ _dense_rows(X, start, start + chunk)
    return total / w.sum()


def _chunk_rows(X):
    """Rows per float64 chunk: ``_CHUNK``, or for sparse X about 4 MB of them."""
    if not is_sparse(X):
        return _CHUNK
    return max(1, min(_CHUNK, 2**19 // max(X.shape[1], 1)))


def _dense_rows(X, start, stop):
    """Rows ``start:stop`` of dense or sparse X, as a dense float64 tensor."""
    return (
        slice_rows(X, start, stop).to_dense().double()
        if is_sparse(X)
        else (X[start:stop].double())
    )


def _well_conditioned(chol):
    diag = torch.diagonal(chol)
    return bool(diag.min() > 1e-7 * diag.max())
