"""Each family's defaults on real data that packages ship, CI-sized.

The full table, over three seeds and every data set, is
``python -m benchmarks.accuracy`` (docs/accuracy.md). These are its cheapest
rows with one seed: floors a little under the benchmark's figures, so that a
default change that costs accuracy fails here. No timing assertions.
"""

import importlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn.neural_network as sk_nn
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import CNNClassifier, LSTMClassifier, MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
datasets = importlib.import_module("benchmarks.datasets")
accuracy = importlib.import_module("benchmarks.accuracy")


def _loaded(data):
    if data is None:
        pytest.skip("needs sktime installed (its wheel ships the UCR/UEA files)")
    return data


def _defaults(cls, **params):
    return cls(device="cpu", random_state=0, **params)


def test_cnn_defaults_on_gunpoint_signals():
    X_train, y_train, X_test, y_test = _loaded(datasets.ucr("GunPoint"))
    clf = _defaults(CNNClassifier).fit(X_train, y_train)
    assert clf.input_shape_ == (1, 150)  # rows are read as signals
    assert clf.score(X_test, y_test) >= 0.96  # 0.993 over three seeds


def test_cnn_defaults_on_digit_images():
    X_train, y_train, X_test, y_test = datasets.digits_half()
    clf = _defaults(CNNClassifier).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.97  # 0.98 over three seeds


def test_lstm_defaults_on_ragged_japanese_vowels():
    X_train, y_train, X_test, y_test = _loaded(datasets.uea("JapaneseVowels"))
    assert (len(X_train), len(X_test), X_train[0].shape[1]) == (270, 370, 12)
    assert isinstance(X_train, list)  # really of different lengths
    clf = _defaults(LSTMClassifier).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.96  # 0.98 over three seeds


def test_mlp_defaults_no_worse_than_sklearn():
    # mean 3-fold accuracy over three of scikit-learn's tables, in the same
    # pipeline; the benchmark's ten sets show the defaults a point ahead
    ours, theirs = [], []
    for load in (load_iris, load_wine, load_breast_cancer):
        X, y = load(return_X_y=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning
            for est, scores in (
                (_defaults(MLPClassifier), ours),
                (sk_nn.MLPClassifier(random_state=0), theirs),
            ):
                pipe = make_pipeline(StandardScaler(), est)
                scores.append(cross_val_score(pipe, X, y, cv=3).mean())
    assert np.mean(ours) >= np.mean(theirs) - 0.005, (ours, theirs)


def test_zero_pad_pads_at_the_end_to_the_longest():
    a = [np.ones((2, 3)), np.ones((4, 3))]
    b = [np.ones((5, 3))]
    pa, pb = datasets.zero_pad(a, b)
    assert pa.shape == (2, 5, 3) and pb.shape == (1, 5, 3)
    assert pa[0, :2].all() and not pa[0, 2:].any()


def test_accuracy_command_writes_its_tables(tmp_path):
    _loaded(datasets.ucr("ItalyPowerDemand"))
    output = tmp_path / "accuracy.md"
    text = accuracy.main(
        [
            "--cases",
            "ItalyPowerDemand",
            "--seeds",
            "0",
            "--quiet",
            "--output",
            str(output),
        ]
    )
    assert output.read_text() == text
    assert "## Convolutional and recurrent families" in text
    assert "## What each default change bought" in text
    row = next(line for line in text.splitlines() if line.startswith("| ItalyPower"))
    assert "0.963 (FCN" in row  # the published figure beside ours
    accuracy_of_ours = float(row.split("**")[1].split(" ")[0])
    assert accuracy_of_ours > 0.9
