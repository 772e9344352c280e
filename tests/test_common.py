"""scikit-learn's estimator checks over every public estimator."""

import re

import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from sklearn_deep.utils import all_estimators

# Cheap settings for the checks' tiny data sets, one entry per estimator.
TEST_PARAMS = {
    "MLPClassifier": dict(
        hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01
    ),
    "MLPRegressor": dict(
        hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.01
    ),
    "LogisticRegression": dict(max_iter=100),
    "LinearRegression": dict(),
    "CNNClassifier": dict(
        conv_channels=(4,),
        hidden_layer_sizes=(16,),
        max_iter=100,
        learning_rate_init=0.01,
    ),
    "CNNRegressor": dict(
        conv_channels=(4,),
        hidden_layer_sizes=(16,),
        max_iter=100,
        learning_rate_init=0.01,
    ),
    "LSTMClassifier": dict(hidden_size=8, max_iter=100, learning_rate_init=0.02),
    "LSTMRegressor": dict(hidden_size=8, max_iter=200, learning_rate_init=0.02),
}

# Checks that a float32 network trained by iterations cannot pass, with why.
_SW_EQUIVALENCE = (
    "weights vs. repeated rows: the float32 network reaches the same optimum only "
    "to ~1e-5 after an iterative fit, but the check compares at rtol 1e-7 "
    "(scikit-learn's own MLP fails it with mini-batches, too)"
)
_ITERATIVE = {
    "check_sample_weight_equivalence_on_dense_data": _SW_EQUIVALENCE,
    "check_sample_weight_equivalence_on_sparse_data": _SW_EQUIVALENCE,
}
EXPECTED_FAILED_CHECKS = {
    "MLPClassifier": _ITERATIVE,
    "MLPRegressor": _ITERATIVE,
    "LogisticRegression": _ITERATIVE,
    "CNNClassifier": _ITERATIVE,
    "CNNRegressor": _ITERATIVE,
    "LSTMClassifier": _ITERATIVE,
    "LSTMRegressor": _ITERATIVE,
}

# Checks that may fail by a float32 rounding, depending on the BLAS kernel: run
# them, and mark a failure as expected only when the outputs agree to float32
# precision. CPU GEMM kernels block differently by the number of rows, so a
# sample's output can differ by an ulp between a full batch and a subset.
FLOAT32_ROUNDING_CHECKS = {
    "check_methods_subset_invariance",
    "check_methods_sample_order_invariance",
}


def _instances():
    for name, cls in all_estimators():
        params = {"device": "cpu", "random_state": 0, **TEST_PARAMS[name]}
        yield cls(**params)


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    list(_instances()), expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    name = getattr(check, "func", check).__name__
    if name not in FLOAT32_ROUNDING_CHECKS:
        check(estimator)
        return
    try:
        check(estimator)
    except AssertionError as exc:
        message = str(exc)
        # numpy reports the worst difference; accept float32 ulps only
        worst = max(
            float(x)
            for x in re.findall(r"difference[^:]*: ([0-9.e+-]+)", message)[:1]
            or ["inf"]
        )
        if worst > 1e-5:
            raise
        pytest.xfail(f"float32 rounding between batch sizes ({worst:.1e})")


@pytest.mark.parametrize(
    "estimator", list(_instances()), ids=lambda est: type(est).__name__
)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


def test_every_estimator_has_test_params():
    assert {name for name, _ in all_estimators()} == set(TEST_PARAMS)
