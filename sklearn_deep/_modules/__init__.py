"""Plain torch networks, one file per family. No scikit-learn here."""

from sklearn_deep._modules._conv import ConvNet
from sklearn_deep._modules._mlp import ACTIVATIONS, MLP, LinearModel

__all__ = ["ACTIVATIONS", "ConvNet", "LinearModel", "MLP"]
