"""Persistence: pickle round trips, CPU-only unpickling, and the safe format.

``sklearn_deep.save`` writes safetensors weights plus a JSON description;
``sklearn_deep.load`` reads it back without running code from the file.
"""

import json
import os
import pickle
import struct
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from _estimator_cases import (
    CLASSES,
    assert_same_outputs,
    data,
    layouts,
    make,
    predict,
    stochastic,
)
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_deep
from sklearn_deep import _persist
from sklearn_deep.callbacks import LossHistory

CASES = [(cls, layout) for cls in CLASSES for layout in layouts(cls)]
IDS = [f"{cls.__name__}-{layout}" for cls, layout in CASES]
CLASSIFIERS = [cls for cls in CLASSES if is_classifier(cls())]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(Maximum iterations|lbfgs)")
        yield


def fitted(cls, layout="table", **params):
    X, y = data(cls, layout)
    return make(cls, **params).fit(X, y), X


def assert_equal_values(a, b, where="state"):
    """Recursive exact equality: types, dtypes, shapes and values (NaN == NaN)."""
    if isinstance(a, torch.nn.Module):
        assert isinstance(b, torch.nn.Module), where
        assert_equal_values(a.state_dict(), b.state_dict(), where)
        return
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.device == b.device, where
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where, strict=True)
    elif isinstance(a, np.random.RandomState):
        assert_equal_values(a.get_state(), b.get_state(), where)
    elif isinstance(a, dict):
        assert list(a) == list(b) or set(a) == set(b), f"{where}: keys differ"
        for key in a:
            assert_equal_values(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_equal_values(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_estimator(a, b, X):
    """Same class, parameters, fitted state, weights and predictions."""
    assert type(a) is type(b)
    assert_equal_values(a.get_params(deep=False), b.get_params(deep=False), "params")
    assert_equal_values(a.__getstate__(), b.__getstate__())
    assert_same_outputs(a, b, X)


# ----------------------------------------------------------------------
# pickle


@pytest.mark.parametrize("cls, layout", CASES, ids=IDS)
def test_pickle_round_trip_is_exact(cls, layout):
    est, X = fitted(cls, layout)
    assert_same_estimator(est, pickle.loads(pickle.dumps(est)), X)


def _no_torch(obj, where="state"):
    """Nothing reachable from a state is a torch object: numpy and plain values."""
    assert not type(obj).__module__.startswith("torch"), f"{where}: {type(obj)}"
    if isinstance(obj, dict):
        for key, value in obj.items():
            _no_torch(value, f"{where}[{key!r}]")
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            _no_torch(value, f"{where}[{i}]")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_getstate_holds_the_network_as_numpy_on_the_cpu(cls):
    # No GPU here: make the estimator claim one, and check that __getstate__
    # holds the network and the optimizer state as numpy arrays (which skops
    # stores, and which load on a CPU-only machine), the live estimator as it
    # is.
    X, y = data(cls)
    est = stochastic(cls).fit(X, y)
    est._device = torch.device("cuda")
    live = est.module_
    state = est.__getstate__()
    _no_torch(state)
    weights = live.state_dict()
    assert list(state["module_"]) == list(weights)
    for key, array in state["module_"].items():
        np.testing.assert_array_equal(array, weights[key].numpy(), strict=True)
        assert not np.shares_memory(array, weights[key].numpy())
    assert state["_device"] == "cpu"
    assert "_optimizer" not in state and "_optimizer_state" in state
    assert est.module_ is live and est._device.type == "cuda"
    assert est._optimizer is not None  # the live optimizer is kept

    est._device = torch.device("cpu")
    expected = predict(est, X)
    est._device = torch.device("cuda")
    clone = pickle.loads(pickle.dumps(est))
    assert clone._device == torch.device("cpu")
    assert all(t.device.type == "cpu" for t in clone.module_.state_dict().values())
    np.testing.assert_array_equal(predict(clone, X), expected)


@pytest.mark.gpu
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_cuda_fitted_estimator_loads_on_a_cpu_only_machine(cls, tmp_path):
    X, y = data(cls)
    est = stochastic(cls, device="cuda").fit(X, y)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", predict(est, X))
    (tmp_path / "est.pkl").write_bytes(pickle.dumps(est))
    sklearn_deep.save(est, tmp_path / "est.safetensors")
    script = f"""
import pickle, numpy as np, torch, sklearn_deep
assert not torch.cuda.is_available()
X = np.load({str(tmp_path / "X.npy")!r})
expected = np.load({str(tmp_path / "expected.npy")!r})
for est in (pickle.load(open({str(tmp_path / "est.pkl")!r}, "rb")),
            sklearn_deep.load({str(tmp_path / "est.safetensors")!r})):
    assert est._device.type == "cpu"
    assert all(p.device.type == "cpu" for p in est.module_.parameters())
    pred = est.predict(X) if hasattr(est, "predict") else est.transform(X)
    if pred.dtype.kind == "f":
        np.testing.assert_allclose(pred, expected, rtol=1e-4, atol=1e-5)
    else:
        assert (pred == expected).mean() > 0.9
"""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------
# the safe format: round trips


@pytest.mark.parametrize("cls, layout", CASES, ids=IDS)
def test_save_load_round_trip_is_exact(cls, layout, tmp_path):
    est, X = fitted(cls, layout)
    sklearn_deep.save(est, tmp_path / "model.safetensors")
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary left
    assert_same_estimator(est, sklearn_deep.load(tmp_path / "model.safetensors"), X)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_round_trip_with_early_stopping_and_feature_names(cls, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = data(cls, n=40)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = stochastic(cls, early_stopping=True, validation_fraction=0.25)
    est.fit(X, y)
    assert est.feature_names_in_.dtype == object
    assert est.validation_scores_
    path = tmp_path / "model.safetensors"
    sklearn_deep.save(est, path)
    assert_same_estimator(est, sklearn_deep.load(path), X)


LABELS = {
    "binary-str": np.array(["no", "yes"]),
    "int": np.array([3, 7, 11]),
    "float": np.array([-1.0, 2.0]),
    "bool": np.array([False, True]),
    "object-str": np.array(["cat", "dog", "eel"], dtype=object),
}


@pytest.mark.parametrize("labels", list(LABELS), ids=str)
@pytest.mark.parametrize("cls", CLASSIFIERS, ids=lambda c: c.__name__)
def test_label_encoding_round_trips(cls, labels, tmp_path):
    X, _ = data(cls)
    y = LABELS[labels][np.arange(len(X)) % len(LABELS[labels])]
    est = make(cls).fit(X, y)
    sklearn_deep.save(est, tmp_path / "m.safetensors")
    loaded = sklearn_deep.load(tmp_path / "m.safetensors")
    assert loaded.classes_.dtype == est.classes_.dtype
    assert_same_estimator(est, loaded, X)


def test_multilabel_round_trips(tmp_path):
    X, _ = data(sklearn_deep.MLPClassifier)
    Y = (X[:, :3] > 0).astype(int)
    est = make(sklearn_deep.MLPClassifier).fit(X, Y)
    sklearn_deep.save(est, tmp_path / "m.safetensors")
    assert_same_estimator(est, sklearn_deep.load(tmp_path / "m.safetensors"), X)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_loaded_estimator_continues_training_identically(cls, tmp_path):
    # optimizer moments and the estimator's RNG are saved too: partial_fit
    # after load takes exactly the step the original takes
    X, y = data(cls)
    est = stochastic(cls).fit(X, y)
    sklearn_deep.save(est, tmp_path / "m.safetensors")
    loaded = sklearn_deep.load(tmp_path / "m.safetensors")
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_outputs(est, loaded, X)


def test_load_leaves_the_global_rng_alone(tmp_path):
    est, _ = fitted(sklearn_deep.MLPClassifier)
    sklearn_deep.save(est, tmp_path / "m.safetensors")
    before = torch.random.get_rng_state()
    sklearn_deep.load(tmp_path / "m.safetensors")
    assert torch.equal(before, torch.random.get_rng_state())


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    est, X = fitted(sklearn_deep.LogisticRegression)
    sklearn_deep.save(est, str(path))
    assert_same_outputs(est, sklearn_deep.load(str(path)), X)
    assert os.listdir(tmp_path) == ["m.safetensors"]


# ----------------------------------------------------------------------
# the safe format: no code runs on load


def _header(path):
    raw = open(path, "rb").read()
    (size,) = struct.unpack("<Q", raw[:8])
    return raw, size, json.loads(raw[8 : 8 + size])


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_file_is_plain_safetensors_with_json(cls, tmp_path):
    # the whole file is: 8 bytes of header size, a JSON header, raw tensor
    # bytes that the header accounts for exactly. No room for a pickle.
    X, y = data(cls)
    est = stochastic(cls, callbacks=None).fit(X, y)
    path = tmp_path / "m.safetensors"
    sklearn_deep.save(est, path)
    raw, size, header = _header(path)
    metadata = header.pop("__metadata__")
    document = json.loads(metadata["sklearn_deep"])
    assert document["class"] == cls.__name__
    assert document["format_version"] == _persist.FORMAT_VERSION
    spans = sorted(tuple(entry["data_offsets"]) for entry in header.values())
    assert spans[0][0] == 0
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert len(raw) == 8 + size + spans[-1][1]


def test_load_never_unpickles(tmp_path, monkeypatch):
    est, X = fitted(sklearn_deep.MLPClassifier, solver="adam")
    expected = est.predict(X)
    sklearn_deep.save(est, tmp_path / "m.safetensors")

    def refuse(*args, **kwargs):
        raise AssertionError("load used pickle")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = sklearn_deep.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded.predict(X), expected)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_load_does_not_run_a_pickle(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(ValueError, match="not a safetensors file"):
        sklearn_deep.load(path)
    assert not marker.exists()


def _rewrite(path, change):
    """Apply ``change`` to the JSON document of a saved file."""
    with safe_open(path, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        document = json.loads(f.metadata()["sklearn_deep"])
    change(document)
    save_file(tensors, path, metadata={"sklearn_deep": json.dumps(document)})


@pytest.fixture
def saved(tmp_path):
    est, X = fitted(sklearn_deep.MLPClassifier)
    path = str(tmp_path / "m.safetensors")
    sklearn_deep.save(est, path)
    return path


@pytest.mark.parametrize(
    "name",
    ["Pipeline", "sklearn.pipeline.Pipeline", "os.system", "BaseDeepEstimator", 3],
)
def test_load_names_only_public_estimators(saved, name, monkeypatch):
    _rewrite(saved, lambda d: d.update({"class": name}))
    imported = []
    real_import = __import__

    def spy(module, *args, **kwargs):
        imported.append(module)
        return real_import(module, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", spy)
    with pytest.raises(ValueError, match="not a public sklearn_deep estimator"):
        sklearn_deep.load(saved)
    assert not {"os", "sklearn.pipeline"} & set(imported)


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_load_refuses_other_format_versions(saved, version):
    _rewrite(saved, lambda d: d.update({"format_version": version}))
    with pytest.raises(ValueError, match="file format version .* reads format"):
        sklearn_deep.load(saved)


def test_load_refuses_parameters_of_another_version(saved):
    _rewrite(saved, lambda d: d["params"].update({"n_neurons": 3}))
    with pytest.raises(ValueError, match=r"\['n_neurons'\] that this version"):
        sklearn_deep.load(saved)


def test_load_refuses_weights_that_do_not_fit(saved):
    def wider(document):
        document["fitted"]["_module_inputs"] = 9
        document["fitted"]["n_features_in_"] = 9
        for key in ("is_categorical_", "_categories", "_n_scaled", "_missing_columns"):
            document["fitted"].pop(key)  # as an older file: no table description

    _rewrite(saved, wider)
    with pytest.raises(_persist.LoadError, match="do not fit the network"):
        sklearn_deep.load(saved)


def test_load_refuses_inconsistent_sizes(saved):
    # the fast predict path reads n_features_in_, the network _module_inputs
    _rewrite(saved, lambda d: d["fitted"].update({"_module_inputs": 9}))
    with pytest.raises(_persist.LoadError, match="6 features, read as 9"):
        sklearn_deep.load(saved)


def _forge(cls, *changes, binary=False, layout="table", **params):
    """A saved ``cls`` with ``changes`` ("params" or "fitted", key, value)."""
    X, y = data(cls, layout)
    if binary:
        y = np.where(y == "a", "a", "b")
    est = make(cls, **params).fit(X, y)

    def change(document):
        for where, key, value in changes:
            document[where][key] = _persist._Encoder().encode(value)

    return est, X, change


_U = np.array  # label arrays: strings, stored in the JSON itself
FORGED = {
    # a binary classifier has one output: three labels give predict_proba
    # two columns under three classes
    "binary-three-classes": (
        sklearn_deep.LogisticRegression,
        [("fitted", "classes_", _U(["a", "b", "c"]))],
        dict(binary=True),
    ),
    "binary-called-multiclass": (
        sklearn_deep.MLPClassifier,
        [("fitted", "_target_kind", "multiclass")],
        dict(binary=True),
    ),
    "multiclass-two-classes": (
        sklearn_deep.MLPClassifier,
        [("fitted", "classes_", _U(["a", "b"]))],
        {},
    ),
    "unsorted-classes": (
        sklearn_deep.CNNClassifier,
        [("fitted", "classes_", _U(["c", "a", "b"]))],
        {},
    ),
    "code-width-parameter": (
        sklearn_deep.AutoEncoder,
        [("params", "n_components", 3)],
        {},
    ),
    "code-width-fitted": (
        sklearn_deep.AutoEncoder,
        [("fitted", "n_components_", 3), ("fitted", "_n_features_out", 3)],
        {},
    ),
    "activation-parameter": (
        sklearn_deep.MLPRegressor,
        [("params", "activation", "tanh")],
        {},
    ),
    "image-shape": (
        sklearn_deep.CNNRegressor,
        [("fitted", "input_shape_", (1, 3, 2))],
        dict(layout="image"),
    ),
    "image-layout": (
        sklearn_deep.CNNRegressor,
        [("fitted", "_layout", ((1, 3, 2), False))],
        dict(layout="image"),
    ),
    "sequence-rows-flag": (
        sklearn_deep.LSTMRegressor,
        [("fitted", "_table_input", False)],
        {},
    ),
    "single-output-flag": (
        sklearn_deep.TransformerRegressor,
        [("fitted", "_single_output", "yes")],
        {},
    ),
    "feature-names": (
        sklearn_deep.LinearRegression,
        [("fitted", "feature_names_in_", _U(["x0", "x1"], dtype=object))],
        {},
    ),
}


@pytest.mark.parametrize("case", FORGED)
def test_load_refuses_parameters_that_disagree_with_the_fitted_state(case, tmp_path):
    cls, changes, options = FORGED[case]
    est, X, change = _forge(cls, *changes, **options)
    path = tmp_path / "m.safetensors"
    sklearn_deep.save(est, path)
    assert_same_outputs(est, sklearn_deep.load(path), X)  # negative control
    _rewrite(path, change)
    with pytest.raises(_persist.LoadError, match="fitted state disagree"):
        sklearn_deep.load(path)


def test_save_refuses_a_network_changed_by_set_params_after_fit(tmp_path):
    est, _ = fitted(sklearn_deep.MLPClassifier)
    est.set_params(activation="tanh")
    with pytest.raises(ValueError, match=r"built with activation='relu'.*set_par"):
        sklearn_deep.save(est, tmp_path / "m.safetensors")
    assert not os.listdir(tmp_path)
    est.set_params(activation="relu")  # set back: saved and loaded
    sklearn_deep.save(est, tmp_path / "m.safetensors")
    assert sklearn_deep.load(tmp_path / "m.safetensors").activation == "relu"


def _peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_layer_sizes": {"__tuple__": [30000, 30000]}},  # 3.6 GB of weights
        {"hidden_layer_sizes": {"__tuple__": [1] * 100_000}},  # 100,000 layers
    ],
    ids=["wide", "deep"],
)
def test_load_checks_sizes_before_allocating(saved, change):
    def forge(document):
        # the parameters and those the network was built with, alike
        document["params"].update(change)
        built = document["fitted"]["_built_with"]["__dict__"]
        built[[key for key, _ in built].index("hidden_layer_sizes")][1] = change[
            "hidden_layer_sizes"
        ]

    _rewrite(saved, forge)
    before = _peak_rss_mb()
    with pytest.raises(_persist.LoadError, match="nothing was allocated|Nothing"):
        sklearn_deep.load(saved)
    assert _peak_rss_mb() - before < 200


@pytest.mark.parametrize(
    "key",
    ["predict", "coefs_", "fit", "_build_module", "__class__", "module_", "alpha"],
)
def test_load_refuses_attributes_that_are_not_fitted_ones(saved, key):
    _rewrite(saved, lambda d: d["fitted"].update({key: "shadowed"}))
    with pytest.raises(_persist.LoadError, match="not fitted attributes"):
        sklearn_deep.load(saved)


def test_negative_control_a_new_fitted_name_is_accepted(saved):
    # the rule refuses names of the class, not every name: a fitted attribute
    # a later version adds still loads
    _rewrite(saved, lambda d: d["fitted"].update({"extra_": 3}))
    assert sklearn_deep.load(saved).extra_ == 3


def test_load_refuses_a_damaged_description(saved):
    _rewrite(saved, lambda d: d["fitted"].update({"classes_": {"__code__": "x"}}))
    with pytest.raises(ValueError, match="damaged .* unknown value tag"):
        sklearn_deep.load(saved)


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [100, 500, 990])
@pytest.mark.parametrize("where", ["params", "fitted"])
def test_load_refuses_deeply_nested_descriptions(saved, where, depth):
    # 500 to 990 levels parse as JSON but ran out of stack while decoding: a
    # RecursionError, which an ``except ValueError`` around a load let through
    key = {"params": "alpha", "fitted": "extra_"}[where]
    with safe_open(saved, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        document = json.loads(f.metadata()["sklearn_deep"])
    document[where][key] = "NESTED"
    # written as text: json.dumps itself runs out of stack at these depths
    text = json.dumps(document).replace('"NESTED"', "[" * depth + "1" + "]" * depth)
    save_file(tensors, saved, metadata={"sklearn_deep": text})
    with pytest.raises(_persist.LoadError, match="damaged"):
        sklearn_deep.load(saved)


def test_negative_control_a_nested_fitted_value_loads(saved):
    _rewrite(saved, lambda d: d["fitted"].update({"extra_": _nested(20)}))
    assert sklearn_deep.load(saved).extra_ == _nested(20)


def test_load_refuses_other_files(tmp_path):
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    with pytest.raises(ValueError, match="holds no sklearn_deep estimator"):
        sklearn_deep.load(plain)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00" * 3)
    with pytest.raises(ValueError, match="not a safetensors file"):
        sklearn_deep.load(junk)


# ----------------------------------------------------------------------
# the safe format: what it cannot hold


def test_callbacks_are_saved_as_none_with_a_warning(tmp_path):
    est, X = fitted(sklearn_deep.MLPClassifier, callbacks=[LossHistory()])
    with pytest.warns(UserWarning, match="callbacks=None"):
        sklearn_deep.save(est, tmp_path / "m.safetensors")
    loaded = sklearn_deep.load(tmp_path / "m.safetensors")
    assert loaded.callbacks is None
    assert_same_outputs(est, loaded, X)


def test_random_state_instance_is_saved_as_none_with_a_warning(tmp_path):
    est, X = fitted(sklearn_deep.MLPRegressor, random_state=np.random.RandomState(0))
    with pytest.warns(UserWarning, match="random_state=None"):
        sklearn_deep.save(est, tmp_path / "m.safetensors")
    loaded = sklearn_deep.load(tmp_path / "m.safetensors")
    assert loaded.random_state is None
    assert_same_outputs(est, loaded, X)


def test_parameter_that_is_not_json_is_refused(tmp_path):
    est, _ = fitted(sklearn_deep.MLPClassifier)
    est.set_params(verbose=object())
    with pytest.raises(TypeError, match="parameter verbose=.* set_params"):
        sklearn_deep.save(est, tmp_path / "m.safetensors")
    assert not os.listdir(tmp_path)


def test_save_refuses_what_it_cannot_load(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(NotFittedError):
        sklearn_deep.save(sklearn_deep.MLPClassifier(), path)
    X, y = data(sklearn_deep.LogisticRegression)
    pipe = make_pipeline(StandardScaler(), make(sklearn_deep.LogisticRegression))
    with pytest.raises(TypeError, match="save takes a fitted sklearn_deep.*skops"):
        sklearn_deep.save(pipe.fit(X, y), path)

    class Custom(sklearn_deep.LogisticRegression):
        pass

    with pytest.raises(TypeError, match="got .*Custom"):
        sklearn_deep.save(Custom(device="cpu").fit(X, y), path)
    assert not path.exists()


def test_codec_round_trips_unusual_values():
    values = [
        np.array([1, 2], dtype=np.uint32),
        np.array(["2020-01-01"], dtype="datetime64[ns]"),
        np.array([1.5, np.nan], dtype=">f8"),
        np.array([b"ab", b"c"]),
        np.array([[1, "a"], [None, 2.5]], dtype=object),
        np.float32(np.inf),
        np.str_("x"),
        {1: (2.0, -np.inf), "k": [None, True]},
        torch.tensor(3.0),
        np.random.RandomState(5),
        torch.device("cpu"),
    ]
    encoder = _persist._Encoder()
    document = json.loads(json.dumps(encoder.encode(values), allow_nan=False))
    decoded = _persist._Decoder(encoder.tensors, "x").decode(document)
    assert_equal_values(values, decoded, "values")


# ----------------------------------------------------------------------
# the safe format: a fuzz test over mutated headers and weights

_FUZZ_OUTCOMES = {"refused": 0, "loaded": 0}
_FUZZ_FAILS = []


@pytest.fixture(scope="module")
def fuzz_source(tmp_path_factory):
    """A saved MLPClassifier with Adam's state: its JSON document and tensors."""
    X, y = data(sklearn_deep.MLPClassifier)
    est = stochastic(sklearn_deep.MLPClassifier, hidden_layer_sizes=(5, 4))
    est.fit(X, y)
    path = tmp_path_factory.mktemp("fuzz") / "m.safetensors"
    sklearn_deep.save(est, path)
    with safe_open(path, framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        document = json.loads(f.metadata()["sklearn_deep"])
    return document, tensors, X, path.parent


def _paths(value, prefix=()):
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


def _fuzz_strategies():
    from hypothesis import strategies as st

    sizes = st.sampled_from([0, -1, 1, 3, 30000, 10**6, 2**40, 2**70])
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        sizes,
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["", "x", "predict", "cpu", "lstm", "adam", "array.0"]),
    )
    tagged = st.one_of(
        st.builds(lambda v: {"__tuple__": v}, st.lists(sizes, max_size=4)),
        st.just({"__tuple__": [30000, 30000]}),
        st.just({"__tuple__": [1] * 5000}),
        st.builds(
            lambda key, dtype: {"__array__": key, "dtype": dtype},
            st.sampled_from(["array.0", "array.1", "module.head.weight", "nope"]),
            st.sampled_from(["<f4", "<i8", "<U999999999", "|V16", "|O", "x", 3]),
        ),
        st.builds(
            lambda dtype, shape: {"__ndarray__": ["a"], "dtype": dtype, "shape": shape},
            st.sampled_from(["<U3", "<U999999999", "|O", "<f8"]),
            st.lists(sizes, max_size=3),
        ),
        st.builds(lambda v: {"__scalar__": v, "dtype": "<U99999999"}, leaf),
        st.builds(lambda v: {"__dict__": v}, st.lists(st.lists(leaf, max_size=3))),
        st.builds(lambda v: {"__random_state__": v}, st.lists(leaf, max_size=5)),
        st.builds(lambda v: {"__code__": v}, leaf),
        st.just({}),
    )
    value = st.one_of(leaf, tagged, st.lists(leaf, max_size=3))
    names = st.sampled_from(
        ["predict", "fit", "coefs_", "module_", "__class__", "_optimizer", "extra_"]
    )
    return st, value, names


@pytest.mark.filterwarnings("ignore")
def test_fuzzed_files_are_refused_cleanly_or_load(fuzz_source):
    from hypothesis import HealthCheck, given, settings

    st, value, names = _fuzz_strategies()
    document, tensors, X, folder = fuzz_source
    # every key down to the fitted attributes' parts, not each entry of the
    # RNG's 624 words
    paths = sorted({p for p in _paths(document) if 0 < len(p) <= 4}, key=str)
    tensor_keys = sorted(tensors)
    mutation = st.one_of(
        st.tuples(st.just("set"), st.sampled_from(paths), value),
        st.tuples(st.just("drop"), st.sampled_from(paths), st.none()),
        st.tuples(st.just("add"), st.sampled_from(["params", "fitted"]), names),
        st.tuples(st.just("tensor"), st.sampled_from(tensor_keys), sizes_of(st)),
    )
    before = _peak_rss_mb()

    @settings(
        max_examples=400,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(mutation, min_size=1, max_size=3))
    def check(mutations):
        doc = json.loads(json.dumps(document))
        weights = dict(tensors)
        for kind, where, what in mutations:
            if kind == "tensor":
                weights[where] = torch.zeros(what) if what is not None else None
                weights = {k: v for k, v in weights.items() if v is not None}
                continue
            if kind == "add":
                doc.setdefault(where, {})
                if isinstance(doc[where], dict):
                    doc[where][what] = 1
                continue
            parent = doc
            try:
                for step in where[:-1]:
                    parent = parent[step]
                if kind == "set":
                    parent[where[-1]] = what
                else:
                    del parent[where[-1]]
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation removed the path
        path = folder / "fuzzed.safetensors"
        save_file(weights, path, metadata={"sklearn_deep": json.dumps(doc)})
        try:
            loaded = sklearn_deep.load(path)
        except _persist.LoadError as exc:
            assert str(path) in str(exc) or "in this" in str(exc), exc
            _FUZZ_OUTCOMES["refused"] += 1
            return
        _FUZZ_OUTCOMES["loaded"] += 1
        assert type(loaded) is sklearn_deep.MLPClassifier
        for key, tensor in loaded.module_.state_dict().items():
            assert torch.equal(tensor, weights[_persist._MODULE_PREFIX + key]), key
        try:
            assert len(loaded.predict(X)) == len(X)
        except Exception as exc:
            _FUZZ_FAILS.append((mutations, repr(exc)[:200]))

    check()
    total = sum(_FUZZ_OUTCOMES.values())
    print(f"fuzz: {total} files, {_FUZZ_OUTCOMES}")
    assert not _FUZZ_FAILS, _FUZZ_FAILS[:5]
    assert total >= 400 and _FUZZ_OUTCOMES["refused"] and _FUZZ_OUTCOMES["loaded"]
    assert _peak_rss_mb() - before < 300  # nothing large was ever allocated


def sizes_of(st):
    """Shapes a fuzzed tensor takes: small, or asking for more than the file."""
    return st.one_of(
        st.none(),
        st.lists(st.integers(0, 7), max_size=3).map(tuple),
    )
