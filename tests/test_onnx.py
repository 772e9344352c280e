"""ONNX export: ``sklearn_deep.to_onnx`` and the skl2onnx converters, run with
onnxruntime against ``predict`` and ``predict_proba``."""

import numpy as np
import pytest
import torch
from _estimator_cases import (
    CLASSES,
    LAYOUT_CASES,
    LAYOUT_IDS,
    data,
    make_X,
    stochastic,
)
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_deep

ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
import sklearn_deep.onnx  # noqa: E402  (registers the skl2onnx converters)

pytestmark = pytest.mark.filterwarnings("ignore:.*(Maximum iterations|lbfgs)")
CLASSIFIERS = [cls for cls in CLASSES if is_classifier(cls())]
REGRESSORS = [cls for cls in CLASSES if is_regressor(cls())]

# float32 graphs against predict_proba's float64 activation
ATOL = 1e-5


def run(model, X):
    """The model's outputs on X (a list of sequences is padded, with lengths)."""
    session = ort.InferenceSession(model.SerializeToString())
    names = [i.name for i in session.get_inputs()]
    if isinstance(X, list):
        lengths = np.array([len(x) for x in X], dtype=np.int64)
        padded = np.zeros((len(X), lengths.max(), X[0].shape[1]), np.float32)
        for i, x in enumerate(X):
            padded[i, : len(x)] = x
        feeds = {"X": padded, "lengths": lengths}
    else:
        dtype = np.float64 if "double" in session.get_inputs()[0].type else np.float32
        feeds = {"X": np.asarray(X, dtype=dtype)}
    assert set(feeds) == set(names)
    return session.run(None, feeds)


def assert_matches(est, outputs, X):
    """ONNX outputs equal predict (labels) and predict_proba (to ATOL)."""
    if is_classifier(est):
        label, proba = outputs
        expected = est.predict(X)
        assert label.shape == expected.shape
        np.testing.assert_array_equal(label, expected)
        np.testing.assert_allclose(proba, est.predict_proba(X), rtol=0, atol=ATOL)
    else:  # a regressor's prediction, or a transformer's code
        (prediction,) = outputs
        expected = est.predict(X) if hasattr(est, "predict") else est.transform(X)
        assert prediction.shape == expected.shape
        np.testing.assert_allclose(prediction, expected, rtol=1e-5, atol=ATOL)


@pytest.mark.parametrize("cls, layout", LAYOUT_CASES, ids=LAYOUT_IDS)
def test_every_estimator_exports_whole(cls, layout):
    # string labels (three classes) for classifiers; another batch size (and,
    # for sequences, other lengths) than the sample the graph was traced on
    X, y = data(cls, layout)
    est = stochastic(cls).fit(X, y)
    model = sklearn_deep.to_onnx(est, X[:3])
    X_new = make_X(layout, n=13, seed=1)
    if layout == "sequence":
        X_new = np.random.RandomState(1).randn(13, 7, 2)  # 7 steps, fitted on 3
    if layout == "ragged":
        X_new = [np.random.RandomState(i).randn(1 + i % 6, 2) for i in range(13)]
    assert_matches(est, run(model, X_new), X_new)


@pytest.mark.parametrize(
    "labels", [[0, 1], ["no", "yes"], [False, True], [-1.0, 2.0], [3, 7, 11]]
)
@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_labels_of_every_type_are_decoded(cls, labels):
    X, _ = data(cls)
    y = np.array(labels)[np.arange(len(X)) % len(labels)]
    est = stochastic(cls).fit(X, y)
    outputs = run(sklearn_deep.to_onnx(est, X[:2]), X)
    assert outputs[0].dtype.kind == np.asarray(labels).dtype.kind or (
        outputs[0].dtype == object and isinstance(labels[0], str)
    )
    assert outputs[1].shape == (len(X), len(labels))
    assert_matches(est, outputs, X)


def test_multilabel_targets_give_the_indicator():
    X, _ = data(sklearn_deep.MLPClassifier)
    Y = (X[:, :3] > 0).astype(int)
    est = stochastic(sklearn_deep.MLPClassifier).fit(X, Y)
    label, proba = run(sklearn_deep.to_onnx(est, X[:2]), X)
    np.testing.assert_array_equal(label, est.predict(X))
    np.testing.assert_allclose(proba, est.predict_proba(X), atol=ATOL)


@pytest.mark.parametrize("cls", REGRESSORS, ids=lambda c: c.__name__)
def test_regressor_with_several_outputs(cls):
    X, y = data(cls)
    Y = np.column_stack([y, 2 * y - 1])
    est = stochastic(cls).fit(X, Y)
    outputs = run(sklearn_deep.to_onnx(est, X[:2]), X)
    assert outputs[0].shape == (len(X), 2)
    assert_matches(est, outputs, X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_input_dtype_follows_the_sample(dtype):
    X, y = data(sklearn_deep.MLPRegressor)
    est = stochastic(sklearn_deep.MLPRegressor).fit(X, y)
    model = sklearn_deep.to_onnx(est, X[:2].astype(dtype))
    session = ort.InferenceSession(model.SerializeToString())
    assert session.get_inputs()[0].type == {np.float32: "tensor(float)"}.get(
        dtype, "tensor(double)"
    )
    assert_matches(est, run(model, X.astype(dtype)), X)


def test_channels_last_images_and_flat_rows_are_converted_in_the_graph():
    rng = np.random.RandomState(0)
    X = rng.randn(24, 4, 5, 2)  # channels last
    y = np.arange(24) % 2
    est = stochastic(sklearn_deep.CNNClassifier, channels_last=True).fit(X, y)
    assert_matches(est, run(sklearn_deep.to_onnx(est, X[:2]), X), X)
    flat = X.reshape(24, -1)
    est = stochastic(sklearn_deep.CNNClassifier, input_shape=(4, 5, 2))
    est.set_params(channels_last=True).fit(flat, y)
    assert_matches(est, run(sklearn_deep.to_onnx(est, flat[:2]), flat), flat)


def test_negative_control_a_changed_network_no_longer_matches():
    # the comparison can fail: the graph holds the weights of export time
    X, y = data(sklearn_deep.MLPClassifier)
    est = stochastic(sklearn_deep.MLPClassifier).fit(X, y)
    model = sklearn_deep.to_onnx(est, X[:2])
    with torch.no_grad():
        for p in est.module_.parameters():
            p.add_(torch.randn_like(p))
    with pytest.raises(AssertionError):
        assert_matches(est, run(model, X), X)


def test_errors_say_what_is_wrong():
    with pytest.raises(NotFittedError):
        sklearn_deep.to_onnx(sklearn_deep.MLPClassifier(), np.zeros((2, 3)))
    X, _ = data(sklearn_deep.LogisticRegression)
    y = np.array(["a", 1, "b"], dtype=object)[np.arange(len(X)) % 3]
    est = stochastic(sklearn_deep.LogisticRegression).fit(X, y.astype(str))
    est.classes_ = np.array(["a", 1, "b"], dtype=object)
    with pytest.raises(TypeError, match="mixes labels of several types"):
        sklearn_deep.to_onnx(est, X[:2])
    with pytest.raises(ValueError, match="features"):
        sklearn_deep.to_onnx(est, X[:2, :3])


# ----------------------------------------------------------------------
# skl2onnx: pipelines


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_pipeline_exports_with_skl2onnx(cls, dtype):
    X, y = data(cls)
    pipe = make_pipeline(StandardScaler(), stochastic(cls)).fit(X, y)
    options = {"zipmap": False} if is_classifier(pipe) else None
    model = skl2onnx.to_onnx(pipe, X[:1].astype(dtype), options=options)
    X_new = make_X("table", n=13, seed=1).astype(dtype)
    assert_matches(pipe, run(model, X_new), X_new)


def test_pipeline_classifier_has_skl2onnx_zipmap_by_default():
    X, y = data(sklearn_deep.MLPClassifier)
    pipe = make_pipeline(StandardScaler(), stochastic(sklearn_deep.MLPClassifier))
    pipe.fit(X, y)
    label, proba = run(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)), X)
    np.testing.assert_array_equal(label, pipe.predict(X))
    assert list(proba[0]) == list(pipe.classes_)  # a dict per sample
    expected = pipe.predict_proba(X)
    got = np.array([[row[c] for c in pipe.classes_] for row in proba])
    np.testing.assert_allclose(got, expected, atol=ATOL)


def test_autoencoder_code_feeds_the_next_step_of_a_pipeline():
    # the code (transform) is the exported output, so a scikit-learn model can
    # follow the AutoEncoder in one graph
    from sklearn.linear_model import LogisticRegression

    X, y = data(sklearn_deep.MLPClassifier)
    encoder = stochastic(sklearn_deep.AutoEncoder, n_components=2)
    pipe = make_pipeline(StandardScaler(), encoder, LogisticRegression())
    pipe.fit(X, y)
    options = {"zipmap": False}
    model = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options=options)
    X_new = make_X("table", n=13, seed=1).astype(np.float32)
    label, proba = run(model, X_new)
    np.testing.assert_array_equal(label, pipe.predict(X_new))
    np.testing.assert_allclose(proba, pipe.predict_proba(X_new), atol=1e-4)


def test_register_returns_every_alias():
    aliases = sklearn_deep.onnx.register()
    assert aliases == [f"SklearnDeep{cls.__name__}" for cls in CLASSES]
