"""Concurrency and determinism.

GridSearchCV(n_jobs=2) leaves each worker joblib's share of the cores (the
library never sets torch's thread count) and finds what n_jobs=1 finds; one
fitted estimator predicts correctly from several threads at once; and with
``random_state`` set, two CPU fits give bit-identical models, for every family.
"""

import pathlib
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from _estimator_cases import (
    CLASSES,
    RecordThreads,
    assert_same_outputs,
    data,
    family,
    layouts,
    make,
    outputs,
    param_names,
    predict,
    stochastic,
)
from sklearn.base import is_classifier
from sklearn.model_selection import GridSearchCV

import sklearn_deep

CASES = [(cls, layout) for cls in CLASSES for layout in layouts(cls)]
IDS = [f"{cls.__name__}-{layout}" for cls, layout in CASES]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(Maximum iterations|lbfgs)")
        yield


def test_library_never_sets_torch_threads():
    package = pathlib.Path(sklearn_deep.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        for call in ("set_num_threads", "set_num_interop_threads"):
            assert call not in text, f"{path.name} calls torch.{call}"


def _search(cls, n_jobs, folder):
    X, y = data(cls, n=32)
    est = stochastic(cls, callbacks=[RecordThreads(str(folder))])
    grid = {"learning_rate_init": [0.01, 0.05], "alpha": [1e-4, 1e-2]}
    return GridSearchCV(est, grid, cv=2, n_jobs=n_jobs).fit(X, y), X


def _threads(folder):
    return [int(p.read_text()) for p in pathlib.Path(folder).glob("*.txt")]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_grid_search_workers_share_the_cores_and_agree(cls, tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    serial, X = _search(cls, 1, tmp_path / "one")
    parallel, _ = _search(cls, 2, tmp_path / "two")

    # each of the 2 workers gets half the cores at most (joblib's loky limit)
    limit = max(1, joblib.cpu_count() // 2)
    worker_threads = _threads(tmp_path / "two")
    assert worker_threads and max(worker_threads) <= limit, worker_threads
    assert set(_threads(tmp_path / "one")) == {torch.get_num_threads()}

    # the same scores, the same choice, the same refitted model
    assert parallel.best_params_ == serial.best_params_
    for key in ("mean_test_score", "rank_test_score"):
        np.testing.assert_allclose(
            parallel.cv_results_[key], serial.cv_results_[key], rtol=1e-6
        )
    assert_same_outputs(parallel.best_estimator_, serial.best_estimator_, X)


@pytest.mark.parametrize("cls, layout", CASES, ids=IDS)
def test_predict_from_two_threads_at_once(cls, layout):
    X, y = data(cls, layout, n=48)
    est = make(cls).fit(X, y)
    chunks = [X[i : i + 12] for i in range(0, 48, 12)]
    expected = [outputs(est, chunk) for chunk in chunks]
    start = threading.Barrier(2)

    def work(k):
        start.wait()
        return [outputs(est, chunks[(k + i) % 4]) for i in range(8)]

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(work, range(2)))
    for k, runs in enumerate(results):
        for i, got in enumerate(runs):
            want = expected[(k + i) % 4]
            for method in want:
                np.testing.assert_array_equal(got[method], want[method])


# ----------------------------------------------------------------------
# determinism


def _busy(cls, **params):
    """Settings that exercise every source of randomness the class has."""
    names = param_names(cls)
    extra = {"early_stopping": True, "validation_fraction": 0.25, "shuffle": True}
    extra.update(batch_size=8, max_iter=4, n_iter_no_change=1, tol=0.0)
    if "dropout" in names:
        extra["dropout"] = 0.25
    if "augment" in names:
        extra["augment"] = True
    return stochastic(cls, **{**extra, **params})


@pytest.mark.parametrize("cls, layout", CASES, ids=IDS)
def test_two_fits_with_random_state_are_bit_identical(cls, layout):
    X, y = data(cls, layout, n=40)
    numpy_state = np.random.get_state()  # noqa: NPY002 (the caller's global RNG)
    torch_state = torch.random.get_rng_state()
    first, second = _busy(cls).fit(X, y), _busy(cls).fit(X, y)
    assert first.loss_curve_ == second.loss_curve_
    assert first.validation_scores_ == second.validation_scores_
    assert_same_outputs(first, second, X)
    for a, b in zip(
        first.module_.state_dict().values(), second.module_.state_dict().values()
    ):
        assert torch.equal(a, b)
    # the caller's global random generators were not touched
    assert torch.equal(torch_state, torch.random.get_rng_state())
    np.testing.assert_array_equal(numpy_state[1], np.random.get_state()[1])  # noqa: NPY002


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_default_solver_and_random_state_instance_are_reproducible(cls):
    X, y = data(cls, n=40)
    first = make(cls, random_state=np.random.RandomState(3)).fit(X, y)
    second = make(cls, random_state=np.random.RandomState(3)).fit(X, y)
    assert_same_outputs(first, second, X)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_other_random_state_gives_another_model(cls):
    X, y = data(cls, n=40)
    if not is_classifier(cls()) and cls.__name__ == "LinearRegression":
        pytest.skip("the closed form has no randomness")
    first, second = _busy(cls, random_state=0).fit(X, y), _busy(cls, random_state=1)
    second.fit(X, y)
    assert first.loss_curve_ != second.loss_curve_


# ----------------------------------------------------------------------
# fits in threads: each draws from its own generators only


def _threaded_search(cls, n_jobs, **params):
    X, y = data(cls, "sequence" if family(cls) == "sequence" else "table", n=40)
    est = stochastic(cls, max_iter=3, batch_size=8, **params)
    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [0.01, 0.03]}
    search = GridSearchCV(est, grid, cv=2, n_jobs=n_jobs)
    with joblib.parallel_backend("threading"):
        search.fit(X, y)
    return search.cv_results_


@pytest.mark.parametrize(
    "cls, params",
    [
        (sklearn_deep.MLPClassifier, {"dropout": 0.3, "hidden_layer_sizes": (16,)}),
        (sklearn_deep.LSTMClassifier, {"dropout": 0.3, "num_layers": 2}),
    ],
    ids=["MLPClassifier", "LSTMClassifier"],
)
def test_threaded_grid_search_scores_equal_the_serial_ones(cls, params):
    serial = _threaded_search(cls, 1, **params)
    for _ in range(2):  # twice: the threads interleave differently each time
        threaded = _threaded_search(cls, 2, **params)
        for key in serial:
            if key.startswith(("split", "mean_test", "std_test", "rank_test")):
                np.testing.assert_array_equal(threaded[key], serial[key], key)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_two_threads_fitting_at_once_give_the_sequential_weights(cls):
    X, y = data(cls, n=40)
    sequential = _busy(cls).fit(X, y)
    start = threading.Barrier(2)

    def fit(_):
        est = _busy(cls)
        start.wait()
        return est.fit(X, y)

    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(fit, range(2)))
    for est in threaded:
        assert est.loss_curve_ == sequential.loss_curve_
        for a, b in zip(
            est.module_.state_dict().values(), sequential.module_.state_dict().values()
        ):
            assert torch.equal(a, b)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_networks_drop_out_with_the_fits_generator(cls):
    if "dropout" not in param_names(cls):
        pytest.skip("no dropout")
    X, y = data(cls, n=24)
    params = {"num_layers": 2} if "num_layers" in param_names(cls) else {}
    est = _busy(cls, dropout=0.5, **params).fit(X, y)
    layers = list(est.module_.modules())
    # torch's own dropout (and the LSTM's inner one) draw from the global
    # generator that threads share
    assert any(isinstance(m, sklearn_deep._modules.Dropout) for m in layers)
    assert not any(isinstance(m, torch.nn.Dropout) for m in layers)
    assert not any(
        getattr(m, "dropout", 0) for m in layers if isinstance(m, torch.nn.RNNBase)
    )


class _PredictDuringFit:
    """At the first epoch's end, predict from another thread and from this one."""

    def __init__(self, X):
        self.X, self.seen = X, {}

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        if epoch != 1:
            return
        module = estimator.module_
        self.seen["training before"] = module.training

        def other_thread():
            try:
                predict(estimator, self.X)
            except RuntimeError as exc:
                self.seen["error"] = str(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        self.seen["training after other"] = module.training
        # the fitting thread itself may predict (eval mode, then back)
        self.seen["prediction"] = predict(estimator, self.X)
        self.seen["training after own"] = module.training


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_predict_from_another_thread_during_fit_is_refused(cls):
    X, y = data(cls, n=24)
    callback = _PredictDuringFit(X)
    est = stochastic(cls, max_iter=2, callbacks=[callback]).fit(X, y)
    seen = callback.seen
    assert "being fitted in another thread" in seen["error"]
    assert seen["training before"] and seen["training after other"]
    assert seen["training after own"] and len(seen["prediction"]) == len(X)
    # once fit returned, any thread predicts (the network in eval mode)
    assert not est.module_.training
    with ThreadPoolExecutor(1) as pool:
        np.testing.assert_array_equal(
            pool.submit(predict, est, X).result(), predict(est, X)
        )
