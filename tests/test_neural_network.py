"""MLPClassifier and MLPRegressor (sklearn_deep.neural_network): activations,
and parity with scikit-learn's MLP on its bundled data."""

import numpy as np
import pytest
import sklearn.neural_network as sk_nn
from _estimator_cases import small_mlp
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# what turns off the defaults scikit-learn's MLP does not have: the parity
# tests compare the same model
AS_SKLEARN = dict(early_stopping=False, input_scaling=None, batch_size=200)
AS_SKLEARN_REGRESSOR = dict(AS_SKLEARN, normalize_y=False, numerical_embedding=None)

DATASETS = {
    "digits": load_digits(return_X_y=True),
    "breast_cancer": load_breast_cancer(return_X_y=True),
}


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "logistic", "identity", "gelu", "silu"]
)
def test_activations(activation, iris):
    X, y = iris
    clf = small_mlp(activation=activation, max_iter=50, learning_rate_init=0.01)
    assert clf.fit(X, y).score(X, y) > 0.8


def cv_score(estimator, X, y, **kwargs):
    pipe = make_pipeline(StandardScaler(), estimator)
    return cross_val_score(pipe, X, y, cv=5, **kwargs).mean()


@pytest.mark.parametrize("name", DATASETS)
def test_mlp_classifier_matches_sklearn(name):
    X, y = DATASETS[name]
    params = dict(hidden_layer_sizes=(64,), max_iter=60, random_state=0)
    ours = cv_score(MLPClassifier(device="cpu", **params, **AS_SKLEARN), X, y)
    theirs = cv_score(sk_nn.MLPClassifier(**params), X, y)
    assert ours >= theirs - 0.015, (ours, theirs)


def test_mlp_attributes_match_sklearn_shapes():
    X, y = load_digits(return_X_y=True)
    params = dict(hidden_layer_sizes=(32, 16), max_iter=2, random_state=0)
    ours = MLPClassifier(device="cpu", **params, **AS_SKLEARN)
    ours.fit(X, y)
    theirs = sk_nn.MLPClassifier(**params).fit(X, y)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    for attr in ("n_layers_", "n_outputs_", "out_activation_", "n_iter_", "t_"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert len(ours.loss_curve_) == len(theirs.loss_curve_)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_mlp_regressor_comparable_to_sklearn(solver):
    X, y = load_diabetes(return_X_y=True)
    params = dict(
        hidden_layer_sizes=(16,),
        solver=solver,
        alpha=10.0,
        max_iter=200,
        learning_rate_init=0.01,
        random_state=0,
    )

    def r2(regressor):
        pipe = make_pipeline(StandardScaler(), regressor)
        model = TransformedTargetRegressor(pipe, transformer=StandardScaler())
        return cross_val_score(model, X, y, cv=5).mean()

    ours = r2(MLPRegressor(device="cpu", **params, **AS_SKLEARN_REGRESSOR))
    theirs = r2(sk_nn.MLPRegressor(**params))
    assert ours > 0.4 and ours >= theirs - 0.02, (ours, theirs)


def _poisson_problem(n=600, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = rng.poisson(np.exp(0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.3)).astype(float)
    return X[:400], y[:400], X[400:], y[400:]


def test_poisson_loss_as_sklearn():
    X, y, X_test, y_test = _poisson_problem()
    params = dict(
        hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01, random_state=0
    )
    ours = MLPRegressor(loss="poisson", device="cpu", **params, **AS_SKLEARN_REGRESSOR)
    ours.fit(X, y)
    theirs = sk_nn.MLPRegressor(loss="poisson", **params).fit(X, y)
    squared = MLPRegressor(device="cpu", **params, **AS_SKLEARN_REGRESSOR).fit(X, y)
    pred = ours.predict(X_test)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    assert pred.min() > 0  # the log link
    assert squared.predict(X_test).min() < 0  # negative control: no link
    deviance = mean_poisson_deviance(y_test, pred)
    assert deviance < 1.1 * mean_poisson_deviance(y_test, theirs.predict(X_test))
    # loss_ is half the Poisson deviance, as scikit-learn's: compare the two
    # on the same footing
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0.1)


def test_poisson_loss_is_half_the_deviance():
    X, y, _, _ = _poisson_problem()
    reg = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        alpha=0.0,
        max_iter=50,
        device="cpu",
        random_state=0,
        **AS_SKLEARN_REGRESSOR,
    ).fit(X, y)
    half_deviance = mean_poisson_deviance(y, reg.predict(X)) / 2
    assert reg.loss_ == pytest.approx(half_deviance, rel=1e-3)


def test_poisson_loss_needs_non_negative_y():
    X, y, _, _ = _poisson_problem()
    with pytest.raises(ValueError, match="loss='poisson' needs targets y >= 0"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y - 1)
    MLPRegressor(loss="squared_error", max_iter=2, device="cpu").fit(X, y - 1)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "gelu"])
def test_small_batches_predict_as_the_network(activation):
    import torch

    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 6)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    est = MLPRegressor(
        (32, 16), activation=activation, max_iter=3, dropout=0.2, random_state=0
    ).fit(X, X[:, :2] + y[:, None])
    with torch.inference_mode():
        expected = est.module_.eval()(torch.from_numpy(X)).numpy()
    expected = expected * est._target_scale + est._target_shift  # normalize_y
    # below 512 rows the dense network runs in numpy (gelu has no numpy twin:
    # torch's path), above in torch: both are the network's eval forward
    for n in (1, 2, 3, 30, 511, 700):
        np.testing.assert_allclose(
            est.predict(X[:n]), expected[:n], rtol=1e-5, atol=1e-5
        )
    if activation == "gelu":
        return
    # in numpy a row is predicted exactly as alone, in any batch of it and in
    # any order of the batch
    batch = est.predict(X)
    for i in range(0, 600, 37):
        for size in (1, 3, 7, 513):
            np.testing.assert_array_equal(est.predict(X[i : i + size])[0], batch[i])
    order = np.random.default_rng(1).permutation(len(X))
    np.testing.assert_array_equal(est.predict(X[order]), batch[order])


def test_numpy_predict_follows_every_change_of_the_weights():
    import torch

    from sklearn_deep.callbacks import Callback

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5)).astype(np.float32)
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # three classes: softmax outputs

    class PredictEachEpoch(Callback):
        def __init__(self):
            self.seen = []

        def on_epoch_end(self, estimator, **kwargs):
            self.seen.append(estimator.predict_proba(X[:3]).copy())

    record = PredictEachEpoch()
    est = MLPClassifier(
        (8,), max_iter=3, random_state=0, callbacks=[record], early_stopping=False
    )
    est.fit(X, y)
    # a callback's predict during the fit sees each epoch's weights
    assert not np.array_equal(record.seen[0], record.seen[-1])
    np.testing.assert_allclose(record.seen[-1], est.predict_proba(X[:3]), atol=1e-6)
    before = est.predict_proba(X[:3])
    est.partial_fit(X, y)  # a fit (fused Adam: no version count) drops copies
    after = est.predict_proba(X[:3])
    assert not np.array_equal(before, after)
    with torch.no_grad():  # an in-place edit of the weights by hand
        est.module_.head.bias[0] += 5.0
    with torch.inference_mode():
        expected = torch.softmax(est.module_(torch.from_numpy(X[:3])), 1).numpy()
    np.testing.assert_allclose(est.predict_proba(X[:3]), expected, rtol=1e-5)
    assert not np.allclose(est.predict_proba(X[:3]), after)
