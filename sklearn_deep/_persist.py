"""Saving fitted estimators in a format that runs no code when loaded.

``save`` writes one safetensors file: the network's weights (and every other
array of the fitted state) as raw tensors, and in the file's metadata one JSON
document with the estimator's class name, parameters and fitted state (label
encoding, ``n_features_in_``, history). There is no pickle anywhere in it.

``load`` reads the JSON, looks the class name up among the public estimators
(it never imports a class path from the file), rebuilds the network through
the estimator's own ``_build_module`` and loads the weights into it. Every
size is checked before anything is allocated: the network is first built on
the meta device, under a budget of the stored tensors' count and size, and
its shapes are compared with the stored ones (read from the header, without
reading the data). Fitted attributes are accepted only under the names a
fitted attribute can have (``name_`` or ``_name``) that are not an attribute
of the class (a method, a property) or a parameter.

JSON values are written as they are (None, bool, int, finite float, str,
list); every other value is a one-key object saying how to rebuild it, for
example ``{"__tuple__": [...]}`` or ``{"__array__": "array.0", "dtype": "<i8"}``
(a tensor of the file).
"""

import contextlib
import json
import math
import os
import re
import tempfile
import threading
from numbers import Integral

import numpy as np
import torch
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.validation import check_is_fitted

from sklearn_deep._modules import seeded_global_rng
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


# a plain numpy dtype string: '<f4', '|b1', '<U12', '<M8[ns]', '|O'
_DTYPE = re.compile(r"[<>|=]?[biufcmMUSO][0-9]{0,4}(\[[a-zA-Z]{1,2}\])?")
# what a fitted attribute may be called: scikit-learn's ``name_`` or private
# ``_name``; never a dunder
_FITTED_NAME = re.compile(r"[a-z][a-z0-9_]*_|_[a-z][a-z0-9_]*")
# how deeply the JSON description may nest lists and objects. ``save`` writes
# at most 12 levels (an optimizer's state: maps of maps of arrays, each map a
# tagged list of pairs); decoding recurses in Python, about two frames a level,
# so 500 levels of a forged file ran out of stack inside ``load``
_MAX_DEPTH = 64


class LoadError(ValueError):
    """A file that :func:`load` refuses: not one of ours, damaged or hostile."""


def _public_estimators():
    from sklearn_deep.utils import all_estimators

    return dict(all_estimators())


# ----------------------------------------------------------------------
# Rebuilding a network from stored weights, checking sizes first. Shared by
# ``load`` (untrusted files) and ``__setstate__`` (pickle, skops).


def module_arrays(module):
    """The network's parameters and buffers as numpy arrays, copied to the CPU."""
    return {
        key: tensor.detach().to("cpu", copy=True).numpy()
        for key, tensor in module.state_dict().items()
    }


class _TooLarge(Exception):
    """The network being built holds more than the stored weights."""


@contextlib.contextmanager
def _registration_budget(n_tensors, n_values):
    """Refuse, in this thread, a network with more tensors or values than that.

    Parameters and buffers are counted as they are registered (on the meta
    device, so nothing is allocated), which stops a header asking for a
    million layers before Python builds them all.
    """
    owner = threading.get_ident()
    seen = [0, 0]

    def hook(module, name, tensor):
        if tensor is None or threading.get_ident() != owner:
            return
        seen[0] += 1
        seen[1] += tensor.numel()
        if seen[0] > n_tensors or seen[1] > n_values:
            raise _TooLarge(
                f"the network it describes needs more than the {n_tensors} "
                f"tensors and {n_values} values stored"
            )

    register = torch.nn.modules.module
    handles = [
        register.register_module_parameter_registration_hook(hook),
        register.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def check_module_shapes(est, shapes, source):
    """Refuse stored weights of other shapes than ``est``'s network, allocating
    nothing.

    The network is built on the meta device (no memory) under a budget of the
    stored tensors' count and values, and its parameter and buffer shapes are
    compared with ``shapes`` (a dict of str to tuple of int).
    """
    name = type(est).__name__
    n_values = sum(math.prod(shape) for shape in shapes.values())
    n_inputs = getattr(est, "_module_inputs", getattr(est, "n_features_in_", None))
    try:
        with _registration_budget(len(shapes), n_values), torch.device("meta"):
            skeleton = est._build_module(n_inputs, est.n_outputs_)
    except _TooLarge as exc:
        raise LoadError(
            f"The weights in {source} do not fit the network that {name} "
            f"builds from the saved parameters: {exc}. Nothing was allocated."
        ) from None
    expected = {key: tuple(t.shape) for key, t in skeleton.state_dict().items()}
    if expected != shapes:
        missing = sorted(set(expected) - set(shapes))
        extra = sorted(set(shapes) - set(expected))
        wrong = {
            key: (shapes[key], expected[key])
            for key in sorted(set(shapes) & set(expected))
            if shapes[key] != expected[key]
        }
        raise LoadError(
            f"The weights in {source} do not fit the network that {name} "
            f"builds from the saved parameters (missing {missing[:5]}, "
            f"unexpected {extra[:5]}, (stored, expected) shapes "
            f"{dict(list(wrong.items())[:5])}); nothing was allocated. Refit "
            f"and save the model again."
        )


def rebuild_module(est, weights, source):
    """``est``'s network with ``weights`` loaded, sizes checked before allocating.

    ``check_module_shapes`` first; only when the shapes match is the network
    built for real (under ``seeded_global_rng``: building draws random weights)
    and loaded.

    Parameters
    ----------
    est : estimator instance
        Its parameters and fitted state (``_module_inputs`` or
        ``n_features_in_``, ``n_outputs_``) say which network to build.
    weights : dict of str to ndarray or torch.Tensor
        The stored state dict.
    source : str
        What the weights come from, for the error messages.

    Returns
    -------
    module : torch.nn.Module
        The network on the CPU, in eval mode.
    """
    # a pickle or skops file may hold set_params changes made after the fit:
    # the network is the one the fit built
    check_fitted_state(est, source, params=False)
    est = as_built(est)
    check_module_shapes(est, {k: tuple(v.shape) for k, v in weights.items()}, source)
    n_inputs = getattr(est, "_module_inputs", getattr(est, "n_features_in_", None))
    # building draws random weights: from the global generators, one thread at
    # a time, so that a load never seeds the layers of a fit in another thread
    with seeded_global_rng(0, torch.device("cpu")):
        module = est._build_module(n_inputs, est.n_outputs_)
    tensors = {
        key: value if isinstance(value, torch.Tensor) else torch.from_numpy(value)
        for key, value in weights.items()
    }
    try:
        module.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:  # a dtype that cannot be copied
        raise LoadError(
            f"The weights in {source} do not fit the network that "
            f"{type(est).__name__} builds from the saved parameters: {exc}"
        ) from exc
    return module.eval()


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
            data = data.reshape(array.shape)  # ascontiguousarray makes 0-d 1-d
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
        return LoadError(
            f"{self.path!r} is damaged or was not written by sklearn_deep.save: "
            f"{what}. Save the estimator again."
        )

    def _tensor(self, key):
        if key not in self.tensors:
            raise self._corrupt(f"the tensor {key!r} is missing")
        return self.tensors[key]

    def _dtype(self, value, kinds):
        """The value's numpy dtype, if of one of ``kinds`` and at most 1 KiB."""
        text = value.get("dtype")
        if not isinstance(text, str) or not _DTYPE.fullmatch(text):
            raise self._corrupt(f"unexpected dtype {text!r}")
        dtype = np.dtype(text)
        if dtype.kind not in kinds or dtype.itemsize > 1024:
            raise self._corrupt(f"unexpected dtype {text!r}")
        return dtype

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
            return self._dtype(value, "biufUS").type(self.decode(body))
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
            dtype = self._dtype(value, "biufmM")
            if data.dtype.itemsize == dtype.itemsize and data.dtype != dtype:
                data = data.view(dtype.newbyteorder("="))
            return data.astype(dtype, copy=True)
        if tag == "__ndarray__":
            items = [self.decode(v) for v in body]
            array = np.empty(len(items), dtype=self._dtype(value, "USO"))
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


def skops_trusted_types():
    """The types to trust when loading a skops file holding our estimators.

    :func:`skops.io.load` refuses, unless told to trust them, the types it does
    not know; those of sklearn_deep are the public estimators and the
    callbacks of :mod:`sklearn_deep.callbacks`. Their state holds only numpy
    arrays and plain values (the network as its state dict), and loading one
    rebuilds the network through the estimator's own code, with the sizes
    checked against the stored weights first. Pass this list as ``trusted``,
    with any other types your pipeline needs, rather than ``trusted=True``.

    Returns
    -------
    types : list of str
        Full type names, such as ``'sklearn_deep.neural_network.MLPClassifier'``,
        sorted.

    See Also
    --------
    save : The safe format of one estimator, without skops.

    Examples
    --------
    >>> import io, skops.io
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import sklearn_deep
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(
    ...     StandardScaler(), sklearn_deep.LogisticRegression(device="cpu")
    ... ).fit(X, y)
    >>> data = skops.io.dumps(pipe)
    >>> unknown = skops.io.get_untrusted_types(data=data)
    >>> set(unknown) <= set(sklearn_deep.skops_trusted_types())
    True
    >>> same = skops.io.loads(data, trusted=sklearn_deep.skops_trusted_types())
    >>> bool((same.predict(X) == pipe.predict(X)).all())
    True
    """
    from sklearn_deep import callbacks

    types = [cls for _, cls in _public_estimators().items()]
    for name in dir(callbacks):
        obj = getattr(callbacks, name)
        if isinstance(obj, type) and issubclass(obj, callbacks.Callback):
            types.append(obj)
    return sorted({f"{t.__module__}.{t.__qualname__}" for t in types})


def shadowing(cls, keys):
    """The keys of a state that would hide a method or property of ``cls``."""
    return [
        key
        for key in keys
        if not isinstance(key, str)
        or key.startswith("__")
        or callable(getattr(cls, key, None))
        or isinstance(getattr(cls, key, None), property)
    ]


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
        A fitted public estimator of sklearn_deep. For a pipeline, use
        :func:`skops.io.dump` (see :func:`skops_trusted_types`).
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
    ValueError
        If a parameter that shapes the network was changed with
        ``set_params`` since the fit: the file would not describe its network.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    See Also
    --------
    load : Read the file back.
    skops_trusted_types : The types to trust when loading a skops file.

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
            f"a pipeline or search with skops.io.dump, and load it with "
            f"skops.io.load(path, trusted=sklearn_deep.skops_trusted_types() "
            f"+ [...]); or save its sklearn_deep steps one by one."
        )
    check_is_fitted(estimator, "module_")
    changed = changed_network_params(estimator)
    if changed:
        was = ", ".join(f"{key}={built!r}" for key, (built, _) in changed.items())
        now = ", ".join(f"{key}={value!r}" for key, (_, value) in changed.items())
        raise ValueError(
            f"Cannot save {name}: its network was built with {was}, but its "
            f"parameters now say {now} (set_params after fit), and load "
            f"refuses a file whose parameters disagree with its network. Set "
            f"them back with set_params({was}), or refit, before saving."
        )

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
    for key, array in state["module_"].items():
        tensors[_MODULE_PREFIX + key] = torch.from_numpy(array)
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
    """The JSON document of a file written by ``save``, and its tensors' shapes."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            shapes = {key: file.get_slice(key).get_shape() for key in file.keys()}
    except SafetensorError as exc:
        raise LoadError(
            f"{path!r} is not a safetensors file ({exc}); sklearn_deep.load "
            f"reads files written by sklearn_deep.save."
        ) from exc
    if _METADATA_KEY not in metadata:
        raise LoadError(
            f"{path!r} is a safetensors file but holds no sklearn_deep "
            f"estimator (its metadata has no {_METADATA_KEY!r} entry); "
            f"sklearn_deep.load reads files written by sklearn_deep.save."
        )
    try:
        document = json.loads(metadata[_METADATA_KEY])
    except (ValueError, RecursionError) as exc:
        raise LoadError(
            f"{path!r} has a damaged sklearn_deep description ({exc}); save "
            f"the estimator again."
        ) from exc
    if not isinstance(document, dict):
        raise LoadError(f"{path!r} has a damaged sklearn_deep description.")
    depth = _nesting_depth(document, _MAX_DEPTH)
    if depth > _MAX_DEPTH:
        raise LoadError(
            f"{path!r} has a damaged or forged sklearn_deep description: it nests "
            f"lists or objects more than {_MAX_DEPTH} levels deep, where save "
            f"writes at most {_MAX_DEPTH}. Save the estimator again."
        )
    return document, shapes


def _nesting_depth(value, limit):
    """How deeply ``value`` nests lists and dicts, counted without recursion
    and only up to ``limit + 1`` (a forged file may nest thousands deep)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if not isinstance(value, list | dict):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items)
    return deepest


class _LazyTensors:
    """The tensors of a file, each read when first asked for."""

    def __init__(self, path, keys):
        self.path, self.keys, self.read = path, set(keys), {}

    def __contains__(self, key):
        return isinstance(key, str) and key in self.keys

    def __getitem__(self, key):
        if key not in self.read:
            from safetensors import safe_open

            with safe_open(self.path, framework="pt", device="cpu") as file:
                self.read[key] = file.get_tensor(key)
        return self.read[key]


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
    raise LoadError(
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
        format version, names a class that is not a public estimator, its
        parameters and fitted state disagree (a label count against the
        network's outputs, a code width, an input layout, the parameters the
        network was built with), or its weights do not fit the network.

    See Also
    --------
    save : Write the file.
    """
    path = os.fspath(path)
    document, shapes = _read(path)
    _check_version(document, path)

    estimators = _public_estimators()
    name = document.get("class")
    if not isinstance(name, str) or name not in estimators:
        raise LoadError(
            f"{path!r} describes an estimator of class {name!r}, which is not "
            f"a public sklearn_deep estimator; load reads only "
            f"{sorted(estimators)}."
        )
    cls = estimators[name]
    # tensors are read when decoded: the label encoding's now, the weights
    # once their shapes are checked
    tensors = _LazyTensors(path, shapes)
    decoder = _Decoder(tensors, path)
    params, fitted = document.get("params"), document.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise decoder._corrupt("the parameters or fitted state are not maps")
    unknown = sorted(set(params) - set(cls().get_params(deep=False)), key=str)
    if unknown:
        raise LoadError(
            f"{path!r} holds {name} parameters {unknown} that this version of "
            f"{name} does not take; it was saved by sklearn_deep "
            f"{document.get('sklearn_deep_version')}. Load it with that version."
        )
    _check_fitted_names(cls, params, fitted, path)
    module_keys = [key for key in shapes if key.startswith(_MODULE_PREFIX)]
    weights = {key[len(_MODULE_PREFIX) :]: tuple(shapes[key]) for key in module_keys}
    with _rebuilding(path, name):
        estimator = cls(**{key: decoder.decode(v) for key, v in params.items()})
        estimator._validate_params()
        estimator._check_params()
        # the network's size is checked against the stored shapes before
        # anything is read or allocated
        probe = cls.__new__(cls)
        probe.__dict__.update(estimator.__dict__)
        probe.__dict__.update(_decode_sizes(decoder, fitted))
        check_fitted_state(probe, repr(path))
        check_module_shapes(probe, weights, repr(path))

    with _rebuilding(path, name):
        state = {key: decoder.decode(value) for key, value in fitted.items()}
        state = {**estimator.__dict__, **state, "_device": "cpu"}
        state["module_"] = {k: tensors[_MODULE_PREFIX + k] for k in weights}
        loaded = cls.__new__(cls)
        loaded.__setstate__(state)
    loaded._optimizer = None
    return loaded


@contextlib.contextmanager
def _rebuilding(path, name):
    """Turn any error of rebuilding the estimator from a file into a LoadError."""
    try:
        yield
    except LoadError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise LoadError(
            f"{path!r} describes a {name} that cannot be rebuilt: {exc}. Save "
            f"the estimator again."
        ) from None
    except RecursionError:  # a caller already deep in its own stack
        raise LoadError(
            f"{path!r} describes a {name} too deeply nested to rebuild from "
            f"this call's stack depth; the file is damaged or forged, or load "
            f"it from a shallower call."
        ) from None


def _check_fitted_names(cls, params, fitted, path):
    """Refuse fitted keys that no fitted attribute of ``cls`` can have.

    A key must read as a fitted attribute (``name_``) or a private one
    (``_name``), and must not name anything of the class (a method such as
    ``predict``, a property such as ``coef_``) nor a parameter, nor what load
    rebuilds itself (``module_``).
    """
    bad = [
        key
        for key in fitted
        if not isinstance(key, str)
        or not _FITTED_NAME.fullmatch(key)
        or hasattr(cls, key)
        or key in params
        or key in _NOT_SAVED
    ]
    if bad:
        raise LoadError(
            f"{path!r} sets attributes {sorted(map(repr, bad))} that are not "
            f"fitted attributes of {cls.__name__} (a fitted attribute is "
            f"called name_ or _name, and never a method, property or "
            f"parameter of the class); the file is damaged or was forged."
        )


# the fitted attributes that say how large the network is
_SIZE_ATTRIBUTES = ("_module_inputs", "n_features_in_", "n_outputs_", "input_shape_")
# and every other one that predict, transform or a warm start reads to size
# or label what the network computes
# the table input kind's description of how X becomes the network's input
# (categorical columns, scaled columns, missing-value columns)
_TABLE_ATTRIBUTES = ("is_categorical_", "_categories", "_n_scaled", "_missing_columns")
_CHECKED_ATTRIBUTES = (
    *_SIZE_ATTRIBUTES,
    *_TABLE_ATTRIBUTES,
    *("_target_shift", "_target_scale"),
    *("classes_", "_target_kind", "_single_output", "feature_names_in_"),
    *("n_components_", "_n_features_out", "_sample_shape"),
    *("_layout", "_image_params", "_table_input", "_built_with", "_fitted_precision"),
)
_PRECISIONS = ("32", "bf16-mixed", "16-mixed")


def _decode_sizes(decoder, fitted):
    return {
        key: decoder.decode(fitted[key]) for key in _CHECKED_ATTRIBUTES if key in fitted
    }


def _positive_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool) and value > 0


def _shape(value, lengths=(1, 2, 3)):
    """Whether ``value`` is a tuple of positive ints of one of ``lengths``."""
    return (
        isinstance(value, tuple)
        and len(value) in lengths
        and all(map(_positive_int, value))
    )


def _comparable(value):
    from sklearn_deep._base import _comparable

    return _comparable(value)


def changed_network_params(est):
    """The network parameters whose values differ from those the fitted
    network was built with (``_built_with``), as ``{name: (built, now)}``."""
    built = getattr(est, "_built_with", None)
    if not isinstance(built, dict):  # fitted by an older version
        return {}
    return {
        name: (built[name], getattr(est, name))
        for name in type(est)._module_params
        if name in built and _comparable(getattr(est, name)) != built[name]
    }


def as_built(est):
    """``est``, or a shallow copy holding the network parameters its network
    was built with: what to rebuild it from, whatever ``set_params`` changed
    since the fit (a deep copy or pickle after ``set_params``)."""
    changed = changed_network_params(est)
    if not changed:
        return est
    probe = type(est).__new__(type(est))
    probe.__dict__.update(est.__dict__)
    probe.__dict__.update({name: built for name, (built, _) in changed.items()})
    probe._validate_params()  # values of a file: only valid ones are built
    return probe


def _label_problems(est):
    """What is wrong with a classifier's label encoding, as sentences."""
    classes = getattr(est, "classes_", None)
    kind = getattr(est, "_target_kind", None)
    n_outputs = getattr(est, "n_outputs_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1:
        return [f"classes_ is {type(classes).__name__}, not a 1-D array"]
    n_classes = classes.shape[0]
    problems = []
    expected = {"binary": 1, "multiclass": n_classes, "multilabel": n_classes}
    if kind not in expected:
        return [f"_target_kind={kind!r} is not 'binary', 'multiclass' or 'multilabel'"]
    if n_outputs != expected[kind]:
        problems.append(
            f"{kind} targets with {n_classes} classes need {expected[kind]} "
            f"network outputs, but n_outputs_={n_outputs!r}"
        )
    counts = {"binary": n_classes == 2, "multiclass": n_classes > 2}
    if not counts.get(kind, n_classes >= 2):
        problems.append(f"{kind} targets cannot have {n_classes} classes_")
    if kind == "multilabel" and not np.array_equal(classes, np.arange(n_classes)):
        problems.append("multilabel classes_ must be 0, 1, ..., n_labels - 1")
    try:  # predict and the encoding search classes_: sorted, each once
        ordered = n_classes < 2 or bool(np.all(classes[1:] > classes[:-1]))
    except TypeError:
        ordered = False
    if not ordered:
        problems.append("classes_ is not sorted with each label once")
    return problems


def _input_problems(est):
    """What is wrong with the fitted input layout of ``est``'s input kind."""
    kind = type(est)._input_kind.name
    inputs = getattr(est, "_module_inputs", getattr(est, "n_features_in_", None))
    n_features = getattr(est, "n_features_in_", None)
    problems = []
    if not _positive_int(n_features):
        return [f"n_features_in_={n_features!r} is not a positive int"]
    names = getattr(est, "feature_names_in_", None)
    if names is not None and (
        not isinstance(names, np.ndarray)
        or names.shape != (n_features,)
        or not all(isinstance(name, str) for name in names.tolist())
    ):
        problems.append(f"feature_names_in_ does not hold {n_features} names")
    if kind == "table" and inputs != type(est)._input_kind.fitted_width(est):
        # the width X becomes (the fast predict path reads it too)
        width = type(est)._input_kind.fitted_width(est)
        problems.append(
            f"a table of {n_features} features, read as {inputs!r} network inputs"
            + (
                "; its description of categorical and missing-value columns "
                "does not hold together"
                if width is None
                else f" where its description gives {width}"
            )
        )
    elif kind == "sequence":
        table = getattr(est, "_table_input", None)
        if not isinstance(table, bool) or not _positive_int(inputs):
            problems.append(f"sequence inputs of {inputs!r} features, {table=}")
        elif inputs != (1 if table else n_features):
            problems.append(
                f"sequences of {inputs} features per step but n_features_in_="
                f"{n_features} ({'rows' if table else 'sequences'} in fit)"
            )
    elif kind == "image":
        problems += _image_problems(est, inputs, n_features)
    return problems


def _image_problems(est, inputs, n_features):
    from sklearn_deep._data import channels_first

    layout = getattr(est, "_layout", None)
    params = getattr(est, "_image_params", None)
    shape = getattr(est, "input_shape_", None)
    if not (
        _shape(inputs, (2, 3))
        and isinstance(layout, tuple)
        and len(layout) == 2
        and _shape(layout[0], (2, 3))
        and isinstance(layout[1], bool)
        and isinstance(params, tuple)
        and len(params) == 2
    ):
        return [f"images of shape {inputs!r}, read as {layout!r} ({params!r})"]
    problems = []
    if channels_first(*layout) != inputs or shape != inputs:
        problems.append(
            f"samples read as {layout[0]} (channels moved: {layout[1]}) are not "
            f"the network's inputs {inputs!r} (input_shape_={shape!r})"
        )
    given, channels_last = params
    if given is not None and (
        _comparable(given) != layout[0] or bool(channels_last) != layout[1]
    ):
        problems.append(f"input_shape={given!r} in fit, but samples read as {layout}")
    if math.prod(inputs) % n_features:  # X's second axis, or all of a row
        problems.append(f"n_features_in_={n_features} does not divide {inputs}")
    sample = getattr(est, "_sample_shape", None)
    if hasattr(est, "_sample_shape") and not (
        _shape(sample, (1, 2, 3, 4)) and math.prod(sample) == math.prod(inputs)
    ):
        problems.append(f"samples of shape {sample!r} rebuilt from {inputs!r}")
    return problems


def _output_problems(est):
    """What is wrong with the outputs of a regressor or an autoencoder."""
    n_outputs = getattr(est, "n_outputs_", None)
    if not _positive_int(n_outputs):
        return [f"n_outputs_={n_outputs!r} is not a positive int"]
    if is_classifier(est):
        return _label_problems(est)
    if is_regressor(est):
        single = getattr(est, "_single_output", None)
        if not isinstance(single, bool) or (single and n_outputs != 1):
            return [f"_single_output={single!r} with n_outputs_={n_outputs}"]
        return _target_scaling_problems(est, n_outputs)
    if "n_components" in est.get_params(deep=False):  # a code's width
        widths = {
            "n_components": est.n_components,
            "n_components_": getattr(est, "n_components_", None),
            "_n_features_out": getattr(est, "_n_features_out", None),
        }
        if set(widths.values()) != {n_outputs}:
            return [f"a code of n_outputs_={n_outputs} columns, but {widths}"]
    return []


def _target_scaling_problems(est, n_outputs):
    """A regressor's target scaling: None, or a finite shift and a positive
    finite scale per target."""
    shift = getattr(est, "_target_shift", None)
    scale = getattr(est, "_target_scale", None)
    if shift is None and scale is None:
        return []
    fine = all(
        isinstance(a, np.ndarray)
        and a.shape == (n_outputs,)
        and a.dtype.kind == "f"
        and np.isfinite(a).all()
        for a in (shift, scale)
    )
    if not fine or not (scale > 0).all():
        return [f"target scaling {shift!r}, {scale!r} for {n_outputs} targets"]
    return []


def fitted_state_problems(est, *, params=True):
    """What in ``est``'s parameters and fitted state disagrees, as sentences.

    The sizes the network is built from, the label encoding against the
    network's outputs, the code width, the input layout and, with ``params``,
    the network parameters against those it was built with. A forged file
    that changes one of them alone would load a network that predicts more
    classes than it has outputs, or columns under names of another width.
    """
    problems = _input_problems(est) + _output_problems(est)
    precision = getattr(est, "_fitted_precision", "32")
    if precision not in _PRECISIONS:
        problems.append(f"_fitted_precision={precision!r}")
    if params:
        problems += [
            f"{name}={now!r}, but the network was built with {name}={built!r}"
            for name, (built, now) in changed_network_params(est).items()
        ]
    return problems


def check_fitted_state(est, source, *, params=True):
    """Refuse a fitted state whose parts disagree (``fitted_state_problems``)."""
    problems = fitted_state_problems(est, params=params)
    if problems:
        raise LoadError(
            f"{source} describes a {type(est).__name__} whose parameters and "
            f"fitted state disagree: {'; '.join(problems)}. The file is damaged "
            f"or was forged; save the estimator again."
        )


__all__ = ["FORMAT_VERSION", "LoadError", "load", "save"]
