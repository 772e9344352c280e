"""
=====================================
Explaining predictions: SHAP and LIME
=====================================

sklearn_deep's estimators are ordinary scikit-learn estimators, so the
model-agnostic explainers take them as they are: SHAP's kernel explainer and
LIME only call ``predict_proba``. For the image and sequence networks,
``shap.GradientExplainer`` differentiates the trained network itself,
``module_``, on the tensors that :meth:`~sklearn_deep.CNNClassifier.network_inputs`
makes from X exactly as ``predict`` does.
"""

# %%
# A tabular model, explained through ``predict_proba``
# ----------------------------------------------------
# An MLP in a pipeline on scikit-learn's breast-cancer table. The kernel
# explainer needs a background sample (here 20 k-means centres of the training
# set) and a prediction function; its values for a row add up to the
# difference between the row's probability and the background's mean.
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import warnings

import matplotlib.pyplot as plt
import numpy as np
import shap
import torch
from lime.lime_tabular import LimeTabularExplainer
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import CNNClassifier, LSTMClassifier, MLPClassifier

warnings.filterwarnings("ignore", module="shap")
# CI's documentation build sets SKLEARN_DEEP_EXAMPLES_QUICK=1: fewer epochs
# and folds, so that every example runs in seconds (and says less).
QUICK = os.environ.get("SKLEARN_DEEP_EXAMPLES_QUICK") == "1"
data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, random_state=0
)
clf = make_pipeline(
    StandardScaler(),
    MLPClassifier(max_iter=5 if QUICK else 30, device="cpu", random_state=0),
).fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

background = shap.kmeans(X_train, 20)
explainer = shap.KernelExplainer(clf.predict_proba, background)
rows = X_test[:20]
values = np.asarray(explainer.shap_values(rows, nsamples=200, silent=True))
values = values.reshape(len(rows), X_test.shape[1], 2)[:, :, 1]  # class 1

gap = values.sum(1) + explainer.expected_value[1] - clf.predict_proba(rows)[:, 1]
print(f"additivity: max |base + sum(values) - predict_proba| = {np.abs(gap).max():.1e}")

order = np.argsort(np.abs(values).mean(0))[::-1][:10]
fig, ax = plt.subplots(figsize=(7, 4))
ax.barh(data.feature_names[order][::-1], np.abs(values).mean(0)[order][::-1])
ax.set_xlabel("mean |SHAP value| (probability of 'benign')")
ax.set_title("Kernel SHAP on MLPClassifier.predict_proba")
fig.tight_layout()

# %%
# LIME on the same model
# ----------------------
# LIME fits a local linear model around one row, from perturbed copies of it.
lime = LimeTabularExplainer(
    X_train,
    feature_names=list(data.feature_names),
    class_names=list(data.target_names),
    mode="classification",
    random_state=0,
)
explanation = lime.explain_instance(
    X_test[0], clf.predict_proba, num_features=5, num_samples=1000
)
for rule, weight in explanation.as_list():
    print(f"{weight:+.3f}  {rule}")

# %%
# A CNN on images: ``GradientExplainer`` on the network
# -----------------------------------------------------
# ``network_inputs`` turns the 64 pixels of each digit into the network's
# ``(n, 1, 8, 8)`` tensor; the network returns one logit per class. Turn
# dropout off with ``eval()`` before explaining.
digits = load_digits()
X = digits.data / 16
Xd_train, Xd_test, yd_train, yd_test = train_test_split(
    X, digits.target, random_state=0
)
cnn = CNNClassifier(
    input_shape=(1, 8, 8), max_iter=3 if QUICK else 10, device="cpu", random_state=0
).fit(Xd_train, yd_train)
print(f"CNN test accuracy: {cnn.score(Xd_test, yd_test):.3f}")

net = cnn.module_.eval()
(background,) = cnn.network_inputs(Xd_train[:100])
(images,) = cnn.network_inputs(Xd_test[:4])
maps = shap.GradientExplainer(net, background).shap_values(
    images, nsamples=100, rseed=0
)  # (4 images, 1 channel, 8, 8, 10 classes)
with torch.no_grad():
    predicted = net(images).argmax(1).numpy()

fig, axes = plt.subplots(2, 4, figsize=(8, 4.2))
for i in range(4):
    axes[0, i].imshow(images[i, 0], cmap="gray_r")
    axes[0, i].set_title(f"predicted {predicted[i]}")
    attribution = maps[i, 0, :, :, predicted[i]]
    bound = np.abs(attribution).max()
    axes[1, i].imshow(attribution, cmap="coolwarm", vmin=-bound, vmax=bound)
    axes[1, i].set_title("SHAP for it")
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("GradientExplainer on CNNClassifier.module_")
fig.tight_layout()

# %%
# An LSTM on sequences
# --------------------
# The same digits read as sequences: 8 time steps (the rows) of 8 features
# (the pixels of a row). The attributions say which rows the LSTM relied on.
seq_train, seq_test = Xd_train.reshape(-1, 8, 8), Xd_test.reshape(-1, 8, 8)
lstm = LSTMClassifier(max_iter=3 if QUICK else 10, device="cpu", random_state=0)
lstm.fit(seq_train, yd_train)
print(f"LSTM test accuracy: {lstm.score(seq_test, yd_test):.3f}")

(background,) = lstm.network_inputs(seq_train[:100])
(sequences,) = lstm.network_inputs(seq_test[:50])
values = shap.GradientExplainer(lstm.module_.eval(), background).shap_values(
    sequences, nsamples=50, rseed=0
)  # (50, 8 steps, 8 features, 10 classes)
per_step = np.abs(values).sum(axis=(2, 3)).mean(0)

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(np.arange(1, 9), per_step)
ax.set_xlabel("time step (image row)")
ax.set_ylabel("mean |SHAP value|")
ax.set_title("GradientExplainer on LSTMClassifier.module_")
fig.tight_layout()
plt.show()
