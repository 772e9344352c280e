"""The training-curve displays (matplotlib's Agg backend): what is drawn, and
what they accept (an estimator, a Pipeline, a fitted search)."""

import matplotlib
import numpy as np
import pytest
from _estimator_cases import small_mlp
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import LinearRegression
from sklearn_deep.plotting import LossCurveDisplay, TrainingCurveDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got batch_size"),  # small_mlp on iris
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(display):
    return [text.get_text() for text in display.legend_.get_texts()]


def test_training_curves_with_validation(iris):
    X, y = iris
    clf = small_mlp(max_iter=12, early_stopping=True, tol=0.0).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(clf)
    history = clf.history_
    best = int(np.argmax(clf.validation_scores_)) + 1
    assert _labels(display) == [
        "training loss",
        "validation loss",
        "validation score",
        f"best epoch ({best})",
    ]
    np.testing.assert_array_equal(
        display.lines_["validation loss"].get_ydata(), history["validation_loss"]
    )
    np.testing.assert_array_equal(
        display.lines_["validation score"].get_ydata(), clf.validation_scores_
    )
    assert display.lines_["validation score"].axes is display.ax_score_
    assert display.best_epoch_line_.get_xdata()[0] == best
    assert display.ax_.get_title() == "MLPClassifier"


def test_training_curves_without_validation_mark_the_lowest_loss(iris):
    X, y = iris
    clf = small_mlp(max_iter=8).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(clf)
    best = int(np.argmin(clf.loss_curve_)) + 1
    assert _labels(display) == ["training loss", f"best epoch ({best})"]
    assert display.ax_score_ is None
    np.testing.assert_array_equal(
        display.lines_["training loss"].get_ydata(), clf.loss_curve_
    )


def test_a_closed_form_fit_is_one_marked_point(iris):
    X, y = iris
    reg = LinearRegression(device="cpu").fit(X, y.astype(float))
    display = TrainingCurveDisplay.from_estimator(reg)
    line = display.lines_["training loss"]
    assert line.get_marker() == "o" and len(line.get_xdata()) == 1


def test_pipeline_and_search_are_unwrapped(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), small_mlp(max_iter=4)).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(pipe)
    np.testing.assert_array_equal(
        display.lines_["training loss"].get_ydata(), pipe[-1].loss_curve_
    )
    search = GridSearchCV(small_mlp(max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2)
    search.fit(X, y)
    for display_class in (TrainingCurveDisplay, LossCurveDisplay):
        display = display_class.from_estimator(search, name="best")
        assert display.ax_.get_title() == "best"
    np.testing.assert_array_equal(
        display.line_.get_ydata(), search.best_estimator_.loss_curve_
    )


def test_search_without_refit_or_unfitted_is_a_clear_error(iris):
    X, y = iris
    search = GridSearchCV(small_mlp(max_iter=2), {"alpha": [1e-4]}, cv=2, refit=False)
    with pytest.raises(NotFittedError, match="GridSearchCV"):
        TrainingCurveDisplay.from_estimator(search)
    search.fit(X, y)
    with pytest.raises(ValueError, match="refit=False.*best_params_"):
        TrainingCurveDisplay.from_estimator(search)
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(small_mlp())
