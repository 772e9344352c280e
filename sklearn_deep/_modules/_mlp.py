"""Dense networks: the multilayer perceptron and the linear model."""

import math

import torch
from torch import nn

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
                layers.append(nn.Dropout(dropout))
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

    def forward(self, x):
        # (N, n_features_in) -> (N, n_outputs)
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
        return self.linear(x)

    @torch.no_grad()
    def set_parameters(self, weight, bias=None):
        """Copy a solution found elsewhere (a closed form) into the layer."""
        self.linear.weight.copy_(weight)
        if bias is not None and self.linear.bias is not None:
            self.linear.bias.copy_(bias)
