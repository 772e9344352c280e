"""Run the benchmarks and write the table: ``python -m benchmarks.run``.

Each case runs the same work through sklearn_deep, scikit-learn's nearest
estimator, skorch with the same torch module and a bare torch loop, in this one
process (memory: one child process per run), interleaved over several
repeats. The tables hold medians and ratios, the accuracy each reached, the
targets of the benchmark issue (met or not) and the machine's details; they are
printed and written to ``docs/benchmarks.md``.

Examples
--------
python -m benchmarks.run                      # quick CPU run, a few minutes
python -m benchmarks.run --size full          # the figures of the README
python -m benchmarks.run --cases mlp,predict --repeats 7
python -m benchmarks.run --threads 2          # more threads (passive waits)
python -m benchmarks.run --device cuda        # GPU figures (CPU ones too)
"""

import argparse
import datetime
import os
import sys
import time

if __package__ in (None, ""):  # ``python benchmarks/run.py``
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

import benchmarks  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch loads)

# fmt: off
SIZES = {
    # seconds: for the smoke test
    "tiny": dict(
        repeats=1,
        mlp_rows=512, mlp_test_rows=256, mlp_features=20, mlp_hidden=(16, 16),
        mlp_epochs=1, mlp_batch_large=256, mlp_batch_small=32,
        linear_rows=3000, linear_test_rows=1000, linear_features=10,
        skorch_linear_epochs=1,
        predict_rows=1000, predict_calls=20,
        memory_rows=3000, memory_features=10,
        cnn_rows=64, cnn_shape=(1, 8, 8), lstm_rows=64, lstm_shape=(5, 3),
        deep_epochs=1, deep_batch=32,
        digits_folds=2, digits_max_iter=5, digits_fresh=False,
        compile_rows=128, compile_epochs=1, compile_backend="eager",
    ),
    # the default: a few minutes on 2 busy CPU cores
    "quick": dict(
        repeats=3,
        mlp_rows=12000, mlp_test_rows=4000, mlp_features=100,
        mlp_hidden=(256, 256), mlp_epochs=2, mlp_batch_large=256,
        mlp_batch_small=32,
        linear_rows=200_000, linear_test_rows=50_000, linear_features=50,
        skorch_linear_epochs=1,
        predict_rows=20_000, predict_calls=300,
        memory_rows=200_000, memory_features=50,
        cnn_rows=2000, cnn_shape=(1, 28, 28), lstm_rows=2000, lstm_shape=(50, 8),
        deep_epochs=1, deep_batch=64,
        digits_folds=5, digits_max_iter=200,
        compile_rows=2000, compile_epochs=2, compile_backend=True,
    ),
    # the README figures: the sizes of the benchmark issue
    "full": dict(
        repeats=5,
        mlp_rows=48000, mlp_test_rows=12000, mlp_features=100,
        mlp_hidden=(256, 256), mlp_epochs=3, mlp_batch_large=256,
        mlp_batch_small=32,
        linear_rows=800_000, linear_test_rows=200_000, linear_features=50,
        skorch_linear_epochs=1,
        predict_rows=60_000, predict_calls=1000,
        memory_rows=800_000, memory_features=50,
        cnn_rows=3000, cnn_shape=(1, 28, 28), lstm_rows=4000, lstm_shape=(50, 8),
        deep_epochs=1, deep_batch=64,
        digits_folds=5, digits_max_iter=200,
        compile_rows=8000, compile_epochs=3, compile_backend=True,
    ),
}
# fmt: on

CASES = (
    "mlp",
    "linear",
    "cnn_lstm",
    "predict",
    "memory",
    "digits",
    "data",
    "families",
    "coldstart",
    "compile",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="quick",
        help="data sizes: 'quick' (default, minutes), 'full' (the issue's "
        "sizes, the README figures) or 'tiny' (seconds, for tests)",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated subset of {','.join(CASES)} (default: all)",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="rounds of each variant"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and BLAS threads (default 1; OMP_WAIT_POLICY=PASSIVE)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="'cpu', 'cuda' or 'auto' (default): CPU figures always, and GPU "
        "figures for the torch runs too when CUDA is available",
    )
    parser.add_argument(
        "--output",
        default=os.path.join("docs", "benchmarks.md"),
        help="markdown file to write (default docs/benchmarks.md; '-' for none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def devices_for(flag):
    import torch

    if flag == "cpu":
        return ["cpu"]
    if flag == "auto":
        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    if torch.device(flag).type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {flag}: CUDA is not available here.")
    return ["cpu", flag]


def warm_up(device):
    """Pay torch's one-time costs before the timed rounds; returns seconds.

    The first torch optimizer of a process imports ``torch._dynamo`` (about
    1.3 s of CPU here) and the first calls of each kernel initialise it;
    whichever variant ran first would pay for all the others.
    """
    import warnings

    import numpy as np
    import torch

    from benchmarks import _peers
    from sklearn_deep import LinearRegression, LogisticRegression, MLPClassifier

    tic = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 8), dtype=np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier((8,), batch_size=32, max_iter=1, device=device).fit(X, y)
        LogisticRegression(device=device).fit(X, y)
        LinearRegression(device=device).fit(X, X[:, 1])
        for fused in (False, True):
            _peers.bare_fit(
                _peers.mlp_module(8, (8,), 2),
                X,
                torch.from_numpy(y),
                _peers.cross_entropy,
                epochs=1,
                batch_size=32,
                fused=fused,
                device=device,
            )
        _peers.skorch_net(
            _peers.mlp_module(8, (8,), 2),
            task="classification",
            epochs=1,
            batch_size=32,
            device=device,
        ).fit(X, y)
    return time.perf_counter() - tic


def main(argv=None):
    args = parse_args(argv)
    from benchmarks import (
        case_cnn_lstm,
        case_data,
        case_digits,
        case_families,
        case_linear,
        case_memory,
        case_mlp,
        case_predict,
        case_scale,
    )
    from benchmarks._harness import machine_info, markdown_table, set_threads

    modules = {
        "mlp": case_mlp,
        "linear": case_linear,
        "cnn_lstm": case_cnn_lstm,
        "predict": case_predict,
        "memory": case_memory,
        "digits": case_digits,
        "data": case_data,
        "families": case_families,
        "coldstart": case_scale.ColdStart,
        "compile": case_scale.Compile,
    }
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        raise SystemExit(f"--cases: unknown {unknown}; choose from {CASES}.")
    cfg = dict(SIZES[args.size], size=args.size, threads=args.threads)
    if args.repeats is not None:
        cfg["repeats"] = args.repeats
    limits = set_threads(args.threads)  # noqa: F841  (kept for the whole run)
    devices = devices_for(args.device)

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    info = machine_info(", ".join(devices))
    for device in devices:
        warm = warm_up(device)
        info.append(
            (f"one-time warm-up ({device})", f"{warm:.2f} s, before any timing")
        )
    sections = []
    for name in cases:
        for device in devices:
            cpu_only = ("memory", "digits", "data", "coldstart", "compile")
            if device != "cpu" and name in cpu_only:
                continue  # CPU-only cases
            log(f"== {name} ({device})")
            sections.append(modules[name].run(cfg, device, log))

    targets = [t for s in sections for t in s.targets]
    load = os.getloadavg()
    info.append(("load average at end", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"))
    info.append(("total time", f"{time.perf_counter() - started:.0f} s"))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `python -m benchmarks.run --size {args.size}"
        + (f" --threads {args.threads}" if args.threads != 1 else "")
        + f"` on {now}. Medians of interleaved repeats; the machine's other load "
        f"makes wall times noisy, so CPU-time ratios are shown beside them.",
        "",
        markdown_table(["machine", ""], info),
        "",
        "## Targets",
        "",
        markdown_table(
            ["target", "limit", "measured", "status"], [t.row() for t in targets]
        ),
        "",
    ]
    for section in sections:
        lines.append(section.markdown())
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.output and args.output != "-":
        out_dir = os.path.dirname(args.output)
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
        with open(args.output, "w") as f:
            f.write(text)
        log(f"wrote {args.output}")
    return text


if __name__ == "__main__":
    main()
