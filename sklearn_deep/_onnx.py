"""ONNX export of a whole fitted estimator: input conversion, network, output
activation and label decoding.

The network and everything that can be written in torch (the reshape of flat
rows into images, the channel move, the univariate-sequence axis, the sigmoid
or softmax, the label index) are traced by torch's exporter; the label lookup
in ``classes_`` (which may hold strings) is added with ``onnx.helper``. A
family needs nothing of its own: the input conversion follows the estimator's
input kind (``_input_kind.name``) and the outputs its task (classifier or
regressor, or a transformer's code), both declared by every family.
"""

import copy
import io
import warnings

import numpy as np
import torch
from sklearn.base import TransformerMixin, is_classifier
from sklearn.utils.validation import check_is_fitted

from sklearn_deep._data import network_inputs

# the opset written: the legacy exporter's most tested one, which every
# onnxruntime of the last years runs
OPSET = 17
_BATCH = "N"
_STEPS = "T"


class _Exported(torch.nn.Module):
    """The estimator's predict path as one torch module, for tracing.

    ``forward(X[, lengths])`` takes X as the user gives it (rows, images,
    sequences) and returns ``(index, probabilities)`` for classifiers (the
    label index into ``classes_``, or the 0/1 indicator of multilabel
    targets), ``(prediction,)`` for regressors, or ``(code,)`` for a
    transformer (``transform``: the network's ``encode``).
    """

    def __init__(self, est, full_lengths=False):
        super().__init__()
        # sequences of one length given their lengths in the graph: the
        # recurrent node then has no empty optional input, which skl2onnx's
        # graph sorting cannot place
        self.full_lengths = full_lengths and est._input_kind.name == "sequence"
        self.network = copy.deepcopy(est.module_).cpu().float().eval()
        self.kind = est._input_kind.name
        self.layout = getattr(est, "_layout", None)  # images: (layout, moved)
        self.univariate = bool(getattr(est, "_table_input", False))
        self.target = getattr(est, "_target_kind", None)  # None: a regressor
        self.single = bool(getattr(est, "_single_output", False))
        self.encode = _is_transformer(est)
        scale = getattr(est, "_target_scale", None)  # regressors' target scaling
        self.scaled = scale is not None
        if self.scaled:
            self.register_buffer("target_scale", torch.as_tensor(scale).float())
            self.register_buffer(
                "target_shift", torch.as_tensor(est._target_shift).float()
            )

    def _network_inputs(self, X, lengths):
        x = X.float()
        if self.kind == "image":
            layout, moved = self.layout
            x = x.reshape(-1, *layout)
            if moved:  # channels last -> first (movedim writes a negative perm)
                x = x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))
        elif self.kind == "sequence" and self.univariate:
            x = x.unsqueeze(-1)  # (N, T) -> (N, T, 1)
        if lengths is None and self.full_lengths:
            steps = torch.ones_like(x[:, :, 0], dtype=torch.long)  # (N, T)
            lengths = steps.sum(1)
        return (x,) if lengths is None else (x, lengths)

    def forward(self, X, lengths=None):
        if self.encode:
            return (self.network.encode(*self._network_inputs(X, lengths)).float(),)
        logits = self.network(*self._network_inputs(X, lengths)).float()
        if self.target is None:
            if self.scaled:  # back to the target's units
                logits = logits * self.target_scale + self.target_shift
            return (logits[:, 0] if self.single else logits,)
        if self.target == "binary":
            p = torch.sigmoid(logits)
            return (logits[:, 0] > 0).long(), torch.cat([1 - p, p], 1)
        if self.target == "multilabel":
            return (logits > 0).long(), torch.sigmoid(logits)
        return logits.argmax(1), torch.softmax(logits, 1)


def _is_transformer(est):
    """A scikit-learn transformer (fit/transform): its output is the code."""
    return isinstance(est, TransformerMixin) and not is_classifier(est)


def _sample_inputs(est, X_sample):
    """The traced inputs for ``X_sample`` and whether they carry lengths."""
    kind = est._input_kind
    validated = kind.validate(est, X_sample, reset=False)  # the fitted checks
    double = getattr(X_sample, "dtype", None) == np.float64
    dtype = np.float64 if double else np.float32
    if kind.name == "sequence":
        # padded as the network takes them (ragged sequences with lengths)
        tensors = network_inputs(kind.to_tensors(est, validated))
        values = tensors[0].to(torch.float64 if double else torch.float32)
        if est._table_input and np.ndim(X_sample) == 2:
            values = values[:, :, 0]  # X stays (N, T): the wrapper adds the axis
        lengths = tensors[1] if len(tensors) > 1 else None
        if lengths is None and isinstance(X_sample, list | tuple):
            lengths = torch.full((len(values),), values.shape[1])
        if lengths is not None:
            return (values, lengths.to(torch.int64)), True
        return (values,), False
    X = np.ascontiguousarray(X_sample, dtype=dtype)
    return (torch.from_numpy(X),), False


def _label_tensor(est):
    """``classes_`` as an ONNX constant, and its element type."""
    from onnx import TensorProto, helper

    classes = est.classes_
    if classes.dtype.kind in "USO":
        if not all(isinstance(c, str) for c in classes.tolist()):
            raise TypeError(
                f"{type(est).__name__}.classes_ mixes labels of several types "
                f"({classes.tolist()!r}); ONNX holds labels of one type. Refit "
                f"on labels that are all strings or all numbers."
            )
        values = [c.encode("utf-8") for c in classes.tolist()]
        kind = TensorProto.STRING
    else:
        kinds = {"b": TensorProto.BOOL, "i": TensorProto.INT64, "u": TensorProto.INT64}
        kind = kinds.get(classes.dtype.kind, TensorProto.DOUBLE)
        numpy_type = {TensorProto.BOOL: bool, TensorProto.INT64: np.int64}
        values = classes.astype(numpy_type.get(kind, np.float64)).tolist()
    return helper.make_tensor("classes", kind, [len(values)], values), kind


def to_onnx(estimator, X_sample, *, opset=None):
    """Export a fitted estimator, whole, as an ONNX model.

    The model takes X as the estimator does and returns what ``predict`` and
    ``predict_proba`` return: the input conversion (dtype, flat rows read as
    images, channels moved first, univariate sequences), the input
    standardisation, the network, the output activation (a sigmoid for a
    binary network's one logit, a softmax for several classes) and the label
    lookup in ``classes_`` (string labels included) are all in the graph.

    Parameters
    ----------
    estimator : estimator instance
        A fitted sklearn_deep estimator.
    X_sample : array-like or list of array-like
        A few samples as ``predict`` takes them; they fix the input's layout
        and dtype (float64 input is cast to float32 inside the graph). For
        sequences, a 3-D array gives one input ``X`` of shape ``(N, T,
        n_features)``; a list of sequences (ragged) gives two, the padded
        batch ``X`` and the ``lengths`` (int64, shape ``(N,)``) of its
        sequences, each read up to its length.
    opset : int, default=None
        The ONNX opset to write; None for 17.

    Returns
    -------
    model : onnx.ModelProto
        Inputs ``X`` (and ``lengths``) with a dynamic batch axis ``N`` (and
        a dynamic time axis ``T`` for sequences). Outputs ``label`` (shape
        ``(N,)``, or ``(N, n_labels)`` for multilabel targets) and
        ``probabilities`` (``(N, n_classes)``) for classifiers;
        ``variable`` (``(N,)`` or ``(N, n_targets)``, as ``predict``) for
        regressors.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If ``classes_`` mixes labels of several types.
    ValueError
        If the estimator encodes categorical columns itself
        (``categorical_features``): export a pipeline that encodes them.

    See Also
    --------
    sklearn_deep.onnx.register : Export pipelines with skl2onnx.

    Notes
    -----
    The graph computes in float32, as ``predict`` does; probabilities differ
    from ``predict_proba`` (which applies the activation in float64) by
    about 1e-7. A model fitted with ``precision='bf16-mixed'`` or
    ``'16-mixed'`` is exported in float32.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import scale
    >>> import sklearn_deep
    >>> X, y = load_iris(return_X_y=True)
    >>> X = scale(X).astype(np.float32)
    >>> clf = sklearn_deep.LogisticRegression(device="cpu").fit(X, y)
    >>> model = sklearn_deep.to_onnx(clf, X[:2])
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> label, proba = session.run(None, {"X": X})
    >>> bool((label == clf.predict(X)).all())
    True
    >>> bool(np.abs(proba - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    return _export(estimator, X_sample, opset=opset)


def _export(estimator, X_sample, *, opset=None, full_lengths=False):
    """``to_onnx``; ``full_lengths`` gives one-length sequences lengths."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError as exc:
        raise ImportError(
            f"to_onnx needs the onnx package ({exc}); install the extra with "
            f"pip install 'sklearn-deep[onnx]'."
        ) from exc

    check_is_fitted(estimator, "module_")
    if getattr(estimator, "_categories", None) is not None:
        columns = np.flatnonzero(estimator.is_categorical_).tolist()
        raise ValueError(
            f"{type(estimator).__name__} was fitted with categorical columns "
            f"(at {columns}), which it one-hot encodes before the network; an "
            f"ONNX graph takes one numeric tensor. To export, encode them in "
            f"the pipeline instead (a ColumnTransformer with OneHotEncoder, "
            f"then this estimator with categorical_features=None) and export "
            f"the pipeline with sklearn_deep.onnx.register and skl2onnx."
        )
    opset = OPSET if opset is None else int(opset)
    inputs, with_lengths = _sample_inputs(estimator, X_sample)
    if inputs[0].shape[0] < 2:  # a traced batch of one could fix the batch axis
        inputs = tuple(torch.cat([t, t]) for t in inputs)
    names = ["X", "lengths"][: len(inputs)]
    axes = {"X": {0: _BATCH}}
    if estimator._input_kind.name == "sequence" and inputs[0].ndim == 3:
        axes["X"][1] = _STEPS
    if with_lengths:
        axes["lengths"] = {0: _BATCH}
    classifier = is_classifier(estimator)
    outputs = ["index", "probabilities"] if classifier else ["variable"]
    for name in outputs:
        axes[name] = {0: _BATCH}

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # the legacy exporter's deprecation notice and tracer remarks: the
        # traced graph is checked against predict by the tests
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Exported(estimator, full_lengths),
            inputs,
            buffer,
            dynamo=False,
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=opset,
        )
    model = onnx.load_from_string(buffer.getvalue())
    graph = model.graph
    if classifier:
        classes, kind = _label_tensor(estimator)
        graph.initializer.append(classes)
        multilabel = estimator._target_kind == "multilabel"
        if multilabel:  # the 0/1 indicator is the label
            graph.node.append(helper.make_node("Identity", ["index"], ["label"]))
            shape, kind = [_BATCH, len(estimator.classes_)], TensorProto.INT64
        else:
            graph.node.append(
                helper.make_node("Gather", ["classes", "index"], ["label"])
            )
            shape = [_BATCH]
        index = next(o for o in graph.output if o.name == "index")
        graph.output.remove(index)
        graph.output.insert(0, helper.make_tensor_value_info("label", kind, shape))
    model.producer_name = "sklearn_deep"
    model.doc_string = f"{type(estimator).__name__} exported by sklearn_deep"
    onnx.checker.check_model(model)
    return model


__all__ = ["to_onnx"]
