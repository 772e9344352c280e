"""Cheap settings and inputs for every public estimator: the one table of test
settings.

Every suite that runs over ``all_estimators()`` (the estimator checks, the
hardening, persistence, concurrency and warnings suites) and the family test
files take their settings from ``SETTINGS``, so a new family is covered the day
it is exported and its test settings are written once.
"""

import numpy as np
from sklearn.base import is_classifier, is_regressor

from sklearn_deep import MLPClassifier
from sklearn_deep.utils import all_estimators

_LSTM = dict(
    hidden_size=8,
    bidirectional=False,
    learning_rate="constant",
    learning_rate_init=0.02,
)

_TRANSFORMER = dict(
    d_model=8,
    nhead=2,
    num_layers=1,
    dim_feedforward=16,
    learning_rate="constant",
    learning_rate_init=0.01,
)

# Small networks that pass scikit-learn's estimator checks on their tiny data
# sets with these epochs and step sizes; other suites lower max_iter.
SETTINGS = {
    "MLPClassifier": dict(
        hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01
    ),
    "MLPRegressor": dict(
        hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01
    ),
    "LogisticRegression": dict(max_iter=100),
    "LinearRegression": dict(),
    "CNNClassifier": dict(
        conv_channels=(4,),
        hidden_layer_sizes=(16,),
        max_iter=100,
        learning_rate_init=0.01,
    ),
    "CNNRegressor": dict(
        conv_channels=(16,),  # 4 globally pooled filters underfit the checks' data
        hidden_layer_sizes=(16,),
        max_iter=100,
        learning_rate_init=0.01,
    ),
    # one direction and a constant step (stopped by tol): the checks run many
    # fits, and the defaults' bidirectional one-cycle budget tripled their time
    "LSTMClassifier": dict(_LSTM, max_iter=100),
    "LSTMRegressor": dict(_LSTM, max_iter=200),
    # one small block and a constant step, as the LSTMs'
    "TransformerClassifier": dict(_TRANSFORMER, max_iter=100),
    "TransformerRegressor": dict(_TRANSFORMER, max_iter=200),
    "AutoEncoder": dict(
        hidden_layer_sizes=(8,),
        max_iter=50,
        learning_rate="constant",
        learning_rate_init=0.01,
    ),
}

ESTIMATORS = all_estimators()
NAMES = [name for name, _ in ESTIMATORS]
CLASSES = [cls for _, cls in ESTIMATORS]

N_FEATURES = 6  # table width; images are 1 x 2 x 3, sequences 3 steps x 2


def param_names(cls):
    return set(cls().get_params(deep=False))


def family(cls):
    """'image', 'sequence' or 'table': the input kind the class declares."""
    return cls._input_kind.name


def settings(cls, **params):
    """The table's settings for ``cls`` on the CPU with a fixed seed, updated."""
    base = {"device": "cpu", "random_state": 0, **SETTINGS.get(cls.__name__, {})}
    return {**base, **params}


# sparse rows are never centred or scaled by the MLPs' input layer (that would
# densify them): the tests that a sparse fit is the dense fit turn it off
DENSE_AS_SPARSE = {"input_scaling": None, "numerical_embedding": None}


def as_sparse_fit(cls):
    """The parameters under which a dense X is read as its sparse twin."""
    return DENSE_AS_SPARSE if family(cls) == "table" else {}


def make(cls, **params):
    """An instance with cheap, reproducible settings (unknown keys dropped).

    Three epochs unless ``params`` say otherwise: enough for every behaviour
    these suites test but learning.
    """
    names = param_names(cls)
    chosen = settings(cls, **{"max_iter": 3, **params})
    return cls(**{k: v for k, v in chosen.items() if k in names})


def small_mlp(**params):
    """The MLP classifier of the engine and task tests, with scikit-learn's
    training rules (a constant step of 0.001, batches of min(200, n), no
    dropout, no early stopping, no input scaling), which those tests restate:
    20 epochs."""
    classic = {
        "learning_rate": "constant",
        "batch_size": 200,
        "dropout": 0.0,
        "early_stopping": False,
        "input_scaling": None,
    }
    chosen = {"max_iter": 20, "learning_rate_init": 0.001, **classic, **params}
    return make(MLPClassifier, **chosen)


def stochastic(cls, **params):
    """Like ``make``, with a mini-batch solver (callbacks run each epoch).

    A constant step size: a twin fit with fewer epochs must take the same
    steps, which a schedule over the whole ``max_iter`` budget would not.
    """
    params = {"solver": "adam", "learning_rate_init": 0.01, **params}
    return make(cls, **{"learning_rate": "constant", **params})


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


# what a fitted estimator computes from X: a supervised one's predictions, a
# transformer's code (and its samples' scores)
PREDICT_METHODS = (
    "predict",
    "predict_proba",
    "decision_function",
    "transform",
    "score_samples",
)


def supervised(cls):
    """Whether ``cls`` learns from targets (a classifier or a regressor)."""
    return is_classifier(cls()) or is_regressor(cls())


def predict(est, X):
    """The estimator's main output on X: ``predict``, or a transformer's code."""
    return est.predict(X) if hasattr(est, "predict") else est.transform(X)


def outputs(est, X):
    """Every prediction method's output on X, by method name."""
    return {m: getattr(est, m)(X) for m in PREDICT_METHODS if hasattr(est, m)}


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


# every class with each of its input layouts, and their test ids
LAYOUT_CASES = [(cls, layout) for cls in CLASSES for layout in layouts(cls)]
LAYOUT_IDS = [f"{cls.__name__}-{layout}" for cls, layout in LAYOUT_CASES]
