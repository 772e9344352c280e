"""Convolutional networks over images ``(N, C, H, W)`` and signals ``(N, C, L)``."""

import math

import numpy as np
from torch import nn

from sklearn_deep._modules._mlp import ACTIVATIONS, MLP, Standardize

# layers per number of spatial dimensions: 1 for signals, 2 for images
_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_BATCH_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
_POOL = {
    "max": {1: nn.MaxPool1d, 2: nn.MaxPool2d},
    "avg": {1: nn.AvgPool1d, 2: nn.AvgPool2d},
}

# torch.nn.init gain names of the activations that are not ReLU-like
_INIT_GAINS = {"tanh": "tanh", "logistic": "sigmoid", "identity": "linear"}


def _same_padding(ndim, kernel_size):
    """Zero padding that keeps the length for any kernel (more on the right
    when the kernel is even, as Keras' ``padding='same'``)."""
    left, right = (kernel_size - 1) // 2, kernel_size // 2
    if ndim == 1:
        return nn.ConstantPad1d((left, right), 0.0)
    return nn.ConstantPad2d((left, right, left, right), 0.0)


class ConvBlock(nn.Module):
    """Convolution (size-keeping), optional batch norm, activation; with
    ``residual``, two of them and a shortcut (a 1x1 convolution when the
    number of channels changes), as in ResNet's basic block."""

    def __init__(
        self,
        ndim,
        in_channels,
        out_channels,
        kernel_size,
        *,
        batch_norm,
        activation,
        residual,
    ):
        super().__init__()
        n_convs = 2 if residual else 1
        layers, channels = [], in_channels
        for i in range(n_convs):
            layers.append(_same_padding(ndim, kernel_size))
            layers.append(
                _CONV[ndim](channels, out_channels, kernel_size, bias=not batch_norm)
            )
            if batch_norm:
                layers.append(_BATCH_NORM[ndim](out_channels))
            if i < n_convs - 1 or not residual:
                layers.append(ACTIVATIONS[activation]())
            channels = out_channels
        self.body = nn.Sequential(*layers)
        self.shortcut = None
        if residual:
            self.shortcut = nn.Identity()
            if in_channels != out_channels:
                projection = [_CONV[ndim](in_channels, out_channels, 1, bias=False)]
                if batch_norm:
                    projection.append(_BATCH_NORM[ndim](out_channels))
                self.shortcut = nn.Sequential(*projection)
            self.activation = ACTIVATIONS[activation]()

    def forward(self, x):
        # (N, C_in, *size) -> (N, C_out, *size)
        if self.shortcut is None:
            return self.body(x)
        return self.activation(self.body(x) + self.shortcut(x))


class ConvNet(nn.Module):
    """Convolution blocks, then a dense head (an ``MLP``).

    Each block is a convolution zero-padded to keep the size, optional batch
    normalisation and the activation (with ``residual``, two convolutions and a
    shortcut, see ``ConvBlock``), then an optional pooling of size 2 along
    each spatial axis still longer than 1 (so any input size works). The head
    reads the flattened feature maps, or their global average (or maximum)
    over the spatial axes with ``global_pooling``, as the fully convolutional
    network of Wang et al. (2017) does.

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
    kernel_size : int or sequence of int, default=3
        Side of the convolution kernels: one for all blocks, or one per block.
    pooling : {'max', 'avg'} or None, default='max'
        Pooling after each block, or None for none.
    global_pooling : {'avg', 'max'} or None, default=None
        Global pooling of the last feature maps before the head, or None to
        flatten them.
    residual : bool, default=False
        Whether each block is a residual block of two convolutions.
    batch_norm : bool, default=True
        Whether each convolution is followed by batch normalisation.
    activation : str, default='relu'
        A key of ``ACTIVATIONS``, for the blocks and the head.
    dropout : float, default=0.0
        Dropout probability after each hidden layer of the head.
    standardize : bool, default=False
        Whether each input channel is standardised first, with statistics set
        by ``fit_statistics`` from the training inputs.
    """

    def __init__(
        self,
        input_shape,
        conv_channels,
        hidden_sizes,
        n_outputs,
        kernel_size=3,
        pooling="max",
        global_pooling=None,
        residual=False,
        batch_norm=True,
        activation="relu",
        dropout=0.0,
        standardize=False,
    ):
        super().__init__()
        channels, *size = input_shape
        ndim = len(size)
        if ndim not in _CONV:
            raise ValueError(
                f"input_shape must be (C, L) or (C, H, W), got {tuple(input_shape)}."
            )
        kernels = list(kernel_size) if np.iterable(kernel_size) else [kernel_size]
        if len(kernels) == 1:
            kernels = kernels * len(conv_channels)
        if len(kernels) != len(conv_channels):
            raise ValueError(
                f"kernel_size has {len(kernels)} values for {len(conv_channels)} "
                f"blocks; give one kernel size, or one per block."
            )
        self.activation = activation
        self.scaler = Standardize(channels, feature_axis=1) if standardize else None
        blocks = []
        for width, kernel in zip(conv_channels, kernels):
            layers = [
                ConvBlock(
                    ndim,
                    channels,
                    width,
                    int(kernel),
                    batch_norm=batch_norm,
                    activation=activation,
                    residual=residual,
                )
            ]
            if pooling is not None and max(size) > 1:
                window = tuple(2 if s > 1 else 1 for s in size)
                layers.append(_POOL[pooling][ndim](window))
                size = [s // w for s, w in zip(size, window)]
            blocks.append(nn.Sequential(*layers))
            channels = width
        self.encoder = nn.Sequential(*blocks)
        if global_pooling is None:
            self.summary = nn.Flatten()
            n_summary = channels * math.prod(size)
        else:
            self.summary = _GlobalPool(global_pooling)
            n_summary = channels
        self.head = MLP(
            n_summary,
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

    def fit_statistics(self, x):
        """Set the input statistics from the training inputs (if standardised)."""
        if self.scaler is not None:
            self.scaler.fit_statistics(x)

    def forward(self, x):
        if self.scaler is not None:
            x = self.scaler(x)
        # (N, C, H, W) -> (N, C', H', W') -> (N, C' [* H' * W']) -> (N, n_outputs)
        return self.head(self.summary(self.encoder(x)))


class _GlobalPool(nn.Module):
    """Average or maximum over every spatial axis: (N, C, *size) -> (N, C)."""

    def __init__(self, how):
        super().__init__()
        self.how = how

    def forward(self, x):
        x = x.flatten(2)
        return x.mean(2) if self.how == "avg" else x.amax(2)
