"""The AutoEncoder: a learned code, reconstructions, outlier scores."""

import numpy as np
import pytest
from _estimator_cases import make
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_deep import AutoEncoder


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1000], X[1000:], y[:1000], y[1000:]


def _autoencoder(**params):
    chosen = dict(
        hidden_layer_sizes=(64,),
        max_iter=40,
        learning_rate="cosine",
        learning_rate_init=0.003,
    )
    return make(AutoEncoder, **{**chosen, **params})


def _pca_error(pca, X):
    return float(((pca.inverse_transform(pca.transform(X)) - X) ** 2).mean())


def test_reconstructs_held_out_digits_better_than_pca(digits):
    X_train, X_test, _, _ = digits
    ae = _autoencoder(n_components=4).fit(X_train)
    pca_error = _pca_error(PCA(4).fit(X_train), X_test)
    assert -ae.score(X_test) < 0.95 * pca_error
    # score is the reconstruction error of inverse_transform(transform(X))
    reconstruction = ae.inverse_transform(ae.transform(X_test))
    np.testing.assert_allclose(
        -ae.score(X_test), ((reconstruction - X_test) ** 2).mean(), rtol=1e-5
    )
    # a network that has barely trained does not: the figure is earned
    barely = _autoencoder(n_components=4, max_iter=2).fit(X_train)
    assert -barely.score(X_test) > pca_error


def test_code_feeds_a_classifier_in_a_pipeline(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(
        _autoencoder(n_components=8), LogisticRegression(max_iter=2000)
    ).fit(X_train, y_train)
    accuracy = pipe.score(X_test, y_test)
    assert accuracy > 0.8
    # the classifier on a code of random noise would be at chance
    rng = np.random.RandomState(0)
    noise = LogisticRegression(max_iter=2000).fit(rng.randn(1000, 8), y_train)
    assert noise.score(rng.randn(len(X_test), 8), y_test) < 0.3


def test_grid_search_without_a_scorer_prefers_better_reconstructions(digits):
    X_train = digits[0][:400]
    search = GridSearchCV(_autoencoder(max_iter=20), {"n_components": [1, 8]}, cv=2)
    search.fit(X_train)
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0]  # 8 components reconstruct better than 1
    assert search.best_params_ == {"n_components": 8}


def test_score_samples_flags_outliers(digits):
    X_train, X_test, _, _ = digits
    ae = _autoencoder(n_components=8).fit(X_train)
    rng = np.random.RandomState(0)
    outliers = rng.uniform(0, 16, size=(50, 64))  # noise, not digits
    scores = ae.score_samples(np.vstack([X_test[:200], outliers]))
    is_outlier = np.r_[np.zeros(200), np.ones(50)]
    assert roc_auc_score(is_outlier, -scores) > 0.95
    # the same scores on shuffled flags are at chance: the ranking is real
    assert abs(roc_auc_score(rng.permutation(is_outlier), -scores) - 0.5) < 0.15


def test_fit_ignores_y(digits):
    X_train, _, y_train, _ = digits
    with_y = _autoencoder(max_iter=3).fit(X_train[:200], y_train[:200])
    without = _autoencoder(max_iter=3).fit(X_train[:200])
    np.testing.assert_array_equal(
        with_y.transform(X_train[:200]), without.transform(X_train[:200])
    )


def test_dropout_denoises_in_training_only(digits):
    X_train = digits[0][:300]
    noisy = _autoencoder(max_iter=5, dropout=0.3).fit(X_train)
    plain = _autoencoder(max_iter=5).fit(X_train)
    assert noisy.loss_curve_ != plain.loss_curve_  # the corruption trained it
    # transform never corrupts: the code is the same on every call
    np.testing.assert_array_equal(noisy.transform(X_train), noisy.transform(X_train))


@pytest.mark.parametrize("channels_last", [False, True])
def test_convolutional_autoencoder_on_images(digits, channels_last):
    images = digits[0][:300].reshape(-1, 1, 8, 8)
    if channels_last:
        images = np.moveaxis(images, 1, -1)  # (n, 8, 8, 1)
    ae = _autoencoder(
        n_components=8, conv_channels=(4,), channels_last=channels_last, max_iter=5
    ).fit(images)
    assert ae.input_shape_ == (1, 8, 8)
    reconstruction = ae.inverse_transform(ae.transform(images))
    assert reconstruction.shape == images.shape  # in the layout of X
    np.testing.assert_allclose(
        -ae.score(images), ((reconstruction - images) ** 2).mean(), rtol=1e-5
    )
    # flat rows read with input_shape give the same network the same inputs
    rows = make(
        AutoEncoder,
        **{**ae.get_params(), "channels_last": False, "input_shape": (1, 8, 8)},
    ).fit(digits[0][:300])
    np.testing.assert_array_equal(rows.transform(digits[0][:300]), ae.transform(images))


def test_feature_names_and_pandas_output(digits):
    pd = pytest.importorskip("pandas")
    ae = _autoencoder(n_components=3, max_iter=2).fit(digits[0][:100])
    names = ["autoencoder0", "autoencoder1", "autoencoder2"]
    assert ae.get_feature_names_out().tolist() == names
    frame = ae.set_output(transform="pandas").transform(digits[0][:5])
    assert isinstance(frame, pd.DataFrame) and frame.columns.tolist() == names


def test_inverse_transform_needs_codes_of_the_fitted_width(digits):
    ae = _autoencoder(n_components=3, max_iter=2).fit(digits[0][:100])
    with pytest.raises(ValueError, match=r"n_components_=3.*\(n_samples, 3\)"):
        ae.inverse_transform(np.zeros((2, 4)))
