"""Recurrent networks: an LSTM or GRU encoder, a summary of its outputs, a head."""

from contextlib import nullcontext

import torch
from torch import nn
from torch.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pad_packed_sequence,
)

from sklearn_deep._modules._lengths import by_length_groups
from sklearn_deep._modules._mlp import MLP, Standardize
from sklearn_deep._modules._random import Dropout

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
POOLINGS = ("last", "mean", "max")


class RecurrentNetwork(nn.Module):
    """A recurrent encoder whose summary of the sequence feeds a dense head.

    Parameters
    ----------
    n_features_in : int
        Features per time step.
    n_outputs : int
        Width of the output (logits).
    cell : {'lstm', 'gru'}, default='lstm'
        The recurrent cell.
    hidden_size : int, default=64
        Width of the hidden state of each direction.
    num_layers : int, default=1
        Number of stacked recurrent layers.
    bidirectional : bool, default=False
        Whether each layer also reads the sequence backwards.
    pooling : {'last', 'mean', 'max'}, default='last'
        How the sequence becomes one vector: the final hidden state of the
        last layer (both directions), or the mean or maximum of the last
        layer's outputs over the valid time steps.
    hidden_sizes : sequence of int, default=()
        Hidden layers of the dense head; empty for one linear layer.
    activation : str, default='relu'
        Activation of the head's hidden layers (a key of ``ACTIVATIONS``).
    dropout : float, default=0.0
        Dropout between recurrent layers, on the summary, and after each
        hidden layer of the head.
    standardize : bool, default=False
        Whether the inputs are standardised per feature first, with
        statistics set by ``fit_statistics`` from the training sequences.

    Notes
    -----
    ``forward(x, lengths=None)`` takes zero-padded sequences ``x`` of shape
    (N, T, n_features_in) and, for variable lengths, the true length of each
    (an int64 tensor of shape (N,)). With ``lengths`` the sequences are packed,
    so the padding never reaches the cells and never changes the output.
    """

    def __init__(
        self,
        n_features_in,
        n_outputs,
        *,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        pooling="last",
        hidden_sizes=(),
        activation="relu",
        dropout=0.0,
        standardize=False,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.n_features_in = n_features_in
        self.cell = cell
        self.pooling = pooling
        self.scaler = Standardize(n_features_in) if standardize else None
        if dropout > 0 and num_layers > 1:
            # torch's cells drop out between layers from the global generator
            self.encoder = StackedRecurrent(
                cell, n_features_in, hidden_size, num_layers, bidirectional, dropout
            )
        else:
            self.encoder = CELLS[cell](
                n_features_in,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=bidirectional,
            )
        self.dropout = Dropout(dropout) if dropout > 0 else nn.Identity()
        n_directions = 2 if bidirectional else 1
        self.head = MLP(
            hidden_size * n_directions,
            hidden_sizes,
            n_outputs,
            activation=activation,
            dropout=dropout,
        )
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self):
        # Keras' recurrent defaults: Glorot input weights, orthogonal recurrent
        # weights (per gate), zero biases, and a forget-gate bias of one (LSTM).
        hidden = self.encoder.hidden_size
        for path, p in self.encoder.named_parameters():
            name = path.rsplit(".", 1)[-1]  # stacked layers: layers.<i>.<name>
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p)
            elif name.startswith("weight_hh"):
                for gate in p.split(hidden):
                    nn.init.orthogonal_(gate)
            else:
                nn.init.zeros_(p)
                if self.cell == "lstm" and name.startswith("bias_ih"):
                    p[hidden : 2 * hidden] = 1.0

    def fit_statistics(self, x, lengths=None):
        """Set the input statistics from the training inputs (if standardised)."""
        if self.scaler is not None:
            self.scaler.fit_statistics(x, lengths)

    def forward(self, x, lengths=None):
        # (N, T, n_features_in), (N,) -> (N, n_outputs)
        # The CPU's recurrent kernels have no float16/bfloat16 variants: under
        # autocast there, the cell runs in float32.
        on_cpu = x.device.type == "cpu"
        with torch.autocast("cpu", enabled=False) if on_cpu else nullcontext():
            if on_cpu:
                x = x.float()
            if self.scaler is not None:
                x = self.scaler(x)
            if lengths is None:
                out, state = self.encoder(x)  # out: (N, T, D * hidden)
                summary = self._summarise(out, state, None)  # (N, D * hidden)
            else:
                summary = self._encode_grouped(x, lengths)
        return self.head(self.dropout(summary))

    def _encode_grouped(self, x, lengths):
        """The summary of each sequence, widely different lengths apart."""
        return by_length_groups(self._encode, x, lengths)

    def _encode(self, x, lengths):
        """The summary of padded sequences of the given lengths."""
        packed = pack_padded_sequence(
            x, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out, state = self.encoder(packed)
        if self.pooling != "last":
            # (N, T_batch, D * hidden), zeros past each sequence's end
            out, _ = pad_packed_sequence(out, batch_first=True)
        return self._summarise(out, state, lengths)

    def _summarise(self, out, state, lengths):
        if self.pooling == "last":
            h = state[0] if self.cell == "lstm" else state  # (layers * D, N, hidden)
            if self.encoder.bidirectional:
                return torch.cat([h[-2], h[-1]], dim=1)
            return h[-1]
        if lengths is None:
            return out.mean(1) if self.pooling == "mean" else out.amax(1)
        lengths = lengths.to(out.device)
        if self.pooling == "mean":
            return out.sum(1) / lengths.unsqueeze(1).to(out.dtype)
        steps = torch.arange(out.shape[1], device=out.device)
        padding = steps.unsqueeze(0) >= lengths.unsqueeze(1)  # (N, T_batch)
        return out.masked_fill(padding.unsqueeze(2), float("-inf")).amax(1)


class StackedRecurrent(nn.Module):
    """Stacked one-layer cells with ``Dropout`` between them.

    What ``nn.LSTM(num_layers=L, dropout=p)`` computes (the same outputs and
    final states, in the same layout), with the masks between layers drawn
    from the fit's own generator (see ``_random``).

    Parameters
    ----------
    cell : {'lstm', 'gru'}
        The recurrent cell.
    input_size : int
        Features per time step.
    hidden_size : int
        Width of the hidden state of each direction.
    num_layers : int
        Number of layers.
    bidirectional : bool
        Whether each layer also reads the sequence backwards.
    dropout : float
        Dropout probability on the outputs of every layer but the last.
    """

    def __init__(
        self, cell, input_size, hidden_size, num_layers, bidirectional, dropout
    ):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        width = hidden_size * (2 if bidirectional else 1)
        self.layers = nn.ModuleList(
            CELLS[cell](
                input_size if i == 0 else width,
                hidden_size,
                batch_first=True,
                bidirectional=bidirectional,
            )
            for i in range(num_layers)
        )
        self.dropout = Dropout(dropout)

    def _drop(self, x):
        if isinstance(x, PackedSequence):
            data = self.dropout(x.data)
            return PackedSequence(
                data, x.batch_sizes, x.sorted_indices, x.unsorted_indices
            )
        return self.dropout(x)

    def forward(self, x):
        # x: (N, T, F) or packed -> out: (N, T, D * hidden) or packed, and the
        # final states (num_layers * D, N, hidden), as nn.LSTM / nn.GRU
        states = []
        for i, layer in enumerate(self.layers):
            x, state = layer(self._drop(x) if i else x)
            states.append(state)
        if isinstance(states[0], tuple):  # LSTM: (h, c)
            return x, tuple(torch.cat(parts) for parts in zip(*states))
        return x, torch.cat(states)
