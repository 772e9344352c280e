"""Timing, interleaving, machine details and the markdown tables."""

import gc
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch


def sync(device):
    """Wait for the device's queued work (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer:
    """Wall and CPU seconds of a block, synchronising the device around it.

    CPU time is the process's (all its threads): on a shared machine it is
    far less disturbed by other users than wall time, so the tables report
    both and the ratios of both.
    """

    def __init__(self, device="cpu"):
        self.device = device

    def __enter__(self):
        sync(self.device)
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        sync(self.device)
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        return False


@dataclass
class Measure:
    """The repeats of one variant: wall and CPU seconds, plus what it reached."""

    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def median_wall(self):
        return statistics.median(self.wall) if self.wall else float("nan")

    @property
    def median_cpu(self):
        return statistics.median(self.cpu) if self.cpu else float("nan")

    @property
    def min_wall(self):
        """The fastest repeat: other load only ever adds time."""
        return min(self.wall) if self.wall else float("nan")


def interleave(variants, repeats, log=None):
    """Run each variant once per round, ``repeats`` rounds, rotating the order.

    ``variants`` maps a name to a callable returning a dict with ``wall`` and
    ``cpu`` seconds (a :class:`Timer`'s) and anything else it measured (an
    accuracy); the last round's extras are kept. Returns name -> Measure.
    """
    names = list(variants)
    results = {name: Measure() for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = variants[name]()
            results[name].wall.append(out.pop("wall"))
            results[name].cpu.append(out.pop("cpu"))
            results[name].extra.update(out)
            if log is not None:
                log(f"  [{r + 1}/{repeats}] {name}: {results[name].wall[-1]:.4f}s")
    return results


def set_threads(n):
    """One setting for torch's and numpy's thread pools (BLAS, OpenMP)."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    return threadpool_limits(n)


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numpy_blas():
    from threadpoolctl import threadpool_info

    parts = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            parts.append(
                f"{info.get('internal_api')} {info.get('version')} "
                f"({info.get('architecture')}, {info.get('num_threads')} threads)"
            )
    return ", ".join(parts) or "unknown"


def _torch_blas():
    config = torch.__config__.show()
    for key in ("BLAS_INFO", "LAPACK_INFO"):
        for token in config.replace(",", " ").split():
            if token.startswith(key + "="):
                return token.split("=", 1)[1]
    return "unknown"


def machine_info(device):
    """The machine's details, as (label, value) pairs."""
    import sklearn
    import skorch

    import sklearn_deep

    load = os.getloadavg()
    rows = [
        ("CPU", f"{_cpu_name()} ({os.cpu_count()} logical cores)"),
        (
            "torch",
            f"{torch.__version__} (BLAS {_torch_blas()}, ISA "
            f"{torch.backends.cpu.get_cpu_capability()})",
        ),
        (
            "threads",
            f"torch {torch.get_num_threads()}, OMP_WAIT_POLICY="
            f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}",
        ),
        ("numpy BLAS", _numpy_blas()),
        (
            "versions",
            f"python {platform.python_version()}, numpy "
            f"{np.__version__}, scikit-learn {sklearn.__version__}, skorch "
            f"{skorch.__version__}, sklearn_deep {sklearn_deep.__version__}",
        ),
        ("load average at start", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"),
    ]
    if torch.cuda.is_available():
        names = [
            torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
        ]
        rows.append(("GPU", f"{', '.join(names)} (CUDA {torch.version.cuda})"))
    else:
        rows.append(("GPU", "none"))
    rows.append(("device of the torch runs", str(device)))
    argv = list(sys.argv)
    if argv and argv[0].endswith(os.path.join("benchmarks", "run.py")):
        argv[0] = "-m benchmarks.run"
    rows.append(("command", " ".join(["python", *argv])))
    return rows


def fmt_seconds(s):
    if s != s:  # nan
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_ratio(r):
    return "-" if r is None or r != r else f"{r:.2f}x"


def markdown_table(header, rows):
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


@dataclass
class Target:
    """A stated target and whether this run met it."""

    what: str
    limit: str
    measured: str
    met: bool | None  # None: not measured in this run

    def row(self):
        status = {True: "met", False: "**not met**", None: "not run"}[self.met]
        return [self.what, self.limit, self.measured, status]


@dataclass
class Section:
    """One case's output: a title, prose, tables and the targets it checks."""

    title: str
    text: str = ""
    tables: list = field(default_factory=list)
    targets: list = field(default_factory=list)

    def markdown(self):
        parts = [f"## {self.title}", ""]
        if self.text:
            parts += [self.text.strip(), ""]
        for table in self.tables:
            parts += [table, ""]
        return "\n".join(parts)
