"""LSTMClassifier and LSTMRegressor: inputs, padding, search, persistence."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from _estimator_cases import settings
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split

from sklearn_deep import LSTMClassifier, LSTMRegressor

FAST = settings(LSTMClassifier, max_iter=30)
for _key in ("random_state", "bidirectional", "learning_rate"):
    del FAST[_key]  # the tests here pass their own, or take the defaults


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _ragged(n=60, n_features=2, seed=0, min_len=2, max_len=9):
    """Sequences of random lengths; the label is the sign of the first feature's sum."""
    rng = np.random.RandomState(seed)
    X = [rng.normal(size=(t, n_features)) for t in rng.randint(min_len, max_len, n)]
    y = np.array([int(seq[:, 0].sum() > 0) for seq in X])
    return X, y


def _object_array(X):
    out = np.empty(len(X), dtype=object)
    out[:] = X
    return out


def test_classifier_learns_3d_sequences():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 6, 2)).astype(np.float32)
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    clf = LSTMClassifier(**FAST, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.n_features_in_ == 2
    assert clf.predict_proba(X).shape == (120, 2)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_regressor_learns_ragged_sums(cell):
    X, _ = _ragged(n=120, n_features=1)
    y = np.array([seq.sum() for seq in X])
    reg = LSTMRegressor(cell=cell, **{**FAST, "max_iter": 80}, random_state=0)
    assert reg.fit(X, y).score(X, y) > 0.8
    assert reg.predict(X).dtype == np.float64


def test_2d_rows_are_univariate_sequences():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 5))
    y = (X.sum(1) > 0).astype(int)
    flat = LSTMClassifier(**FAST, random_state=0).fit(X, y)
    deep = LSTMClassifier(**FAST, random_state=0).fit(X[:, :, None], y)
    np.testing.assert_array_equal(flat.predict_proba(X), deep.predict_proba(X))
    assert flat.n_features_in_ == 5 and deep.n_features_in_ == 1
    # fitted on 2-D: 2-D needs the same columns (scikit-learn's rule) ...
    with pytest.raises(ValueError, match="X has 4 features"):
        flat.predict(X[:, :4])
    # ... while sequences of one feature may have any length
    assert flat.predict(X[:, :3, None]).shape == (40,)
    # fitted on sequences: 2-D rows of any length are univariate sequences
    assert deep.predict(X[:, :3]).shape == (40,)


def test_list_and_object_array_give_the_same_model():
    X, y = _ragged()
    a = LSTMClassifier(**FAST, random_state=0).fit(X, y)
    b = LSTMClassifier(**FAST, random_state=0).fit(_object_array(X), y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict_proba(X), a.predict_proba(tuple(X)))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_padding_does_not_change_a_prediction(pooling, bidirectional):
    X, y = _ragged()
    clf = LSTMClassifier(
        **{**FAST, "max_iter": 3},
        pooling=pooling,
        bidirectional=bidirectional,
        num_layers=2,
        random_state=0,
    ).fit(X, y)
    short = X[0][:2]
    longer = [np.random.RandomState(1).normal(size=(t, 2)) * 5 for t in (20, 11)]
    alone = clf.predict_proba([short])
    np.testing.assert_allclose(
        clf.predict_proba([short, *longer])[:1], alone, rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        clf.predict_proba([*longer, short])[2:], alone, rtol=1e-5, atol=1e-7
    )


def test_prediction_chunks_are_padded_independently():
    # predict runs in chunks of 4096 rows; the last chunk here is short sequences
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(t, 1)) for t in rng.randint(1, 4, 4100)]
    X[0] = rng.normal(size=(30, 1))
    clf = LSTMClassifier(**{**FAST, "max_iter": 2}, random_state=0)
    clf.fit(X[:50], np.arange(50) % 2)
    full = clf.predict_proba(X)
    np.testing.assert_allclose(full[-5:], clf.predict_proba(X[-5:]), rtol=1e-5)


@pytest.mark.parametrize("as_object_array", [False, True])
def test_grid_search_over_architecture_on_ragged_sequences(as_object_array):
    X, y = _ragged(n=48)
    if as_object_array:
        X = _object_array(X)
    search = GridSearchCV(
        LSTMClassifier(**{**FAST, "max_iter": 5}, random_state=0),
        {"hidden_size": [4, 8], "cell": ["lstm", "gru"]},
        cv=2,
    ).fit(X, y)
    assert set(search.best_params_) == {"hidden_size", "cell"}
    assert search.predict(X[:3]).shape == (3,)


def test_cross_val_score_on_3d_sequences():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5, 2))
    y = X[:, :, 1].mean(1)
    scores = cross_val_score(LSTMRegressor(**FAST, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_digits_read_row_by_row():
    # the digits images as 8 steps of 8 pixels; the full 5-fold figure (0.95+ with
    # the defaults) is in the example, this is a cheap version of it
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, test_size=0.3, random_state=0
    )
    clf = LSTMClassifier(**{**FAST, "hidden_size": 32, "max_iter": 25}, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9


def test_random_state_reproducible_and_caller_rng_untouched():
    X, y = _ragged()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a = LSTMClassifier(**FAST, dropout=0.2, random_state=0).fit(X, y)
    b = LSTMClassifier(**FAST, dropout=0.2, random_state=0).fit(X, y)
    assert torch.equal(before, torch.random.get_rng_state())
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_


def test_early_stopping_on_ragged_sequences():
    X, y = _ragged(n=80)
    # a constant step size: the twin below must take the same steps
    params = dict(
        early_stopping=True,
        n_iter_no_change=3,
        learning_rate="constant",
        random_state=0,
    )
    clf = LSTMClassifier(**{**FAST, "max_iter": 100}, **params).fit(X, y)
    assert clf.n_iter_ < 100
    assert len(clf.validation_scores_) == clf.n_iter_
    # the best epoch's weights are the ones kept: a twin fit that ends there
    # predicts the same, bit for bit
    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    twin = LSTMClassifier(**{**FAST, "max_iter": best_epoch}, **params).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), twin.predict_proba(X))


def test_warm_start_and_partial_fit_continue_training():
    X, y = _ragged()
    clf = LSTMClassifier(**{**FAST, "max_iter": 5}, warm_start=True, random_state=0)
    first = clf.fit(X, y).module_
    clf.fit(X, y)
    assert clf.module_ is first and len(clf.loss_curve_) == 10

    inc = LSTMClassifier(**FAST, random_state=0)
    for start in (0, 30):
        inc.partial_fit(X[start : start + 30], y[start : start + 30], classes=[0, 1])
    assert inc.n_iter_ == 1 and len(inc.loss_curve_) == 2


def test_class_weight_and_sample_weight():
    X, y = _ragged()
    heavy = LSTMClassifier(**FAST, class_weight={1: 50.0}, random_state=0)
    assert heavy.fit(X, y).predict(X).mean() > y.mean()
    weight = np.where(y == 0, 50.0, 1.0)
    light = LSTMClassifier(**FAST, random_state=0).fit(X, y, sample_weight=weight)
    assert light.predict(X).mean() < y.mean()


def test_pickle_round_trip():
    X, y = _ragged()
    clf = LSTMClassifier(**FAST, cell="gru", random_state=0).fit(X, y)
    clone_ = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), clone_.predict_proba(X))
    clone_.partial_fit(X, y)  # training goes on after unpickling


def test_torch_tensors_float32_and_float64():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4, 3))
    y = rng.normal(size=(40, 2))  # two targets
    reg = LSTMRegressor(**FAST, random_state=0).fit(X, y)
    expected = reg.predict(X)
    assert expected.shape == (40, 2)
    np.testing.assert_allclose(reg.predict(X.astype(np.float32)), expected)
    np.testing.assert_allclose(reg.predict(torch.from_numpy(X)), expected)
    ragged_tensors = [torch.from_numpy(seq) for seq in X]
    np.testing.assert_allclose(reg.predict(ragged_tensors), expected, rtol=1e-5)


def test_dataframe_rows_keep_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _ragged()
    frame = pd.DataFrame(np.stack([seq[:2, 0] for seq in X]), columns=["t0", "t1"])
    clf = LSTMClassifier(**FAST, random_state=0).fit(frame, y)
    assert list(clf.feature_names_in_) == ["t0", "t1"]
    clf.fit(X, y)  # refit on sequences: no names any more
    assert not hasattr(clf, "feature_names_in_")


@pytest.mark.parametrize(
    "X, match",
    [
        ([np.ones((3, 2)), np.ones((0, 2))], r"X\[1\] is an empty sequence"),
        ([np.ones((3, 2)), np.ones((4, 3))], r"X\[1\] has 3 features per time step"),
        ([np.ones((3, 2)), np.ones((2, 2, 2))], r"X\[1\] has shape \(2, 2, 2\)"),
        ([np.ones((3, 2)), np.full((2, 2), np.nan)], r"X\[1\] contains NaN"),
        (np.ones((2, 3, 2, 1)), r"sequences need 3 dimensions"),
        (np.ones((2, 0, 2)), r"at least one time step"),
        ([], r"X is an empty list of sequences"),
    ],
)
def test_bad_sequences_are_rejected_clearly(X, match):
    with pytest.raises(ValueError, match=match):
        LSTMClassifier(**FAST).fit(X, [0, 1][: len(X)] if len(X) else [])


def test_wrong_number_of_features_or_targets():
    X, y = _ragged()
    clf = LSTMClassifier(**{**FAST, "max_iter": 1}).fit(X, y)
    with pytest.raises(ValueError, match=r"3 features per time step.*fitted with 2"):
        clf.predict([np.ones((4, 3))])
    with pytest.raises(ValueError, match="holds 60 sequences but y has 59"):
        clone(clf).fit(X, y[:-1])


@pytest.mark.gpu
def test_fit_on_gpu_predict_on_cpu():
    X, y = _ragged()
    clf = LSTMClassifier(**{**FAST, "device": "cuda"}, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.module_.encoder.weight_ih_l0.device.type == "cpu"
    np.testing.assert_allclose(
        restored.predict_proba(X), clf.predict_proba(X), rtol=1e-4, atol=1e-5
    )
