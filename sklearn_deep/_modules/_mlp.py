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
        self,
        n_features_in,
        hidden_sizes,
        n_outputs,
        activation="relu",
        dropout=0.0,
        input_layer=None,
        embedding=None,
    ):
        super().__init__()
        self.activation = activation
        # a TableScaler (or None): scaling, NaN and its indicator columns
        self.input_layer = input_layer
        if input_layer is not None:
            n_features_in = input_layer.n_features_out
        # a PeriodicEmbedding (or None) of the scaled columns
        self.embedding = embedding
        if embedding is not None:
            n_features_in = embedding.n_features_out
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
        layers = numpy_copies(
            self,
            lambda: [
                (layer, None if layer is self.head else self.activation)
                for layer in self.linear_layers()
            ],
        )
        front = [
            (None, None, layer.numpy_forward)
            for layer in (self.input_layer, self.embedding)
            if layer is not None
        ]
        return [*front, *layers]

    def fit_statistics(self, x, lengths=None):
        """The input layer's statistics, from the training inputs."""
        if self.input_layer is not None:
            self.input_layer.fit_statistics(x)

    def forward(self, x):
        # (N, n_features_in) -> (N, n_outputs)
        if self.input_layer is not None:
            x = self.input_layer(x)  # (N, n_features_in) -> (N, n_features_out)
        if self.embedding is not None:
            x = self.embedding(x)  # (N, F) -> (N, F + embedded columns)
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


class TableScaler(nn.Module):
    """The input layer of a table: scaling, smooth clipping and missing values.

    The first ``n_scaled`` columns (the numeric ones; one-hot columns follow
    and pass unchanged) are centred and scaled with statistics set by
    ``fit_statistics`` from the training inputs:

    - ``'robust'``: ``(x - median) / IQR`` (half the range where the IQR is
      0, left unscaled where that is 0 too), then the smooth clip
      ``z / sqrt(1 + (z / 3) ** 2)``, as RealMLP's preprocessing
      (Holzmüller et al., 2024): heavy tails and outliers no longer dominate
      the first layer, and the clip is smooth, so values keep their order;
    - ``'standard'``: ``(x - mean) / std``, as a ``StandardScaler``;
    - None: as they are.

    A missing value (NaN) becomes 0 after scaling (the median, or mean) and
    each column of ``missing`` (those with NaN in fit) adds an indicator
    column, 1 where its value was missing, after all the input columns.

    Parameters
    ----------
    n_features : int
        Width of the input.
    n_scaled : int
        How many of the first columns are scaled.
    method : {'robust', 'standard'} or None
        The scaling.
    missing : sequence of int, default=()
        Columns that get a missing-value indicator.
    """

    def __init__(self, n_features, n_scaled, method, missing=()):
        super().__init__()
        self.method = method
        self.n_scaled = int(n_scaled)
        self.n_features_out = int(n_features) + len(missing)
        self.register_buffer("center", torch.zeros(self.n_scaled))
        self.register_buffer("factor", torch.ones(self.n_scaled))
        self.register_buffer(
            "missing", torch.as_tensor(list(missing), dtype=torch.long)
        )

    @torch.no_grad()
    def fit_statistics(self, x, max_rows=100_000):
        if self.method is None or self.n_scaled == 0 or x.layout != torch.strided:
            return
        # quantiles of up to max_rows evenly spaced rows (torch.quantile
        # refuses inputs over 16M values)
        step = max(1, -(-x.shape[0] // max_rows))
        x = x[::step, : self.n_scaled].double()
        if self.method == "standard":
            center = torch.nanmean(x, 0)
            spread = torch.nanmean((x - center) ** 2, 0).sqrt()
            spread = torch.where(spread > 1e-6 * (1 + center.abs()), spread, 0.0)
        else:
            center = torch.nanmedian(x, 0).values
            q = torch.nanquantile(x, torch.tensor([0.25, 0.75], dtype=x.dtype), 0)
            spread = q[1] - q[0]
            filled = torch.where(torch.isnan(x), center, x)
            half_range = 0.5 * (filled.amax(0) - filled.amin(0))
            spread = torch.where(spread > 0, spread, half_range)
        center = torch.nan_to_num(center, nan=0.0)  # a column all NaN in fit
        spread = torch.nan_to_num(spread, nan=0.0)
        self.center.copy_(center)
        self.factor.copy_(torch.where(spread > 0, 1.0 / spread, 1.0))

    def forward(self, x):
        # (N, F) -> (N, F + n_missing)
        if x.layout != torch.strided:  # sparse rows pass as they are
            return x
        k = self.n_scaled
        z = (x[:, :k] - self.center) * self.factor
        if self.method == "robust":
            z = z * torch.rsqrt(1 + z * z / 9.0)
        if k < x.shape[1]:
            z = torch.cat([z, x[:, k:]], 1)
        nan = torch.isnan(z)
        z = torch.where(nan, torch.zeros_like(z), z)
        if len(self.missing):
            z = torch.cat([z, nan[:, self.missing].to(z.dtype)], 1)
        return z

    def numpy_forward(self, x):
        """``forward`` in numpy on a float32 array; a new array."""
        k = self.n_scaled
        center, factor = _numpy_buffers(self)
        z = np.empty((x.shape[0], self.n_features_out), np.float32)
        head = z[:, :k]
        np.subtract(x[:, :k], center, out=head)
        head *= factor
        if self.method == "robust":
            head /= np.sqrt(1 + head * head / np.float32(9.0))
        z[:, k : x.shape[1]] = x[:, k:]
        values = z[:, : x.shape[1]]
        nan = np.isnan(values)
        if nan.any():
            values[nan] = 0
        missing = self.missing.numpy()
        if len(missing):
            z[:, x.shape[1] :] = nan[:, missing]
        return z


def _numpy_buffers(layer):
    """The scaler's statistics as float32 numpy arrays, kept while unchanged."""
    key = tuple((t.data_ptr(), t._version) for t in (layer.center, layer.factor))
    cached = layer.__dict__.get("_numpy_cache")
    if cached is None or cached[0] != key:
        cached = layer.__dict__["_numpy_cache"] = (
            key,
            (
                layer.center.detach().numpy().copy(),
                layer.factor.detach().numpy().copy(),
            ),
        )
    return cached[1]


class PeriodicEmbedding(nn.Module):
    """Numerical embeddings of the first ``n_embedded`` columns (PBLD).

    RealMLP's periodic embedding (Holzmüller et al., 2024, after Gorishniy
    et al., 2022): each embedded column ``x_j`` becomes
    ``[x_j, cos(2 pi (w_j x_j + b_j)) @ V_j + c_j]``, 16 frequencies ``w_j``
    (initially N(0, 0.1)) mapped to ``n_dims - 1`` values per column; the
    other columns (one-hot, indicators) pass after them unchanged. A column
    can then carry thresholds and bumps into the first dense layer, which a
    plain linear input cannot. The frequencies and the small maps are
    parametrised at a tenth of their value, so that Adam moves them ten
    times slower than the dense layers, as RealMLP's learning-rate factor.

    Parameters
    ----------
    n_features : int
        Width of the input.
    n_embedded : int
        How many of the first columns are embedded.
    n_frequencies : int, default=16
        Learned frequencies per embedded column.
    n_dims : int, default=4
        Width of each embedded column's output, itself included.
    """

    scale = 0.1

    def __init__(self, n_features, n_embedded, n_frequencies=16, n_dims=4):
        super().__init__()
        self.n_embedded = int(n_embedded)
        self.n_features_out = int(n_features) + self.n_embedded * (n_dims - 1)
        k = self.n_embedded
        self.frequency = nn.Parameter(torch.empty(k, n_frequencies))
        self.phase = nn.Parameter(torch.empty(k, n_frequencies))
        self.weight = nn.Parameter(torch.empty(k, n_frequencies, n_dims - 1))
        self.bias = nn.Parameter(torch.empty(k, n_dims - 1))
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self):
        # stored at 1 / scale of their value (see the class docstring)
        nn.init.normal_(self.frequency, 0.0, 0.1 / self.scale)
        nn.init.uniform_(self.phase, -math.pi / self.scale, math.pi / self.scale)
        bound = 1 / math.sqrt(self.frequency.shape[1]) / self.scale
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        # (N, F) -> (N, F + n_embedded * (n_dims - 1))
        k = self.n_embedded
        if k == 0 or x.layout != torch.strided:
            return x
        s = self.scale
        head = x[:, :k]
        angles = 2 * math.pi * (head.unsqueeze(-1) * (s * self.frequency))
        periodic = torch.cos(angles + s * self.phase)  # (N, k, n_frequencies)
        # (k, N, n_freq) @ (k, n_freq, d) -> (k, N, d) -> (N, k * d)
        mapped = torch.bmm(periodic.transpose(0, 1), s * self.weight)
        mapped = (mapped.transpose(0, 1) + s * self.bias).flatten(1)
        return torch.cat([x, mapped], 1)

    def numpy_forward(self, x):
        """``forward`` in numpy on a float32 array; a new array."""
        k = self.n_embedded
        s = np.float32(self.scale)
        frequency, phase, weight, bias = (
            s * t.detach().numpy()
            for t in (self.frequency, self.phase, self.weight, self.bias)
        )
        angles = (2 * np.pi * x[:, :k, None]) * frequency + phase
        periodic = np.cos(angles, dtype=np.float32)
        mapped = np.einsum("nkf,kfd->nkd", periodic, weight) + bias
        return np.concatenate([x, mapped.reshape(len(x), -1)], 1, dtype=np.float32)


class TargetAffine(nn.Module):
    """A regressor's network with its target scaling undone on the output.

    ``module(*inputs) * scale + shift`` (or, for a log link, ``module(*inputs)
    + log(scale)``): the network of a fit with standardised targets, in the
    target's units, for tools that train or predict on the raw targets (the
    skorch hand-over).
    """

    def __init__(self, module, scale, shift, log_link=False):
        super().__init__()
        self.module = module
        self.log_link = log_link
        scale = torch.as_tensor(scale, dtype=torch.float32)
        self.register_buffer("scale", scale)
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float32))

    def forward(self, *inputs):
        out = self.module(*inputs)
        if self.log_link:  # log(scale * mu) = log(mu) + log(scale)
            return out + torch.log(self.scale)
        return out * self.scale + self.shift
