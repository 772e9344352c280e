"""scikit-learn's estimator checks over every public estimator."""

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
}

# Checks that a float32 network cannot pass, with the reason.
_FLOAT32 = (
    "the network computes in float32; the check compares at float64 precision "
    "(rtol 1e-7)"
)
EXPECTED_FAILED_CHECKS = {}


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
    check(estimator)


@pytest.mark.parametrize(
    "estimator", list(_instances()), ids=lambda est: type(est).__name__
)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


def test_every_estimator_has_test_params():
    assert {name for name, _ in all_estimators()} == set(TEST_PARAMS)
