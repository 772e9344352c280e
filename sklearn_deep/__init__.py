"""scikit-learn estimators with PyTorch networks inside."""

from sklearn_deep._onnx import to_onnx
from sklearn_deep._persist import load, save, skops_trusted_types
from sklearn_deep.attention import TransformerClassifier, TransformerRegressor
from sklearn_deep.cnn import CNNClassifier, CNNRegressor
from sklearn_deep.decomposition import AutoEncoder
from sklearn_deep.linear_model import LinearRegression, LogisticRegression
from sklearn_deep.neural_network import MLPClassifier, MLPRegressor
from sklearn_deep.recurrent import LSTMClassifier, LSTMRegressor

__version__ = "0.1.0"

__all__ = [
    "AutoEncoder",
    "CNNClassifier",
    "CNNRegressor",
    "LinearRegression",
    "LogisticRegression",
    "LSTMClassifier",
    "LSTMRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "TransformerClassifier",
    "TransformerRegressor",
    "load",
    "save",
    "skops_trusted_types",
    "to_onnx",
    "__version__",
]
