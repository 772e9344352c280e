"""Cheap settings and inputs for every public estimator.

Shared by the hardening, persistence and concurrency suites, which run over
``all_estimators()``: a class missing from ``FAST`` gets the defaults (tables,
plus images or sequences when its parameters say it is an image or sequence
estimator), so a new family is covered the day it is exported.
"""

import numpy as np
from sklearn.base import is_classifier

from sklearn_deep.utils import all_estimators

# Small networks; every suite adds max_iter, device="cpu" and random_state.
FAST = {
    "MLPClassifier": dict(hidden_layer_sizes=(5,)),
    "MLPRegressor": dict(hidden_layer_sizes=(5,)),
    "LogisticRegression": dict(),
    "LinearRegression": dict(),
    "CNNClassifier": dict(conv_channels=(2,), hidden_layer_sizes=(4,)),
    "CNNRegressor": dict(conv_channels=(2,), hidden_layer_sizes=(4,)),
    "LSTMClassifier": dict(hidden_size=4),
    "LSTMRegressor": dict(hidden_size=4),
}

ESTIMATORS = all_estimators()
NAMES = [name for name, _ in ESTIMATORS]
CLASSES = [cls for _, cls in ESTIMATORS]

N_FEATURES = 6  # table width; images are 1 x 2 x 3, sequences 3 steps x 2


def param_names(cls):
    return set(cls().get_params(deep=False))


def family(cls):
    """'image', 'sequence' or 'table': what inputs the class takes."""
    names, name = param_names(cls), cls.__name__
    if "input_shape" in names or name.startswith("CNN"):
        return "image"
    if "cell" in names or name.startswith(("LSTM", "GRU", "RNN")):
        return "sequence"
    return "table"


def make(cls, **params):
    """An instance with cheap, reproducible settings (unknown keys dropped)."""
    names = param_names(cls)
    settings = {"device": "cpu", "random_state": 0, "max_iter": 3}
    settings.update(FAST.get(cls.__name__, {}), **params)
    return cls(**{k: v for k, v in settings.items() if k in names})


def stochastic(cls, **params):
    """Like ``make``, with a mini-batch solver (callbacks run each epoch)."""
    return make(cls, **{"solver": "adam", "learning_rate_init": 0.01, **params})


def layouts(cls):
    """The input layouts to try: 2-D tables always, plus the family's own."""
    kind = family(cls)
    if kind == "image":
        return ["table", "image"]
    if kind == "sequence":
        return ["table", "sequence", "ragged"]
    return ["table"]


def make_X(layout, n=24, seed=0):
    """Inputs of ``n`` samples in ``layout``; ragged sequences are a list."""
    rng = np.random.RandomState(seed)
    if layout == "table":
        return rng.randn(n, N_FEATURES)
    if layout == "image":
        return rng.randn(n, 1, 2, 3)
    if layout == "sequence":
        return rng.randn(n, 3, 2)
    if layout == "ragged":
        return [rng.randn(1 + i % 3, 2) for i in range(n)]
    raise ValueError(layout)


def make_y(cls, n=24, seed=0, labels=("a", "b", "c")):
    """Targets: string labels cycling through ``labels``, or real values."""
    if is_classifier(cls()):
        return np.array([labels[i % len(labels)] for i in range(n)])
    return np.random.RandomState(seed + 1).randn(n)


def data(cls, layout="table", n=24, seed=0):
    return make_X(layout, n, seed), make_y(cls, n, seed)


def outputs(est, X):
    """Every prediction method's output on X, by method name."""
    out = {"predict": est.predict(X)}
    for method in ("predict_proba", "decision_function"):
        if hasattr(est, method):
            out[method] = getattr(est, method)(X)
    return out


def assert_same_outputs(a, b, X):
    """Predictions of a and b on X are bit-identical."""
    first, second = outputs(a, X), outputs(b, X)
    assert first.keys() == second.keys()
    for method in first:
        np.testing.assert_array_equal(first[method], second[method], err_msg=method)
        assert first[method].dtype == second[method].dtype, method


class RecordThreads:
    """A callback writing ``torch.get_num_threads()`` to a file per epoch.

    Lives here, not in a test module, so that joblib's worker processes can
    import it cheaply when they unpickle the estimator.
    """

    def __init__(self, folder):
        self.folder = folder

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        import os
        import uuid

        import torch

        name = f"{os.getpid()}-{uuid.uuid4().hex}.txt"
        with open(os.path.join(self.folder, name), "w") as file:
            file.write(str(torch.get_num_threads()))
