"""Behaviour shared by every estimator through the engine, on the MLP and the
linear models: seeding, history, early stopping, warm start, partial_fit,
callbacks, weights, input types, persistence and errors."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_regressor
from sklearn.datasets import load_breast_cancer, load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from sklearn_deep import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
)
from sklearn_deep.callbacks import Callback, LossHistory, StopTraining, TimeLimit

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def small_mlp(**params):
    base = dict(hidden_layer_sizes=(16,), max_iter=20, device="cpu", random_state=0)
    return MLPClassifier(**{**base, **params})


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


def test_shuffling_and_dropout_are_seeded(iris):
    X, y = iris
    params = dict(batch_size=16, dropout=0.2, early_stopping=True)
    a = small_mlp(**params).fit(X, y).predict_proba(X)
    b = small_mlp(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_history_attributes_follow_sklearn(iris):
    X, y = iris
    clf = small_mlp(max_iter=15).fit(X, y)
    assert clf.n_iter_ == len(clf.loss_curve_) == 15
    assert clf.t_ == 15 * len(X)
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_convergence_warning_names_max_iter(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Increase max_iter"):
        small_mlp(max_iter=2).fit(X, y)


def test_tol_stops_training_like_sklearn(iris):
    X, y = iris
    clf = small_mlp(max_iter=500, tol=10.0, n_iter_no_change=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    # the first epoch sets best_loss_; then n_iter_no_change + 1 epochs without
    # an improvement of tol stop training
    assert clf.n_iter_ == 1 + 3 + 1


def test_early_stopping_restores_best_weights(cancer):
    X, y = cancer
    clf = small_mlp(
        early_stopping=True, max_iter=200, n_iter_no_change=5, validation_fraction=0.2
    ).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # the restored network is the best epoch's: it is not the last epoch's
    assert clf.validation_scores_[-1] <= clf.best_validation_score_


def test_early_stopping_split_is_the_same_every_fit_and_held_out(cancer):
    X, y = cancer
    seen = []

    class RecordValidation(Callback):
        def on_epoch_end(self, estimator, epoch, loss, validation_score):
            seen.append(validation_score)

    params = dict(early_stopping=True, max_iter=3, callbacks=[RecordValidation()])
    small_mlp(**params).fit(X, y)
    first = list(seen)
    seen.clear()
    small_mlp(**params).fit(X, y)
    assert first == seen and all(0 <= s <= 1 for s in seen)


def test_regressor_early_stopping_scores_r2():
    X, y = make_regression(n_samples=300, n_features=5, noise=5, random_state=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        max_iter=300,
        device="cpu",
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y / y.std())
    assert reg.best_validation_score_ > 0.9


def test_partial_fit_is_one_epoch_and_keeps_optimizer(iris):
    X, y = iris
    clf = small_mlp()
    for i in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
        assert clf.n_iter_ == 1
        assert len(clf.loss_curve_) == i + 1
    assert clf.t_ == 3 * len(X)
    step = clf._optimizer.state[clf.module_.head.weight]["step"]
    assert int(step) == 3  # one full batch per epoch, state kept across calls


def test_partial_fit_needs_classes_first(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed"):
        small_mlp().partial_fit(X, y)


def test_partial_fit_rejects_unknown_class(iris):
    X, y = iris
    clf = small_mlp().partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match="classes seen in the first fit"):
        clf.partial_fit(X, y)


def test_partial_fit_not_available_for_lbfgs():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(LogisticRegression(), "partial_fit")
    assert hasattr(LogisticRegression(solver="sgd"), "partial_fit")


def test_warm_start_continues_from_previous_weights(iris):
    X, y = iris
    clf = small_mlp(max_iter=5, warm_start=True).fit(X, y)
    first = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < clf.loss_curve_[0]
    assert clf.loss_curve_[5] <= first * 1.05
    cold = small_mlp(max_iter=5).fit(X, y)
    cold.fit(X, y)
    assert len(cold.loss_curve_) == 5


def test_callbacks_see_every_epoch_and_can_stop(iris):
    X, y = iris
    history = LossHistory()
    clf = small_mlp(max_iter=7, callbacks=[history]).fit(X, y)
    assert [h["loss"] for h in history.history] == clf.loss_curve_

    class StopAtThree(Callback):
        def on_epoch_end(self, estimator, epoch, loss, validation_score):
            if epoch == 3:
                raise StopTraining("enough")

    clf = small_mlp(max_iter=50, callbacks=[StopAtThree()]).fit(X, y)
    assert clf.n_iter_ == 3
    clf.predict(X)


def test_time_limit_callback_stops(iris):
    X, y = iris
    clf = small_mlp(max_iter=1000, callbacks=[TimeLimit(seconds=0)]).fit(X, y)
    assert clf.n_iter_ == 1


def test_keyboard_interrupt_keeps_weights(iris):
    X, y = iris

    class Interrupt(Callback):
        def on_epoch_end(self, estimator, epoch, loss, validation_score):
            if epoch == 2:
                raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        clf = small_mlp(max_iter=50, callbacks=[Interrupt()]).fit(X, y)
    assert clf.n_iter_ == 2
    assert np.isfinite(clf.predict_proba(X)).all()


def test_divergence_keeps_best_finite_weights(iris):
    X, y = iris
    clf = small_mlp(solver="sgd", learning_rate_init=1e6, momentum=0.0, max_iter=30)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        clf.fit(X * 1e3, y)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_verbose_prints_a_readable_line_per_epoch(iris, capsys):
    X, y = iris
    small_mlp(max_iter=3, verbose=True, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 3
    assert out[0].startswith("epoch 1") and "loss" in out[0]
    assert "validation score" in out[0]


def test_silent_by_default(iris, capsys):
    X, y = iris
    small_mlp(max_iter=3).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("solver", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_every_solver_learns(solver, cancer):
    X, y = cancer
    clf = small_mlp(solver=solver, max_iter=30, learning_rate_init=0.01).fit(X, y)
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_learning_rate_schedules(schedule, iris):
    X, y = iris
    clf = small_mlp(
        solver="sgd",
        learning_rate=schedule,
        learning_rate_init=0.1,
        max_iter=60,
        n_iter_no_change=2,
        tol=1e-2,
    ).fit(X, y)
    lr = clf._optimizer.param_groups[0]["lr"]
    if schedule == "constant":
        assert lr == 0.1
    elif schedule == "invscaling":
        assert lr == pytest.approx(0.1 / (clf.t_ + 1) ** 0.5)
    else:
        assert lr < 0.1  # divided by 5 when the loss stalls
    assert clf.score(X, y) > 0.7


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "logistic", "identity", "gelu", "silu"]
)
def test_activations(activation, iris):
    X, y = iris
    clf = small_mlp(activation=activation, max_iter=50, learning_rate_init=0.01)
    assert clf.fit(X, y).score(X, y) > 0.8


def test_bf16_mixed_precision_trains(cancer):
    X, y = cancer
    clf = small_mlp(precision="bf16-mixed", max_iter=30, learning_rate_init=0.01)
    assert clf.fit(X, y).score(X, y) > 0.9


def test_sample_weight_zero_equals_dropping_samples(iris):
    X, y = iris
    w = np.ones(len(y))
    w[::3] = 0
    keep = w > 0
    a = small_mlp(max_iter=10).fit(X, y, sample_weight=w).predict_proba(X)
    b = small_mlp(max_iter=10).fit(X[keep], y[keep]).predict_proba(X)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_class_weight_shifts_predictions(cancer):
    X, y = cancer
    base = small_mlp(max_iter=30).fit(X, y)
    heavy = small_mlp(max_iter=30, class_weight={0: 20.0, 1: 1.0}).fit(X, y)
    assert (heavy.predict(X) == 0).sum() > (base.predict(X) == 0).sum()
    balanced = small_mlp(max_iter=30, class_weight="balanced").fit(X, y)
    assert balanced.score(X, y) > 0.9


def test_class_weight_unknown_label_is_an_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="not classes of y"):
        small_mlp(class_weight={7: 2.0}).fit(X, y)


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


def test_string_labels_and_pandas_keep_names(iris):
    X, y = iris
    df = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = small_mlp(max_iter=50, learning_rate_init=0.01).fit(df, pd.Series(labels))
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert set(clf.predict(df)) <= set(labels)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert clf.score(df, labels) > 0.8
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


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


def test_multilabel_classification():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0]).astype(int)
    clf = small_mlp(max_iter=200, learning_rate_init=0.01).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8


def test_multioutput_regression():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(32,),
        solver="lbfgs",
        max_iter=300,
        device="cpu",
        random_state=0,
    ).fit(X, Y / Y.std(0))
    assert reg.predict(X).shape == (200, 3)
    assert reg.score(X, Y / Y.std(0)) > 0.9
    assert LinearRegression().fit(X, Y).coef_.shape == (3, 5)


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


def test_early_stopping_with_partial_fit_is_an_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="partial_fit does not support"):
        small_mlp(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


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


def test_predict_uses_the_fitted_precision(iris):
    X, y = iris
    clf = small_mlp().fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(precision="bf16-mixed")
    np.testing.assert_array_equal(clf.predict_proba(X), before)
