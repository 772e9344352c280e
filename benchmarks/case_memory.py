"""Case 5: peak memory of a fit, one child process per run.

The child builds the data, resets the kernel's peak-RSS counter (Linux
``/proc/self/clear_refs``; otherwise ``ru_maxrss`` is used, which cannot go
down), fits, and reports how far the peak resident memory rose above the
resident memory just before ``fit``.
"""

import multiprocessing as mp
import os
import resource
import sys
import warnings

import numpy as np

from benchmarks._harness import Section, Target, markdown_table

HIDDEN = (64,)
BATCH = 1024


def _status_kb(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _trim_heap():
    """Return the heap's free memory to the kernel (glibc), so that the fit's
    allocations raise the resident size instead of reusing resident free
    space left by building the data (which hid fits of up to 150 MB)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak():
    _trim_heap()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


def _peak_kb(exact):
    if exact:
        return _status_kb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _fitter(variant, p):
    import torch

    from benchmarks import _peers

    if variant == "sklearn_deep MLPClassifier":
        from sklearn_deep import MLPClassifier

        est = MLPClassifier(HIDDEN, batch_size=BATCH, max_iter=1, device="cpu")
        return lambda X, y: est.fit(X, y)
    if variant == "scikit-learn MLPClassifier":
        from sklearn.neural_network import MLPClassifier

        est = MLPClassifier(HIDDEN, batch_size=BATCH, max_iter=1)
        return lambda X, y: est.fit(X, y)
    if variant == "bare torch loop (X[perm])":
        module = _peers.mlp_module(p, HIDDEN, 2)
        return lambda X, y: _peers.bare_fit(
            module,
            X,
            torch.from_numpy(y),
            _peers.cross_entropy,
            epochs=1,
            batch_size=BATCH,
            fused=True,
        )
    if variant == "skorch MLP":
        net = _peers.skorch_net(
            _peers.mlp_module(p, HIDDEN, 2),
            task="classification",
            epochs=1,
            batch_size=BATCH,
        )
        return lambda X, y: net.fit(X, y)
    if variant == "sklearn_deep LogisticRegression":
        from sklearn_deep import LogisticRegression

        return LogisticRegression(device="cpu").fit
    if variant == "scikit-learn LogisticRegression":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression().fit
    if variant == "sklearn_deep LinearRegression":
        from sklearn_deep import LinearRegression

        return LinearRegression(device="cpu").fit
    if variant == "scikit-learn LinearRegression":
        from sklearn.linear_model import LinearRegression

        return LinearRegression().fit
    raise ValueError(variant)


def _child(variant, n, p, threads, conn):
    import torch

    torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p), dtype=np.float32)
    if "LinearRegression" in variant:
        y = X[:, 0] + rng.standard_normal(n, dtype=np.float32)
    else:
        y = (X[:, 0] + rng.logistic(size=n) > 0).astype(np.int64)
    # a first small fit pays torch's one-time costs (kernels, allocator pools)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fitter(variant, p)(X[:2048], y[:2048])
    fit = _fitter(variant, p)
    exact = _reset_peak()
    before = _status_kb("VmRSS") if exact else _peak_kb(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(X, y)
    conn.send({"peak_kb": _peak_kb(exact) - before, "exact": exact})
    conn.close()


def measure(variant, n, p, threads, child_main=None):
    """Run ``child_main(variant, n, p, threads, conn)`` (default: a fit of
    ``variant`` on n x p data) in a child process; return what it sends."""
    # not fork: a child forked from this process inherits its heap, whose
    # resident free space then absorbs the fit's allocations (every fit under
    # 150 MB measured 0 MB after the earlier cases had run). A fork server
    # is a fresh process, with torch imported once for all the children.
    if sys.platform == "linux" and threads == 1:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "torch", "sklearn", "scipy.sparse"])
    else:
        ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    target = _child if child_main is None else child_main
    proc = ctx.Process(target=target, args=(variant, n, p, threads, child))
    proc.start()
    child.close()
    try:
        out = parent.recv()
    except EOFError:
        out = {"peak_kb": float("nan"), "exact": False}
    proc.join()
    return out


VARIANTS = (
    "sklearn_deep MLPClassifier",
    "bare torch loop (X[perm])",
    "skorch MLP",
    "scikit-learn MLPClassifier",
    "sklearn_deep LogisticRegression",
    "scikit-learn LogisticRegression",
    "sklearn_deep LinearRegression",
    "scikit-learn LinearRegression",
)


def run(cfg, device, log):
    n, p = cfg["memory_rows"], cfg["memory_features"]
    data_mb = n * p * 4 / 2**20
    rows, exact = [], True
    peaks = {}
    for variant in VARIANTS:
        log(f"memory {variant}")
        # the child inherits the parent's environment (OMP_WAIT_POLICY)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        out = measure(variant, n, p, cfg["threads"])
        exact = exact and out["exact"]
        mb = out["peak_kb"] / 1024
        peaks[variant] = mb
        rows.append([variant, f"{mb:.0f} MB", f"{mb / data_mb:.2f}x"])
    how = (
        "the peak RSS (VmHWM, reset just before fit)"
        if exact
        else "ru_maxrss (a high-water mark that cannot be reset, so a low figure "
        "may hide under the data's own peak)"
    )
    section = Section(
        title="Peak memory of a fit (CPU)",
        text=(
            f"{n} x {p} float32 X ({data_mb:.0f} MB), binary target (a real one for "
            f"LinearRegression). Each fit runs alone in a fresh child process; the "
            f"figure is how far {how} rose above the resident memory just before "
            f"`fit`. MLPs: hidden {HIDDEN}, batch {BATCH}, one epoch."
        ),
    )
    section.tables.append(markdown_table(["fit", "peak increase", "x size of X"], rows))
    ours = peaks["sklearn_deep MLPClassifier"]
    section.targets.append(
        Target(
            "MLP fit makes no per-batch copies of the whole data",
            "peak increase < 1.5x size of X",
            f"{ours / data_mb:.2f}x ({ours:.0f} MB)",
            ours < 1.5 * data_mb,
        )
    )
    return section
