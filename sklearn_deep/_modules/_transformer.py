"""Transformer encoders over sequences: pre-norm self-attention blocks, a summary
of the valid steps, a dense head."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sklearn_deep._modules._lengths import by_length_groups
from sklearn_deep._modules._mlp import ACTIVATIONS, MLP, Standardize
from sklearn_deep._modules._random import Dropout

POSITIONAL_ENCODINGS = ("sinusoidal",)
SUMMARIES = ("mean", "max", "cls")


def sinusoidal_positions(length, d_model, device=None):
    """The fixed positional encoding of Vaswani et al. (2017): (length, d_model)."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    rate = torch.exp(
        torch.arange(0, d_model, 2, device=device, dtype=torch.float32)
        * (-math.log(10000.0) / d_model)
    )
    table = torch.zeros(length, d_model, device=device)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate[: d_model // 2])
    return table


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``.

    No dropout inside the attention (that would draw from torch's global
    generator inside the kernel); the block drops the output instead, with a
    ``Dropout`` module that draws from the fit's own generator.
    """

    def __init__(self, d_model, nhead):
        super().__init__()
        self.nhead = nhead
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x, key_mask=None):
        # (N, T, D), (N, T) bool (True: a real step) -> (N, T, D)
        n, t, d = x.shape
        qkv = self.qkv(x).view(n, t, 3, self.nhead, d // self.nhead)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (N, H, T, D / H)
        mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(n, t, d))


class EncoderBlock(nn.Module):
    """A pre-norm Transformer encoder block (as GPT-2 and ViT): attention and
    a feed-forward network, each after a LayerNorm and inside a residual."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout, activation):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = SelfAttention(d_model, nhead)
        self.norm2 = nn.LayerNorm(d_model)
        layers = [nn.Linear(d_model, dim_feedforward), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(Dropout(dropout))
        layers.append(nn.Linear(dim_feedforward, d_model))
        self.feedforward = nn.Sequential(*layers)
        self.dropout = Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x, key_mask=None):
        # (N, T, D) -> (N, T, D)
        x = x + self.dropout(self.attention(self.norm1(x), key_mask))
        return x + self.dropout(self.feedforward(self.norm2(x)))


class TransformerNetwork(nn.Module):
    """A Transformer encoder whose summary of the sequence feeds a dense head.

    Parameters
    ----------
    n_features_in : int
        Features per time step.
    n_outputs : int
        Width of the output (logits).
    d_model : int, default=64
        Width of the embeddings and of every block.
    nhead : int, default=4
        Attention heads per block; must divide ``d_model``.
    num_layers : int, default=2
        Number of encoder blocks.
    dim_feedforward : int, default=256
        Hidden width of each block's feed-forward network.
    dropout : float, default=0.1
        Dropout on the embeddings, on each block's attention and feed-forward
        outputs (and inside the feed-forward network), and after each hidden
        layer of the head.
    activation : str, default='gelu'
        Activation of the feed-forward networks and of the head's hidden
        layers (a key of ``ACTIVATIONS``).
    positional_encoding : {'sinusoidal'} or None, default='sinusoidal'
        The position information added to the embeddings; None for none
        (the encoder then sees a set, not a sequence).
    pooling : {'mean', 'max', 'cls'}, default='mean'
        How the sequence becomes one vector: the mean or maximum of the last
        block's outputs over the valid steps, or the output of a learned
        classification token prepended to the sequence (as BERT).
    hidden_sizes : sequence of int, default=()
        Hidden layers of the dense head; empty for one linear layer.
    standardize : bool, default=False
        Whether the inputs are standardised per feature first, with
        statistics set by ``fit_statistics`` from the training sequences.

    Notes
    -----
    ``forward(x, lengths=None)`` takes zero-padded sequences ``x`` of shape
    (N, T, n_features_in) and, for variable lengths, the true length of each
    (an int64 tensor of shape (N,)). With ``lengths`` the padded steps are
    masked out of every attention and of the summary, so padding never
    changes the output.
    """

    def __init__(
        self,
        n_features_in,
        n_outputs,
        *,
        d_model=64,
        nhead=4,
        num_layers=2,
        dim_feedforward=256,
        dropout=0.1,
        activation="gelu",
        positional_encoding="sinusoidal",
        pooling="mean",
        hidden_sizes=(),
        standardize=False,
    ):
        super().__init__()
        if d_model % nhead:
            raise ValueError(
                f"d_model={d_model} must be a multiple of nhead={nhead}: each "
                f"head attends over d_model / nhead dimensions."
            )
        if pooling not in SUMMARIES:
            raise ValueError(f"pooling must be one of {SUMMARIES}, got {pooling!r}.")
        if positional_encoding not in (*POSITIONAL_ENCODINGS, None):
            raise ValueError(
                f"positional_encoding must be one of {POSITIONAL_ENCODINGS} or "
                f"None, got {positional_encoding!r}."
            )
        self.n_features_in = n_features_in
        self.d_model = d_model
        self.num_layers = num_layers
        self.positional_encoding = positional_encoding
        self.pooling = pooling
        self.scaler = Standardize(n_features_in) if standardize else None
        self.embedding = nn.Linear(n_features_in, d_model)
        self.cls_token = (
            nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        )
        self.embedding_dropout = Dropout(dropout) if dropout > 0 else nn.Identity()
        self.blocks = nn.ModuleList(
            EncoderBlock(d_model, nhead, dim_feedforward, dropout, activation)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = MLP(
            d_model, hidden_sizes, n_outputs, activation=activation, dropout=dropout
        )
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self):
        # GPT-2's: normal(0, 0.02) weights, zero biases, and the projections
        # into the residual stream scaled by 1 / sqrt(2 * num_layers)
        for name, p in self.named_parameters():
            if name.startswith("head."):
                continue  # the MLP's own Glorot initialisation
            if p.ndim == 1 and "norm" in name:
                nn.init.ones_(p) if name.endswith("weight") else nn.init.zeros_(p)
            elif p.ndim == 1:
                nn.init.zeros_(p)
            else:
                nn.init.normal_(p, std=0.02)
        scale = 1.0 / math.sqrt(2 * max(self.num_layers, 1))
        for block in self.blocks:
            block.attention.proj.weight.mul_(scale)
            block.feedforward[-1].weight.mul_(scale)

    def fit_statistics(self, x, lengths=None):
        """Set the input statistics from the training inputs (if standardised)."""
        if self.scaler is not None:
            self.scaler.fit_statistics(x, lengths)

    def forward(self, x, lengths=None):
        # (N, T, n_features_in), (N,) -> (N, n_outputs)
        if lengths is None:
            return self._forward(x, lengths)
        # attention costs the square of the padded length: a batch whose
        # lengths differ widely runs in groups of similar lengths, each padded
        # to its own longest (a sequence's output does not depend on it)
        return by_length_groups(self._forward, x, lengths)

    def _forward(self, x, lengths):
        if self.scaler is not None:
            x = self.scaler(x)
        h = self.embedding(x)  # (N, T, D)
        n, t, _ = h.shape
        if self.positional_encoding == "sinusoidal":
            h = h + sinusoidal_positions(t, self.d_model, h.device).to(h.dtype)
        valid = None
        if lengths is not None:
            steps = torch.arange(t, device=h.device)
            valid = steps.unsqueeze(0) < lengths.to(h.device).unsqueeze(1)  # (N, T)
        if self.cls_token is not None:
            h = torch.cat([self.cls_token.expand(n, 1, -1).to(h.dtype), h], 1)
            if valid is not None:
                valid = F.pad(valid, (1, 0), value=True)  # (N, 1 + T)
        h = self.embedding_dropout(h)
        for block in self.blocks:
            h = block(h, valid)
        h = self.norm(h)
        return self.head(self._summarise(h, valid))  # (N, D) -> (N, n_outputs)

    def _summarise(self, h, valid):
        if self.pooling == "cls":
            return h[:, 0]
        if valid is None:
            return h.mean(1) if self.pooling == "mean" else h.amax(1)
        mask = valid.unsqueeze(2)  # (N, T, 1)
        if self.pooling == "mean":
            total = h.masked_fill(~mask, 0.0).sum(1)
            return total / valid.sum(1, keepdim=True).to(h.dtype)
        return h.masked_fill(~mask, float("-inf")).amax(1)
