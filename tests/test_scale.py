"""Beyond one process: searches on Dask and Ray, out-of-core training, cold start.

The clusters are real local ones (two worker processes, one thread each),
started once per module. A search's scores on a cluster must equal those of
``n_jobs=1`` exactly: every fit is seeded by ``random_state`` and runs on one
torch thread wherever it runs.
"""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.preprocessing import StandardScaler

from sklearn_deep import LogisticRegression, MLPClassifier

distributed = pytest.importorskip("distributed")

# the module's clusters (Dask, Ray) are started once, on one pytest-xdist worker
pytestmark = pytest.mark.xdist_group("clusters")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:300]).astype(np.float32)
    return X, y[:300]


@pytest.fixture(scope="module")
def dask_client():
    # processes=True: each worker is a process with one thread, as on a
    # cluster; the tests' environment (OMP_WAIT_POLICY, PYTHONPATH) is inherited
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def ray_backend():
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    # measured here: ray.init 3.9 s, the first tasks 3.1 s (workers import torch)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    register_ray()
    yield
    ray.shutdown()


def _probes():
    """Scorers that report where a fit ran: its process and torch's threads."""

    def pid(estimator, X, y):
        return os.getpid()

    def threads(estimator, X, y):
        import torch

        return torch.get_num_threads()

    return {"accuracy": "accuracy", "pid": pid, "threads": threads}


def _search(kind, random_state, n_jobs):
    estimator = MLPClassifier(
        (16,), max_iter=4, batch_size=64, random_state=random_state, device="cpu"
    )
    if kind == "grid":
        grid = {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-3, 1e-2]}
        return GridSearchCV(
            estimator, grid, cv=2, scoring=_probes(), refit="accuracy", n_jobs=n_jobs
        )
    space = {"alpha": [1e-5, 1e-4, 1e-3, 1e-1], "hidden_layer_sizes": [(8,), (16,)]}
    return RandomizedSearchCV(
        estimator,
        space,
        n_iter=4,
        cv=2,
        scoring=_probes(),
        refit="accuracy",
        random_state=0,
        n_jobs=n_jobs,
    )


def _fit_search(search, X, y, backend=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if backend is None:
            return search.fit(X, y)
        with joblib.parallel_backend(backend):
            return search.fit(X, y)


def _scores(search):
    return {
        key: value
        for key, value in search.cv_results_.items()
        if key.startswith("split") and key.endswith("test_accuracy")
    }


def _check_distributed_search(kind, backend, digits):
    X, y = digits
    local = _fit_search(_search(kind, 0, 1), X, y)
    remote = _fit_search(_search(kind, 0, 2), X, y, backend)
    # the same scores, bit for bit, and the same refitted model
    for key, value in _scores(local).items():
        np.testing.assert_array_equal(remote.cv_results_[key], value, err_msg=key)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
    # the fits ran in other processes, each on one torch thread
    pids = [
        v
        for k, v in remote.cv_results_.items()
        if k.startswith("split") and k.endswith("test_pid")
    ]
    pids = set(np.concatenate(pids).tolist())
    assert os.getpid() not in pids and len(pids) == 2
    for key, value in remote.cv_results_.items():
        if key.startswith("split") and key.endswith("test_threads"):
            assert set(value.tolist()) == {1}, key
    # negative control: the equality above is not that of constant scores
    other = _fit_search(_search(kind, 1, 1), X, y)
    assert any(
        not np.array_equal(other.cv_results_[key], value)
        for key, value in _scores(local).items()
    )


@pytest.mark.parametrize("kind", ["grid", "randomized"])
def test_search_on_dask_matches_one_process(kind, dask_client, digits):
    _check_distributed_search(kind, "dask", digits)


def test_search_on_ray_matches_one_process(ray_backend, digits):
    _check_distributed_search("grid", "ray", digits)


# ----------------------------------------------------------------------
# Out-of-core training


def _chunks(X, y, size, sparse=False):
    """A generator: each chunk is built when asked for, and dropped after."""
    for start in range(0, len(X), size):
        Xc = X[start : start + size].copy()
        yield (sp.csr_matrix(Xc) if sparse else Xc), y[start : start + size].copy()


def _stream_estimator(**params):
    return MLPClassifier(
        (32,),
        batch_size=32,
        learning_rate_init=0.01,
        random_state=0,
        device="cpu",
        **params,
    )


def _partial_fit_stream(chunks, classes, n_epochs=4, **params):
    est = _stream_estimator(**params)
    for _ in range(n_epochs):
        for Xc, yc in chunks():
            est.partial_fit(Xc, yc, classes=classes)
    return est


def test_partial_fit_over_a_stream_of_chunks(digits):
    X, y = digits
    classes = np.unique(y)
    streamed = _partial_fit_stream(lambda: _chunks(X, y, 50), classes)
    # it learnt: digits the network never saw as a whole set
    assert streamed.score(X, y) > 0.9
    # each chunk is one epoch over that chunk: the same as calling
    # partial_fit on the same slices held in memory, bit for bit
    slices = [(X[i : i + 50], y[i : i + 50]) for i in range(0, len(X), 50)]
    in_memory = _partial_fit_stream(lambda: iter(slices), classes)
    for a, b in zip(streamed.coefs_, in_memory.coefs_):
        np.testing.assert_array_equal(a, b)
    # negative control: the chunks' order matters, so the equality is not vacuous
    reverse = _partial_fit_stream(lambda: iter(slices[::-1]), classes)
    assert not np.array_equal(reverse.coefs_[0], streamed.coefs_[0])


def test_partial_fit_over_sparse_chunks(digits):
    # Sparse chunks train the same model as their dense twins (to float32
    # rounding: a sparse product may sum in another order).
    X, y = digits
    classes = np.unique(y)
    # (sparse rows are never scaled by the input layer: the dense twin neither)
    same = {"input_scaling": None}
    sparse = _partial_fit_stream(
        lambda: _chunks(X, y, 50, sparse=True), classes, **same
    )
    dense = _partial_fit_stream(lambda: _chunks(X, y, 50), classes, **same)
    for a, b in zip(sparse.coefs_, dense.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(sparse.predict(X), dense.predict(X))


def _dask_digits(digits):
    """The digits as dask arrays of 50-row blocks."""
    da = pytest.importorskip("dask.array")
    X, y = digits
    return da.from_array(X, chunks=(50, X.shape[1])), da.from_array(y, chunks=50)


def test_incremental_over_a_dask_array(dask_client, digits):
    from dask_ml.wrappers import Incremental

    X, y = digits
    classes = np.unique(y)
    dX, dy = _dask_digits(digits)
    # blocks in order (dask-ml shuffles them by default), to compare below
    inc = Incremental(_stream_estimator(), scoring="accuracy", shuffle_blocks=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(4):
            inc.partial_fit(dX, dy, classes=classes)
    # the blocks were trained in order on the workers: the same model as
    # partial_fit over the same blocks here
    slices = [(X[i : i + 50], y[i : i + 50]) for i in range(0, len(X), 50)]
    local = _partial_fit_stream(lambda: iter(slices), classes)
    for a, b in zip(inc.estimator_.coefs_, local.coefs_):
        np.testing.assert_array_equal(a, b)
    assert inc.score(dX, dy) > 0.9


def test_hyperband_search_over_a_dask_array(dask_client, digits):
    # dask-ml's adaptive searches drive partial_fit on the workers; they run
    # with distributed <= 2025.2 (later versions refuse the synchronous
    # dask.persist inside their coroutine: a dask-ml issue, pinned in CI)
    from dask_ml.model_selection import HyperbandSearchCV

    X, y = digits
    classes = np.unique(y)
    dX, dy = _dask_digits(digits)
    search = HyperbandSearchCV(
        _stream_estimator(),
        {"alpha": [1e-4, 1e-1], "learning_rate_init": [1e-4, 1e-2]},
        max_iter=9,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (ConvergenceWarning, UserWarning))
        search.fit(dX, dy, classes=classes)
    assert search.metadata_["partial_fit_calls"] > 0
    # the best model of the search is an ordinary fitted estimator here
    best = search.best_estimator_
    assert isinstance(best, MLPClassifier)
    assert best.score(X, y) > 0.6  # ten classes, a few passes: chance is 0.1
    # the lowest learning rate gets nowhere in 9 calls: Hyperband kept the other
    assert search.best_params_["learning_rate_init"] == 1e-2


# ----------------------------------------------------------------------
# Cold start


_FRESH_PROCESS = """
import pickle, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
import sklearn_deep
print("torch" in sys.modules, "sklearn" in sys.modules)
from sklearn_deep import LogisticRegression, MLPClassifier
rng = np.random.default_rng(0)
X = rng.standard_normal((120, 5)).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 0).astype(int)

def fit():
    mlp = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    mlp = pickle.loads(pickle.dumps(mlp)).partial_fit(X, y)
    logistic = LogisticRegression().fit(X, y)
    return np.concatenate([mlp.coefs_[0].ravel(), logistic.coef_.ravel()])

weights = fit()
print("torch._dynamo" in sys.modules)
import torch._dynamo
np.testing.assert_array_equal(weights, fit())
print("same")
"""


def test_cold_process_imports_lazily_and_never_dynamo():
    # import sklearn_deep imports nothing heavy until an estimator is asked
    # for; torch._dynamo (1.2-1.8 s to import here) is never imported by a
    # process that does not compile: it fits, pickles and resumes without it,
    # to the same weights as with it imported (where torch's wrappers run)
    env = dict(os.environ, PYTHONPATH=ROOT)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_FRESH_PROCESS)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.stdout.split() == ["False", "False", "False", "same"], done.stderr
    assert LogisticRegression.__module__ == "sklearn_deep.linear_model"


# ----------------------------------------------------------------------
# compile


def _compile_fit(X, y, compile):
    est = MLPClassifier(
        (16,), max_iter=3, batch_size=50, dropout=0.0, random_state=0, device="cpu"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.set_params(compile=compile).fit(X, y)


def test_compiled_network_fits_and_predicts_as_eager(digits):
    # 'aot_eager' runs the real torch.compile path (dynamo graphs, AOT
    # autograd) without generating C++: inductor (compile=True) needs ~150 s
    # of CPU to compile here, too slow for the suite; it gave identical
    # weights when run by hand
    X, y = digits
    eager = _compile_fit(X, y, False)
    compiled = _compile_fit(X, y, "aot_eager")
    assert compiled._compiled.compiled is not None  # it did run compiled
    for a, b in zip(eager.coefs_, compiled.coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        compiled.predict_proba(X), eager.predict_proba(X), rtol=1e-5, atol=1e-6
    )
    # compiled code belongs to the process: a pickle predicts uncompiled
    loaded = pickle.loads(pickle.dumps(compiled))
    np.testing.assert_array_equal(loaded.predict(X), compiled.predict(X))


def test_compiled_dropout_networks_compile_whole_and_repeat(digits):
    import torch
    from torch._dynamo.utils import counters

    X, y = digits

    def fit(width, seed=0):
        est = MLPClassifier(
            (width,), max_iter=2, batch_size=50, dropout=0.3, random_state=seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return est.set_params(compile="aot_eager").fit(X, y)

    counters.clear()
    state = torch.random.get_rng_state()
    first = fit(16)
    # dropout inside the graph, no graph break at each layer (a Generator
    # argument cannot enter a compiled graph)
    assert not counters["graph_break"]
    assert counters["stats"]["unique_graphs"] >= 1
    # the masks come from the fit's seed: the same fit again is the same model,
    # another seed another one, and torch's global generator is untouched
    again = fit(16)
    for a, b in zip(first.coefs_, again.coefs_):
        np.testing.assert_array_equal(a, b)
    other = fit(16, seed=1)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])
    assert torch.equal(torch.random.get_rng_state(), state)
    # a search over widths: each architecture gets its own compiled graph,
    # past dynamo's limit of 8 recompilations per code object (after which
    # it would run the rest eagerly, silently)
    for width in range(17, 28):
        graphs = counters["stats"]["unique_graphs"]
        fit(width)
        assert counters["stats"]["unique_graphs"] > graphs, width


def test_compile_failure_warns_once_and_runs_eager(digits):
    import torch._dynamo
    from torch._dynamo import register_backend

    # earlier compiled fits in this process (the compile benchmark's smoke
    # test) may have spent dynamo's recompile budget for these forward
    # methods, after which it runs them eagerly without calling any backend
    torch._dynamo.reset()

    # a backend that fails as inductor does without a C compiler: at the
    # first forward pass, not when torch.compile is called
    @register_backend
    def sklearn_deep_failing_backend(graph, example_inputs):
        raise RuntimeError("no C compiler found")

    X, y = digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = _compile_fit(X, y, "sklearn_deep_failing_backend")
        est.predict(X)
    messages = [str(w.message) for w in caught if "torch.compile" in str(w.message)]
    assert len(messages) == 1, messages
    assert "no C compiler found" in messages[0] and "compile=False" in messages[0]
    assert caught[0].filename == __file__  # it points at the user's line
    eager = _compile_fit(X, y, False)
    for a, b in zip(eager.coefs_, est.coefs_):
        np.testing.assert_array_equal(a, b)


def test_compile_on_a_cpu_says_once_what_it_costs(digits, monkeypatch):
    import torch

    from sklearn_deep import _engine

    seen = []

    def sklearn_deep_plain_backend(graph, example_inputs):
        seen.append(len(example_inputs))
        return graph.forward  # runs the traced graph as it is: no code built

    torch._dynamo.register_backend(sklearn_deep_plain_backend)
    monkeypatch.setattr(_engine, "_CPU_COMPILE_NOTED", False)
    X, y = digits
    X = X[:200]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _compile_fit(X, y[:200], False)  # negative control: no compile
        assert not [w for w in caught if "on a CPU" in str(w.message)]
        est = _compile_fit(X, y[:200], "sklearn_deep_plain_backend")
        _compile_fit(X, y[:200], "sklearn_deep_plain_backend")
    assert seen  # the backend compiled
    notes = [w for w in caught if "on a CPU" in str(w.message)]
    assert len(notes) == 1, [str(w.message) for w in notes]
    message = str(notes[0].message)
    assert "MLPClassifier: compile='sklearn_deep_plain_backend'" in message
    assert "compile=False" in message and "once per process" in message
    assert notes[0].filename == __file__  # the caller's line (_compile_fit's)
    assert len(est.predict(X)) == len(X)
