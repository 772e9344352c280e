"""The classification and regression halves (sklearn_deep._task): labels,
classes across partial_fit, class weights, multilabel and multi-output targets."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.linear_model as sk_linear
import sklearn.neural_network as sk_nn
from _estimator_cases import CLASSES, data, make, small_mlp
from sklearn.base import is_classifier
from sklearn.datasets import make_regression

from sklearn_deep import (
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_partial_fit_needs_classes_first(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed"):
        small_mlp().partial_fit(X, y)


def test_partial_fit_rejects_unknown_class(iris):
    X, y = iris
    clf = small_mlp().partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, y)


def test_partial_fit_not_available_for_lbfgs():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(LogisticRegression(), "partial_fit")
    assert hasattr(LogisticRegression(solver="sgd"), "partial_fit")


def test_class_weight_shifts_predictions(cancer):
    X, y = cancer
    base = small_mlp(max_iter=30).fit(X, y)
    heavy = small_mlp(max_iter=30, class_weight={0: 20.0, 1: 1.0}).fit(X, y)
    assert (heavy.predict(X) == 0).sum() > (base.predict(X) == 0).sum()
    balanced = small_mlp(max_iter=30, class_weight="balanced").fit(X, y)
    assert balanced.score(X, y) > 0.9


def test_class_weight_unknown_label_is_an_error(iris):
    X, y = iris
    with pytest.raises(ValueError, match="not classes of y"):
        small_mlp(class_weight={7: 2.0}).fit(X, y)


def test_string_labels_and_pandas_keep_names(iris):
    X, y = iris
    df = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = small_mlp(max_iter=50, learning_rate_init=0.01).fit(df, pd.Series(labels))
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    assert set(clf.predict(df)) <= set(labels)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert clf.score(df, labels) > 0.8
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_multilabel_classification():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6).astype(np.float32)
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0]).astype(int)
    clf = small_mlp(max_iter=200, learning_rate_init=0.01).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8


def test_multioutput_regression():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=0)
    reg = MLPRegressor(
        hidden_layer_sizes=(32,),
        solver="lbfgs",
        max_iter=300,
        device="cpu",
        random_state=0,
    ).fit(X, Y / Y.std(0))
    assert reg.predict(X).shape == (200, 3)
    assert reg.score(X, Y / Y.std(0)) > 0.9
    assert LinearRegression().fit(X, Y).coef_.shape == (3, 5)


REGRESSORS = [cls for cls in CLASSES if not is_classifier(cls())]


@pytest.mark.parametrize("cls", REGRESSORS, ids=lambda cls: cls.__name__)
def test_predict_shape_of_one_target_as_sklearn(cls):
    # scikit-learn 1.9: MLPRegressor predicts (n,) for a y of shape (n, 1),
    # LinearRegression (n, 1); ours follow the MLP, LinearRegression the latter
    X, y = data(cls)
    sklearn_twin = (
        sk_linear.LinearRegression()
        if cls is LinearRegression
        else sk_nn.MLPRegressor(max_iter=2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DataConversionWarning, convergence
        expected = sklearn_twin.fit(X, y.reshape(-1, 1)).predict(X).shape
    column = make(cls).fit(X, y.reshape(-1, 1)).predict(X)
    flat = make(cls).fit(X, y).predict(X)
    two = make(cls).fit(X, np.c_[y, -y]).predict(X)
    assert column.shape == expected
    assert flat.shape == (len(X),)
    assert two.shape == (len(X), 2)
