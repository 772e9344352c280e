"""The training engine (sklearn_deep._engine): through the MLP (history,
stopping rules, early stopping, warm start, partial_fit, callbacks, faults,
solvers, schedules, precision and sample weights."""

import warnings

import numpy as np
import pytest
import torch
from _estimator_cases import small_mlp
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

from sklearn_deep import MLPRegressor, _engine
from sklearn_deep._data import Batch
from sklearn_deep._modules import LinearModel
from sklearn_deep.callbacks import Callback, LossHistory, StopTraining, TimeLimit

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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
    params = dict(
        early_stopping=True,
        max_iter=200,
        n_iter_no_change=5,
        validation_fraction=0.2,
        learning_rate_init=0.01,
        tol=0.0,
    )
    clf = small_mlp(**params).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    # the MLPs keep the epoch of least validation loss
    best_epoch = int(np.argmin(clf._validation_loss_curve)) + 1
    assert 1 < best_epoch < clf.n_iter_
    # a twin fit that ends at the best epoch has the weights that were restored
    twin = small_mlp(**{**params, "max_iter": best_epoch}).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), twin.predict_proba(X))
    # negative control: one epoch earlier, the weights differ
    early = small_mlp(**{**params, "max_iter": best_epoch - 1}).fit(X, y)
    assert not np.array_equal(clf.predict_proba(X), early.predict_proba(X))


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
    clf = small_mlp(batch_size=len(X))
    for i in range(3):
        clf.partial_fit(X, y, classes=np.unique(y))
        assert clf.n_iter_ == 1
        assert len(clf.loss_curve_) == i + 1
    assert clf.t_ == 3 * len(X)
    step = clf._optimizer.state[clf.module_.head.weight]["step"]
    assert int(step) == 3  # one full batch per epoch, state kept across calls


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
    assert "validation score" in out[0] and "validation loss" in out[0]


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


def test_bf16_mixed_precision_trains(cancer):
    X, y = cancer
    clf = small_mlp(precision="bf16-mixed", max_iter=30, learning_rate_init=0.01)
    assert clf.fit(X, y).score(X, y) > 0.9


def test_sample_weight_zero_equals_dropping_samples(iris):
    X, y = iris
    w = np.ones(len(y))
    w[::3] = 0
    keep = w > 0
    # full batches: the same samples make the same gradient steps
    a = small_mlp(max_iter=10, batch_size=len(X))
    a = a.fit(X, y, sample_weight=w).predict_proba(X)
    b = small_mlp(max_iter=10, batch_size=int(keep.sum()))
    b = b.fit(X[keep], y[keep]).predict_proba(X)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_partial_fit_trains_without_early_stopping_as_sklearn(iris):
    X, y = iris
    clf = small_mlp(early_stopping=True, tol=0.0)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 3
    assert not hasattr(clf, "validation_scores_") or not clf.validation_scores_
    assert not hasattr(clf, "temperature_")  # no held-out split to calibrate on
    # the same three epochs as without early stopping: no rows held out
    plain = small_mlp(early_stopping=False, tol=0.0)
    for _ in range(3):
        plain.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))
    # negative control: fit does hold out a split
    assert len(small_mlp(early_stopping=True, max_iter=3).fit(X, y).validation_scores_)


# ----------------------------------------------------------------------
# The engine alone: a bare module, tensors, a configuration and a task


def _regression_batch(n=64, p=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, p, generator=gen)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    return Batch((X,), y, None)


def _mse(output, target, weight):
    return 0.5 * torch.nn.functional.mse_loss(output, target)


def _bare(config, seed=0, n=64):
    torch.manual_seed(seed)
    module = torch.nn.Linear(3, 1)
    train = _regression_batch(n)
    optimizer = _engine.make_optimizer(module, config, train.inputs[0].device)
    task = _engine.Task(loss=_mse, predict=lambda inputs: module(*inputs))
    history = _engine.History.fresh(config.early_stopping)
    generator = torch.Generator().manual_seed(seed)
    history = _engine.run_stochastic(
        module, optimizer, train, None, config, task, history, generator=generator
    )
    return module, history


def test_engine_trains_a_bare_module_and_returns_its_history():
    config = _engine.TrainConfig(
        solver="adam", learning_rate_init=0.05, batch_size=16, max_iter=30, tol=0.0
    )
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(30\\)"):
        module, history = _bare(config)
    assert history.n_iter == len(history.loss_curve) == 30
    assert history.t == 30 * 64
    assert history.loss == history.loss_curve[-1] < 0.1 * history.loss_curve[0]
    assert not module.training


def test_engine_is_deterministic_given_the_generators():
    config = _engine.TrainConfig(batch_size=8, max_iter=3, learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, history_a = _bare(config)
        b, history_b = _bare(config)
        c, _ = _bare(config, seed=1)
    assert torch.equal(a.weight, b.weight) and history_a == history_b
    assert not torch.equal(a.weight, c.weight)  # negative control


def test_engine_stops_by_the_tol_rule():
    config = _engine.TrainConfig(max_iter=500, tol=10.0, n_iter_no_change=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _, history = _bare(config)
    assert history.n_iter == 1 + 3 + 1
    assert history.best_loss == min(history.loss_curve)


def test_engine_calls_the_hooks_in_order_with_the_live_history():
    seen = []

    def notify(hook, history, **kwargs):
        seen.append((hook, history.n_iter, kwargs.get("epoch")))

    config = _engine.TrainConfig(max_iter=2, notify=notify)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _bare(config)
    assert seen == [
        ("on_train_begin", 0, None),
        ("on_epoch_begin", 0, 1),
        ("on_epoch_end", 1, 1),
        ("on_epoch_begin", 1, 2),
        ("on_epoch_end", 2, 2),
        ("on_train_end", 2, None),
    ]


def test_penalty_on_the_gradients_is_torchs_weight_decay():
    l2 = 0.3
    config = _engine.TrainConfig(
        solver="sgd",
        momentum=0.0,
        learning_rate_init=0.1,
        batch_size=64,
        max_iter=5,
        penalty=_engine.Penalty(l2=l2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, _ = _bare(config)
    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 1)
    sgd = torch.optim.SGD(theirs.parameters(), lr=0.1)
    train = _regression_batch()
    for _ in range(5):  # torch's weight_decay would decay the bias too
        sgd.zero_grad()
        _mse(theirs(*train.inputs), train.target, None).backward()
        theirs.weight.grad += l2 * theirs.weight.detach()
        sgd.step()
    torch.testing.assert_close(ours.weight, theirs.weight)
    torch.testing.assert_close(ours.bias, theirs.bias)


def test_penalty_value_and_proximal_step():
    module = torch.nn.Linear(2, 1)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[3.0, -0.01]]))
    penalty = _engine.Penalty(l2=0.5, l1=0.1, per_batch=True, weight_mean=2.0)
    # 0.5 * l2 * ||w||^2 * n_batches / (n * mean weight) + l1 * ||w||_1
    expected = 0.5 * 0.5 * (9 + 1e-4) * 4 / (100 * 2.0) + 0.1 * 3.01
    assert penalty.value(module, 4, 100) == pytest.approx(expected)
    assert penalty.batch_l2(10) == 0.5 / 20
    penalty.proximal_step([module.weight], lr=0.5)  # threshold 0.05
    assert module.weight.tolist() == [[pytest.approx(2.95), 0.0]]
    assert _engine.Penalty(l2=1.0, decoupled=True).value(module, 1, 1) == 0.0


def test_divergence_keeps_finite_weights_of_a_bare_module():
    config = _engine.TrainConfig(solver="sgd", learning_rate_init=1e30, max_iter=5)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        module, history = _bare(config)
    assert not np.isfinite(history.loss_curve[-1])
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_lbfgs_and_normal_equations_solve_least_squares():
    train = _regression_batch(n=200)
    X, y = train.inputs[0].double().numpy(), train.target.double().numpy()
    design = np.hstack([X, np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0].ravel()
    task = _engine.Task(loss=_mse)
    linear = LinearModel(3, 1)
    history = _engine.run_normal_equations(linear, train, _engine.TrainConfig(), task)
    found = np.r_[
        linear.linear.weight.detach().numpy().ravel(), linear.linear.bias.item()
    ]
    np.testing.assert_allclose(found, solution, rtol=1e-5, atol=1e-5)
    assert history.n_iter == 1 and history.loss_curve == [history.loss]
    torch.manual_seed(0)
    module = torch.nn.Linear(3, 1)
    history = _engine.run_lbfgs(
        module, train, _engine.TrainConfig(max_iter=100, tol=1e-9), task
    )
    found = np.r_[module.weight.detach().numpy().ravel(), module.bias.item()]
    np.testing.assert_allclose(found, solution, rtol=1e-4, atol=1e-4)
    assert 1 <= history.n_iter <= 100 and history.loss == history.loss_curve[-1]
