"""The shared estimator (sklearn_deep._base): seeding, input types and errors,
devices, pickling, the skorch hand-over and the fitted precision."""

import pickle

import numpy as np
import pytest
import torch
from _estimator_cases import small_mlp
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError

from sklearn_deep import (
    LinearRegression,
    LogisticRegression,
    MLPRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    small_mlp(),
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=20, device="cpu", random_state=0),
    LogisticRegression(device="cpu", random_state=0),
    LogisticRegression(solver="adam", max_iter=5, device="cpu", random_state=0),
    LinearRegression(device="cpu"),
]


def _target(est, y):
    return y.astype(float) if is_regressor(est) else y


@pytest.mark.parametrize("est", ESTIMATORS, ids=repr)
def test_random_state_reproducible_and_global_rng_untouched(est, iris):
    X, y = iris
    y = _target(est, y)
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002 (the caller's global RNG)
    a = clone(est).set_params(random_state=3).fit(X, y).predict(X)
    b = clone(est).set_params(random_state=3).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(u, v) for u, v in zip(after, np_state))


def test_different_random_states_give_different_networks(iris):
    X, y = iris
    a = small_mlp(random_state=1).fit(X, y)
    b = small_mlp(random_state=2).fit(X, y)
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


@pytest.mark.parametrize("est", ESTIMATORS, ids=repr)
def test_pickle_round_trip_predicts_identically(est, iris):
    X, y = iris
    y = _target(est, y)
    fitted = clone(est).fit(X, y)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert all(t.device.type == "cpu" for t in loaded.module_.state_dict().values())


def test_pickled_estimator_continues_partial_fit(iris):
    X, y = iris
    clf = small_mlp().partial_fit(X, y, classes=[0, 1, 2])
    loaded = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), loaded.predict_proba(X))


@pytest.mark.gpu
def test_gpu_fitted_estimator_unpickles_on_cpu(iris):
    X, y = iris
    clf = small_mlp(device="cuda").fit(X, y)
    state = pickle.dumps(clf)
    assert next(clf.module_.parameters()).device.type == "cuda"
    loaded = pickle.loads(state)
    assert next(loaded.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X.astype(np.float64),
        lambda X: X.astype(np.float32),
        lambda X: torch.from_numpy(X.astype(np.float32)),
        lambda X: torch.from_numpy(X.astype(np.float64)),
    ],
    ids=["float64", "float32", "tensor32", "tensor64"],
)
def test_input_types_give_the_same_model(convert, iris):
    X, y = iris
    reference = small_mlp().fit(X.astype(np.float32), y).predict_proba(X)
    clf = small_mlp().fit(convert(X), y)
    np.testing.assert_allclose(clf.predict_proba(convert(X)), reference, atol=1e-6)


def test_input_is_never_modified(iris):
    X, y = iris
    X32 = X.astype(np.float32)
    X_copy, y_copy = X32.copy(), y.copy()
    clf = small_mlp(batch_size=16).fit(X32, y)
    clf.predict(X32)
    np.testing.assert_array_equal(X32, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_not_fitted_error_names_estimator():
    with pytest.raises(NotFittedError, match="MLPClassifier"):
        small_mlp().predict(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), [0, 1], "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0]]), [0, 1], "infinity"),
        (np.empty((0, 2)), [], "0 sample"),
        (np.array([1.0, 2.0, 3.0]), [0, 1, 0], "Expected 2D array"),
        (np.ones((4, 2)), [0, 0, 0, 0], "at least 2 classes"),
        (np.ones((4, 2)), [0.1, 0.5, 0.7, 1.2], "Unknown label type"),
        (np.ones((4, 2)), [0, 1, 0], "inconsistent numbers of samples"),
    ],
    ids=["nan", "inf", "empty", "1d", "one-class", "continuous", "lengths"],
)
def test_bad_input_leaves_fitted_estimator_unchanged(X, y, match, iris):
    Xi, yi = iris
    # the MLPs read NaN as missing values: categorical_features=None and
    # input_scaling=None do not change that, so the check uses the linear model
    if match == "NaN":
        from sklearn_deep import LogisticRegression

        clf = LogisticRegression(device="cpu").fit(Xi, yi)
        before = clf.predict_proba(Xi)
        with pytest.raises(ValueError, match=match):
            clf.fit(X, y)
        np.testing.assert_array_equal(clf.predict_proba(Xi), before)
        return
    clf = small_mlp().fit(Xi, yi)
    before = clf.predict_proba(Xi)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(Xi), before)
    assert clf.n_features_in_ == 4


def test_wrong_width_at_predict(iris):
    X, y = iris
    clf = small_mlp().fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"
    ):
        clf.predict(X[:, :3])


def test_unavailable_device_is_a_clear_error(iris):
    X, y = iris
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        small_mlp(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match="not a torch device"):
        small_mlp(device="gpu0").fit(X, y)


def test_to_skorch_hands_over_the_trained_network(iris):
    X, y = iris
    X = X.astype(np.float32)
    clf = small_mlp(max_iter=30).fit(X, y)
    net = clf.to_skorch(max_epochs=2)
    np.testing.assert_allclose(net.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(clf.classes_[net.predict(X)], clf.predict(X))
    before = clf.predict_proba(X)
    net.partial_fit(X, y.astype(np.int64))  # trains the copy, not clf
    np.testing.assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize("shape", ["1-D", "2-D"])
def test_to_skorch_regressor_continues_on_the_targets_fit_takes(shape):
    from sklearn.datasets import make_regression
    from sklearn.metrics import r2_score

    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    X, y = X.astype(np.float32), y / y.std()
    y = y if shape == "1-D" else np.c_[y, -y]
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, device="cpu")
    # targets far from unit scale: the hand-over undoes normalize_y's scaling
    y = 50 * y + 100
    reg = MLPRegressor(
        max_iter=5, random_state=0, early_stopping=False, numerical_embedding=None
    )
    reg.set_params(**params).fit(X, y)
    before = r2_score(y, reg.predict(X))

    def continued(**net_params):
        net = reg.to_skorch(max_epochs=20, **net_params).partial_fit(X, y)
        return net, r2_score(y, net.predict(X).reshape(y.shape))

    net, after = continued()
    losses = net.history[:, "train_loss"]
    assert losses[-1] < losses[0] / 2 and after > max(before, 0.8)
    if shape == "1-D":  # negative control: torch's MSELoss broadcasts (n, 1)
        with pytest.warns(UserWarning, match="target size"):  # against (n,)
            _, broadcast = continued(criterion=torch.nn.MSELoss)
        assert broadcast < before


def test_to_skorch_classifiers_train_on_encoded_labels_of_any_dtype(cancer, iris):
    for (X, y), labels in ((cancer, np.int64), (cancer, np.float32), (iris, None)):
        X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
        clf = small_mlp(max_iter=10, learning_rate_init=0.01).fit(X, y)
        net = clf.to_skorch(max_epochs=5).partial_fit(X, y.astype(labels or np.int64))
        losses = net.history[:, "train_loss"]
        assert losses[-1] < losses[0]
        assert (clf.classes_[np.asarray(net.predict(X), dtype=int)] == y).mean() > 0.8


def test_predict_uses_the_fitted_precision(iris):
    X, y = iris
    clf = small_mlp().fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(precision="bf16-mixed")
    np.testing.assert_array_equal(clf.predict_proba(X), before)
