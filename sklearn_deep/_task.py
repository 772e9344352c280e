"""The tasks: classification, regression and reconstruction.

Each half says how targets are encoded, which loss trains the network (always
on logits), how the network's output becomes predictions, and how the
early-stopping split is scored. A public estimator is one of these mixins plus
``BaseDeepEstimator``.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import (
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
)
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from sklearn_deep._base import _numeric_hint
from sklearn_deep._data import Batch
from sklearn_deep.utils._compat import _fit_context


def _two_floats(a, b):
    """Two 0-d device tensors as Python floats, in one synchronisation."""
    return tuple(torch.stack([a.float(), b.float()]).tolist())


def argmax_rows(scores):
    """``scores.argmax(1)``, sooner for many rows of a few columns.

    numpy's argmax along a row of 10 values costs about 25 ns a row (one
    inner call each). With the columns contiguous (Fortran order, as
    ``TableInput.fast_layers`` returns them) a pass over the columns, keeping
    the running maximum and the last column that raised it, takes about a
    third of that. Ties go to the first column, as with ``argmax``; a row
    with NaN (which ``np.maximum`` carries into the maximum) sends all rows to
    ``argmax``, whose NaN rule is the reference.
    """
    n, k = scores.shape
    if k < 2 or k > 64 or n < 512 or not scores.flags.f_contiguous:
        return scores.argmax(1)
    best = scores[:, 0].copy()
    index = np.zeros(n, np.intp)
    raised = np.empty(n, bool)
    step = np.empty(n, np.intp)
    for j in range(1, k):
        column = scores[:, j]
        np.greater(column, best, out=raised)
        np.maximum(best, column, out=best)
        np.multiply(raised, j, out=step)  # j where column j raised the max
        np.maximum(index, step, out=index)  # the last such column
    if not np.isfinite(best.sum()):
        return scores.argmax(1)
    return index


def _is_stochastic(est):
    from sklearn_deep._engine import STOCHASTIC_SOLVERS

    if est._resolved_solver() not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            f"partial_fit is only available for the stochastic solvers "
            f"{STOCHASTIC_SOLVERS}; solver={est.solver!r} trains on the full "
            f"batch."
        )
    return True


def _short(values, limit=20):
    """A list of labels for a message, cut after ``limit`` of them."""
    values = np.asarray(values).tolist()
    if len(values) <= limit:
        return values
    return f"{values[:limit]} ... ({len(values)} in all)"


def _check_labels_in(labels, known, known_name):
    """scikit-learn's partial_fit error when ``y`` has labels not in ``known``."""
    unknown = np.setdiff1d(labels, known)
    if len(unknown):
        raise ValueError(
            f"`y` has classes not in `{known_name}`. `{known_name}` has "
            f"{_short(known)}. 'y' has {_short(labels)}; {_short(unknown)} are "
            f"new. Pass every class to the first partial_fit call (for example "
            f"classes=np.unique(y_all)), or fit a new model (warm_start=False) "
            f"to learn new classes."
        )


def _shaped_like(target, output):
    """skorch's target as the network's output: a 1-D y of a one-output
    network as one column (torch would broadcast (n, 1) against (n,) to
    (n, n)), and integer labels as floats for the binary losses."""
    if target.ndim == 1 and output.ndim == 2 and output.shape[1] == 1:
        target = target.reshape(-1, 1)
    return target.to(output.dtype)


class SkorchMSELoss(torch.nn.MSELoss):
    """``MSELoss`` on the targets our regressors accept: ``(n,)`` or ``(n, k)``."""

    def forward(self, input, target):
        return super().forward(input, _shaped_like(target, input))


class SkorchPoissonNLLLoss(torch.nn.PoissonNLLLoss):
    """``PoissonNLLLoss`` on log-rate outputs and ``(n,)`` or ``(n, k)`` counts."""

    def forward(self, log_input, target):
        return super().forward(log_input, _shaped_like(target, log_input))


class SkorchBCEWithLogitsLoss(torch.nn.BCEWithLogitsLoss):
    """``BCEWithLogitsLoss`` on 0/1 targets of any dtype, 1-D or one column."""

    def forward(self, input, target):
        return super().forward(input, _shaped_like(target, input))


class ClassifierTaskMixin(ClassifierMixin):
    """Classification: labels through ``classes_``, cross-entropy on logits.

    Binary problems have one output unit (binary cross-entropy), multiclass
    problems one per class (softmax cross-entropy) and multilabel indicator
    targets one per label (binary cross-entropy each), as scikit-learn's MLP.
    """

    _multilabel_supported = True

    def _encode_targets(self, y, *, fresh, classes=None):
        """Check ``y``, set ``classes_`` on a fresh fit, return encoded targets.

        ``classes`` (``partial_fit``'s) declares every class on the first call
        and must repeat ``classes_`` on a later one; ``y`` may hold no other
        labels, as in scikit-learn's ``partial_fit``.
        """
        name = type(self).__name__
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        kind = type_of_target(y)
        if kind == "multiclass-multioutput":
            raise ValueError(
                f"y has shape {y.shape} with a class label per column "
                f"(multiclass-multioutput), but {name} predicts one label per "
                f"sample (or 0/1 indicator columns for multilabel targets). Fit "
                f"one model per column with "
                f"sklearn.multioutput.MultiOutputClassifier({name}(...))."
            )
        check_classification_targets(y)
        if kind == "multilabel-indicator" and not self._multilabel_supported:
            raise ValueError(
                f"{name} does not support multilabel targets "
                f"(y of shape {y.shape}); pass one label per sample, or use "
                f"MLPClassifier."
            )
        if kind == "multilabel-indicator":
            labels = np.arange(y.shape[1])
        else:
            labels = unique_labels(y)
            if classes is not None:
                declared = unique_labels(classes)
                if not fresh and not np.array_equal(declared, self.classes_):
                    raise ValueError(
                        f"`classes={_short(classes)}` is not the same as on last "
                        f"call to partial_fit, was: {_short(self.classes_)}. Pass "
                        f"the classes of the first call, or classes=None."
                    )
                _check_labels_in(labels, declared, "classes")
                labels = declared
        if fresh:
            if kind != "multilabel-indicator" and len(labels) < 2:
                raise ValueError(
                    f"{name} needs samples of at least 2 classes, "
                    f"but y contains only one class: {labels[0]!r}. Check the "
                    f"target, or the split that produced this training set."
                )
            self._set_classes(labels, kind)
        elif (kind == "multilabel-indicator") != (self._target_kind == "multilabel"):
            what = f"{len(self.classes_)} " + (
                "labels" if self._target_kind == "multilabel" else "classes"
            )
            raise ValueError(
                f"y holds {kind!r} targets (shape {y.shape}), but {name} was "
                f"fitted on {self._target_kind} targets ({what}): warm_start and "
                f"partial_fit continue the same kind of target. Pass y like the "
                f"first fit's, or set warm_start=False to fit a new model."
            )
        elif kind == "multilabel-indicator":
            if y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has {y.shape[1]} labels (shape {y.shape}), but {name} was "
                    f"fitted on multilabel targets with {len(self.classes_)} "
                    f"labels; pass y with the same label columns."
                )
        else:
            _check_labels_in(labels, self.classes_, "self.classes_")
        if self._target_kind == "multilabel":
            return y.astype(np.float32)
        index = np.searchsorted(self.classes_, y)
        if self._target_kind == "binary":
            return index.astype(np.float32).reshape(-1, 1)
        return index.astype(np.int64)

    def _set_classes(self, labels, kind):
        self.classes_ = labels
        if kind == "multilabel-indicator":
            self._target_kind = "multilabel"
        elif len(labels) == 2:
            self._target_kind = "binary"
        else:
            self._target_kind = "multiclass"
        self.n_outputs_ = 1 if self._target_kind == "binary" else len(labels)

    def _skorch_net(self):
        import skorch

        if self._target_kind == "binary":
            return skorch.NeuralNetBinaryClassifier, SkorchBCEWithLogitsLoss
        if self._target_kind == "multilabel":
            return skorch.NeuralNet, SkorchBCEWithLogitsLoss
        return skorch.NeuralNetClassifier, torch.nn.CrossEntropyLoss

    def _scale_targets(self, train, valid, fresh):
        """The batches as they are: class indices are not scaled."""
        return train, valid

    def _calibration(self):
        """How probabilities are calibrated after training: None here."""
        return None

    @torch.no_grad()
    def _calibrate(self, valid):
        """Temperature scaling (Guo et al., 2017) on the held-out split.

        One scalar ``a = 1 / temperature`` minimises the validation log-loss
        of ``a * logits``; the head's weights and bias are multiplied by it,
        so every predict path (numpy, torch, ONNX, a saved file) gives the
        calibrated probabilities with no extra state, and the labels do not
        change. A network trained past its best log-loss is over-confident
        (``a < 1``); probabilities are only ever softened.
        """
        head = getattr(self.module_, "head", None)
        if (
            self._calibration() != "temperature"
            or valid is None
            or self._target_kind == "multilabel"
            or not isinstance(head, torch.nn.Linear)
        ):
            return
        logits = self._forward_tensors(valid.inputs).double()
        target = valid.target
        weight = None if valid.weight is None else valid.weight.double()

        def nll(a):
            z = logits * a
            if self._target_kind == "multiclass":
                per = F.cross_entropy(z, target, reduction="none")
            else:
                per = F.binary_cross_entropy_with_logits(
                    z, target.double(), reduction="none"
                ).sum(1)
            return float(per.mean() if weight is None else (per * weight).sum())

        # golden-section search of log(a) in [log 1/20, 0]: the log-loss is
        # convex in a, so unimodal in log(a). Only softened (a <= 1): where
        # the split is separated without error, its log-loss falls without
        # end as a grows, and a sharpened network was over-confident on
        # the test set (a = 20 took one table's log-loss from 0.05 to 0.52)
        low, high = math.log(0.05), 0.0
        ratio = (math.sqrt(5) - 1) / 2
        c, d = high - ratio * (high - low), low + ratio * (high - low)
        fc, fd = nll(math.exp(c)), nll(math.exp(d))
        for _ in range(40):
            if fc < fd:
                high, d, fd = d, c, fc
                c = high - ratio * (high - low)
                fc = nll(math.exp(c))
            else:
                low, c, fc = c, d, fd
                d = low + ratio * (high - low)
                fd = nll(math.exp(d))
        a = math.exp((low + high) / 2)
        if nll(a) < nll(1.0):
            head.weight.mul_(a)
            head.bias.mul_(a)
            self.temperature_ = 1.0 / a
        else:
            self.temperature_ = 1.0

    def _class_weights(self, y_encoded):
        """Per-sample multipliers from ``class_weight``, or None."""
        class_weight = getattr(self, "class_weight", None)
        if class_weight is None:
            return None
        if self._target_kind == "multilabel":
            # scikit-learn's multi-output classifiers take one class_weight
            # per output; one weight per sample cannot weight the labels of
            # a multilabel sample apart, so say so rather than ignore it
            raise ValueError(
                f"class_weight={class_weight!r} is not supported for multilabel "
                f"targets (y of shape {y_encoded.shape}): a sample has several "
                f"labels, so no single class weights it. Set class_weight=None "
                f"and pass per-sample weights with fit(X, y, sample_weight=...)."
            )
        if isinstance(class_weight, dict):
            unknown = [k for k in class_weight if k not in set(self.classes_)]
            if unknown:
                raise ValueError(
                    f"class_weight has labels that are not classes of y: "
                    f"{unknown}; the classes are {self.classes_.tolist()}."
                )
        index = y_encoded.ravel().astype(np.int64)
        return compute_sample_weight(
            class_weight
            if class_weight == "balanced"
            else {i: class_weight.get(c, 1.0) for i, c in enumerate(self.classes_)},
            index,
        )

    def _loss(self, logits, target, weight):
        logits = logits.float()
        if self._target_kind == "multiclass":
            if weight is None:
                return F.cross_entropy(logits, target)
            per_sample = F.cross_entropy(logits, target, reduction="none")
        else:
            if weight is None:
                loss = F.binary_cross_entropy_with_logits(
                    logits, target, reduction="sum"
                )
                return loss / logits.shape[0]
            per_sample = F.binary_cross_entropy_with_logits(
                logits, target, reduction="none"
            ).sum(1)
        return (per_sample * weight).sum() / weight.sum()

    def _validation_score(self, valid):
        """Accuracy and loss on the early-stopping split: one synchronisation."""
        logits = self._forward_tensors(valid.inputs)
        if self._target_kind == "multiclass":
            correct = logits.argmax(1) == valid.target
        else:
            correct = ((logits > 0) == (valid.target > 0.5)).all(1)
        correct = correct.float()
        if valid.weight is None:
            score = correct.mean()
        else:
            score = (correct * valid.weight).sum() / valid.weight.sum()
        return _two_floats(score, self._loss(logits, valid.target, valid.weight))

    def _logits_to_labels(self, logits):
        if self._target_kind == "multilabel":
            return (logits > 0).astype(int)
        if self._target_kind == "binary":
            return self.classes_[(logits[:, 0] > 0).astype(int)]
        return self.classes_[argmax_rows(logits)]

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        {{X}}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels from ``classes_``; a 0/1 indicator matrix for multilabel
            targets.
        """
        return self._logits_to_labels(self._forward(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        {{X}}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class, in the order of ``classes_``
            (for multilabel targets, of each label independently).
        """
        logits = torch.from_numpy(self._forward(X)).double()
        if self._target_kind == "multiclass":
            return torch.softmax(logits, 1).numpy()
        p = torch.sigmoid(logits).numpy()
        if self._target_kind == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        {{X}}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, computed stably from the logits.
        """
        logits = torch.from_numpy(self._forward(X)).double()
        if self._target_kind == "multiclass":
            return torch.log_softmax(logits, 1).numpy()
        if self._target_kind == "binary":
            return torch.hstack([F.logsigmoid(-logits), F.logsigmoid(logits)]).numpy()
        return F.logsigmoid(logits).numpy()

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch over the given samples.

        Parameters
        ----------
        {{X}}

        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            The target labels.

        classes : array-like of shape (n_classes,), default=None
            Every class that any call will see. Required on the first call
            (unless ``y`` is a multilabel indicator matrix); a later call may
            repeat it, but not change it. ``y`` may only hold these classes.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The estimator, trained one epoch further.
        """
        first = not hasattr(self, "classes_")
        if first and classes is None and type_of_target(y) != "multilabel-indicator":
            raise ValueError(
                f"classes must be passed on the first call to partial_fit: "
                f"{type(self).__name__} needs every class in advance, for "
                f"example partial_fit(X, y, classes=np.unique(y_all))."
            )
        return self._fit(
            X, y, sample_weight=sample_weight, incremental=True, classes=classes
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self._multilabel_supported
        return tags


class RegressorTaskMixin(RegressorMixin):
    """Regression: half the mean squared error on float32 targets (or, with
    ``loss='poisson'``, half the Poisson deviance on a log link).

    Several targets (y of shape (n_samples, n_targets)) are predicted jointly.
    """

    _multilabel_supported = False
    # True: predict keeps a 2-D y's shape, (n, 1) included, as scikit-learn's
    # LinearRegression; False: one target predicts (n,), as its MLPRegressor
    _predict_keeps_y_shape = False

    def _poisson(self):
        return getattr(self, "loss", "squared_error") == "poisson"

    def _encode_targets(self, y, *, fresh, classes=None):
        y = np.asarray(y, dtype=np.float32)
        if self._poisson() and np.any(y < 0):
            raise ValueError(
                f"loss='poisson' needs targets y >= 0, but y has "
                f"{int(np.sum(y < 0))} negative value(s) (min {float(y.min())}). "
                f"Pass counts or other non-negative targets, or use "
                f"loss='squared_error'."
            )
        if y.ndim == 1:
            y = y.reshape(-1, 1)
            single = True
        else:
            single = False
        if fresh:
            self.n_outputs_ = y.shape[1]
            self._single_output = single
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} targets, but {type(self).__name__} was "
                f"fitted with {self.n_outputs_}; pass y with the same targets."
            )
        return y

    def _class_weights(self, y_encoded):
        return None

    def _scales_targets(self):
        """Whether the targets are standardised inside the fit (the network
        families: their outputs start near zero, and a target in the
        thousands took hundreds of epochs to reach its scale)."""
        return True

    def _scale_targets(self, train, valid, fresh):
        """The batches with targets ``(y - shift) / scale``, the statistics
        from the training split (its sample weights too) on a fresh fit.

        Squared error: the weighted mean and standard deviation of each
        target (a constant target keeps the scale 1). Poisson: the shift is
        0 and the scale the mean, so the scaled target stays a non-negative
        rate and the log link is kept: ``mu = scale * exp(output)``.
        """
        if fresh:
            self._target_shift = self._target_scale = None
            if self._scales_targets():
                y = train.target.double()
                w = (
                    torch.ones(len(y), 1, dtype=y.dtype)
                    if train.weight is None
                    else train.weight.double().reshape(-1, 1)
                )
                total = w.sum().clamp_min(torch.finfo(y.dtype).tiny)
                mean = (w * y).sum(0) / total
                if self._poisson():
                    shift = torch.zeros_like(mean)
                    scale = torch.where(mean > 0, mean, 1.0)
                else:
                    std = ((w * (y - mean) ** 2).sum(0) / total).sqrt()
                    shift = mean
                    scale = torch.where(std > 1e-12 * (1 + mean.abs()), std, 1.0)
                self._target_shift = shift.numpy()
                self._target_scale = scale.numpy()
        if getattr(self, "_target_scale", None) is None:
            return train, valid
        shift = torch.as_tensor(self._target_shift, dtype=torch.float64)
        scale = torch.as_tensor(self._target_scale, dtype=torch.float64)

        def scaled(batch):
            if batch is None:
                return None
            # a new tensor: the target may share the caller's memory
            target = ((batch.target.double() - shift) / scale).float()
            return Batch(batch.inputs, target, batch.weight)

        return scaled(train), scaled(valid)

    def _calibrate(self, valid):
        """Nothing to calibrate."""

    def _unscale_targets(self, out):
        """Network outputs (float64, after the link) in the target's units."""
        if getattr(self, "_target_scale", None) is None:
            return out
        return out * self._target_scale + self._target_shift

    def _skorch_net(self):
        import skorch

        if self._poisson():
            return skorch.NeuralNetRegressor, SkorchPoissonNLLLoss
        return skorch.NeuralNetRegressor, SkorchMSELoss

    def _loss(self, output, target, weight):
        output = output.float()
        if self._poisson():
            # half the Poisson deviance with a log link, as scikit-learn's MLP:
            # mean over samples of sum over targets of y log(y / mu) - y + mu,
            # mu = exp(output), written stably in the network's output
            per_sample = (
                torch.exp(output) - target * output + torch.xlogy(target, target)
            ) - target
            per_sample = per_sample.sum(1)
            if weight is None:
                return per_sample.mean()
            return (per_sample * weight).sum() / weight.sum()
        if weight is None:
            return 0.5 * F.mse_loss(output, target)
        per_sample = ((output - target) ** 2).mean(1)
        return 0.5 * (per_sample * weight).sum() / weight.sum()

    def _validation_score(self, valid):
        """R^2 (averaged over targets) and loss on the early-stopping split."""
        output = self._forward_tensors(valid.inputs).float()
        # the loss on the network's output (a log rate under loss='poisson')
        loss = self._loss(output, valid.target, valid.weight)
        pred = torch.exp(output) if self._poisson() else output
        target = valid.target
        w = (
            torch.ones(len(target), 1, device=target.device)
            if valid.weight is None
            else valid.weight.reshape(-1, 1)
        )
        mean = (w * target).sum(0) / w.sum()
        ss_res = (w * (target - pred) ** 2).sum(0)
        ss_tot = (w * (target - mean) ** 2).sum(0)
        r2 = torch.where(
            ss_tot > 0,
            1 - ss_res / ss_tot.clamp_min(torch.finfo(ss_tot.dtype).tiny),
            (ss_res == 0).float(),
        )
        return _two_floats(r2.mean(), loss)

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        {{X}}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            The predicted values: one column (y of shape (n_samples,), or
            (n_samples, 1) for the networks, as scikit-learn's MLPRegressor)
            is returned 1-D; several targets, and a ``(n_samples, 1)`` y for
            LinearRegression (as scikit-learn's), stay 2-D.
        """
        out = self._forward(X).astype(np.float64)
        if self._poisson():
            out = np.exp(out)
        out = self._unscale_targets(out)
        single = self._single_output or (
            out.shape[1] == 1 and not self._predict_keeps_y_shape
        )
        return out.ravel() if single else out

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch over the given samples.

        Parameters
        ----------
        {{X}}

        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : object
            The estimator, trained one epoch further.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class ReconstructionTaskMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """Reconstruction (autoencoders): the target is the input itself.

    The network has ``encode`` and ``decode`` methods besides its forward
    pass (the reconstruction); it trains on half the mean squared error of
    the reconstruction. ``transform`` is the code, ``inverse_transform`` the
    reconstruction from a code, ``score_samples`` the negative reconstruction
    error of each sample and ``score`` its mean, so that a search without a
    scorer picks the best reconstruction.
    """

    _multilabel_supported = False

    def _validate_fit_data(self, X, y, *, reset):
        X = self._input_kind.validate(self, X, reset=reset)  # y is ignored
        if reset:
            self._sample_shape = tuple(X.shape[1:])
        return X, None

    def _encode_targets(self, y, *, fresh, classes=None):
        """No targets: the base takes the input tensor as the target."""
        if fresh:
            # the code's width: what _build_module and load build the network for
            self.n_outputs_ = self.n_components_ = self.n_components
            self._n_features_out = self.n_components
        return None

    def _scale_targets(self, train, valid, fresh):
        """The batches as they are: the target is the input."""
        return train, valid

    def _calibrate(self, valid):
        """Nothing to calibrate."""

    def _class_weights(self, y_encoded):
        return None

    def _skorch_net(self):
        import skorch

        return skorch.NeuralNet, torch.nn.MSELoss

    @staticmethod
    def _sample_errors(output, target, dtype=torch.float32):
        """Mean squared error of each sample's reconstruction: (N,)."""
        return ((output.to(dtype) - target.to(dtype)) ** 2).flatten(1).mean(1)

    def _loss(self, output, target, weight):
        return 0.5 * self._sample_errors(output, target).mean()

    def _validation_score(self, valid):
        """Negative mean squared reconstruction error, and loss, on the split."""
        output = self._forward_tensors(valid.inputs)
        error = self._sample_errors(output, valid.target).mean()
        return _two_floats(-error, self._loss(output, valid.target, valid.weight))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network to reconstruct X.

        Parameters
        ----------
        {{X}}

        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, None, incremental=False)

    @available_if(_is_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over the given samples.

        Parameters
        ----------
        {{X}}

        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The estimator, trained one epoch further.
        """
        return self._fit(X, None, incremental=True)

    def transform(self, X):
        """Encode X into the learned code.

        Parameters
        ----------
        {{X}}

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The code of each sample.
        """
        return self._forward(X, "encode").astype(np.float64)

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as ``transform`` returns them.

        Returns
        -------
        X_original : ndarray of shape (n_samples, ...)
            The reconstructions, each of the shape of a sample of the ``X``
            given to ``fit``.
        """
        check_is_fitted(self, "module_")
        Z = check_array(X, dtype=np.float32, input_name="X")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} columns, but {type(self).__name__} encodes "
                f"to n_components_={self.n_components_}; pass codes of shape "
                f"(n_samples, {self.n_components_}), as transform returns them."
            )
        z = torch.from_numpy(np.ascontiguousarray(Z))
        out = self._forward_tensors((z,), "decode").float().cpu().numpy()
        return self._to_sample_layout(out).astype(np.float64)

    def _to_sample_layout(self, out):
        """Network-shaped reconstructions (N, C, ...) in the layout of X."""
        layout = getattr(self, "_layout", None)
        if layout is not None and layout[1]:  # channels were moved first
            out = np.moveaxis(out, 1, -1)
        return out.reshape(out.shape[0], *self._sample_shape)

    def score_samples(self, X):
        """Negative mean squared reconstruction error of each sample.

        Higher is more typical: low values flag samples unlike the training
        data (outliers).

        Parameters
        ----------
        {{X}}

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((X - reconstruction) ** 2)`` over each sample's values.
        """
        check_is_fitted(self, "module_")
        kind = self._input_kind
        with _numeric_hint():
            inputs = kind.to_tensors(self, kind.validate(self, X, reset=False))
        output = self._forward_tensors(inputs).cpu()
        # in float64: the squares of large (but float32) values stay finite
        return -self._sample_errors(output, inputs[0], torch.float64).numpy()

    def score(self, X, y=None):
        """Negative mean squared reconstruction error over X.

        Parameters
        ----------
        {{X}}

        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            The mean of ``score_samples(X)``: higher is better.
        """
        return float(self.score_samples(X).mean())
