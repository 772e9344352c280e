"""Plain torch networks, one file per family. No scikit-learn here."""

from sklearn_deep._modules._conv import ConvNet
from sklearn_deep._modules._mlp import ACTIVATIONS, MLP, LinearModel, Standardize
from sklearn_deep._modules._recurrent import CELLS, POOLINGS, RecurrentNetwork

__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "POOLINGS",
    "ConvNet",
    "LinearModel",
    "MLP",
    "RecurrentNetwork",
    "Standardize",
]
