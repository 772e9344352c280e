"""
===========================================
Classifying sequences with LSTMClassifier
===========================================

:class:`~sklearn_deep.LSTMClassifier` reads each sample as a sequence of time
steps with an LSTM (or GRU) network. This example reads scikit-learn's digits
row by row, then classifies sequences of different lengths, searches the
architecture with :class:`~sklearn.model_selection.GridSearchCV`, and checks
that padding never changes a prediction.
"""

# %%
# Digits, read row by row
# -----------------------
# Each 8x8 image becomes a sequence of 8 time steps with 8 features (the
# pixels of one row). The pixels are divided by 16 so they lie in [0, 1]:
# saturated gates learn slowly. Two settings differ from the defaults: a GRU
# cell that reads the rows in both directions. (The default ``pooling="max"``
# keeps the maximum of each hidden unit over the rows, wherever a stroke
# appears.) The defaults reach about 0.94 here; this reaches about 0.95.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score

from sklearn_deep import LSTMClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)
# CI's documentation build sets SKLEARN_DEEP_EXAMPLES_QUICK=1: fewer epochs
# and folds, so that every example runs in seconds (and says less).
QUICK = os.environ.get("SKLEARN_DEEP_EXAMPLES_QUICK") == "1"
EPOCHS = 3 if QUICK else 40

digits = load_digits()
X = digits.images / 16.0  # (1797, 8, 8): (n_samples, n_timesteps, n_features)
y = digits.target

clf = LSTMClassifier(cell="gru", bidirectional=True, random_state=0)
if QUICK:
    clf.set_params(max_iter=2)
scores = cross_val_score(clf, X, y, cv=3 if QUICK else 5)
print(f"5-fold accuracy: {scores.mean():.3f} (folds: {np.round(scores, 3)})")

# %%
# Sequences of different lengths
# ------------------------------
# A toy task: each sequence is a noisy sine wave with 5 to 40 steps, and the
# class is whether its frequency is low or high. ``X`` is a plain list of
# arrays of shape (n_timesteps, 1); the estimator pads and packs it.
rng = np.random.RandomState(0)
lengths = rng.randint(5, 41, size=300)
labels = rng.randint(2, size=300)
X_seq = [
    np.sin((0.3 + 0.5 * c) * np.arange(n) + rng.uniform(0, 2 * np.pi))[:, None]
    + 0.3 * rng.normal(size=(n, 1))
    for n, c in zip(lengths, labels)
]

# %%
# Cross-validation indexes a list element by element, so a grid search over
# the architecture works on it directly.
search = GridSearchCV(
    LSTMClassifier(max_iter=EPOCHS, learning_rate_init=0.01, random_state=0),
    {"cell": ["lstm", "gru"], "hidden_size": [8, 32]},
    cv=2 if QUICK else 3,
).fit(X_seq, labels)
print("best:", search.best_params_, f"accuracy {search.best_score_:.3f}")

# %%
# Padding changes nothing: a short sequence gets the same probabilities alone
# and beside a sequence eight times longer.
best = search.best_estimator_
short, long = X_seq[np.argmin(lengths)], X_seq[np.argmax(lengths)]
alone = best.predict_proba([short])[0]
beside = best.predict_proba([short, long])[0]
print(f"alone {alone.round(6)}  beside a longer one {beside.round(6)}")

# %%
# Training curves
# ---------------
# ``loss_curve_`` holds the training loss of each epoch, as in scikit-learn's
# MLP.
fig, ax = plt.subplots(figsize=(6, 3.5))
for cell in ("lstm", "gru"):
    model = LSTMClassifier(
        cell=cell,
        hidden_size=32,
        max_iter=EPOCHS,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X_seq, labels)
    ax.plot(model.loss_curve_, label=cell)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_title("Noisy sine waves of 5 to 40 steps")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Data in the aeon or sktime layout
# ---------------------------------
# aeon and sktime store a collection of series as (n_cases, n_channels,
# n_timepoints). Swap the last two axes to get (n_samples, n_timesteps,
# n_features); for their unequal-length lists, transpose each member.
X_aeon = rng.normal(size=(4, 3, 20))  # 4 series, 3 channels, 20 time points
X_steps = X_aeon.transpose(0, 2, 1)  # (4, 20, 3)
X_list = [x.T for x in [X_aeon[0, :, :12], X_aeon[1]]]  # (12, 3) and (20, 3)
print(X_steps.shape, [x.shape for x in X_list])
