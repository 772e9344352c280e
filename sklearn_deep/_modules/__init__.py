"""Plain torch networks, one file per family. No scikit-learn here."""

from sklearn_deep._modules._autoencoder import AutoEncoderNetwork
from sklearn_deep._modules._conv import ConvNet
from sklearn_deep._modules._mlp import (
    ACTIVATIONS,
    MLP,
    LinearModel,
    PeriodicEmbedding,
    Standardize,
    TableScaler,
    TargetAffine,
)
from sklearn_deep._modules._random import (
    Dropout,
    current_generator,
    seeded_global_rng,
    use_generators,
)
from sklearn_deep._modules._recurrent import (
    CELLS,
    POOLINGS,
    RecurrentNetwork,
    StackedRecurrent,
)
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
    "Dropout",
    "LinearModel",
    "MLP",
    "RecurrentNetwork",
    "StackedRecurrent",
    "PeriodicEmbedding",
    "Standardize",
    "TableScaler",
    "TargetAffine",
    "current_generator",
    "seeded_global_rng",
    "use_generators",
    "SUMMARIES",
    "TransformerNetwork",
]
