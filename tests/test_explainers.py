"""Explainers on our estimators: SHAP (model-agnostic on predict_proba, and
GradientExplainer on the network through ``network_inputs``) and LIME.

Each problem has one informative input (a column, an image patch, a sequence
feature) among noise; the explanation must rank it first, wherever it is put
(the informative position is a parameter: an explainer or a model that ignored
the data could not follow it)."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_deep import CNNClassifier, LSTMClassifier, MLPClassifier

shap = pytest.importorskip("shap")  # the 'explain' extra; CI installs it
lime_tabular = pytest.importorskip("lime.lime_tabular")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _table(informative, n=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    return X, (X[:, informative] > 0).astype(int)


def _mlp(X, y):
    return MLPClassifier(
        hidden_layer_sizes=(16,),
        dropout=0.0,
        learning_rate="constant",
        learning_rate_init=0.01,
        max_iter=60,
        device="cpu",
        random_state=0,
    ).fit(X, y)


@pytest.mark.parametrize("informative", [0, 3])
def test_kernel_shap_on_predict_proba(informative):
    # KernelExplainer: model-agnostic, and exact Shapley values here (its 100
    # samples cover all 2^5 coalitions); PermutationExplainer works as well but
    # its first call compiles for ~20 s
    X, y = _table(informative)
    clf = _mlp(X, y)
    explainer = shap.KernelExplainer(clf.predict_proba, X[:30])
    values = np.asarray(explainer.shap_values(X[:10], nsamples=100, silent=True))
    values = values.reshape(10, 5, 2)  # (rows, features, classes)
    # additive: the base value plus the contributions is predict_proba, which
    # holds only if a row's probability is the same in any batch it is in
    np.testing.assert_allclose(
        values.sum(1) + explainer.expected_value,
        clf.predict_proba(X[:10]),
        atol=1e-6,
    )
    importance = np.abs(values[:, :, 1]).mean(0)
    assert importance.argmax() == informative, importance


@pytest.mark.parametrize("informative", [1, 4])
def test_lime_ranks_the_informative_feature_first(informative):
    X, y = _table(informative)
    clf = _mlp(X, y)
    explainer = lime_tabular.LimeTabularExplainer(
        X, mode="classification", discretize_continuous=False, random_state=0
    )
    explanation = explainer.explain_instance(
        X[0], clf.predict_proba, num_features=5, num_samples=500
    )
    (feature, _weight), *_ = explanation.as_map()[1]
    assert feature == informative, explanation.as_map()


def _images(corner, n=240, seed=0):
    """1 x 6 x 6 noise images; the label is the sign of a 2 x 2 patch's mean."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 1, 6, 6)).astype(np.float32)
    r, c = corner
    return X, (X[:, 0, r : r + 2, c : c + 2].mean((1, 2)) > 0).astype(int)


@pytest.mark.parametrize("corner", [(0, 0), (4, 4)])
def test_gradient_shap_on_the_cnn(corner):
    X, y = _images(corner)
    cnn = CNNClassifier(
        conv_channels=(8,),
        hidden_layer_sizes=(16,),
        learning_rate_init=0.01,
        max_iter=30,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    assert cnn.score(X, y) > 0.9
    net = cnn.module_.eval()
    (background,) = cnn.network_inputs(X[:60])
    (images,) = cnn.network_inputs(X[-20:])
    assert images.shape == (20, 1, 6, 6)
    # the helper gives what predict gives the network: the same probabilities
    with torch.no_grad():
        p = torch.sigmoid(net(images).double()).numpy().ravel()
    np.testing.assert_allclose(p, cnn.predict_proba(X[-20:])[:, 1], rtol=1e-6)
    values = shap.GradientExplainer(net, background).shap_values(
        images, nsamples=50, rseed=0
    )
    heat = np.abs(np.asarray(values)).reshape(20, 6, 6).mean(0)
    mask = np.zeros((6, 6), bool)
    mask[corner[0] : corner[0] + 2, corner[1] : corner[1] + 2] = True
    assert heat[mask].min() > heat[~mask].max(), heat.round(3)


def _sequences(informative, n=240, steps=6, seed=0):
    """Two features per step; the label is the sign of one feature's sum."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, steps, 2)).astype(np.float32)
    return X, (X[:, :, informative].sum(1) > 0).astype(int)


@pytest.mark.parametrize("informative", [0, 1])
def test_gradient_shap_on_the_lstm(informative):
    X, y = _sequences(informative)
    lstm = LSTMClassifier(
        hidden_size=16,
        bidirectional=False,
        learning_rate="constant",
        learning_rate_init=0.02,
        max_iter=40,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    assert lstm.score(X, y) > 0.9
    (background,) = lstm.network_inputs(X[:60])
    (sequences,) = lstm.network_inputs(X[-20:])
    values = shap.GradientExplainer(lstm.module_.eval(), background).shap_values(
        sequences, nsamples=50, rseed=0
    )
    per_feature = np.abs(np.asarray(values)).reshape(20, 6, 2).mean((0, 1))
    assert per_feature.argmax() == informative, per_feature


def test_network_inputs_of_ragged_sequences_are_values_and_lengths():
    X, y = _sequences(0, n=40)
    ragged = [x[: 3 + i % 4] for i, x in enumerate(X)]
    lstm = LSTMClassifier(hidden_size=4, max_iter=2, device="cpu", random_state=0)
    lstm.fit(ragged, y)
    values, lengths = lstm.network_inputs(ragged)
    assert values.shape == (40, 6, 2) and values.dtype == torch.float32
    np.testing.assert_array_equal(lengths.numpy(), [len(x) for x in ragged])
    with torch.no_grad():
        logits = lstm.module_.eval()(values, lengths).double()
    np.testing.assert_allclose(
        torch.sigmoid(logits).numpy().ravel(),
        lstm.predict_proba(ragged)[:, 1],
        rtol=1e-6,
    )
    with pytest.raises(NotFittedError):
        LSTMClassifier().network_inputs(ragged)
