"""
===================================================
Attention over sequences with TransformerClassifier
===================================================

:class:`~sklearn_deep.TransformerClassifier` reads each sample as a sequence
of time steps with a small Transformer encoder: the steps are embedded, given
their position, attend to each other, and are averaged into one vector for the
head. It takes the inputs of :class:`~sklearn_deep.LSTMClassifier`: 3-D arrays
and lists of sequences of different lengths, whose padding is masked out of
every attention. This example reads scikit-learn's digits row by row, then
learns a task where the order of the steps decides the class.
"""

# %%
# Digits, read row by row
# -----------------------
# Each 8x8 image is a sequence of 8 rows of 8 pixels. The defaults (two
# pre-norm blocks of width 64 with 4 heads, AdamW on a one-cycle schedule)
# train in a few seconds on a CPU.
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_deep import TransformerClassifier

warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X = digits.images / 16.0  # (1797, 8, 8): (n_samples, n_timesteps, n_features)
y = digits.target
half = len(X) // 2
start = time.perf_counter()
clf = TransformerClassifier(random_state=0).fit(X[:half], y[:half])
print(
    f"test accuracy {clf.score(X[half:], y[half:]):.3f} "
    f"({time.perf_counter() - start:.1f} s to fit)"
)

# %%
# Where in a sequence: positions matter
# -------------------------------------
# Ragged sequences of 4 to 12 steps; the class is whether the largest value
# comes in the first half or the second. Self-attention alone sees a set of
# steps; the sinusoidal positional encoding tells it where each step is.
rng = np.random.RandomState(0)


def where_is_the_peak(n):
    X, y = [], []
    for length in rng.randint(4, 13, size=n):
        seq = rng.normal(size=(length, 1))
        X.append(seq)
        y.append(int(np.argmax(seq) >= length / 2))
    return X, np.array(y)


X_train, y_train = where_is_the_peak(300)
X_test, y_test = where_is_the_peak(300)
small = dict(
    d_model=16,
    nhead=2,
    num_layers=1,
    dim_feedforward=32,
    learning_rate_init=0.003,
    max_iter=60,
    random_state=0,
)
accuracies, models = {}, {}
for positional in ("sinusoidal", None):
    model = TransformerClassifier(positional_encoding=positional, **small)
    models[positional] = model.fit(X_train, y_train)
    accuracies[str(positional)] = model.score(X_test, y_test)
    print(f"positional_encoding={positional!r}: {accuracies[str(positional)]:.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(accuracies), list(accuracies.values()))
ax.axhline(0.5, color="gray", linestyle="--", label="chance")
ax.set_xlabel("positional_encoding")
ax.set_ylabel("test accuracy")
ax.legend()

# %%
# Padding never changes a prediction
# ----------------------------------
# A sequence predicted alone and in a batch with longer ones (padded with zeros
# to the longest, the padding masked out) gets the same probabilities.
model = models["sinusoidal"]
alone = np.vstack([model.predict_proba([seq]) for seq in X_test[:5]])
together = model.predict_proba(X_test)[:5]
print("largest difference:", np.abs(alone - together).max())
plt.show()
