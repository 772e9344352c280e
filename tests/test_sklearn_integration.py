"""The tools around estimators: Pipeline, GridSearchCV (n_jobs 1 and 2) and
cross_validate."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import (
    LogisticRegression,
    MLPClassifier,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_in_pipeline(n_jobs):
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(16,), max_iter=20, device="cpu", random_state=0
        ),
    )
    grid = {
        "mlpclassifier__alpha": [1e-4, 1e-1],
        "mlpclassifier__hidden_layer_sizes": [(8,), (16,)],
    }
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_estimator_.score(X, y) > 0.9
    if n_jobs == 2:
        serial = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
        np.testing.assert_allclose(
            search.cv_results_["mean_test_score"],
            serial.cv_results_["mean_test_score"],
        )


def test_cross_validate_with_roc_auc_and_f1_macro():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(device="cpu"))
    res = cross_validate(pipe, X, y, cv=3, scoring=["roc_auc", "f1_macro"])
    assert res["test_roc_auc"].mean() > 0.98
    assert res["test_f1_macro"].mean() > 0.93
    Xd, yd = load_digits(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier(max_iter=20, device="cpu", random_state=0)
    )
    res = cross_validate(pipe, Xd, yd, cv=3, scoring=["roc_auc_ovr", "f1_macro"])
    assert res["test_roc_auc_ovr"].mean() > 0.98
