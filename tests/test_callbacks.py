"""Training visibility: callbacks= validation, the ProgressBar callback,
``history_`` (validation loss included), and scikit-learn 1.9's callback API
(``set_callbacks``, our epochs as subtasks of a search's task tree)."""

import io
import sys
import warnings

import numpy as np
import pytest
import sklearn
import torch
from _estimator_cases import small_mlp
from sklearn.model_selection import GridSearchCV

from sklearn_deep import LinearRegression, MLPRegressor, _engine
from sklearn_deep._data import Batch
from sklearn_deep.callbacks import Callback, LossHistory, ProgressBar
from sklearn_deep.utils._compat import SKLEARN_CALLBACKS

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got batch_size"),  # small_mlp on iris
]

needs_sklearn_callbacks = pytest.mark.skipif(
    not SKLEARN_CALLBACKS,
    reason=f"sklearn.callback is new in scikit-learn 1.9 (here {sklearn.__version__})",
)


class RecordTasks:
    """A scikit-learn 1.9 FitCallback (duck-typed) that records the task tree."""

    max_propagation_depth = None  # propagated from a search to its estimators

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.ended, self.events = [], []

    def setup(self, estimator, context):
        self.events.append("setup")

    def teardown(self, estimator, context):
        self.events.append("teardown")

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        path, node = [], context
        while node is not None:
            path.append((node.estimator_name, node.task_name))
            node = node.parent
        self.ended.append((path[::-1], fitted_estimator))
        n_epochs = sum(1 for p, _ in self.ended if p[-1][1] == "epoch")
        return self.stop_at is not None and n_epochs >= self.stop_at


# ----------------------------------------------------------------------
# callbacks= is validated at fit


def test_an_object_without_hooks_is_a_type_error_naming_them(iris):
    X, y = iris
    with pytest.raises(TypeError, match="none of the hook methods on_train_begin"):
        small_mlp(max_iter=2, callbacks=[object()]).fit(X, y)
    # negative control: an object with one hook is accepted and called
    history = LossHistory()
    small_mlp(max_iter=2, callbacks=[history]).fit(X, y)
    assert len(history.history) == 2


def test_a_misspelled_only_hook_is_an_error_with_the_right_name(iris):
    X, y = iris

    class Ended:
        def on_epoch_ended(self, estimator, epoch, loss, validation_score):
            pass

    with pytest.raises(TypeError, match="Ended.on_epoch_ended .*on_epoch_end\\?"):
        small_mlp(max_iter=2, callbacks=[Ended()]).fit(X, y)


def test_a_misspelled_extra_hook_warns_with_the_right_name(iris):
    X, y = iris

    class Subclass(Callback):  # has the no-op hooks, but the user's never runs
        def on_train_start(self, estimator):
            pass

    with pytest.warns(UserWarning, match="on_train_start .*did you mean on_train"):
        small_mlp(max_iter=2, callbacks=[Subclass()]).fit(X, y)

    class Correct(Callback):  # negative control: no warning
        def on_train_begin(self, estimator):
            pass

        def on_batch_begin(self, estimator):  # per-batch: not a misspelling
            pass

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*misspelled hook")
        small_mlp(max_iter=2, callbacks=[Correct()]).fit(X, y)


def test_a_class_instead_of_an_instance_is_a_type_error(iris):
    X, y = iris
    with pytest.raises(TypeError, match="pass an instance.*LossHistory\\(\\)"):
        small_mlp(max_iter=2, callbacks=[LossHistory]).fit(X, y)


def test_a_sklearn_callback_in_callbacks_says_to_use_set_callbacks(iris):
    X, y = iris
    with pytest.raises(TypeError, match="scikit-learn callback.*set_callbacks"):
        small_mlp(max_iter=2, callbacks=[RecordTasks()]).fit(X, y)
    clf = small_mlp(max_iter=2)
    assert not hasattr(clf, "loss_curve_")  # the failed fit left nothing


# ----------------------------------------------------------------------
# history_


def test_history_frame_holds_the_curves(iris):
    X, y = iris
    clf = small_mlp(max_iter=6, early_stopping=True, tol=0.0).fit(X, y)
    history = clf.history_
    assert list(history.columns) == [
        "epoch",
        "train_loss",
        "validation_loss",
        "validation_score",
        "learning_rate",
        "seconds",
    ]
    assert history["epoch"].tolist() == list(range(1, clf.n_iter_ + 1))
    np.testing.assert_array_equal(history["train_loss"], clf.loss_curve_)
    np.testing.assert_array_equal(history["validation_score"], clf.validation_scores_)
    assert history["validation_loss"].notna().all()
    assert (history["learning_rate"] == 0.001).all()
    assert (history["seconds"] > 0).all()
    # without a validation split there is no validation column to fill
    plain = small_mlp(max_iter=3).fit(X, y).history_
    assert plain["validation_loss"].isna().all()
    assert plain["validation_score"].isna().all()


def test_history_continues_across_warm_start_and_partial_fit(iris):
    X, y = iris
    clf = small_mlp(max_iter=3, warm_start=True).fit(X, y)
    clf.fit(X, y)
    assert len(clf.history_) == len(clf.loss_curve_) == 6
    clf.partial_fit(X, y)
    assert clf.history_["epoch"].tolist() == list(range(1, 8))
    # negative control: a cold fit starts over
    clf.set_params(warm_start=False).fit(X, y)
    assert len(clf.history_) == 3


def test_validation_loss_is_measured_on_the_validation_split():
    # for a regressor without penalty, validation loss = 0.5 SS_res / n_valid
    # and score = 1 - SS_res / SS_tot on the same split: their ratio
    # loss / (1 - score) is 0.5 SS_tot / n_valid, the same every epoch
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4)
    y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.randn(200)
    reg = MLPRegressor(
        hidden_layer_sizes=(8,),
        alpha=0.0,
        learning_rate_init=0.02,
        max_iter=15,
        early_stopping=True,
        n_iter_no_change=100,
        random_state=0,
        device="cpu",
    ).fit(X, y)
    history = reg.history_
    ratio = history["validation_loss"] / (1 - history["validation_score"])
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
    assert history["validation_loss"].iloc[-1] < history["validation_loss"].iloc[0]
    # negative control: the training loss has no such relation to the score
    other = history["train_loss"] / (1 - history["validation_score"])
    assert np.ptp(other) > 1e-2 * abs(other[0])


def test_engine_validation_loss_is_that_epochs_loss_plus_the_penalty():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(80, 3, generator=gen)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
    train = Batch((X[:60],), y[:60], None)
    valid = Batch((X[60:],), y[60:], None)

    def mse(output, target, weight):
        return 0.5 * torch.nn.functional.mse_loss(output, target)

    def run(max_iter, l2):
        torch.manual_seed(0)
        module = torch.nn.Linear(3, 1)
        config = _engine.TrainConfig(
            batch_size=20,
            max_iter=max_iter,
            early_stopping=True,
            n_iter_no_change=100,
            learning_rate_init=0.05,
            tol=0.0,
            penalty=_engine.Penalty(l2=l2),
        )

        def score(batch):
            output = module(*batch.inputs)
            return -float(mse(output, batch.target, None)), float(
                mse(output, batch.target, None)
            )

        task = _engine.Task(loss=mse, score=score, predict=lambda i: module(*i))
        history = _engine.History.fresh(True)
        optimizer = _engine.make_optimizer(module, config, X.device)
        generator = torch.Generator().manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _engine.run_stochastic(
                module, optimizer, train, valid, config, task, history,
                generator=generator,
            )  # fmt: skip
        return module, history

    _, history = run(4, l2=0.1)
    for epoch in (1, 3):
        twin, _ = run(epoch, l2=0.1)  # restored to its best = its last epoch
        with torch.no_grad():
            data = float(mse(twin(valid.inputs[0]), valid.target, None))
            penalty = 0.5 * 0.1 * float((twin.weight**2).sum())
        assert history.validation_loss_curve[epoch - 1] == pytest.approx(
            data + penalty, rel=1e-5
        )
    # negative control: without the penalty the curve is lower by it
    _, unpenalised = run(4, l2=0.0)
    assert unpenalised.validation_loss_curve != history.validation_loss_curve


def test_history_of_the_full_batch_solvers(iris):
    X, y = iris
    clf = small_mlp(solver="lbfgs", max_iter=5).fit(X, y)
    history = clf.history_
    assert len(history) == clf.n_iter_
    np.testing.assert_array_equal(history["train_loss"], clf.loss_curve_)
    assert history["learning_rate"].isna().all() and (history["seconds"] > 0).all()
    reg = LinearRegression(device="cpu").fit(X, y.astype(float))
    assert reg.history_["train_loss"].tolist() == [reg.loss_]


def test_history_is_not_there_before_fit():
    assert not hasattr(small_mlp(), "history_")


# ----------------------------------------------------------------------
# ProgressBar (tqdm)


def test_progress_bar_shows_epochs_and_the_validation_score(iris, capsys):
    X, y = iris
    out = io.StringIO()
    bar = ProgressBar(tqdm_kwargs={"file": out, "mininterval": 0})
    small_mlp(max_iter=5, early_stopping=True, tol=0.0, callbacks=[bar]).fit(X, y)
    text = out.getvalue()
    assert "MLPClassifier" in text and "5/5" in text
    assert "loss=" in text and "validation_score=" in text
    assert "validation_loss=" in text
    # stopped early by n_iter_no_change: the bar ends full at the last epoch
    out = io.StringIO()
    bar = ProgressBar(tqdm_kwargs={"file": out})
    clf = small_mlp(max_iter=50, tol=10.0, n_iter_no_change=1, callbacks=[bar])
    clf.fit(X, y)
    assert f"{clf.n_iter_}/{clf.n_iter_}" in out.getvalue() and clf.n_iter_ < 50
    # negative control: no callback, no output at all
    small_mlp(max_iter=5).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_after_a_failed_fit_starts_a_new_bar(iris):
    X, y = iris

    class FailOnce(Callback):
        def on_epoch_end(self, estimator, epoch, loss, validation_score):
            if epoch == 2 and not getattr(self, "failed", False):
                self.failed = True
                raise RuntimeError("boom")

    out = io.StringIO()
    bar = ProgressBar(tqdm_kwargs={"file": out})
    clf = small_mlp(max_iter=3, callbacks=[FailOnce(), bar])
    with pytest.raises(RuntimeError):
        clf.fit(X, y)
    stale = bar._bar
    clf.fit(X, y)
    assert stale.disable  # closed: tqdm disables a bar when it closes it
    assert "3/3" in out.getvalue() and not hasattr(bar, "_bar")


def test_progress_bar_of_a_full_batch_solver_ends_at_one_step(iris):
    X, y = iris
    out = io.StringIO()
    bar = ProgressBar(tqdm_kwargs={"file": out})
    LinearRegression(device="cpu", callbacks=[bar]).fit(X, y.astype(float))
    assert "1/1" in out.getvalue()


def test_progress_bar_without_tqdm_names_the_extra(iris, monkeypatch):
    X, y = iris
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    clf = small_mlp(max_iter=2, callbacks=[ProgressBar()])
    with pytest.raises(ImportError, match=r"sklearn-deep\[progress\]"):
        clf.fit(X, y)
    assert not hasattr(clf, "module_")


# ----------------------------------------------------------------------
# scikit-learn 1.9's callback API


@needs_sklearn_callbacks
def test_search_shows_our_epochs_as_subtasks_of_each_fit(iris):
    X, y = iris
    recorder = RecordTasks()
    search = GridSearchCV(small_mlp(max_iter=3), {"alpha": [1e-4, 1e-3]}, cv=2)
    search.set_callbacks(recorder).fit(X, y)
    epochs = [
        path for path, _ in recorder.ended if path[-1] == ("MLPClassifier", "epoch")
    ]
    # 2 candidates x 2 folds + the refit, 3 epochs each, under the search's tree
    assert len(epochs) == 5 * 3
    assert all(path[0] == ("GridSearchCV", "fit") for path in epochs)
    # the hooks get an estimator that predicts as training stands at that epoch
    fitted = [est for path, est in recorder.ended if path[-1][1] == "epoch"]
    assert fitted[0].predict(X[:3]).shape == (3,)
    assert recorder.events == ["setup", "teardown"]


@needs_sklearn_callbacks
def test_set_callbacks_on_our_estimator_and_stopping(iris):
    X, y = iris
    recorder = RecordTasks(stop_at=2)
    clf = small_mlp(max_iter=10).set_callbacks(recorder).fit(X, y)
    assert clf.n_iter_ == 2  # on_fit_task_end returning True stopped it
    assert [path[-1] for path, _ in recorder.ended] == [
        ("MLPClassifier", "epoch"),
        ("MLPClassifier", "epoch"),
        ("MLPClassifier", "fit"),
    ]
    assert not hasattr(clf, "_callback_fit_ctx")  # nothing left from the fit
    # negative control: without the callback all epochs run
    assert small_mlp(max_iter=10).fit(X, y).n_iter_ == 10


@needs_sklearn_callbacks
def test_scoring_monitor_scores_each_epoch_as_it_was(iris):
    from sklearn.callback import ScoringMonitor

    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    params = dict(max_iter=4, learning_rate_init=0.01, batch_size=50)
    clf = small_mlp(**params).set_callbacks(monitor).fit(X, y)
    log = monitor.get_logs().data_as_pandas.set_index("task_id_path")
    epochs = log[log["task_name"] == "epoch"]["accuracy"].tolist()
    assert len(epochs) == 4
    assert log.loc[[(0,)], "accuracy"].item() == clf.score(X, y)  # the fit task
    # epoch 2's score is that of a twin fit that stops after 2 epochs
    assert epochs[1] == small_mlp(**{**params, "max_iter": 2}).fit(X, y).score(X, y)
    assert len(set(epochs)) > 1  # negative control: not the final model each time
    # a scikit-learn callback in callbacks= is refused with a pointer
    with pytest.raises(TypeError, match="set_callbacks"):
        small_mlp(callbacks=[monitor]).fit(X, y)


@needs_sklearn_callbacks
def test_a_failed_fit_still_tears_the_sklearn_callbacks_down(iris):
    X, y = iris

    class Fail(Callback):
        def on_epoch_end(self, estimator, epoch, loss, validation_score):
            raise RuntimeError("boom")

    recorder = RecordTasks()
    clf = small_mlp(max_iter=3, callbacks=[Fail()]).set_callbacks(recorder)
    with pytest.raises(RuntimeError, match="boom"):
        clf.fit(X, y)
    assert recorder.events == ["setup", "teardown"]
    assert not hasattr(clf, "module_")


@needs_sklearn_callbacks
def test_set_callbacks_refuses_our_callbacks_with_a_pointer(iris):
    with pytest.raises(TypeError, match="callbacks=\\[ProgressBar"):
        small_mlp().set_callbacks(ProgressBar())


@needs_sklearn_callbacks
def test_sklearn_progress_bar_under_a_search_shows_our_fits(iris, capsys):
    pytest.importorskip("rich", reason="scikit-learn's ProgressBar needs rich")
    from sklearn.callback import ProgressBar as SklearnProgressBar

    X, y = iris
    search = GridSearchCV(small_mlp(max_iter=3), {"alpha": [1e-4, 1e-3]}, cv=2)
    search.set_callbacks(SklearnProgressBar()).fit(X, y)
    text = capsys.readouterr().out
    assert "GridSearchCV - fit" in text
    assert "MLPClassifier - fit" in text  # our fit, its bar driven by the epochs


def test_without_sklearn_callbacks_there_is_no_set_callbacks():
    # scikit-learn 1.6-1.8: the estimators work, without set_callbacks
    assert hasattr(small_mlp(), "set_callbacks") == SKLEARN_CALLBACKS
