"""Bad input and faults during training, over every public estimator.

Every bad input ends in a ValueError or TypeError whose message names what was
wrong (or in a documented acceptance); a previously fitted estimator predicts
exactly as before; the caller's arrays are never modified; nothing hangs.
Faults during training (divergence, KeyboardInterrupt, a failing callback)
leave a usable estimator.
"""

import copy
import signal
import warnings
from numbers import Integral

import numpy as np
import pytest
import scipy.sparse as sp
from _estimator_cases import (
    CLASSES,
    PREDICT_METHODS,
    as_sparse_fit,
    data,
    family,
    layouts,
    make,
    make_X,
    make_y,
    outputs,
    param_names,
    predict,
    stochastic,
    supervised,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions

from sklearn_deep.callbacks import Callback

HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a fast, stable suite
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def _no_hang():
    """Fail a test that runs over 60 s instead of hanging the suite."""

    def fail(signum, frame):
        raise TimeoutError("test ran over 60 s: a hang?")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(60)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for message in ("overflow encountered", "invalid value encountered"):
                warnings.filterwarnings("ignore", message, RuntimeWarning)
            yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def is_clf(cls):
    return is_classifier(cls())


def snapshot(value):
    """A deep copy of the caller's inputs, to check they stay unmodified."""
    return copy.deepcopy(value)


def assert_unmodified(before, after):
    if isinstance(before, np.ndarray):
        assert isinstance(after, np.ndarray) and before.dtype == after.dtype
        assert before.shape == after.shape
        if before.dtype == object:
            for b, a in zip(before.ravel(), after.ravel()):
                assert_unmodified(b, a)
        else:
            np.testing.assert_array_equal(before, after, strict=True)
    elif hasattr(before, "equals"):  # pandas
        assert before.equals(after)
    elif isinstance(before, float) and np.isnan(before):
        assert isinstance(after, float) and np.isnan(after)
    elif sp.issparse(before):
        assert_unmodified(before.toarray(), after.toarray())
    elif isinstance(before, list | tuple):
        assert len(before) == len(after)
        for b, a in zip(before, after):
            assert_unmodified(b, a)
    elif isinstance(before, dict):
        assert before.keys() == after.keys()
        for key in before:
            assert_unmodified(before[key], after[key])
    else:
        assert before is after or before == after


_FITTED = {}


def fitted(cls, layout):
    """A fitted estimator per (class, layout), copied for each use."""
    key = (cls, layout)
    if key not in _FITTED:
        X, y = data(cls, layout)
        _FITTED[key] = (make(cls).fit(X, y), X)
    est, X = _FITTED[key]
    return copy.deepcopy(est), X


def assert_outputs_unchanged(est, X, expected):
    got = outputs(est, X)
    for method in expected:
        np.testing.assert_array_equal(got[method], expected[method], err_msg=method)


def assert_rejected(call, inputs, match, est=None, X_good=None):
    """``call()`` raises ValueError/TypeError matching ``match``, leaving the
    caller's ``inputs`` as they were and ``est`` predicting as before."""
    before = snapshot(inputs)
    expected = outputs(est, X_good) if est is not None else None
    with pytest.raises((ValueError, TypeError), match=match):
        call()
    assert_unmodified(before, inputs)
    if est is not None:
        assert_outputs_unchanged(est, X_good, expected)


# ----------------------------------------------------------------------
# bad X and y at fit time, as a table of cases


def _with_value(X, value):
    """A copy of X with ``value`` in its first entry (any layout)."""
    if isinstance(X, list):
        X = [m.copy() for m in X]
        X[0] = X[0].astype(type(value) if isinstance(value, str) else X[0].dtype)
        X[0].flat[0] = value
        return X
    X = X.astype(object if isinstance(value, str) else X.dtype)
    X.flat[0] = value
    return X


def _empty(X):
    return [] if isinstance(X, list) else X[:0]


def _nan_first(y):
    y = y.astype(object if y.dtype.kind in "OUS" else np.float64)
    y[0] = np.nan
    return y


def _strings(X):
    if isinstance(X, list):
        return [np.full(m.shape, "a") for m in X]
    return np.full(X.shape, "a")


# name: (make bad (X, y, fit kwargs) from good X and y, match, applies to)
FIT_CASES = {
    "nan-X": (lambda X, y: (_with_value(X, np.nan), y, {}), "NaN", None),
    "inf-X": (lambda X, y: (_with_value(X, np.inf), y, {}), "infinity", None),
    "too-big-for-float32": (
        lambda X, y: (_with_value(X, 1e39), y, {}),
        "infinity.*too large",
        None,
    ),
    "empty-X": (
        lambda X, y: (_empty(X), y[:0], {}),
        "0 sample|empty|Expected 2D array",
        None,
    ),
    "string-features": (
        lambda X, y: (_strings(X), y, {}),
        "could not convert string to float.*encode string",
        None,
    ),
    "object-features": (
        lambda X, y: (_with_value(X.astype(object), {"a": 1}), y, {}),
        "must be a string or a real number.*encode string",
        {"table", "image", "sequence"},
    ),
    "complex-features": (lambda X, y: (X + 1j, y, {}), "[Cc]omplex", {"table"}),
    "1d-X": (lambda X, y: (X[:, 0], y, {}), "Expected 2D array", {"table"}),
    "no-features": (lambda X, y: (X[:, :0], y, {}), "0 feature", {"table"}),
    "fewer-targets": (
        lambda X, y: (X, y[:-1], {}),
        "inconsistent numbers of samples|but y has",
        None,
    ),
    "y-none": (lambda X, y: (X, None, {}), "requires y", None),
    "nan-y": (lambda X, y: (X, _nan_first(y), {}), "NaN|Mix of label", None),
    "negative-sample-weight": (
        lambda X, y: (X, y, {"sample_weight": -np.ones(len(y))}),
        "Negative values .*sample_weight",
        None,
    ),
    "nan-sample-weight": (
        lambda X, y: (X, y, {"sample_weight": np.full(len(y), np.nan)}),
        "sample_weight contains NaN",
        None,
    ),
    "inf-sample-weight": (
        lambda X, y: (X, y, {"sample_weight": np.full(len(y), np.inf)}),
        "sample_weight contains infinity",
        None,
    ),
    "zero-sample-weight": (
        lambda X, y: (X, y, {"sample_weight": np.zeros(len(y))}),
        "non-zero|sums to zero",
        None,
    ),
    "short-sample-weight": (
        lambda X, y: (X, y, {"sample_weight": np.ones(3)}),
        r"sample_weight.shape == \(3,\)",
        None,
    ),
    "2d-sample-weight": (
        lambda X, y: (X, y, {"sample_weight": np.ones((len(y), 2))}),
        "Sample weights must be 1D",
        None,
    ),
}
CLASSIFIER_CASES = {
    "single-class": (
        lambda X, y: (X, np.full(len(y), y[0]), {}),
        "at least 2 classes",
        None,
    ),
    "continuous-target": (
        lambda X, y: (X, np.linspace(0, 1, len(y)), {}),
        "Unknown label type: continuous",
        None,
    ),
    "single-sample": (
        lambda X, y: (X[:1], y[:1], {}),
        "at least 2 classes",
        None,
    ),
}
REGRESSOR_CASES = {
    "inf-y": (
        lambda X, y: (X, np.where(np.arange(len(y)) == 0, np.inf, y), {}),
        "infinity",
        None,
    ),
    "string-target": (
        lambda X, y: (X, np.array(["a"] * len(y)), {}),
        "could not convert string to float|numeric",
        None,
    ),
}


def _changes_x(bad):
    """Whether a case changes X (not only y or the fit's keyword arguments)."""
    X, y = make_X("table", n=4), np.arange(4.0)
    return bad(X, y)[0] is not X


def _allows_nan(cls):
    return cls().__sklearn_tags__().input_tags.allow_nan


def _fit_cases():
    for cls in CLASSES:
        task_cases = CLASSIFIER_CASES if is_clf(cls) else REGRESSOR_CASES
        cases = {**FIT_CASES, **(task_cases if supervised(cls) else {})}
        if _allows_nan(cls):  # missing values are data there (test_tables.py)
            cases.pop("nan-X")
        for layout in layouts(cls):
            for name, (bad, match, where) in cases.items():
                # an estimator without targets (a transformer) ignores y
                # and takes no sample_weight: only bad X applies to it
                if not (supervised(cls) or _changes_x(bad)):
                    continue
                if where is None or layout in where:
                    yield pytest.param(
                        cls, layout, bad, match, id=f"{cls.__name__}-{layout}-{name}"
                    )


@pytest.mark.parametrize("cls, layout, bad, match", list(_fit_cases()))
def test_bad_fit_input_is_rejected(cls, layout, bad, match):
    X_good, y_good = data(cls, layout)
    X, y, kwargs = bad(X_good, y_good)
    # a fresh estimator, and a fitted one that must keep predicting as before
    assert_rejected(lambda: make(cls).fit(X, y, **kwargs), (X, y, kwargs), match)
    est, X_fit = fitted(cls, layout)
    assert_rejected(lambda: est.fit(X, y, **kwargs), (X, y, kwargs), match, est, X_fit)


# ----------------------------------------------------------------------
# bad X at predict time


def _fewer_features(X):
    if isinstance(X, list):
        return [m[:, :1] for m in X]
    if X.ndim == 2:
        return X[:, :-1]
    return X[..., :-1]


PREDICT_CASES = {
    "nan-X": (lambda X: _with_value(X, np.nan), "NaN"),
    "inf-X": (lambda X: _with_value(X, np.inf), "infinity"),
    "empty-X": (_empty, "0 sample|empty|Expected 2D array"),
    "string-features": (_strings, "convert string to float.*encode string"),
    "fewer-features": (_fewer_features, "features|shape"),
}


def _predict_cases():
    for cls in CLASSES:
        for layout in layouts(cls):
            for name, (bad, match) in PREDICT_CASES.items():
                if name == "nan-X" and _allows_nan(cls):
                    continue  # missing values are data there (test_tables.py)
                for method in PREDICT_METHODS:
                    if hasattr(cls, method):
                        yield pytest.param(
                            cls,
                            layout,
                            bad,
                            match,
                            method,
                            id=f"{cls.__name__}-{layout}-{name}-{method}",
                        )


@pytest.mark.parametrize("cls, layout, bad, match, method", list(_predict_cases()))
def test_bad_predict_input_is_rejected(cls, layout, bad, match, method):
    est, X_fit = fitted(cls, layout)
    if not hasattr(est, method):  # e.g. predict_proba of a regressor-like mode
        pytest.skip(f"{method} not available")
    X = bad(X_fit)
    assert_rejected(lambda: getattr(est, method)(X), X, match, est, X_fit)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_other_feature_names_at_predict_are_rejected(cls):
    pd = pytest.importorskip("pandas")
    X, y = data(cls)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = make(cls).fit(frame, y)
    renamed = frame.rename(columns={"f0": "other"})
    assert_rejected(lambda: predict(est, renamed), renamed, "feature names", est, frame)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_warm_start_with_other_features_is_rejected(cls):
    X, y = data(cls)
    est = make(cls, warm_start=True).fit(X, y)
    assert_rejected(lambda: est.fit(X[:, :-1], y), X, "features", est, X)


# ----------------------------------------------------------------------
# documented acceptances


LAYOUTS = [(c, layout) for c in CLASSES for layout in layouts(c)]


@pytest.mark.parametrize("cls, layout", LAYOUTS)
def test_single_sample_predict_is_accepted(cls, layout):
    est, X = fitted(cls, layout)
    for method, value in outputs(est, X[:1]).items():
        assert len(value) == 1, method


@pytest.mark.parametrize("cls", [c for c in CLASSES if not is_clf(c)])
def test_regressor_or_transformer_fits_a_single_sample(cls):
    X, y = data(cls)
    est = make(cls).fit(X[:1], y[:1])
    assert np.isfinite(predict(est, X)).all()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_sparse_input_is_accepted_as_dense(cls):
    X, y = data(cls)
    X_sparse = sp.csr_matrix(X)
    before = snapshot(X_sparse)
    try:
        sparse_fit = make(cls, **as_sparse_fit(cls)).fit(X_sparse, y)
    except (TypeError, ValueError) as exc:  # a family may refuse sparse input
        assert "sparse" in str(exc)
        return
    assert_unmodified(before, X_sparse)
    dense_fit = make(cls, **as_sparse_fit(cls)).fit(X, y)
    sparse_out = outputs(sparse_fit, X_sparse)
    for method, value in outputs(dense_fit, X).items():
        if family(cls) != "table":  # densified: the very same numbers
            np.testing.assert_array_equal(sparse_out[method], value)
        elif value.dtype.kind == "f":  # sparse products sum in another order
            np.testing.assert_allclose(sparse_out[method], value, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------
# family-specific inputs


IMAGE_CLASSES = [c for c in CLASSES if family(c) == "image"]
SEQUENCE_CLASSES = [c for c in CLASSES if family(c) == "sequence"]


@pytest.mark.parametrize("cls", IMAGE_CLASSES, ids=lambda c: c.__name__)
def test_wrong_image_shape_for_input_shape_is_rejected(cls):
    X, y = data(cls)  # rows of 6 values
    est = make(cls, input_shape=(1, 4, 4))
    assert_rejected(lambda: est.fit(X, y), X, r"input_shape=\(1, 4, 4\) needs 16")
    images, _ = data(cls, "image")
    fit, _ = fitted(cls, "image")
    other = make_X("image", n=4)[:, :, :, :2]
    assert_rejected(lambda: predict(fit, other), other, "fitted on inputs", fit, images)
    assert_rejected(
        lambda: make(cls, input_shape=(1, 0, 6)).fit(X, y), X, "input_shape"
    )


@pytest.mark.parametrize("cls", SEQUENCE_CLASSES, ids=lambda c: c.__name__)
def test_bad_ragged_sequences_are_rejected(cls):
    X, y = data(cls, "ragged")
    est, X_fit = fitted(cls, "ragged")
    zero = [X[0][:0], *X[1:]]
    assert_rejected(lambda: make(cls).fit(zero, y), zero, "empty sequence")
    assert_rejected(lambda: predict(est, zero), zero, "empty sequence", est, X_fit)
    mixed = [X[0][:, :1], *X[1:]]
    assert_rejected(lambda: make(cls).fit(mixed, y), mixed, "features per time step")
    nested = [[[1.0, 2.0], [3.0]], *X[1:]]
    assert_rejected(lambda: make(cls).fit(nested, y), X, "rectangular|sequence")


# ----------------------------------------------------------------------
# labels, class weights and partial_fit

CLASSIFIERS = [c for c in CLASSES if is_clf(c)]


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("weights", [{"zebra": 2.0}, {"a": 1.0, 5: 2.0}])
def test_unknown_labels_in_class_weight_are_rejected(cls, weights):
    if "class_weight" not in param_names(cls):
        pytest.skip("no class_weight")
    X, y = data(cls)
    est, X_fit = fitted(cls, "table")
    est.set_params(class_weight=weights)
    assert_rejected(lambda: est.fit(X, y), weights, "not classes of y", est, X_fit)


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_partial_fit_label_errors(cls):
    X, y = data(cls)
    est = stochastic(cls)
    assert_rejected(lambda: est.partial_fit(X, y), y, "classes must be passed")
    est.partial_fit(X, y, classes=np.unique(y))
    new = np.where(y == "a", "new", y)
    not_in = "`y` has classes not in `self.classes_`"
    assert_rejected(lambda: est.partial_fit(X, new), new, not_in, est, X)
    # a later call may repeat classes=, in any order, but not change it
    est.partial_fit(X, y, classes=["c", "b", "a"])
    other = ["a", "b", "c", "d"]
    same = "is not the same as on last call to partial_fit"
    assert_rejected(lambda: est.partial_fit(X, y, classes=other), y, same, est, X)


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_partial_fit_classes_must_cover_y_on_the_first_call(cls, n_classes):
    # the first call's classes= missing a label of y: binary would train on a
    # BCE target of 2.0, multiclass on an out-of-range index
    X, y = data(cls)
    keep = np.isin(y, ["a", "b", "c"][:n_classes])
    X, y = X[keep], y[keep]
    declared = ["a", "b", "c"][: n_classes - 1] + ["zebra"]
    est = stochastic(cls)
    call = lambda: est.partial_fit(X, y, classes=declared)  # noqa: E731
    assert_rejected(call, y, "`y` has classes not in `classes`")
    assert not hasattr(est, "classes_")
    # negative control: the same call with every class of y declared trains
    est.partial_fit(X, y, classes=np.unique(y))
    assert set(est.predict(X)) <= set(est.classes_)


# ----------------------------------------------------------------------
# property-based: random arrays with missing, infinite or odd values

LAYOUT_SHAPES = {"table": (4,), "image": (1, 2, 2), "sequence": (2, 2)}


@st.composite
def bad_arrays(draw):
    cls = draw(st.sampled_from(CLASSES))
    layout = draw(st.sampled_from([lay for lay in layouts(cls) if lay != "ragged"]))
    n = draw(st.integers(0, 6))
    shape = (n, *LAYOUT_SHAPES[layout])
    if layout == "table":
        shape = (n, draw(st.integers(0, 4)))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64, object]))
    X = np.random.RandomState(draw(st.integers(0, 9))).randn(*shape).astype(dtype)
    for _ in range(draw(st.integers(0, 2))):
        if X.size:
            value = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e39, "x", None]))
            if isinstance(value, str) or value is None:
                X = X.astype(object)
            elif X.dtype.kind == "i":
                X = X.astype(np.float64)
            X.flat[draw(st.integers(0, X.size - 1))] = value
    n_targets = max(0, n + draw(st.sampled_from([0, 0, 0, -1, 1])))
    y = make_y(cls, n=n_targets, seed=1)
    if draw(st.booleans()) and len(y):
        y = y[:1].repeat(len(y))  # one class / constant target
    weight = None
    if draw(st.booleans()):
        weight = np.array(
            draw(
                st.lists(
                    st.sampled_from([1.0, 0.0, -1.0, np.nan]), min_size=n, max_size=n
                )
            )
        )
    return cls, X, y, weight


@HYPOTHESIS
@given(case=bad_arrays())
def test_random_bad_input_fails_cleanly_or_fits(case):
    cls, X, y, weight = case
    before = snapshot((X, y, weight))
    est = make(cls)
    # a transformer takes no targets and no weights: X alone is drawn for it
    kwargs = {"sample_weight": weight} if supervised(cls) else {}
    try:
        est.fit(X, y, **kwargs)
    except (ValueError, TypeError) as exc:
        assert str(exc), "an error needs a message"
    else:  # accepted: then it must predict finite values of the right shape
        assert len(X) >= 1
        assert len(y) == len(X) or not supervised(cls)
        pred = outputs(est, X)
        for method, value in pred.items():
            assert len(value) == len(X)
            if value.dtype.kind == "f":
                assert np.isfinite(value).all(), method
    assert_unmodified(before, (X, y, weight))


@st.composite
def bad_predict_arrays(draw):
    cls = draw(st.sampled_from(CLASSES))
    layout = draw(st.sampled_from([lay for lay in layouts(cls) if lay != "ragged"]))
    shape = list(make_X(layout, n=2).shape)
    shape[0] = draw(st.integers(0, 4))
    axis = draw(st.integers(1, len(shape) - 1))
    shape[axis] = max(0, shape[axis] + draw(st.sampled_from([0, 0, -1, 1])))
    X = np.random.RandomState(draw(st.integers(0, 9))).randn(*shape)
    if X.size and draw(st.booleans()):
        value = draw(st.sampled_from([np.nan, np.inf, 1e39, "x", None]))
        X = X.astype(object) if isinstance(value, str) or value is None else X
        X.flat[draw(st.integers(0, X.size - 1))] = value
    method = draw(st.sampled_from(PREDICT_METHODS))
    return cls, layout, X, method


@HYPOTHESIS
@given(case=bad_predict_arrays())
def test_random_bad_predict_input_fails_cleanly(case):
    cls, layout, X, method = case
    est, X_fit = fitted(cls, layout)
    assume(hasattr(est, method))
    before, expected = snapshot(X), outputs(est, X_fit)
    try:
        result = getattr(est, method)(X)
    except (ValueError, TypeError) as exc:
        assert str(exc), "an error needs a message"
    else:
        assert len(result) == len(X) >= 1
        if result.dtype.kind == "f":
            assert np.isfinite(result).all()
    assert_unmodified(before, X)
    assert_outputs_unchanged(est, X_fit, expected)


@st.composite
def bad_sequences(draw):
    cls = draw(st.sampled_from(SEQUENCE_CLASSES))
    n = draw(st.integers(0, 5))
    n_features = draw(st.integers(1, 2))
    rng = np.random.RandomState(draw(st.integers(0, 9)))
    X = []
    for _ in range(n):
        width = n_features if draw(st.integers(0, 5)) else n_features + 1
        member = rng.randn(draw(st.integers(0, 3)), width)
        if member.size and draw(st.integers(0, 4)) == 0:
            member.flat[0] = draw(st.sampled_from([np.nan, np.inf, 1e39]))
        X.append(member if draw(st.integers(0, 4)) else member.tolist())
    y = make_y(cls, n=max(0, n + draw(st.sampled_from([0, 0, -1, 1]))), seed=2)
    return cls, X, y


@pytest.mark.skipif(not SEQUENCE_CLASSES, reason="no sequence estimator")
@HYPOTHESIS
@given(case=bad_sequences())
def test_random_ragged_sequences_fail_cleanly_or_fit(case):
    cls, X, y = case
    before = snapshot((X, y))
    est = make(cls)
    try:
        est.fit(X, y)
    except (ValueError, TypeError) as exc:
        assert str(exc), "an error needs a message"
    else:
        for method, value in outputs(est, X).items():
            assert len(value) == len(X)
            if value.dtype.kind == "f":
                assert np.isfinite(value).all(), method
    assert_unmodified(before, (X, y))


# ----------------------------------------------------------------------
# property-based: bad parameter values

BAD_VALUES = [
    -1, 0, 1, 2, 0.5, -0.5, 1.0, 1.5, np.nan, np.inf, True, None, "bogus", "",
    (), (0,), (2,), (2, -1), [2.5], {}, {"bogus": 1}, np.float64(0.2), np.int64(2),
]  # fmt: skip


def _valid_options(cls):
    """Every string option of every parameter: valid values must fit too."""
    for name, constraints in cls._parameter_constraints.items():
        for constraint in constraints:
            if isinstance(constraint, StrOptions):
                for option in sorted(constraint.options):
                    yield name, option


@st.composite
def bad_params(draw):
    cls = draw(st.sampled_from(CLASSES))
    names = sorted(param_names(cls) - {"random_state", "verbose", "device"})
    name = draw(st.sampled_from(names))
    pool = BAD_VALUES + [v for n, v in _valid_options(cls) if n == name]
    value = draw(st.sampled_from(pool))
    # guard the test's own budget: no huge networks or epoch counts
    if name.startswith(("max_", "n_iter")) and isinstance(value, Integral):
        assume(value <= 3)
    return cls, name, value


@HYPOTHESIS
@given(case=bad_params())
def test_bad_parameter_values_fail_cleanly(case):
    cls, name, value = case
    est, X = fitted(cls, "table")
    _, y = data(cls)
    expected = outputs(est, X)
    previous = est.get_params()[name]
    est.set_params(**{name: value})
    try:
        est.fit(X, y)
    except (ValueError, TypeError) as exc:
        assert name in str(exc), f"the message should name {name!r}: {exc}"
        # the failed fit left the fitted state as it was (prediction reads
        # some parameters, e.g. precision: put the old value back first)
        est.set_params(**{name: previous})
        assert_outputs_unchanged(est, X, expected)
    else:
        for method, value in outputs(est, X).items():
            if value.dtype.kind == "f":
                assert np.isfinite(value).all(), method


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "params, match",
    [
        ({"device": "gpu"}, "not a torch device"),
        ({"device": "cuda:7"}, "cuda:7"),
        ({"device": 3}, "device"),
        ({"early_stopping": True, "validation_fraction": 0.0}, "validation_fraction"),
        (
            {"early_stopping": True, "validation_fraction": 0.01, "solver": "adam"},
            "too small",
        ),
        ({"batch_size": 0}, "batch_size"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"learning_rate_init": -1.0}, "learning_rate_init"),
        ({"max_iter": 0}, "max_iter"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else None,
)
def test_bad_parameter_table(cls, params, match):
    if not set(params) <= param_names(cls):
        pytest.skip("parameter not taken")
    if params.get("device") == "cuda:7":
        import torch

        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
    X, y = data(cls)
    est, _ = fitted(cls, "table")
    est.set_params(**params)
    assert_rejected(lambda: est.fit(X, y), X, match, est, X)


# ----------------------------------------------------------------------
# faults during training


class NaNWeights(Callback):
    """Poison the network after epoch ``at``: the next epoch's loss is NaN."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        if epoch == self.at:
            import torch

            with torch.no_grad():
                for p in estimator.module_.parameters():
                    p.fill_(float("nan"))


class InterruptAt(Callback):
    """Raise ``exc`` at the end of epoch ``at``, as a user pressing Ctrl-C."""

    def __init__(self, at, exc=KeyboardInterrupt):
        self.at = at
        self.exc = exc

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        if epoch == self.at:
            raise self.exc("stop")


def _finite_outputs(est, X):
    for method, value in outputs(est, X).items():
        if value.dtype.kind == "f":
            assert np.isfinite(value).all(), method
    import torch

    for p in est.module_.parameters():
        assert torch.isfinite(p).all()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_nan_loss_keeps_the_best_finite_weights(cls):
    X, y = data(cls)
    est = stochastic(cls, max_iter=6, callbacks=[NaNWeights(at=3)], tol=0.0)
    with pytest.warns(ConvergenceWarning, match="diverged at epoch 4"):
        est.fit(X, y)
    assert not np.isfinite(est.loss_curve_[-1]) and np.isfinite(est.loss_)
    _finite_outputs(est, X)
    best_epoch = int(np.argmin(est.loss_curve_[:3])) + 1
    twin = stochastic(cls, max_iter=best_epoch, tol=0.0).fit(X, y)
    for method, value in outputs(twin, X).items():
        np.testing.assert_array_equal(outputs(est, X)[method], value, err_msg=method)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_huge_learning_rate_diverges_with_a_warning(cls):
    X, y = data(cls)
    if not is_regressor(cls()):  # a classifier's or a transformer's loss
        X = X * 1e15
    else:
        y = y * 1e20  # the squared error overflows float32 at once
    est = stochastic(cls, solver="sgd", learning_rate_init=1e10, max_iter=20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    diverged = [w for w in caught if "diverged" in str(w.message)]
    if not diverged:  # a saturating network may never overflow: then all finite
        assert np.isfinite(est.loss_curve_).all()
    else:
        assert diverged[0].category is ConvergenceWarning
    _finite_outputs(est, X)


@pytest.mark.parametrize("cls, layout", LAYOUTS)
def test_diverged_fit_predicts_finite_values(cls, layout):
    # a finite training loss is not enough: batch norm trains on batch
    # statistics, and its running ones can overflow at predict time
    X, y = data(cls, layout)
    X = [x * 1e3 for x in X] if layout == "ragged" else X * 1e3
    est = stochastic(cls, learning_rate_init=1e10, max_iter=20)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    diverged = [w for w in caught if "diverged" in str(w.message)]
    assert diverged or np.isfinite(est.loss_curve_).all()
    _finite_outputs(est, X)


LBFGS_CLASSES = [
    c
    for c in CLASSES
    if any(
        isinstance(k, StrOptions) and "lbfgs" in k.options
        for k in c._parameter_constraints.get("solver", [])
    )
]


@pytest.mark.parametrize("scale", [1e10, 1e20, 1e30])
@pytest.mark.parametrize("cls", LBFGS_CLASSES, ids=lambda c: c.__name__)
def test_lbfgs_on_huge_values_never_predicts_nan(cls, scale):
    X, y = data(cls)
    X, y = (X, y * scale) if is_regressor(cls()) else (X * scale, y)
    est = make(cls, solver="lbfgs", max_iter=20)
    est.fit(X, y)
    _finite_outputs(est, X)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_keyboard_interrupt_keeps_the_weights_reached(cls, early_stopping):
    X, y = data(cls, n=40)
    params = dict(early_stopping=early_stopping, validation_fraction=0.25, tol=0.0)
    est = stochastic(cls, max_iter=6, callbacks=[InterruptAt(2)], **params)
    with pytest.warns(UserWarning, match="interrupted by user after 2 epochs"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    _finite_outputs(est, X)
    twin = stochastic(cls, max_iter=2, **params).fit(X, y)
    for method, value in outputs(twin, X).items():
        np.testing.assert_array_equal(outputs(est, X)[method], value, err_msg=method)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_failing_callback_leaves_a_fitted_estimator_as_it_was(cls, how):
    # warm_start and partial_fit train in place: a failure must put the
    # network, optimizer, history and RNG back, so nothing is lost
    X, y = data(cls)
    est = stochastic(cls, warm_start=True).fit(X, y)
    twin = copy.deepcopy(est)
    expected = outputs(est, X)
    history = list(est.loss_curve_)
    est.set_params(callbacks=[InterruptAt(1, RuntimeError)])
    with pytest.raises(RuntimeError, match="stop"):
        est.fit(X, y) if how == "warm_start" else est.partial_fit(X, y)
    assert_outputs_unchanged(est, X, expected)
    assert est.loss_curve_ == history
    est.set_params(callbacks=None)
    est.fit(X, y)
    twin.fit(X, y)
    for method, value in outputs(twin, X).items():
        np.testing.assert_array_equal(outputs(est, X)[method], value, err_msg=method)


# ----------------------------------------------------------------------
# messages that say what was wrong and what to do


@pytest.mark.parametrize("cls", IMAGE_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape", [(16, 16), (256,), (1, 8, 16)])
def test_other_image_size_names_the_image_shapes(cls, shape):
    rng = np.random.RandomState(0)
    X, y = rng.randn(12, 8, 8), make_y(cls, 12)
    est = make(cls, max_iter=1).fit(X, y)
    other = rng.randn(2, *shape)
    # scikit-learn's width check read the height as the number of features
    with pytest.raises(ValueError, match=r"fitted on inputs of shape \(1, 8, 8\)"):
        predict(est, other)
    with pytest.raises(ValueError, match=r"fitted on inputs of shape \(1, 8, 8\)"):
        est.set_params(warm_start=True).fit(other, y[:2])
    # negative control: images of the fitted size, or rows fitted as rows,
    # still get scikit-learn's own width message
    predict(est, rng.randn(2, 8, 8))
    rows = make(cls, max_iter=1).fit(rng.randn(12, 6), y)
    with pytest.raises(ValueError, match="X has 5 features, but"):
        predict(rows, rng.randn(2, 5))


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_multiclass_multioutput_y_points_to_multioutput_classifier(cls):
    X, y = data(cls)
    y2 = np.c_[y, y[::-1]]
    match = r"shape \(24, 2\).*MultiOutputClassifier"
    with pytest.raises(ValueError, match=match) as info:
        make(cls).fit(X, y2)
    assert len(str(info.value)) < 400  # not the whole array


MULTILABEL_CLASSIFIERS = [c for c in CLASSIFIERS if c._multilabel_supported]


@pytest.mark.parametrize("cls", MULTILABEL_CLASSIFIERS, ids=lambda c: c.__name__)
def test_warm_start_on_another_kind_of_target_is_a_value_error(cls):
    X, y = data(cls)
    indicator = np.c_[y == "a", y == "b", y == "c"].astype(int)
    multiclass = make(cls, warm_start=True).fit(X, y)
    same = "continue the same kind of target"
    assert_rejected(
        lambda: multiclass.fit(X, indicator), indicator, same, multiclass, X
    )
    multilabel = make(cls, warm_start=True).fit(X, indicator)
    assert_rejected(lambda: multilabel.fit(X, y), y, same, multilabel, X)
    multiclass.fit(X, y)  # negative control: the same kind continues


@pytest.mark.parametrize("cls", SEQUENCE_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("empty", [[], (), np.array([], dtype=object)])
def test_an_empty_list_of_sequences_says_so(cls, empty):
    est, X = fitted(cls, "ragged")
    match = "empty (list|tuple|ndarray) of sequences"
    assert_rejected(lambda: est.predict(empty), empty, match, est, X)
    assert_rejected(lambda: make(cls).fit(empty, []), empty, match)


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("weights", ["balanced", {0: 2.0}])
def test_class_weight_with_multilabel_targets_is_refused(cls, weights):
    if "class_weight" not in param_names(cls) or not cls._multilabel_supported:
        pytest.skip("no class_weight or no multilabel targets")
    X, y = data(cls)
    indicator = np.c_[y == "a", y == "b"].astype(int)
    est = make(cls, class_weight=weights)
    call = lambda: est.fit(X, indicator)  # noqa: E731
    assert_rejected(call, indicator, "not supported for multilabel targets")
    make(cls, class_weight="balanced").fit(X, y)  # single-label: accepted


@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_early_stopping_split_is_stratified_or_refused_as_in_sklearn(cls):
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    X, _ = data(cls, n=20)
    y = np.array(["a"] * 19 + ["b"])  # one sample of "b": no stratified split
    est = stochastic(cls, early_stopping=True, validation_fraction=0.25)
    assert_rejected(lambda: est.fit(X, y), y, "stratified by class")
    with pytest.raises(ValueError, match="only 1 member"):
        SklearnMLP(early_stopping=True, validation_fraction=0.25).fit(X, y)
    y[:2] = "b"  # negative control: two of each class split fine
    est.fit(X, y)
    assert set(est.predict(X)) <= {"a", "b"}


# ----------------------------------------------------------------------
# warm_start and partial_fit with a parameter that shapes the network

# another value of every parameter a family declares in _module_params
OTHER_VALUES = {
    "hidden_layer_sizes": (5,),
    "activation": "tanh",
    "dropout": 0.3,
    "fit_intercept": False,
    "conv_channels": (3,),
    "kernel_size": 2,
    "pooling": "max",
    "global_pooling": "max",
    "residual": True,
    "batch_norm": False,
    "input_scaling": None,
    "input_shape": (1, 3, 2),
    "channels_last": True,
    "cell": "gru",
    "hidden_size": 5,
    "num_layers": 2,
    "bidirectional": True,
    "n_components": 3,
    "d_model": 16,
    "nhead": 1,
    "dim_feedforward": 12,
    "positional_encoding": None,
    "categorical_features": None,
    "numerical_embedding": "pbld",
}


def _architecture_cases():
    for cls in CLASSES:
        for name in cls._module_params:
            yield pytest.param(cls, name, id=f"{cls.__name__}-{name}")


def test_every_architecture_parameter_is_declared_and_tried():
    declared = {name for cls in CLASSES for name in cls._module_params}
    assert declared <= set(OTHER_VALUES), declared - set(OTHER_VALUES)
    for cls in CLASSES:
        assert set(cls._module_params) <= param_names(cls), cls


@pytest.mark.parametrize("cls, name", list(_architecture_cases()))
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_changed_architecture_is_refused_under_warm_start(cls, name, how):
    X, y = data(cls, "image" if family(cls) == "image" else "table")
    kwargs = {"classes": np.unique(y)} if is_clf(cls) and how == "partial_fit" else {}
    est = stochastic(cls, warm_start=how == "warm_start")
    if name == "pooling" and family(cls) == "image":
        est.set_params(pooling="max")  # 'auto' resolves to the other value
    est.fit(X, y) if how == "warm_start" else est.partial_fit(X, y, **kwargs)
    value = est.get_params()[name]
    other = OTHER_VALUES[name]
    if name == "numerical_embedding" and est.numerical_embedding == other:
        other = None  # MLPRegressor's default is the other value
    if value == other:
        pooling = "avg" if family(cls) == "image" else "mean"
        other = {"gru": "lstm", "max": pooling}.get(other, not other)
    est.set_params(**{name: other})
    call = est.fit if how == "warm_start" else est.partial_fit
    assert_rejected(lambda: call(X, y), y, f"built with {name}=", est, X)
    # negative control: back to the value it was built with, it continues
    est.set_params(**{name: value})
    call(X, y)
