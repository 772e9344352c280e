"""LogisticRegression and LinearRegression (sklearn_deep.linear_model): parity
with scikit-learn's linear models, solvers and penalties."""

import numpy as np
import pytest
import sklearn.linear_model as sk_linear
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
)
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import LinearRegression, LogisticRegression

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DATASETS = {
    "digits": load_digits(return_X_y=True),
    "breast_cancer": load_breast_cancer(return_X_y=True),
}


def cv_score(estimator, X, y, **kwargs):
    pipe = make_pipeline(StandardScaler(), estimator)
    return cross_val_score(pipe, X, y, cv=5, **kwargs).mean()


@pytest.mark.parametrize("name", DATASETS)
def test_logistic_regression_matches_sklearn(name):
    X, y = DATASETS[name]
    theirs = cv_score(sk_linear.LogisticRegression(max_iter=1000), X, y)
    # defaults against defaults
    ours = cv_score(LogisticRegression(device="cpu"), X, y)
    assert ours >= theirs - 0.01, (ours, theirs)
    # the same objective: C=1 is alpha = 1 / n_train
    alpha = 1 / (len(X) * 4 / 5)
    ours = cv_score(LogisticRegression(alpha=alpha, device="cpu"), X, y)
    assert ours == pytest.approx(theirs, abs=0.005), (ours, theirs)


def test_linear_regression_matches_ols():
    X, y = load_diabetes(return_X_y=True)
    ours = cross_val_score(LinearRegression(device="cpu"), X, y, cv=5).mean()
    theirs = cross_val_score(sk_linear.LinearRegression(), X, y, cv=5).mean()
    assert abs(ours - theirs) < 0.01, (ours, theirs)
    reg = LinearRegression(device="cpu").fit(X, y)
    ols = sk_linear.LinearRegression().fit(X, y)
    np.testing.assert_allclose(reg.coef_, ols.coef_, rtol=1e-3, atol=1e-2)
    assert reg.intercept_ == pytest.approx(ols.intercept_, rel=1e-5)


def test_ridge_penalty_matches_sklearn_ridge():
    X, y = load_diabetes(return_X_y=True)
    alpha = 0.01
    ours = LinearRegression(penalty="l2", alpha=alpha, device="cpu").fit(X, y)
    ridge = sk_linear.Ridge(alpha=alpha * len(X)).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ridge.coef_, rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
def test_linear_regression_solvers_agree(solver):
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    params = dict(device="cpu", random_state=0, max_iter=300, batch_size=64)
    if solver == "sgd":
        params.update(learning_rate_init=0.01, momentum=0.5)
    y = (y - y.mean()) / y.std()  # adaptive steps need targets of unit scale
    reg = LinearRegression(solver=solver, **params).fit(X, y)
    ols = sk_linear.LinearRegression().fit(X, y)
    assert reg.score(X, y) == pytest.approx(ols.score(X, y), abs=0.01)


def test_l1_penalty_gives_sparse_coefficients():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    reg = LinearRegression(
        penalty="l1",
        alpha=5.0,
        solver="sgd",
        max_iter=100,
        learning_rate_init=0.01,
        momentum=0.0,
        random_state=0,
        device="cpu",
    ).fit(X, y)
    assert (reg.coef_ == 0).sum() >= 2
    assert reg.score(X, y) > 0.4
    clf = LogisticRegression(
        penalty="elasticnet",
        alpha=0.05,
        l1_ratio=0.9,
        max_iter=50,
        random_state=0,
        device="cpu",
    )
    Xc, yc = load_breast_cancer(return_X_y=True)
    clf.fit(StandardScaler().fit_transform(Xc), yc)
    assert clf.score(StandardScaler().fit_transform(Xc), yc) > 0.9


def test_lbfgs_with_l1_is_a_clear_error():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="solver='lbfgs' supports penalty"):
        LinearRegression(penalty="l1", solver="lbfgs").fit(X, y)


def test_logistic_regression_attributes_match_sklearn_shapes():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = LogisticRegression(device="cpu").fit(X, y)
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert clf.decision_function(X).shape == (len(X), 10)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = StandardScaler().fit_transform(Xb)
    clf = LogisticRegression(device="cpu").fit(Xb, yb)
    assert clf.coef_.shape == (1, 30) and clf.intercept_.shape == (1,)
    scores = clf.decision_function(Xb)
    np.testing.assert_array_equal(clf.predict(Xb), clf.classes_[(scores > 0) * 1])
    np.testing.assert_allclose(
        clf.predict_proba(Xb)[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-5
    )


@pytest.mark.parametrize("C", [0.1, 10.0])
@pytest.mark.parametrize("name", ["binary", "multiclass"])
def test_C_gives_sklearn_logistic_regression_coefficients(C, name):
    # well conditioned: independent informative features, no redundant ones
    X, y = make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=2 if name == "binary" else 3,
        random_state=0,
    )
    ours = LogisticRegression(C=C, tol=1e-8, max_iter=500, device="cpu").fit(X, y)
    theirs = sk_linear.LogisticRegression(C=C, tol=1e-10, max_iter=5000).fit(X, y)
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-3 * scale)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=2e-3 * scale)
    # negative control: the same C read as alpha is another model
    other = LogisticRegression(alpha=C, device="cpu").fit(X, y)
    assert np.abs(other.coef_ - theirs.coef_).max() > 0.1 * scale


def test_C_with_sample_weight_is_sklearns():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_redundant=0, random_state=1
    )
    weight = np.random.RandomState(0).uniform(0.2, 3.0, len(y))
    ours = LogisticRegression(C=1.0, tol=1e-8, device="cpu")
    theirs = sk_linear.LogisticRegression(C=1.0, tol=1e-10, max_iter=5000)
    ours.fit(X, y, sample_weight=weight)
    theirs.fit(X, y, sample_weight=weight)
    np.testing.assert_allclose(
        ours.coef_, theirs.coef_, atol=2e-3 * np.abs(theirs.coef_).max()
    )


def test_C_inf_is_no_penalty_and_alpha_is_1_over_C_n():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :5]
    by_C = LogisticRegression(C=2.0, device="cpu").fit(X, y)
    by_alpha = LogisticRegression(alpha=1 / (2.0 * len(X)), device="cpu").fit(X, y)
    np.testing.assert_array_equal(by_C.coef_, by_alpha.coef_)
    free = LogisticRegression(C=np.inf, device="cpu").fit(X, y)
    unpenalized = LogisticRegression(penalty=None, device="cpu").fit(X, y)
    np.testing.assert_array_equal(free.coef_, unpenalized.coef_)


def test_C_and_alpha_together_is_an_error():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="both C=10.0 and alpha=0.1"):
        LogisticRegression(C=10.0, alpha=0.1).fit(X, y)
    with pytest.raises(ValueError, match="C=10.0 with penalty=None"):
        LogisticRegression(C=10.0, penalty=None).fit(X, y)


# ----------------------------------------------------------------------
# The batch predict of affine networks

X_AFFINE = np.random.default_rng(1).standard_normal((1500, 20)).astype(np.float32)


@pytest.mark.parametrize(
    "make",
    [
        lambda y: LogisticRegression().fit(X_AFFINE, y % 4),  # 4 outputs
        lambda y: LogisticRegression().fit(X_AFFINE, y % 2),  # one (sgemv)
        lambda y: LogisticRegression(fit_intercept=False).fit(X_AFFINE, y % 3),
        lambda y: LinearRegression().fit(X_AFFINE, y),
        lambda y: LinearRegression(fit_intercept=False).fit(
            X_AFFINE, np.c_[y, -y, y * 2]
        ),
    ],
    ids=["4-classes", "binary", "no-intercept", "regression", "3-targets"],
)
def test_large_linear_predict_matches_the_network(make):
    import torch

    rng = np.random.default_rng(0)
    X = X_AFFINE.copy()
    est = make(rng.integers(0, 12, len(X)).astype(float))
    with torch.inference_mode():
        logits = est.module_(torch.from_numpy(X)).numpy()
    # the BLAS product of >= 512 rows and torch's agree to float32 rounding
    np.testing.assert_allclose(est._forward(X), logits, rtol=1e-5, atol=1e-5)
    if hasattr(est, "classes_"):
        expected = (
            est.classes_[(logits[:, 0] > 0).astype(int)]
            if logits.shape[1] == 1
            else est.classes_[logits.argmax(1)]
        )
        np.testing.assert_array_equal(est.predict(X), expected)
    else:
        np.testing.assert_allclose(
            est.predict(X), logits.squeeze(), rtol=1e-5, atol=1e-5
        )
    # a few rows take torch's path: the same up to float32 rounding
    np.testing.assert_allclose(est.predict(X)[:10], est.predict(X[:10]), rtol=1e-5)
    # a non-finite value in a large X is still reported as the input's fault
    X[700, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.predict(X)


def test_argmax_rows_is_argmax():
    from sklearn_deep._task import argmax_rows

    rng = np.random.default_rng(0)
    for k in (2, 3, 10, 64, 65):
        scores = np.asfortranarray(rng.standard_normal((600, k)).astype(np.float32))
        scores[:50, 1] = scores[:50, 0]  # ties go to the first column
        scores[50:100] = np.round(scores[50:100])  # many ties
        scores[100:110] = -np.inf
        np.testing.assert_array_equal(argmax_rows(scores), scores.argmax(1))
        scores[5, k - 1] = np.nan  # argmax's NaN rule: the first NaN
        np.testing.assert_array_equal(argmax_rows(scores), scores.argmax(1))
        # C order and few rows take numpy's own argmax
        np.testing.assert_array_equal(
            argmax_rows(np.ascontiguousarray(scores)), scores.argmax(1)
        )
        np.testing.assert_array_equal(argmax_rows(scores[:10]), scores[:10].argmax(1))


@pytest.mark.parametrize(
    "cls, n_outputs",
    [(LinearRegression, 1), (LinearRegression, 3), (LogisticRegression, 2)]
    + [(LogisticRegression, 5)],
)
def test_a_row_is_predicted_alone_as_in_any_batch_and_order(cls, n_outputs):
    # scikit-learn's check_methods_subset_invariance and
    # check_methods_sample_order_invariance ask this at rtol 1e-7; in one BLAS
    # call over all the rows, a LinearRegression row alone and in a batch of
    # 20 differed by 1 float32 ulp (2.4e-7)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((700, 6))
    if cls is LinearRegression:
        y = X @ rng.standard_normal((6, n_outputs)) + rng.standard_normal(n_outputs)
        y = y[:, 0] if n_outputs == 1 else y
    else:
        y = rng.integers(0, n_outputs, len(X))
    est = cls(device="cpu").fit(X, y)
    methods = ["predict"] + (["decision_function", "predict_proba"] * (y.ndim == 1))
    methods = [m for m in dict.fromkeys(methods) if hasattr(est, m)]
    for method in methods:
        predict = getattr(est, method)
        batch = predict(X)
        # the network's float32 outputs are the same bit for bit; the float64
        # softmax or logistic of predict_proba (numpy's vector loops round the
        # last elements of an array apart) by 1e-16 at most
        same = np.testing.assert_array_equal
        if method == "predict_proba":

            def same(a, b, err_msg):
                np.testing.assert_allclose(a, b, rtol=1e-14, err_msg=err_msg)

        for i in range(0, 690, 23):
            for size in (1, 2, 3, 5, 8, 13, 20, 600):
                same(predict(X[i : i + size]), batch[i : i + size], err_msg=method)
        order = rng.permutation(len(X))
        same(predict(X[order]), batch[order], err_msg=method)
        # float32 input goes the same way
        same(predict(X.astype(np.float32)[:20]), batch[:20], err_msg=method)
