"""Autoencoders: an encoder to a code of ``n_components``, a decoder back."""

import math

from torch import nn

from sklearn_deep._modules._conv import _CONV, _same_padding
from sklearn_deep._modules._mlp import ACTIVATIONS, MLP, Standardize
from sklearn_deep._modules._random import Dropout


class AutoEncoderNetwork(nn.Module):
    """A dense or convolutional autoencoder over tables, signals or images.

    Parameters
    ----------
    input_shape : int or tuple of int
        The shape of one sample: ``n_features`` for tables, ``(C, L)`` for
        signals or ``(C, H, W)`` for images.
    n_components : int
        Width of the code.
    hidden_sizes : sequence of int, default=(256,)
        Dense layers of the encoder, input to code; the decoder mirrors them.
    conv_channels : sequence of int, default=()
        Size-keeping convolution blocks of the encoder before the dense
        layers, for signals and images; the decoder mirrors them. Empty: a
        dense autoencoder over the flattened sample.
    kernel_size : int, default=3
        Side of the convolution kernels.
    activation : str, default='relu'
        Activation after every hidden layer (a key of ``ACTIVATIONS``); the
        code and the reconstruction are linear.
    dropout : float, default=0.0
        Probability of zeroing each (standardised) input value in training:
        the masking noise of a denoising autoencoder.
    standardize : bool, default=False
        Whether the network standardises each feature (or channel) of its
        input first and maps its reconstruction back to the input's scale,
        with statistics set by ``fit_statistics`` from the training inputs.

    Notes
    -----
    ``forward(x)`` is the reconstruction, of ``x``'s shape; ``encode(x)`` the
    code (N, n_components) and ``decode(z)`` a reconstruction from a code.
    """

    def __init__(
        self,
        input_shape,
        n_components,
        *,
        hidden_sizes=(256,),
        conv_channels=(),
        kernel_size=3,
        activation="relu",
        dropout=0.0,
        standardize=False,
    ):
        super().__init__()
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        if conv_channels and len(shape) not in (2, 3):
            raise ValueError(
                f"conv_channels needs samples of shape (C, L) or (C, H, W), got "
                f"input_shape={shape}; pass conv_channels=() for tables."
            )
        self.input_shape = shape
        self.activation = activation
        # per channel before convolutions, per value of the flat sample else
        self.per_channel = bool(conv_channels)
        n_scaled = shape[0] if self.per_channel else math.prod(shape)
        self.scaler = None
        if standardize:
            self.scaler = Standardize(
                n_scaled, feature_axis=1 if self.per_channel else -1
            )
        self.corruption = Dropout(dropout) if dropout > 0 else nn.Identity()
        channels = [shape[0], *conv_channels]
        ndim = len(shape) - 1
        encoder_convs, decoder_convs = [], []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            encoder_convs += [
                _same_padding(ndim, kernel_size),
                _CONV[ndim](c_in, c_out, kernel_size),
                ACTIVATIONS[activation](),
            ]
            # the mirror image: c_out -> c_in, linear at the reconstruction
            mirror = [
                _same_padding(ndim, kernel_size),
                _CONV[ndim](c_out, c_in, kernel_size),
            ]
            if i > 0:
                mirror.append(ACTIVATIONS[activation]())
            decoder_convs = mirror + decoder_convs
        self.conv_shape = (channels[-1], *shape[1:])
        flat = math.prod(self.conv_shape)
        self.encoder_convs = nn.Sequential(*encoder_convs)
        self.encoder = MLP(flat, hidden_sizes, n_components, activation=activation)
        self.decoder = MLP(
            n_components, list(hidden_sizes)[::-1], flat, activation=activation
        )
        self.decoder_activation = ACTIVATIONS[activation]()
        self.decoder_convs = nn.Sequential(*decoder_convs)
        self._init_weights()

    def _init_weights(self):
        # the dense layers keep the MLP's Glorot initialisation; convolutions
        # get He's (ReLU-like activations) as in the convolutional family
        for module in self.modules():
            if isinstance(module, tuple(_CONV.values())):
                nn.init.kaiming_uniform_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def fit_statistics(self, x):
        """Set the input statistics from the training inputs (if standardised)."""
        if self.scaler is not None:
            self.scaler.fit_statistics(x if self.per_channel else x.flatten(1))

    def encode(self, x):
        # (N, *input_shape) -> (N, n_components)
        if not self.per_channel:
            x = x.flatten(1)  # (N, prod(input_shape))
        if self.scaler is not None:
            x = self.scaler(x)
        x = self.corruption(x)
        return self.encoder(self.encoder_convs(x).flatten(1))

    def decode(self, z):
        # (N, n_components) -> (N, *input_shape)
        x = self.decoder(z)  # (N, prod(conv_shape))
        if self.per_channel:
            x = x.view(z.shape[0], *self.conv_shape)
            x = self.decoder_convs(self.decoder_activation(x))
        if self.scaler is not None:
            x = self._unscale(x)
        return x.reshape(z.shape[0], *self.input_shape)

    def _unscale(self, x):
        # the inverse of the scaler: back to the scale of the inputs
        mean, scale = self.scaler.mean, self.scaler.scale
        if self.per_channel:
            view = (1, -1) + (1,) * (x.ndim - 2)
            mean, scale = mean.view(view), scale.view(view)
        return x * scale + mean

    def forward(self, x):
        # (N, *input_shape) -> (N, *input_shape)
        return self.decode(self.encode(x))
