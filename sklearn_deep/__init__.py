"""scikit-learn estimators with PyTorch networks inside."""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it. Imported on first use (PEP 562),
# so that ``import sklearn_deep`` costs nothing beyond what it imports itself:
# a worker process or a script that only unpickles an estimator pays for
# torch and scikit-learn when it uses them, not at import.
_EXPORTS = {
    "AutoEncoder": "sklearn_deep.decomposition",
    "CNNClassifier": "sklearn_deep.cnn",
    "CNNRegressor": "sklearn_deep.cnn",
    "LinearRegression": "sklearn_deep.linear_model",
    "LogisticRegression": "sklearn_deep.linear_model",
    "LSTMClassifier": "sklearn_deep.recurrent",
    "LSTMRegressor": "sklearn_deep.recurrent",
    "MLPClassifier": "sklearn_deep.neural_network",
    "MLPRegressor": "sklearn_deep.neural_network",
    "TransformerClassifier": "sklearn_deep.attention",
    "TransformerRegressor": "sklearn_deep.attention",
    "load": "sklearn_deep._persist",
    "save": "sklearn_deep._persist",
    "skops_trusted_types": "sklearn_deep._persist",
    "to_onnx": "sklearn_deep._onnx",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sklearn_deep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted({*globals(), *__all__})
