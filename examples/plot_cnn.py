"""
=========================================
Convolutional networks on digit images
=========================================

:class:`~sklearn_deep.CNNClassifier` takes images as they come, ``(n_samples,
H, W)`` here, infers their shape and the classes in ``fit``, and is an ordinary
scikit-learn estimator: scored by a train/test split, tuned by
:class:`~sklearn.model_selection.GridSearchCV`, and trained with data
augmentation that touches the training batches only. The data are the 8x8
digits that ship with scikit-learn.
"""

# %%
# Setup: one torch thread keeps the run polite on a shared machine.
import os
import warnings

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_deep import CNNClassifier

torch.set_num_threads(1)
# CI's documentation build sets SKLEARN_DEEP_EXAMPLES_QUICK=1: fewer epochs
# and folds, so that every example runs in seconds (and says less).
QUICK = os.environ.get("SKLEARN_DEEP_EXAMPLES_QUICK") == "1"
EPOCHS = 3 if QUICK else 30
warnings.filterwarnings("ignore", category=ConvergenceWarning)

digits = load_digits()
X, y = digits.images / 16, digits.target  # (1797, 8, 8) images in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

# %%
# The default network: two convolution blocks of 32 and 64 filters (3x3
# kernels, batch normalisation, max pooling) and a dense layer of 100. The
# images go in as they are; ``input_shape_`` says what the network saw.
clf = CNNClassifier(max_iter=EPOCHS, random_state=0).fit(X_train, y_train)
print(f"input shape {clf.input_shape_}, {clf.n_iter_} epochs")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Augmentation: random rotations of up to 10 degrees and shifts of up to 10%
# of the image, drawn afresh for every training batch on the training device.
# Predictions, and the early-stopping split when there is one, always see the
# original images, so the test score below is an honest one.
augmented = CNNClassifier(max_iter=EPOCHS, augment=True, random_state=0)
augmented.fit(X_train, y_train)
print(f"test accuracy with augmentation: {augmented.score(X_test, y_test):.3f}")

# %%
# The architecture is a set of hyperparameters, so a grid search can tune it
# like any other (a small grid and few epochs here, to stay quick).
search = GridSearchCV(
    CNNClassifier(max_iter=2 if QUICK else 10, learning_rate_init=0.01, random_state=0),
    {"conv_channels": [(8,), (16, 32)], "pooling": ["max", None]},
    cv=2 if QUICK else 3,
).fit(X_train, y_train)
print(f"best architecture: {search.best_params_}")
print(f"its cross-validated accuracy: {search.best_score_:.3f}")

# %%
# The training loss of both networks, and some test digits with the labels
# the augmented network predicts (mistakes in red).
fig = plt.figure(figsize=(9, 3.5))
ax = fig.add_subplot(1, 2, 1)
ax.plot(clf.loss_curve_, label="no augmentation")
ax.plot(augmented.loss_curve_, label="augment=True")
ax.set(xlabel="epoch", ylabel="training loss", yscale="log")
ax.legend()
predicted = augmented.predict(X_test[:8])
for i in range(8):
    sub = fig.add_subplot(2, 8, 5 + i + 4 * (i // 4))
    sub.imshow(X_test[i], cmap="gray_r")
    sub.set_title(
        str(predicted[i]), color="black" if predicted[i] == y_test[i] else "red"
    )
    sub.axis("off")
fig.tight_layout()
plt.show()
