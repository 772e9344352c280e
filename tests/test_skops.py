"""skops: every estimator and pipelines holding one dump and load with the
types of ``sklearn_deep.skops_trusted_types()``, and predict identically."""

import copy

import numpy as np
import pytest
from _estimator_cases import (
    CLASSES,
    LAYOUT_CASES,
    LAYOUT_IDS,
    assert_same_outputs,
    data,
    stochastic,
)
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_deep
from sklearn_deep import _persist
from sklearn_deep.callbacks import LossHistory

sio = pytest.importorskip("skops.io")

pytestmark = pytest.mark.filterwarnings("ignore:.*(Maximum iterations|lbfgs)")


def round_trip(obj, tmp_path, others=()):
    """Dump to a file, check its unknown types are the trusted ones (and the
    scikit-learn ``others`` that skops does not trust itself), load."""
    path = tmp_path / "model.skops"
    sio.dump(obj, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted, "skops trusts our types by itself: the helper is moot"
    trusted = [*sklearn_deep.skops_trusted_types(), *others]
    assert set(untrusted) <= set(trusted), untrusted
    return sio.load(path, trusted=trusted)


@pytest.mark.parametrize("cls, layout", LAYOUT_CASES, ids=LAYOUT_IDS)
def test_every_estimator_round_trips(cls, layout, tmp_path):
    X, y = data(cls, layout)
    est = stochastic(cls).fit(X, y)
    loaded = round_trip(est, tmp_path)
    assert type(loaded) is cls
    assert loaded.get_params() == est.get_params()
    assert_same_outputs(est, loaded, X)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_pipeline_round_trips(cls, tmp_path):
    X, y = data(cls)
    pipe = make_pipeline(StandardScaler(), stochastic(cls)).fit(X, y)
    assert_same_outputs(pipe, round_trip(pipe, tmp_path), X)


def test_fitted_search_with_callbacks_round_trips(tmp_path):
    X, y = data(sklearn_deep.MLPClassifier, n=30)
    est = stochastic(sklearn_deep.MLPClassifier, callbacks=[LossHistory()])
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    others = [
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.model_selection._split.StratifiedKFold",
    ]
    loaded = round_trip(search, tmp_path, others)
    assert loaded.best_params_ == search.best_params_
    assert_same_outputs(search.best_estimator_, loaded.best_estimator_, X)
    history = loaded.best_estimator_.callbacks[0].history
    expected = search.best_estimator_.callbacks[0].history
    assert [h["loss"] for h in history] == [h["loss"] for h in expected]


def test_loaded_estimator_continues_partial_fit_identically(tmp_path):
    # the optimizer's moments (a dict with int keys) come back as tensors
    X, y = data(sklearn_deep.MLPClassifier)
    est = stochastic(sklearn_deep.MLPClassifier).fit(X, y)
    loaded = round_trip(est, tmp_path)
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_outputs(est, loaded, X)


def test_untrusted_load_is_refused_without_the_list(tmp_path):
    # negative control: skops does refuse our types unless they are trusted
    X, y = data(sklearn_deep.LogisticRegression)
    est = stochastic(sklearn_deep.LogisticRegression).fit(X, y)
    path = tmp_path / "m.skops"
    sio.dump(est, path)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)


def test_trusted_types_are_the_public_estimators_and_callbacks():
    names = sklearn_deep.skops_trusted_types()
    assert "sklearn_deep.neural_network.MLPClassifier" in names
    assert "sklearn_deep.callbacks.LossHistory" in names
    assert {f"{c.__module__}.{c.__name__}" for c in CLASSES} <= set(names)
    assert all(name.startswith("sklearn_deep.") for name in names)
    assert "sklearn_deep.callbacks.StopTraining" not in names  # an exception
    assert names == sorted(names)


def _state(cls=sklearn_deep.MLPClassifier):
    X, y = data(cls)
    return stochastic(cls).fit(X, y).__getstate__()


@pytest.mark.parametrize("key", ["predict", "coefs_", "score", "__class__"])
def test_a_state_cannot_replace_methods_or_properties(key):
    # what skops (and pickle) give __setstate__ is data: it never hides code
    state = {**_state(), key: "shadowed"}
    with pytest.raises(ValueError, match="methods or properties"):
        sklearn_deep.MLPClassifier.__new__(sklearn_deep.MLPClassifier).__setstate__(
            state
        )


def test_a_state_with_oversized_weights_is_refused_before_allocating():
    state = _state()
    # 3.6 GB if it were built; the network is rebuilt from the parameters
    # it was built with, which a set_params after the fit leaves alone
    state["_built_with"] = {**state["_built_with"], "hidden_layer_sizes": (30000,) * 2}
    est = sklearn_deep.MLPClassifier.__new__(sklearn_deep.MLPClassifier)
    with pytest.raises(_persist.LoadError, match="nothing was allocated|Nothing"):
        est.__setstate__(state)


def test_a_state_changed_by_set_params_after_fit_rebuilds_the_fitted_network():
    # a deep copy (or pickle) after set_params: the network is the fitted one,
    # not one built from the new parameters (which may not fit its weights)
    X, y = data(sklearn_deep.MLPClassifier)
    est = stochastic(sklearn_deep.MLPClassifier, hidden_layer_sizes=(5,)).fit(X, y)
    est.set_params(hidden_layer_sizes=(7, 7), activation="tanh")
    copied = copy.deepcopy(est)
    assert_same_outputs(est, copied, X)
    assert copied.hidden_layer_sizes == (7, 7)


@pytest.mark.parametrize(
    "change",
    [
        {"classes_": np.array(["a", "b", "c"])},  # binary: one output
        {"classes_": np.array(["b", "a"])},  # predict searches sorted labels
        {"n_outputs_": 3},
        {"_target_kind": "multiclass"},
    ],
)
def test_a_state_with_labels_that_do_not_fit_the_network_is_refused(change):
    X, y = data(sklearn_deep.MLPClassifier)
    y = np.where(y == "a", "a", "b")
    state = stochastic(sklearn_deep.MLPClassifier).fit(X, y).__getstate__()
    est = sklearn_deep.MLPClassifier.__new__(sklearn_deep.MLPClassifier)
    with pytest.raises(_persist.LoadError, match="fitted state disagree"):
        est.__setstate__({**state, **change})
