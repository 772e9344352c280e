"""Every warning of the library names the user's line, not a line inside it."""

import inspect
import re
import warnings

import numpy as np
import pytest
from _estimator_cases import CLASSES, data, make, stochastic
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import scale

import sklearn_deep
from sklearn_deep.callbacks import Callback


def _here():
    """The caller's line number."""
    return inspect.currentframe().f_back.f_lineno


def _assert_points_at(caught, line):
    assert caught, "no warning was raised"
    for w in caught:
        assert (w.filename, w.lineno) == (__file__, line), str(w.message)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_fit_warnings_point_at_the_callers_line(cls):
    X, y = data(cls)
    est = stochastic(cls, max_iter=2, batch_size=1000)  # clipped, and too short
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _here() + 1
        est.fit(X, y)
    assert {w.category for w in caught} == {UserWarning, ConvergenceWarning}
    _assert_points_at(caught, line)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_partial_fit_warnings_point_at_the_callers_line(cls):
    X, y = data(cls)
    est = stochastic(cls, batch_size=1000)
    kwargs = {"classes": sorted(set(y))} if hasattr(est, "predict_proba") else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _here() + 1
        est.partial_fit(X, y, **kwargs)
    _assert_points_at(caught, line)


class _Interrupt(Callback):
    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        raise KeyboardInterrupt


def test_interrupt_and_lbfgs_warnings_point_at_the_callers_line():
    cls = CLASSES[0]
    X, y = data(cls)
    est = stochastic(cls, callbacks=[_Interrupt()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _here() + 1
        est.fit(X, y)
    _assert_points_at(caught, line)
    est = make(cls, solver="lbfgs", max_iter=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _here() + 1
        est.fit(X, y)
    assert caught[0].category is ConvergenceWarning
    _assert_points_at(caught, line)


def test_save_warnings_point_at_the_callers_line(tmp_path):
    cls = CLASSES[0]
    X, y = data(cls)
    est = make(cls, callbacks=[_Interrupt()], max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _here() + 1
        sklearn_deep.save(est, tmp_path / "m.sd")
    _assert_points_at(caught, line)


@pytest.mark.parametrize("verbose", [True, False])
def test_linear_regression_verbose_says_what_the_solver_did(capsys, verbose):
    from sklearn_deep import LinearRegression

    X = np.random.RandomState(0).randn(40, 3)
    LinearRegression(verbose=verbose).fit(X, X @ [1.0, 2.0, 3.0])
    printed = capsys.readouterr().out
    if verbose:
        assert "normal equations: 40 samples, 3 features" in printed
        assert "Cholesky" in printed and "loss " in printed
    else:  # never print unless verbose is set
        assert printed == ""


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_a_budget_schedule_stopped_while_learning_warns(schedule):
    # the schedules anneal the step to zero by max_iter, so scikit-learn's
    # "increase max_iter" rule never fired: a migrating user lost the signal
    X, y = load_digits(return_X_y=True)
    X = scale(X)
    est = sklearn_deep.MLPClassifier(
        learning_rate=schedule, max_iter=3, device="cpu", random_state=0
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = _here() + 1
        est.fit(X, y)
    assert [w.category.__mro__[1] for w in caught] == [ConvergenceWarning]
    assert re.search(
        rf"all max_iter=3 epochs of its learning_rate='{schedule}' schedule .* "
        r"still falling fast.* Increase max_iter",
        str(caught[0].message),
    )
    _assert_points_at(caught, line)
    # negative control: the same fit with enough epochs ends quietly
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.set_params(max_iter=20).fit(X, y)
    assert est.score(X, y) > 0.99
