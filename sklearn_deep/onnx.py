"""ONNX export with skl2onnx: pipelines that end in (or hold) our estimators.

Importing this module registers, with :func:`skl2onnx.update_registered_converter`,
a shape calculator and a converter for every public estimator of
sklearn_deep, so that ``skl2onnx.to_onnx(pipeline, X[:1])`` exports a
``Pipeline(StandardScaler(), MLPClassifier())`` whole::

    import skl2onnx
    import sklearn_deep.onnx  # registers the converters

    model = skl2onnx.to_onnx(pipe, X[:1].astype("float32"))

:func:`register` does the same explicitly (and again, for instance after
skl2onnx's registry was reset). The converter embeds the graph of
:func:`sklearn_deep.to_onnx`, which reads its input as 2-D rows (the table
a pipeline's previous step hands on). Classifiers have skl2onnx's two
outputs, ``label`` and ``probabilities``, and its ``zipmap`` option (a list
of dicts by default, as for scikit-learn's classifiers; pass
``options={"zipmap": False}`` for a plain matrix); regressors one,
``variable``; the AutoEncoder one, ``variable``, its code (``transform``), so
a pipeline can go on from it.
"""

import numpy as np
from sklearn.base import is_classifier

from sklearn_deep._onnx import OPSET, _export, _is_transformer
from sklearn_deep.utils import all_estimators

_ALIAS = "SklearnDeep{}"


def _label_type(est):
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        Int64TensorType,
        StringTensorType,
    )

    if est._target_kind == "multilabel":
        return Int64TensorType
    kind = est.classes_.dtype.kind
    if kind in "USO":
        return StringTensorType
    if kind == "b":
        return BooleanTensorType
    return Int64TensorType if kind in "iu" else DoubleTensorType


def _shape_calculator(operator):
    """The types and shapes of the outputs (skl2onnx's shape calculator)."""
    from skl2onnx.common.data_types import FloatTensorType

    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    if is_classifier(est):
        n_classes = len(est.classes_)
        label_shape = [n, n_classes] if est._target_kind == "multilabel" else [n]
        operator.outputs[0].type = _label_type(est)(label_shape)
        operator.outputs[1].type = FloatTensorType([n, n_classes])
    elif _is_transformer(est):  # the code, as transform gives it
        operator.outputs[0].type = FloatTensorType([n, est.n_components])
    else:
        shape = [n] if est._single_output else [n, est.n_outputs_]
        operator.outputs[0].type = FloatTensorType(shape)


def _converter(scope, operator, container):
    """Embed the graph of ``to_onnx`` (skl2onnx's converter)."""
    from onnx import helper
    from skl2onnx.common.data_types import DoubleTensorType

    est = operator.raw_operator
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    sample = np.zeros((2, est.n_features_in_), np.float64 if double else np.float32)
    opset = min(OPSET, container.target_opset)
    graph = _export(est, sample, opset=opset, full_lengths=True).graph

    # every name of the embedded graph made unique in the pipeline's graph,
    # its input and outputs mapped to the operator's variables
    renamed = {graph.input[0].name: operator.inputs[0].full_name}
    for output, variable in zip(graph.output, operator.outputs):
        renamed[output.name] = variable.full_name

    def name(old):
        if old not in renamed:
            renamed[old] = scope.get_unique_variable_name(f"sd_{old}")
        return renamed[old]

    for initializer in graph.initializer:
        tensor = type(initializer)()
        tensor.CopyFrom(initializer)
        tensor.name = name(initializer.name)
        container.initializers.append(tensor)
    for node in graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(
            node.op_type,
            [name(i) for i in node.input],
            [name(o) for o in node.output],
            name=scope.get_unique_operator_name(f"sd_{node.op_type}"),
            op_domain=node.domain,
            op_version=opset,
            **attributes,
        )


def register():
    """Register skl2onnx converters for every public estimator of sklearn_deep.

    Called when :mod:`sklearn_deep.onnx` is imported; calling it again is
    harmless. Afterwards, :func:`skl2onnx.to_onnx` and
    :func:`skl2onnx.convert_sklearn` export our estimators and any pipeline
    or composite estimator that holds them.

    Returns
    -------
    aliases : list of str
        The skl2onnx aliases registered, ``'SklearnDeep<ClassName>'``.

    See Also
    --------
    sklearn_deep.to_onnx : Export one estimator without skl2onnx.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> import skl2onnx
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import sklearn_deep.onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> pipe = make_pipeline(
    ...     StandardScaler(), sklearn_deep.MLPClassifier(device="cpu", max_iter=20)
    ... ).fit(X, y)
    >>> model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> label, proba = session.run(None, {"X": X})
    >>> bool((label == pipe.predict(X)).all())
    True
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as exc:
        raise ImportError(
            f"sklearn_deep.onnx registers skl2onnx converters and needs "
            f"skl2onnx ({exc}); install the extra with pip install "
            f"'sklearn-deep[onnx]'. sklearn_deep.to_onnx needs only onnx."
        ) from exc

    aliases = []
    for name, cls in all_estimators():
        options = None
        if is_classifier(cls()):
            options = {"zipmap": [True, False, "columns"], "nocl": [True, False]}
        alias = _ALIAS.format(name)
        update_registered_converter(
            cls, alias, _shape_calculator, _converter, options=options
        )
        aliases.append(alias)
    return aliases


register()

__all__ = ["register"]
