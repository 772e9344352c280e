"""Tables as users hold them: categorical columns, missing values, target
scaling, calibrated probabilities and the best epoch by validation loss."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from sklearn_deep import MLPClassifier, MLPRegressor, load, save

FAST = dict(hidden_layer_sizes=(16,), max_iter=15, device="cpu", random_state=0)


def frame(n=240, seed=0):
    """Numeric and categorical columns (category and object), NaN in both."""
    rng = np.random.RandomState(seed)
    X = pd.DataFrame(
        {
            "size": rng.normal(10, 3, n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n).astype(object),
            "income": rng.lognormal(3, 1, n),
        }
    )
    X.loc[rng.rand(n) < 0.1, "income"] = np.nan
    X.loc[rng.rand(n) < 0.1, "city"] = None
    y = np.where((X["colour"] == "red") | (X["size"] > 11), "yes", "no")
    return X, y


def test_dataframe_with_categorical_and_missing_values_fits_directly():
    X, y = frame()
    before = X.copy()
    clf = MLPClassifier(**FAST).fit(X, y)
    pd.testing.assert_frame_equal(X, before)  # the user's data is untouched
    assert clf.is_categorical_.tolist() == [False, True, True, False]
    assert clf.feature_names_in_.tolist() == list(X.columns)
    assert clf.n_features_in_ == 4
    # 2 numeric + 3 colours + 4 cities and the missing city + 1 indicator
    assert clf.module_.input_layer.n_features_out == 2 + 3 + 5 + 1
    assert clf.score(X, y) > 0.8
    assert clf.predict_proba(X.iloc[:5]).shape == (5, 2)


def test_unknown_category_is_encoded_as_ignore_does():
    X, y = frame()
    X["city"] = X["city"].fillna("Oslo")  # no missing city in fit
    clf = MLPClassifier(**FAST).fit(X, y)
    row = X.iloc[:1].copy()
    unknown, missing, known = row.copy(), row.copy(), row.copy()
    unknown["city"] = "Atlantis"
    missing["city"] = None
    known["city"] = "Lima" if row["city"].iloc[0] != "Lima" else "Pune"
    # unseen and missing (unseen in fit) are both all-zero one-hot columns
    np.testing.assert_array_equal(
        clf.predict_proba(unknown), clf.predict_proba(missing)
    )
    # negative control: another known category does change the output
    assert not np.array_equal(clf.predict_proba(unknown), clf.predict_proba(known))


def test_many_categorical_columns_and_categories():
    # offsets past int8 (pandas codes of a few categories) and the cap of
    # MAX_CATEGORIES per column
    from sklearn_deep._frames import MAX_CATEGORIES

    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {f"c{j}": rng.choice([f"v{k}" for k in range(12)], 300) for j in range(15)}
    ).astype("category")
    X["id"] = [f"row{i}" for i in range(300)]  # one category per row
    y = (X["c0"].cat.codes > 5).to_numpy()
    clf = MLPClassifier(**FAST).fit(X, y)
    assert clf.module_.input_layer.n_features_out == 15 * 12 + MAX_CATEGORIES
    assert clf.score(X, y) > 0.9


def test_categorical_features_by_name_index_and_mask():
    X, y = frame()
    X = X.drop(columns="city")
    X["colour"] = X["colour"].cat.codes  # integer codes, named categorical
    by_dtype = MLPClassifier(**FAST).fit(X, y)
    assert not by_dtype.is_categorical_.any()  # int column: numeric
    for spec in (["colour"], [1], [False, True, False]):
        clf = MLPClassifier(categorical_features=spec, **FAST).fit(X, y)
        assert clf.is_categorical_.tolist() == [False, True, False]
        assert clf.module_.input_layer.n_features_out == 2 + 3 + 1
    with pytest.raises(ValueError, match="no column"):
        MLPClassifier(categorical_features=["nope"], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="no column names"):
        MLPClassifier(categorical_features=["colour"], **FAST).fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="column indices must be"):
        MLPClassifier(categorical_features=[7], **FAST).fit(X, y)


def test_string_columns_without_categorical_features_say_what_to_do():
    X, y = frame()
    with pytest.raises(ValueError, match="OneHotEncoder"):
        MLPClassifier(categorical_features=None, **FAST).fit(X, y)


def test_missing_numeric_values_are_imputed_with_an_indicator():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    X[::7, 1] = np.nan
    clf = MLPClassifier(**FAST).fit(X, y)
    assert clf.module_.input_layer.n_features_out == 3 + 1
    X_test = X[:6].copy()
    X_test[:, 2] = np.nan  # no NaN there in fit: imputed, no indicator
    proba = clf.predict_proba(X_test)
    assert np.isfinite(proba).all()
    # inf is still refused, with scikit-learn's message
    X_test[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        clf.predict(X_test)


@pytest.mark.parametrize("rows", [1, 3, 700])
def test_numpy_and_torch_predict_paths_agree_with_the_input_layer(rows):
    rng = np.random.RandomState(1)
    X = rng.lognormal(size=(700, 5))
    y = X[:, 0] + np.log(X[:, 1])
    reg = MLPRegressor(**FAST).fit(X, y)
    fast = reg.predict(X[:rows])
    slow = reg.predict(pd.DataFrame(X[:rows]).to_numpy(dtype=object).astype(float))
    through_torch = (
        reg._forward_tensors((__import__("torch").from_numpy(X[:rows].astype("f4")),))
        .numpy()
        .ravel()
        * reg._target_scale
        + reg._target_shift
    )
    np.testing.assert_allclose(fast, slow, rtol=1e-6)
    np.testing.assert_allclose(fast, through_torch, rtol=1e-4, atol=1e-5)


def test_robust_scaling_resists_outliers_and_constant_columns():
    import torch

    from sklearn_deep._modules import TableScaler

    x = torch.tensor([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [1000.0, 5.0]])
    layer = TableScaler(2, 2, "robust")
    layer.fit_statistics(x)
    z = layer(x)
    assert torch.all(z.abs() < 3)  # the outlier is clipped smoothly below 3
    assert torch.all(z[:, 1] == 0)  # a constant column: centred, not divided
    assert z[0, 0] < z[1, 0] < z[2, 0] < z[3, 0]  # order kept


def test_target_scaling_makes_the_fit_independent_of_the_target_units():
    X, y = load_diabetes(return_X_y=True)
    params = dict(FAST, early_stopping=False)
    one = MLPRegressor(**params).fit(X, y)
    other = MLPRegressor(**params).fit(X, 1000 * y + 5)
    np.testing.assert_allclose(other.predict(X), 1000 * one.predict(X) + 5, rtol=1e-4)
    np.testing.assert_allclose(one._target_shift, [y.mean()])
    np.testing.assert_allclose(one._target_scale, [y.std()])
    # negative control: without scaling the same network learns another model
    raw = MLPRegressor(normalize_y=False, **params).fit(X, 1000 * y + 5)
    assert raw.score(X, 1000 * y + 5) < other.score(X, 1000 * y + 5) - 0.1


def test_target_scaling_uses_the_training_split_and_keeps_poisson_positive():
    X, y = load_diabetes(return_X_y=True)
    reg = MLPRegressor(**FAST, validation_fraction=0.5).fit(X, y)
    assert not np.isclose(reg._target_shift[0], y.mean(), rtol=1e-6)
    poisson = MLPRegressor(loss="poisson", **FAST).fit(X, y)
    assert poisson._target_shift[0] == 0
    assert (poisson.predict(X) > 0).all()


def test_calibration_softens_and_never_changes_labels():
    X, y = frame(400)
    X = X.assign(noise=np.random.RandomState(3).normal(size=len(X)))
    params = dict(FAST, hidden_layer_sizes=(64,), max_iter=60)
    calibrated = MLPClassifier(**params).fit(X, y)
    raw = MLPClassifier(calibration=None, **params).fit(X, y)
    assert calibrated.temperature_ >= 1.0
    np.testing.assert_array_equal(calibrated.predict(X), raw.predict(X))
    assert not hasattr(raw, "temperature_")


def test_best_epoch_is_the_one_of_least_validation_loss():
    X, y = frame(300)
    clf = MLPClassifier(**dict(FAST, max_iter=25, n_iter_no_change=50)).fit(X, y)
    best = int(np.argmin(clf._validation_loss_curve))
    assert clf.best_validation_score_ == clf.validation_scores_[best]


def test_categorical_frame_round_trips_through_save_and_skops(tmp_path):
    X, y = frame()
    clf = MLPClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    save(clf, tmp_path / "clf.safetensors")
    np.testing.assert_array_equal(
        load(tmp_path / "clf.safetensors").predict_proba(X), expected
    )
    skops_io = pytest.importorskip("skops.io")
    from sklearn_deep import skops_trusted_types

    skops_io.dump(clf, tmp_path / "clf.skops")
    back = skops_io.load(tmp_path / "clf.skops", trusted=skops_trusted_types())
    np.testing.assert_array_equal(back.predict_proba(X), expected)


def test_onnx_refuses_categorical_columns_and_keeps_target_scaling():
    pytest.importorskip("onnxruntime")
    import onnxruntime

    from sklearn_deep import to_onnx

    X, y = frame()
    clf = MLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="categorical columns"):
        to_onnx(clf, X.iloc[:2])
    Xd, yd = load_diabetes(return_X_y=True)
    Xd = Xd.astype(np.float32)
    Xd[::9, 2] = np.nan  # missing values are in the graph too
    reg = MLPRegressor(**FAST).fit(Xd, yd)
    model = to_onnx(reg, Xd[:2])
    session = onnxruntime.InferenceSession(model.SerializeToString())
    (out,) = session.run(None, {"X": Xd})
    np.testing.assert_allclose(out, reg.predict(Xd), rtol=1e-4, atol=1e-3)
