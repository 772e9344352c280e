"""Convolutional networks over images ``(N, C, H, W)`` and signals ``(N, C, L)``."""

import math

from torch import nn

from sklearn_deep._modules._mlp import ACTIVATIONS, MLP

# layers per number of spatial dimensions: 1 for signals, 2 for images
_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {
    "max": {1: nn.MaxPool1d, 2: nn.MaxPool2d},
    "avg": {1: nn.AvgPool1d, 2: nn.AvgPool2d},
}

# torch.nn.init gain names of the activations that are not ReLU-like
_INIT_GAINS = {"tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}


class ConvNet(nn.Module):
    """Convolution blocks, then a dense head (an ``MLP``) on the flat features.

    Each block is a convolution padded by ``kernel_size // 2`` (which keeps
    the size for odd kernels), optional batch normalisation, the activation,
    and an optional pooling of size 2 along each spatial axis still longer
    than 1 (so any input size works).

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample: ``(C, H, W)`` for images (2-D convolutions) or
        ``(C, L)`` for signals (1-D convolutions).
    conv_channels : sequence of int
        Output channels of each convolution block; empty for none.
    hidden_sizes : sequence of int
        Width of each hidden layer of the dense head.
    n_outputs : int
        Width of the output (logits).
    kernel_size : int, default=3
        Side of the convolution kernels.
    pooling : {'max', 'avg'} or None, default='max'
        Pooling after each block, or None for none.
    batch_norm : bool, default=True
        Whether each convolution is followed by batch normalisation.
    activation : str, default='relu'
        A key of ``ACTIVATIONS``, for the blocks and the head.
    dropout : float, default=0.0
        Dropout probability after each hidden layer of the head.
    """

    def __init__(
        self,
        input_shape,
        conv_channels,
        hidden_sizes,
        n_outputs,
        kernel_size=3,
        pooling="max",
        batch_norm=True,
        activation="relu",
        dropout=0.0,
    ):
        super().__init__()
        channels, *size = input_shape
        ndim = len(size)
        if ndim not in _CONV:
            raise ValueError(
                f"input_shape must be (C, L) or (C, H, W), got {tuple(input_shape)}."
            )
        self.activation = activation
        blocks = []
        for width in conv_channels:
            # padding k // 2 keeps the size for odd k and adds 1 for even k
            layers = [
                _CONV[ndim](
                    channels,
                    width,
                    kernel_size,
                    padding=kernel_size // 2,
                    bias=not batch_norm,
                )
            ]
            size = [s + 2 * (kernel_size // 2) - kernel_size + 1 for s in size]
            if batch_norm:
                layers.append(_BATCH_NORM[ndim](width))
            layers.append(ACTIVATIONS[activation]())
            if pooling is not None and max(size) > 1:
                window = tuple(2 if s > 1 else 1 for s in size)
                layers.append(_POOL[pooling][ndim](window))
                size = [s // w for s, w in zip(size, window)]
            blocks.append(nn.Sequential(*layers))
            channels = width
        self.encoder = nn.Sequential(*blocks)
        self.flatten = nn.Flatten()
        self.head = MLP(
            channels * math.prod(size),
            hidden_sizes,
            n_outputs,
            activation=activation,
            dropout=dropout,
        )
        self._init_weights()

    def _init_weights(self):
        # He initialisation for the convolutions, with the activation's gain
        # (ReLU's for the ReLU-like ones); the head initialises itself
        gain = _INIT_GAINS.get(self.activation, "relu")
        for layer in self.encoder.modules():
            if isinstance(layer, nn.Conv1d | nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity=gain)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)

    def forward(self, x):
        # (N, C, H, W) -> (N, C', H', W') -> (N, C' * H' * W') -> (N, n_outputs)
        return self.head(self.flatten(self.encoder(x)))
