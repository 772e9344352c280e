"""Cases 7-8: a process's cold start, and ``compile`` per family on the CPU.

Cold start runs in fresh subprocesses (and fresh loky workers), because
nothing in this already-warm process can measure it: the imports, then the
first fit of an MLP against a warm fit of the same model in the same process.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np

from benchmarks._harness import Section, Target, fmt_ratio, fmt_seconds, markdown_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One fresh process: what a script or a worker pays before its first model.
_COLD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import torch
torch.set_num_threads(1)
t1 = time.perf_counter()
import {package}
t2 = time.perf_counter()
from {estimators} import MLPClassifier
t3 = time.perf_counter()
from sklearn.datasets import load_iris
X, y = load_iris(return_X_y=True)
def fit():
    tic = time.perf_counter()
    MLPClassifier((20,), max_iter=20, random_state=0).fit(X, y)
    return time.perf_counter() - tic
first = fit()
warm = min(fit() for _ in range(3))
print(json.dumps({{"torch": t1 - t0, "package": t2 - t1, "estimators": t3 - t2,
                  "first": first, "warm": warm,
                  "dynamo": "torch._dynamo" in sys.modules}}))
"""


def _fresh(package, estimators):
    code = _COLD.format(package=package, estimators=estimators)
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _worker_fits(_):
    """In a loky worker: its first fit, then a warm one."""
    import time

    from sklearn.datasets import load_iris

    from sklearn_deep import MLPClassifier

    X, y = load_iris(return_X_y=True)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            tic = time.perf_counter()
            MLPClassifier((20,), max_iter=20, random_state=0).fit(X, y)
            times.append(time.perf_counter() - tic)
    return os.getpid(), times[0], min(times[1:])


def _loky_workers():
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # fresh workers
    out = Parallel(n_jobs=2, backend="loky")(delayed(_worker_fits)(i) for i in range(2))
    get_reusable_executor().shutdown(wait=True)
    return out


def run_coldstart(cfg, device, log):
    repeats = cfg["repeats"]
    ours, peer = [], []
    for r in range(repeats):
        log(f"  [{r + 1}/{repeats}] fresh processes")
        ours.append(_fresh("sklearn_deep", "sklearn_deep"))
        peer.append(_fresh("sklearn", "sklearn.neural_network"))
    workers = _loky_workers()

    def med(runs, key):
        return statistics.median(run[key] for run in runs)

    extra = med(ours, "first") - med(ours, "warm")
    worker_extra = statistics.median(first - warm for _, first, warm in workers)
    steps = {
        "package": "import the package (after torch)",
        "estimators": "import MLPClassifier (after the package)",
        "first": "first fit (iris, 20 epochs)",
        "warm": "warm fit, same model",
    }
    rows = [["import torch", fmt_seconds(med(ours, "torch")), "-"]]
    for key, label in steps.items():
        rows.append([label, fmt_seconds(med(ours, key)), fmt_seconds(med(peer, key))])
    rows += [
        ["first minus warm", fmt_seconds(extra), "-"],
        ["first minus warm, in a fresh loky worker", fmt_seconds(worker_extra), "-"],
        ["torch._dynamo imported", str(any(run["dynamo"] for run in ours)), "-"],
    ]
    section = Section(
        title="Cold start (fresh processes, CPU)",
        text=(
            f"Medians of {repeats} fresh `python -c` processes each (one torch "
            f"thread): the imports, then the first `fit` of an MLP on iris "
            f"against the best of three warm fits of the same model in the same "
            f"process; beside it, scikit-learn's MLPClassifier in its own fresh "
            f"processes (its package import is `import sklearn`). The loky row: "
            f"two fresh joblib workers, each fitting three times."
        ),
    )
    section.tables.append(
        markdown_table(["step", "sklearn_deep", "scikit-learn"], rows)
    )
    section.targets.append(
        Target(
            "cold start: first fit minus a warm fit, fresh process",
            "<= 0.2 s",
            f"{extra:.3f} s (loky worker {worker_extra:.3f} s)",
            extra <= 0.2 and worker_extra <= 0.2,
        )
    )
    package = med(ours, "package")
    section.targets.append(
        Target(
            "`import sklearn_deep` beyond `import torch`",
            "<= 0.05 s",
            f"{package:.4f} s",
            package <= 0.05,
        )
    )
    return section


# ----------------------------------------------------------------------
# compile


def _family_cases(cfg):
    from sklearn_deep import (
        CNNClassifier,
        LogisticRegression,
        LSTMClassifier,
        MLPClassifier,
    )

    rng = np.random.default_rng(0)
    n = cfg["compile_rows"]
    table = rng.standard_normal((n, 20)).astype(np.float32)
    images = rng.standard_normal((n, 1, 12, 12)).astype(np.float32)
    series = rng.standard_normal((n, 20, 3)).astype(np.float32)
    y = (table[:, 0] > 0).astype(int)
    common = dict(
        max_iter=cfg["compile_epochs"], batch_size=64, random_state=0, device="cpu"
    )
    return (
        [
            ("LogisticRegression", LogisticRegression, table, dict(solver="adam")),
            ("MLPClassifier", MLPClassifier, table, dict(hidden_layer_sizes=(64, 64))),
            ("CNNClassifier", CNNClassifier, images, {}),
            ("LSTMClassifier", LSTMClassifier, series, {}),
        ],
        y,
        common,
    )


def _timed_fit(cls, X, y, params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tic = time.perf_counter()
        est = cls(**params).fit(X, y)
        return time.perf_counter() - tic, est


def run_compile(cfg, device, log):
    backend = cfg["compile_backend"]
    cases, y, common = _family_cases(cfg)
    rows, speedups = [], []
    for name, cls, X, params in cases:
        params = {**common, **params}
        log(f"compile {name}")
        eager = min(_timed_fit(cls, X, y, params)[0] for _ in range(cfg["repeats"]))
        first, est = _timed_fit(cls, X, y, {**params, "compile": backend})
        fell_back = est._compiled is None or est._compiled.compiled is None
        steady = min(
            _timed_fit(cls, X, y, {**params, "compile": backend})[0]
            for _ in range(cfg["repeats"])
        )
        speedups.append(eager / steady)
        rows.append(
            [
                name,
                fmt_seconds(eager),
                fmt_seconds(first - steady),
                fmt_seconds(steady),
                fmt_ratio(eager / steady),
                "eager (fell back)" if fell_back else "compiled",
            ]
        )
    section = Section(
        title="compile per family (cpu)",
        text=(
            f"`compile={backend!r}` against `compile=False`, {cfg['compile_rows']} "
            f"rows, {cfg['compile_epochs']} epochs, batch 64, one thread. Compile "
            f"time: the first compiled fit minus the steady one (later fits reuse "
            f"torch's compiled code); steady state: the best of "
            f"{cfg['repeats']} later fits. Speed-up: eager / steady."
        ),
    )
    section.tables.append(
        markdown_table(
            [
                "family",
                "eager fit",
                "compile time",
                "compiled fit (steady)",
                "speed-up",
                "ran",
            ],
            rows,
        )
    )
    return section


class ColdStart:
    run = staticmethod(run_coldstart)


class Compile:
    run = staticmethod(run_compile)
