"""
=====================================================
sklearn_deep in the scikit-learn toolbox: a showcase
=====================================================

Every sklearn_deep estimator is an ordinary scikit-learn estimator: it sits in
a :class:`~sklearn.pipeline.Pipeline`, is tuned by
:class:`~sklearn.model_selection.GridSearchCV` and scored by
:func:`~sklearn.model_selection.cross_val_score`. This script does all three
for each estimator, on data that ships with scikit-learn, next to the
scikit-learn estimator it replaces, prints a table and saves the training
curves to ``showcase_training_curves.png``.
"""

# %%
# Setup: one torch thread keeps timings honest on a shared machine.
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from sklearn import linear_model as sk_linear
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

import sklearn_deep
from sklearn_deep.plotting import LossCurveDisplay

torch.set_num_threads(1)
# CI's documentation build sets SKLEARN_DEEP_EXAMPLES_QUICK=1: fewer epochs
# and folds, so that every example runs in seconds (and says less).
QUICK = os.environ.get("SKLEARN_DEEP_EXAMPLES_QUICK") == "1"
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits(return_X_y=True)
cancer = load_breast_cancer(return_X_y=True)
diabetes = load_diabetes(return_X_y=True)

# %%
# The cases: our estimator, a small grid over its hyperparameters, the data,
# and scikit-learn's counterpart with the same settings.
CASES = [
    (
        "MLPClassifier",
        "digits",
        sklearn_deep.MLPClassifier(max_iter=100, early_stopping=True, random_state=0),
        {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(64,), (128,)]},
        sk_nn.MLPClassifier(max_iter=100, early_stopping=True, random_state=0),
        digits,
    ),
    (
        "MLPRegressor",
        "diabetes",
        sklearn_deep.MLPRegressor(solver="lbfgs", max_iter=200, random_state=0),
        {"alpha": [1.0, 10.0], "hidden_layer_sizes": [(8,), (16,)]},
        sk_nn.MLPRegressor(solver="lbfgs", max_iter=200, random_state=0),
        diabetes,
    ),
    (
        "LogisticRegression",
        "breast_cancer",
        sklearn_deep.LogisticRegression(),
        {"alpha": [1e-3, 1e-2], "penalty": ["l2", None]},
        sk_linear.LogisticRegression(),
        cancer,
    ),
    (
        "CNNClassifier",
        "digits 8x8",
        sklearn_deep.CNNClassifier(input_shape=(1, 8, 8), max_iter=30, random_state=0),
        {"conv_channels": [(8, 16), (16, 32)]},
        sk_nn.MLPClassifier(max_iter=100, random_state=0),
        digits,
    ),
    (
        "LSTMClassifier",
        "digits by row",
        sklearn_deep.LSTMClassifier(max_iter=30, random_state=0),
        {"cell": ["lstm", "gru"]},
        sk_nn.MLPClassifier(max_iter=100, random_state=0),
        digits,
    ),
    (
        "LinearRegression",
        "diabetes",
        sklearn_deep.LinearRegression(),
        {"penalty": [None, "l2"], "alpha": [1e-4, 1e-2]},
        sk_linear.LinearRegression(),
        diabetes,
    ),
]


if QUICK:
    for _, _, ours, _, theirs, _ in CASES:
        for estimator in (ours, theirs):
            if "max_iter" in estimator.get_params():
                estimator.set_params(max_iter=min(estimator.max_iter, 3))


def rows_as_sequences(X):
    """Digits' 64 pixels as 8 time steps of 8 pixels, for the LSTM."""
    return X.reshape(-1, 8, 8)


def preprocessing(name):
    """Scale the features; pixels keep their relative scale for the image and
    sequence networks, and the LSTM reads each image row as one time step."""
    if name == "LSTMClassifier":
        return [MinMaxScaler(), FunctionTransformer(rows_as_sequences)]
    if name == "CNNClassifier":
        return [MinMaxScaler()]
    return [StandardScaler()]


def search_and_score(name, estimator, grid, X, y):
    """Tune in a pipeline, then cross-validate the tuned pipeline."""
    step = name.lower()
    pipe = make_pipeline(*preprocessing(name), estimator)
    param_grid = {f"{step}__{key}": values for key, values in grid.items()}
    tic = time.perf_counter()
    search = GridSearchCV(pipe, param_grid, cv=2 if QUICK else 3).fit(X, y)
    scores = cross_val_score(search.best_estimator_, X, y, cv=2 if QUICK else 5)
    elapsed = time.perf_counter() - tic
    best = {key.split("__")[1]: v for key, v in search.best_params_.items()}
    return search, scores.mean(), elapsed, best


# %%
# Run every case and print a table. The metric is accuracy for classifiers and
# R^2 for regressors (each estimator's ``score``); the ``sklearn`` column is
# scikit-learn's estimator with the best parameters it shares with ours (for
# the image and sequence networks, its MLPClassifier on the same pixels).
rows = []
fitted = {}
for name, data_name, ours, grid, theirs, (X, y) in CASES:
    search, score, seconds, best = search_and_score(name, ours, grid, X, y)
    # scikit-learn's estimator with the same settings, where it has them
    # (not ``penalty``: scikit-learn 1.8 deprecates it for LogisticRegression)
    shared = set(theirs.get_params()) - {"penalty"}
    same = {k: v for k, v in best.items() if k in shared}
    theirs.set_params(**same)
    reference = cross_val_score(
        make_pipeline(StandardScaler(), theirs), X, y, cv=2 if QUICK else 5
    )
    fitted[name] = search.best_estimator_
    rows.append((name, data_name, score, reference.mean(), seconds, best))

header = (
    f"{'estimator':<20}{'data':<15}{'cv score':>9}{'sklearn':>9}{'search s':>10}"
    "  best parameters"
)
print(f"sklearn_deep {sklearn_deep.__version__} on torch {torch.__version__}")
print(header)
print("-" * len(header))
for name, data_name, score, reference, seconds, best in rows:
    params = ", ".join(f"{k}={v}" for k, v in best.items())
    print(
        f"{name:<20}{data_name:<15}{score:>9.3f}{reference:>9.3f}{seconds:>10.1f}"
        f"  {params}"
    )

# %%
# The training curves of the tuned estimators.
fig, axes = plt.subplots(2, 3, figsize=(12, 6.4))
for ax, (name, pipe) in zip(axes.ravel(), fitted.items()):
    LossCurveDisplay.from_estimator(pipe, ax=ax, name=name)
fig.tight_layout()
out = sys.argv[1] if len(sys.argv) > 1 else "showcase_training_curves.png"
fig.savefig(out, dpi=100)
print(f"training curves saved to {out}")
