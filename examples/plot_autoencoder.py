"""
==========================================================
A learned code with AutoEncoder: reduction and outliers
==========================================================

:class:`~sklearn_deep.AutoEncoder` is a scikit-learn transformer: ``fit(X)``
trains an encoder and a decoder to reconstruct ``X``, ``transform`` returns the
code and ``inverse_transform`` the reconstruction. This example compares its
code with PCA's on scikit-learn's digits, feeds it to a classifier in a
:class:`~sklearn.pipeline.Pipeline`, and flags outliers by their
reconstruction error.
"""

# %%
# A two-dimensional code of the digits
# ------------------------------------
# The first 1000 images train both models; the others are held out. With two
# components, PCA keeps the two directions of largest variance; the
# autoencoder learns a non-linear map, and reconstructs held-out digits with
# less error.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_deep import AutoEncoder

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = X[:1000], X[1000:], y[:1000], y[1000:]

ae = AutoEncoder(n_components=2, max_iter=100, random_state=0).fit(X_train)
pca = PCA(n_components=2).fit(X_train)
pca_error = ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).mean()
print(
    f"held-out reconstruction error: AutoEncoder {-ae.score(X_test):.2f}, "
    f"PCA {pca_error:.2f}"
)

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, model, name in ((axes[0], pca, "PCA"), (axes[1], ae, "AutoEncoder")):
    code = model.transform(X_test)
    points = ax.scatter(code[:, 0], code[:, 1], c=y_test, cmap="tab10", s=8)
    ax.set_title(f"{name}: 2 components of held-out digits")
fig.colorbar(points, ax=axes, label="digit")

# %%
# Reconstructions
# ---------------
# ``inverse_transform`` decodes a code back to 64 pixels. Each column shows a
# held-out digit, then its reconstruction from 8 components by each model.
ae8 = AutoEncoder(n_components=8, max_iter=100, random_state=0).fit(X_train)
pca8 = PCA(n_components=8).fit(X_train)
rows = [
    X_test[:8],
    pca8.inverse_transform(pca8.transform(X_test[:8])),
    ae8.inverse_transform(ae8.transform(X_test[:8])),
]
fig, axes = plt.subplots(3, 8, figsize=(8, 3.3))
for r, (images, name) in enumerate(zip(rows, ["digit", "PCA", "AutoEncoder"])):
    for c in range(8):
        axes[r, c].imshow(images[c].reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        axes[r, c].set_axis_off()
    axes[r, 0].set_title(name, loc="left", fontsize=9)

# %%
# The code in a pipeline
# ----------------------
# As any transformer, the autoencoder goes before a classifier. Its code of 8
# values keeps more of what tells the digits apart than PCA's.
for reducer in (
    AutoEncoder(n_components=8, max_iter=100, random_state=0),
    PCA(n_components=8),
):
    pipe = make_pipeline(reducer, LogisticRegression(max_iter=2000))
    accuracy = pipe.fit(X_train, y_train).score(X_test, y_test)
    print(f"{type(reducer).__name__} + LogisticRegression: {accuracy:.3f}")

# %%
# Outliers
# --------
# ``score_samples`` is the negative reconstruction error of each sample: the
# network reconstructs what looks like its training data. Random noise images
# score far lower than held-out digits.
rng = np.random.RandomState(0)
noise = rng.uniform(0, 16, size=(100, 64))
fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(ae8.score_samples(X_test), bins=40, alpha=0.7, label="held-out digits")
ax.hist(ae8.score_samples(noise), bins=40, alpha=0.7, label="noise images")
ax.set_xlabel("score_samples (negative reconstruction error)")
ax.legend()
plt.show()
