"""Dense networks: the multilayer perceptron and the linear model."""

import math

import numpy as np
import torch
from torch import nn

from sklearn_deep._modules._random import Dropout
from sklearn_deep._modules._sparse import linear

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "identity": nn.Identity,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
}


def _logistic(h):
    from scipy.special import expit

    expit(h, out=h)


# in-place numpy versions of ACTIVATIONS, for the small-batch predict
NUMPY_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, 0, out=h),
    "tanh": lambda h: np.tanh(h, out=h),
    "logistic": _logistic,
    "identity": lambda h: None,
}


def numpy_copies(module, layers):
    """``[(W, b, activation), ...]``: numpy copies of a CPU network's layers.

    ``layers()`` gives ``(nn.Linear, activation name or None)`` pairs, input
    to output; ``W`` is the weight transposed, ``(fan_in, fan_out)``, copied
    in C order, ``b`` the bias (or None), and ``activation`` the in-place
    function of ``NUMPY_ACTIVATIONS`` (None for none). C order matters: with the
    transposed view of torch's weight, OpenBLAS picked kernels by the number
    of rows and rounded a row 1 float32 ulp differently alone and in a batch;
    with a C-ordered copy, every batch size gave the same outputs.

    The copies are kept on the module while its parameters are the same
    tensors at the same versions (in-place updates count) and no fit has run
    since (``forget_numpy_copies``: the fused Adam step updates weights
    without a version count).
    """
    specs = module.__dict__.get("_numpy_specs")
    if specs is None:  # walking the modules costs ~20 µs per call
        specs = module.__dict__["_numpy_specs"] = [
            (layer.weight, layer.bias, activation) for layer, activation in layers()
        ]
    key = tuple(
        (t.data_ptr(), t._version)
        for weight, bias, _ in specs
        for t in (weight, bias)
        if t is not None
    )
    cached = module.__dict__.get("_numpy_cache")
    if cached is None or cached[0] != key:
        copies = [
            (
                np.ascontiguousarray(weight.detach().numpy().T),
                None if bias is None else bias.detach().numpy().copy(),
                None if activation is None else NUMPY_ACTIVATIONS[activation],
            )
            for weight, bias, activation in specs
        ]
        cached = module.__dict__["_numpy_cache"] = (key, copies)
    return cached[1]


def forget_numpy_copies(module):
    """Drop the copies of ``numpy_copies`` (after a fit changed the weights)."""
    module.__dict__.pop("_numpy_cache", None)


class MLP(nn.Module):
    """Dense layers with an activation (and optional dropout) between them.

    Parameters
    ----------
    n_features_in : int
        Width of the input.
    hidden_sizes : sequence of int
        Width of each hidden layer; empty for a single linear layer.
    n_outputs : int
        Width of the output (logits).
    activation : str, default='relu'
        A key of ``ACTIVATIONS``.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    """

    def __init__(
        self, n_features_in, hidden_sizes, n_outputs, activation="relu", dropout=0.0
    ):
        super().__init__()
        self.activation = activation
        sizes = [n_features_in, *hidden_sizes]
        layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            layers.append(nn.Linear(fan_in, fan_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(Dropout(dropout))
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(sizes[-1], n_outputs)
        self._init_weights()

    def _init_weights(self):
        # Glorot uniform, as scikit-learn's MLP (gain 2 for logistic, else 6)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in self.linear_layers():
            bound = math.sqrt(factor / (layer.in_features + layer.out_features))
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)

    def linear_layers(self):
        """The ``nn.Linear`` layers, input to output."""
        return [m for m in self.modules() if isinstance(m, nn.Linear)]

    def numpy_layers(self):
        """The network in eval mode as numpy layers, or None.

        ``[(W, b, activation), ...]``, input to output (see ``numpy_copies``);
        None when the activation has no numpy twin.
        """
        if self.activation not in NUMPY_ACTIVATIONS:
            return None
        return numpy_copies(
            self,
            lambda: [
                (layer, None if layer is self.head else self.activation)
                for layer in self.linear_layers()
            ],
        )

    def forward(self, x):
        # (N, n_features_in) -> (N, n_outputs)
        if x.layout == torch.sparse_csr:  # sparse rows: the first layer's own
            layers = [*self.hidden, self.head]  # product and gradient
            x = linear(layers[0], x)
            for layer in layers[1:]:
                x = layer(x)
            return x
        return self.head(self.hidden(x))


class LinearModel(nn.Module):
    """One linear layer, initialised at zero (a convex model needs no symmetry
    breaking, and zero is where scikit-learn's solvers start).

    Parameters
    ----------
    n_features_in : int
        Width of the input.
    n_outputs : int
        Width of the output.
    bias : bool, default=True
        Whether to learn an intercept.
    """

    def __init__(self, n_features_in, n_outputs, bias=True):
        super().__init__()
        self.linear = nn.Linear(n_features_in, n_outputs, bias=bias)
        self._init_weights()

    def _init_weights(self):
        nn.init.zeros_(self.linear.weight)
        if self.linear.bias is not None:
            nn.init.zeros_(self.linear.bias)

    def forward(self, x):
        # (N, n_features_in) -> (N, n_outputs)
        return linear(self.linear, x)

    def numpy_layers(self):
        """The network in eval mode as numpy layers (see ``MLP.numpy_layers``)."""
        return numpy_copies(self, lambda: [(self.linear, None)])

    @torch.no_grad()
    def set_parameters(self, weight, bias=None):
        """Copy a solution found elsewhere (a closed form) into the layer."""
        self.linear.weight.copy_(weight)
        if bias is not None and self.linear.bias is not None:
            self.linear.bias.copy_(bias)


class Standardize(nn.Module):
    """``(x - mean) / scale`` per feature, with statistics set from data.

    The statistics are buffers (saved with the network), set once by
    ``fit_statistics`` from the training inputs before training starts, as a
    ``StandardScaler`` inside the network would be. Features are on axis
    ``feature_axis`` of ``x`` (the last one for tables and sequences, the
    channel axis 1 for images and signals); every other axis counts as
    samples. With ``lengths``, only the valid steps of zero-padded sequences
    ``(N, T, F)`` count, so padding never changes the statistics.

    Parameters
    ----------
    n_features : int
        Size of the feature axis of the input.
    feature_axis : int, default=-1
        The feature axis: -1 (last) or 1 (channels).
    """

    def __init__(self, n_features, feature_axis=-1):
        super().__init__()
        self.feature_axis = feature_axis
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def _rows(self, x):
        """``x`` as rows of features: (n_values, n_features)."""
        if self.feature_axis != -1:
            x = x.movedim(self.feature_axis, -1)
        return x.reshape(-1, x.shape[-1])

    @torch.no_grad()
    def fit_statistics(self, x, lengths=None, chunk_rows=4096):
        n_features = self.mean.shape[0]
        total = torch.zeros(n_features, dtype=torch.float64, device=x.device)
        total_sq, count = torch.zeros_like(total), 0
        for start in range(0, x.shape[0], chunk_rows):
            chunk = x[start : start + chunk_rows]
            if lengths is not None:
                steps = torch.arange(chunk.shape[1], device=x.device)
                valid = steps < lengths[start : start + chunk_rows, None].to(x.device)
                chunk = chunk[valid]  # (n_valid_steps, F)
            chunk = self._rows(chunk).double()
            total += chunk.sum(0)
            total_sq += (chunk * chunk).sum(0)
            count += chunk.shape[0]
        mean = total / max(count, 1)
        std = (total_sq / max(count, 1) - mean * mean).clamp_(min=0.0).sqrt()
        # constant features are left unscaled, as StandardScaler does
        self.mean.copy_(mean)
        self.scale.copy_(torch.where(std > 1e-6 * (1 + mean.abs()), std, 1.0))

    def forward(self, x):
        # (..., F) -> (..., F), or (N, C, *size) -> (N, C, *size)
        if self.feature_axis == -1:
            return (x - self.mean) / self.scale
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return (x - self.mean.view(shape)) / self.scale.view(shape)
