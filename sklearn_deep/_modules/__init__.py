"""Plain torch networks, one file per family. No scikit-learn here."""

from sklearn_deep._modules._autoencoder import AutoEncoderNetwork
from sklearn_deep._modules._conv import ConvNet
from sklearn_deep._modules._mlp import ACTIVATIONS, MLP, LinearModel, Standardize
from sklearn_deep._modules._recurrent import CELLS, POOLINGS, RecurrentNetwork
from sklearn_deep._modules._transformer import (
    POSITIONAL_ENCODINGS,
    SUMMARIES,
    TransformerNetwork,
)

__all__ = [
    "ACTIVATIONS",
    "AutoEncoderNetwork",
    "CELLS",
    "POOLINGS",
    "POSITIONAL_ENCODINGS",
    "ConvNet",
    "LinearModel",
    "MLP",
    "RecurrentNetwork",
    "Standardize",
    "SUMMARIES",
    "TransformerNetwork",
]
