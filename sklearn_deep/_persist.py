"""Saving fitted estimators in a format that runs no code when loaded.

``save`` writes one safetensors file: the network's weights (and every other
array of the fitted state) as raw tensors, and in the file's metadata one JSON
document with the estimator's class name, parameters and fitted state (label
encoding, ``n_features_in_``, history). There is no pickle anywhere in it.

``load`` reads the JSON, looks the class name up among the public estimators
(it never imports a class path from the file), rebuilds the network through
the estimator's own ``_build_module`` and loads the weights into it.

JSON values are written as they are (None, bool, int, finite float, str,
list); every other value is a one-key object saying how to rebuild it, for
example ``{"__tuple__": [...]}`` or ``{"__array__": "array.0", "dtype": "<i8"}``
(a tensor of the file).
"""

import json
import os
import tempfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from sklearn_deep.utils._warnings import warn

FORMAT_VERSION = 1
_METADATA_KEY = "sklearn_deep"
_MODULE_PREFIX = "module."
_ARRAY_PREFIX = "array."
# never written to the file: rebuilt on load
_NOT_SAVED = ("module_", "_optimizer", "_sklearn_version")
# numpy dtypes that older torch builds cannot hold: stored as a same-size view
_VIEW_AS = {
    "u2": np.int16,
    "u4": np.int32,
    "u8": np.int64,
    "m": np.int64,
    "M": np.int64,
}


def _public_estimators():
    from sklearn_deep.utils import all_estimators

    return dict(all_estimators())


class _Unsaveable(TypeError):
    """A value the format cannot hold; ``save`` adds which attribute it was."""


class _Encoder:
    """Turns Python values into JSON, putting arrays and tensors aside."""

    def __init__(self):
        self.tensors = {}

    def _store(self, tensor):
        key = f"{_ARRAY_PREFIX}{len(self.tensors)}"
        self.tensors[key] = tensor.detach().to("cpu", copy=True).contiguous()
        return key

    def encode(self, value):
        if isinstance(value, np.generic):  # before str and float: np.str_ is one
            if value.dtype.kind not in "biufUS":
                raise _Unsaveable(f"a numpy scalar of dtype {value.dtype}")
            return {"__scalar__": self.encode(value.item()), "dtype": value.dtype.str}
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value) if np.isfinite(value) else {"__float__": str(value)}
        if isinstance(value, bytes):
            return {"__bytes__": value.hex()}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            pairs = [[self.encode(k), self.encode(v)] for k, v in value.items()]
            return {"__dict__": pairs}
        if isinstance(value, np.ndarray):
            return self._encode_array(value)
        if isinstance(value, torch.Tensor):
            return {"__tensor__": self._store(value)}
        if isinstance(value, torch.device):
            return {"__device__": str(value)}
        if isinstance(value, np.random.RandomState):
            return {"__random_state__": self.encode(list(value.get_state()))}
        raise _Unsaveable(f"a value of type {type(value).__qualname__}")

    def _encode_array(self, array):
        kind, dtype = array.dtype.kind, array.dtype.str
        if kind in "biufmM":
            view = _VIEW_AS.get(array.dtype.str[1:], _VIEW_AS.get(kind))
            data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
            if view is not None:
                data = data.view(view)
            return {"__array__": self._store(torch.from_numpy(data)), "dtype": dtype}
        if kind in "USO":
            items = [self.encode(v) for v in array.ravel(order="C").tolist()]
            return {"__ndarray__": items, "dtype": dtype, "shape": list(array.shape)}
        raise _Unsaveable(f"an array of dtype {array.dtype}")


class _Decoder:
    """The inverse of ``_Encoder``, reading tensors from the loaded file."""

    def __init__(self, tensors, path):
        self.tensors = tensors
        self.path = path

    def _corrupt(self, what):
        return ValueError(
            f"{self.path!r} is damaged or was not written by sklearn_deep.save: "
            f"{what}. Save the estimator again."
        )

    def _tensor(self, key):
        if key not in self.tensors:
            raise self._corrupt(f"the tensor {key!r} is missing")
        return self.tensors[key]

    def decode(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or not value:
            raise self._corrupt(f"unexpected value {value!r}")
        tag = next(iter(value))
        body = value[tag]
        if tag == "__float__":
            return float(body)
        if tag == "__bytes__":
            return bytes.fromhex(body)
        if tag == "__scalar__":
            return np.dtype(value["dtype"]).type(self.decode(body))
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in body)
        if tag == "__dict__":
            return {self.decode(k): self.decode(v) for k, v in body}
        if tag == "__tensor__":
            return self._tensor(body)
        if tag == "__device__":
            return torch.device(body)
        if tag == "__random_state__":
            state = np.random.RandomState()
            state.set_state(tuple(self.decode(body)))
            return state
        if tag == "__array__":
            data = self._tensor(body).numpy()
            dtype = np.dtype(value["dtype"])
            if data.dtype.itemsize == dtype.itemsize and data.dtype != dtype:
                data = data.view(dtype.newbyteorder("="))
            return data.astype(dtype, copy=True)
        if tag == "__ndarray__":
            items = [self.decode(v) for v in body]
            array = np.empty(len(items), dtype=np.dtype(value["dtype"]))
            for i, item in enumerate(items):
                array[i] = item
            return array.reshape(value["shape"])
        raise self._corrupt(f"unknown value tag {tag!r}")


def _encode_params(est, encoder):
    """The constructor parameters as JSON, dropping what cannot be saved."""
    name = type(est).__name__
    params = {}
    for key, value in est.get_params(deep=False).items():
        if key == "callbacks" and value:
            warn(
                f"{name}.callbacks holds Python objects that a safe file cannot "
                f"hold; it is saved as callbacks=None. Set the callbacks again "
                f"after load (set_params(callbacks=[...])) before refitting.",
                UserWarning,
            )
            value = None
        elif key == "random_state" and isinstance(value, np.random.RandomState):
            warn(
                f"{name}.random_state is a RandomState instance, which is saved "
                f"as random_state=None: a refit of the loaded estimator is not "
                f"reproducible. Pass an int random_state to keep it.",
                UserWarning,
            )
            value = None
        try:
            params[key] = encoder.encode(value)
        except _Unsaveable as exc:
            raise TypeError(
                f"Cannot save {name}: parameter {key}={value!r} is {exc}, which "
                f"the safe format cannot hold (it stores JSON values and "
                f"arrays). Set it to a plain value with set_params({key}=...), "
                f"or use pickle/joblib, which run code on load."
            ) from None
    return params


def save(estimator, path):
    """Save a fitted estimator to a file that runs no code when loaded.

    The file is a `safetensors <https://huggingface.co/docs/safetensors>`_
    file: the network's weights as tensors, and a JSON document (in the
    file's metadata) with the class name, the parameters and the fitted
    state, label encoding included. Unlike pickle, loading it cannot execute
    code, so a file from an untrusted source is safe to open.

    Parameters
    ----------
    estimator : estimator instance
        A fitted public estimator of sklearn_deep (not a pipeline: save its
        steps, or pickle the pipeline).
    path : str or path-like
        Where to write; an existing file is replaced.

    Warns
    -----
    UserWarning
        When ``callbacks`` or a ``RandomState`` ``random_state`` cannot be
        saved; they are saved as None.

    Raises
    ------
    TypeError
        If ``estimator`` is not a public sklearn_deep estimator, or one of its
        parameters is not a JSON value, an array or a torch device.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    See Also
    --------
    load : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> import sklearn_deep
    >>> from sklearn.preprocessing import scale
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = sklearn_deep.LogisticRegression(device="cpu").fit(scale(X), y)
    >>> path = os.path.join(tempfile.mkdtemp(), "iris.safetensors")
    >>> sklearn_deep.save(clf, path)
    >>> same = sklearn_deep.load(path)
    >>> bool((same.predict(scale(X)) == clf.predict(scale(X))).all())
    True
    """
    from safetensors.torch import save_file

    from sklearn_deep import __version__

    name = type(estimator).__name__
    estimators = _public_estimators()
    if estimators.get(name) is not type(estimator):
        raise TypeError(
            f"save takes a fitted sklearn_deep estimator (one of "
            f"{sorted(estimators)}), got {type(estimator).__qualname__}. Save "
            f"the sklearn_deep steps of a pipeline one by one, or pickle it."
        )
    check_is_fitted(estimator, "module_")

    encoder = _Encoder()
    params = _encode_params(estimator, encoder)
    state = estimator.__getstate__()  # a copy, with the network on the CPU
    fitted = {}
    for key, value in state.items():
        if key in params or key in _NOT_SAVED:
            continue
        try:
            fitted[key] = encoder.encode(value)
        except _Unsaveable as exc:
            raise TypeError(
                f"Cannot save {name}: its fitted attribute {key!r} is {exc}, "
                f"which the safe format cannot hold. Please report this as a "
                f"bug of sklearn_deep; pickle/joblib can save it meanwhile."
            ) from None
    tensors = dict(encoder.tensors)
    for key, tensor in state["module_"].state_dict().items():
        tensors[_MODULE_PREFIX + key] = tensor.detach().to("cpu", copy=True)
    document = {
        "format_version": FORMAT_VERSION,
        "sklearn_deep_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "class": name,
        "params": params,
        "fitted": fitted,
    }
    metadata = {_METADATA_KEY: json.dumps(document, allow_nan=False)}

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sklearn_deep-", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)  # never leave a half-written file at path
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _read(path):
    """The JSON document and the tensors of a file written by ``save``."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {key: file.get_tensor(key) for key in file.keys()}
    except SafetensorError as exc:
        raise ValueError(
            f"{path!r} is not a safetensors file ({exc}); sklearn_deep.load "
            f"reads files written by sklearn_deep.save."
        ) from exc
    if _METADATA_KEY not in metadata:
        raise ValueError(
            f"{path!r} is a safetensors file but holds no sklearn_deep "
            f"estimator (its metadata has no {_METADATA_KEY!r} entry); "
            f"sklearn_deep.load reads files written by sklearn_deep.save."
        )
    try:
        document = json.loads(metadata[_METADATA_KEY])
    except ValueError as exc:
        raise ValueError(
            f"{path!r} has a damaged sklearn_deep description ({exc}); save "
            f"the estimator again."
        ) from exc
    if not isinstance(document, dict):
        raise ValueError(f"{path!r} has a damaged sklearn_deep description.")
    return document, tensors


def _check_version(document, path):
    from sklearn_deep import __version__

    version = document.get("format_version")
    if version == FORMAT_VERSION:
        return
    written_by = document.get("sklearn_deep_version", "an unknown version")
    advice = (
        "upgrade sklearn_deep"
        if isinstance(version, int) and version > FORMAT_VERSION
        else "load it with the sklearn_deep version that wrote it and save again"
    )
    raise ValueError(
        f"{path!r} was written by sklearn_deep {written_by} in file format "
        f"version {version!r}, but sklearn_deep {__version__} reads format "
        f"version {FORMAT_VERSION} only. To read it, {advice}; or refit the "
        f"model."
    )


def load(path):
    """Load an estimator saved by :func:`save`, running no code from the file.

    The class is looked up by name among the public estimators of
    sklearn_deep (never imported from a path in the file), its network is
    rebuilt by the estimator itself from the saved parameters and fitted
    state, and the saved weights are loaded into it. The estimator comes back
    on the CPU; a later ``fit`` moves it to its ``device``.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    estimator : estimator instance
        The fitted estimator: the same parameters, fitted attributes, label
        encoding and predictions as the one saved.

    Raises
    ------
    ValueError
        If the file is not one written by :func:`save`, was written in another
        format version, names a class that is not a public estimator, or its
        weights do not fit the network.

    See Also
    --------
    save : Write the file.
    """
    path = os.fspath(path)
    document, tensors = _read(path)
    _check_version(document, path)

    estimators = _public_estimators()
    name = document.get("class")
    if not isinstance(name, str) or name not in estimators:
        raise ValueError(
            f"{path!r} describes an estimator of class {name!r}, which is not "
            f"a public sklearn_deep estimator; load reads only "
            f"{sorted(estimators)}."
        )
    cls = estimators[name]
    decoder = _Decoder(tensors, path)
    params, fitted = document.get("params"), document.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise decoder._corrupt("the parameters or fitted state are not maps")
    params = {key: decoder.decode(value) for key, value in params.items()}
    fitted = {key: decoder.decode(value) for key, value in fitted.items()}
    unknown = sorted(set(params) - set(cls().get_params(deep=False)))
    if unknown:
        raise ValueError(
            f"{path!r} holds {name} parameters {unknown} that this version of "
            f"{name} does not take; it was saved by sklearn_deep "
            f"{document.get('sklearn_deep_version')}. Load it with that version."
        )
    estimator = cls(**params)
    estimator.__dict__.update(fitted)
    estimator._device = torch.device("cpu")
    estimator._optimizer = None

    n_inputs = fitted.get("_module_inputs", fitted.get("n_features_in_"))
    with torch.random.fork_rng(devices=[]):  # building draws random weights
        module = estimator._build_module(n_inputs, estimator.n_outputs_)
    weights = {
        key[len(_MODULE_PREFIX) :]: tensor
        for key, tensor in tensors.items()
        if key.startswith(_MODULE_PREFIX)
    }
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"The weights in {path!r} do not fit the network that {name} "
            f"builds from the saved parameters: {exc}"
        ) from exc
    estimator.module_ = module.eval()
    return estimator


__all__ = ["FORMAT_VERSION", "load", "save"]
