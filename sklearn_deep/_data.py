"""Turning validated inputs into tensors, and the batch iterator of the engine.

Tables become one float32 tensor, built once and moved to the device once. A
batch is an index slice of a permutation, gathered with ``index_select`` into
buffers reused across batches, so an epoch allocates nothing per batch.
"""

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import is_classifier
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data


def tensor_to_numpy(X):
    """Return a torch tensor as a numpy array (any device); anything else as is."""
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    return X


def table_to_tensor(X):
    """Convert a validated 2-D array (dense or sparse) to a float32 tensor.

    The result shares memory with ``X`` when ``X`` is already float32 and
    C-contiguous; nothing here writes to it. Sparse X becomes a torch sparse
    CSR tensor (see :func:`csr_to_tensor`), never a dense one.
    """
    if sp.issparse(X):
        return csr_to_tensor(X)
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


def csr_to_tensor(X):
    """A float32 torch sparse CSR tensor of a scipy sparse matrix or array.

    Shares the arrays of a canonical float32 CSR ``X`` (nothing writes to
    them); CSC and COO are converted to CSR, and duplicate or unsorted
    indices summed and sorted, on a copy. The network's first linear layer
    multiplies it sparsely (``torch.addmm`` takes sparse CSR inputs), so no
    batch is ever densified.
    """
    X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    data = np.asarray(X.data, dtype=np.float32)
    index_dtype = np.result_type(X.indptr.dtype, X.indices.dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
        return torch.sparse_csr_tensor(
            torch.from_numpy(np.asarray(X.indptr, dtype=index_dtype)),
            torch.from_numpy(np.asarray(X.indices, dtype=index_dtype)),
            torch.from_numpy(data),
            size=X.shape,
            check_invariants=False,
        )


def _csr(crow, col, values, shape):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
        return torch.sparse_csr_tensor(
            crow, col, values, size=shape, check_invariants=False
        )


def is_sparse(t):
    """Whether ``t`` is a torch sparse CSR tensor (a sparse table)."""
    return isinstance(t, torch.Tensor) and t.layout == torch.sparse_csr


def _segment_positions(starts, counts):
    """Positions ``starts[i] + 0 .. counts[i] - 1`` of each segment, end to end.

    With the offsets of the gathered segments: the CSR gather of rows, or of
    ragged sequences. One vectorised pass, on the device of ``starts``.
    """
    offsets = torch.zeros(len(counts) + 1, dtype=torch.int64, device=counts.device)
    torch.cumsum(counts, 0, out=offsets[1:])
    total = int(offsets[-1])
    shift = torch.repeat_interleave(starts - offsets[:-1], counts, output_size=total)
    return shift + torch.arange(total, device=counts.device), offsets


def take_rows(t, index):
    """The rows of ``t`` at ``index``: a dense or sparse tensor, or sequences."""
    if isinstance(t, RaggedSequences):
        return t.take(index)
    if not is_sparse(t):
        return t.index_select(0, index)
    crow = t.crow_indices()
    index = index.to(crow.device, torch.int64)
    starts = crow.index_select(0, index).long()
    counts = crow.index_select(0, index + 1).long() - starts
    positions, offsets = _segment_positions(starts, counts)
    return _csr(
        offsets.to(crow.dtype),
        t.col_indices().index_select(0, positions),
        t.values().index_select(0, positions),
        (len(index), t.shape[1]),
    )


def slice_rows(t, start, stop):
    """Rows ``start:stop`` of ``t`` (dense, sparse or sequences), without a copy."""
    if isinstance(t, RaggedSequences):
        return t.slice(start, stop)
    if not is_sparse(t):
        return t[start:stop]
    n = t.shape[0]
    start, stop = min(start, n), min(stop, n)
    crow = t.crow_indices()
    lo, hi = int(crow[start]), int(crow[stop])
    return _csr(
        crow[start : stop + 1] - lo,
        t.col_indices()[lo:hi],
        t.values()[lo:hi],
        (stop - start, t.shape[1]),
    )


def pad_rows(t, size):
    """``t`` filled up to ``size`` rows with copies of its first row."""
    m = t.shape[0]
    if m >= size:
        return t
    if isinstance(t, torch.Tensor) and t.layout == torch.strided:
        return torch.cat([t, t[:1].expand(size - m, *t.shape[1:])])
    index = torch.zeros(size, dtype=torch.int64, device=t.device)
    index[:m] = torch.arange(m, device=t.device)
    return take_rows(t, index)


def network_inputs(inputs):
    """What the network takes for stored inputs: sequences padded to the batch.

    Dense and sparse tensors pass as they are; :class:`RaggedSequences`
    become zero-padded values ``(N, T_batch, F)`` and their lengths, where
    ``T_batch`` is the longest sequence of these ``N``, not of the data set.
    """
    out = []
    for t in inputs:
        out.extend(t.padded() if isinstance(t, RaggedSequences) else (t,))
    return tuple(out)


def unpadded_inputs(inputs):
    """The inputs as their valid values only, for data statistics.

    Ragged sequences give their time steps end to end, ``(n_steps, F)``, with
    no padding to mask; everything else passes as it is.
    """
    if len(inputs) == 1 and isinstance(inputs[0], RaggedSequences):
        return (inputs[0].values,)
    return tuple(inputs)


def length_order(inputs):
    """A permutation sorting ragged sequences by length, or None.

    Predict batches sequences of similar lengths together, so each chunk is
    padded to about its own members' length.
    """
    for t in inputs:
        if isinstance(t, RaggedSequences):
            return torch.argsort(t.lengths, stable=True)
    return None


@dataclass
class Batch:
    """The tensors of some samples: network inputs, target and sample weight."""

    inputs: tuple
    target: torch.Tensor | None = None
    weight: torch.Tensor | None = None

    def __len__(self):
        return self.inputs[0].shape[0]

    def _tensors(self):
        return [*self.inputs, self.target, self.weight]

    def _rebuild(self, tensors):
        k = len(self.inputs)
        return Batch(tuple(tensors[:k]), tensors[k], tensors[k + 1])

    def to(self, device):
        """Move every tensor to ``device`` (no copy if already there)."""
        return self._rebuild(
            [None if t is None else t.to(device) for t in self._tensors()]
        )

    def slice(self, start, stop):
        """Samples ``start:stop`` as views, without copying."""
        return self._rebuild(
            [None if t is None else slice_rows(t, start, stop) for t in self._tensors()]
        )

    def take(self, index):
        """Samples at ``index`` (a tensor of indices on the same device)."""
        return self._rebuild(
            [None if t is None else take_rows(t, index) for t in self._tensors()]
        )


def writable_storage(inputs, given):
    """Whether fit may reorder ``inputs`` in place: their memory is its own.

    True only when every input is a dense CPU tensor that provably shares no
    memory with ``given`` (the caller's X): a conversion (float64 to float32,
    a list to an array, padding) made it. Anything that may be the caller's
    memory (a float32 array taken as it is, a read-only memmap, an unknown
    array-like) is never written to.
    """
    if isinstance(given, torch.Tensor):
        given = [given.detach().cpu().numpy()] if given.device.type == "cpu" else []
    elif isinstance(given, np.ndarray):
        given = [given]
    elif isinstance(given, list | tuple):
        given = [m for m in given if isinstance(m, np.ndarray | torch.Tensor)]
        given = [tensor_to_numpy(m) for m in given]
    elif hasattr(given, "to_numpy") and hasattr(given, "columns"):  # DataFrame
        given = [np.asarray(given[c]) for c in given.columns]
    else:
        return False
    for t in inputs:
        if not (_is_dense(t) and t.device.type == "cpu"):
            return False
        array = t.numpy()
        if not array.flags.writeable or any(
            np.may_share_memory(array, g) for g in given
        ):
            return False
    return True


def split_batch(batch, train_index, valid_index, in_place=False):
    """The training and validation batches of the rows at the two indices.

    With ``in_place`` (the inputs are fit's own copy of X, see
    :func:`writable_storage`), the rows are reordered in the same memory,
    training rows first: both batches are views, and no second copy of X is
    made. Otherwise they are gathered. Either way each batch holds its rows in
    the order of its (sorted) index, so results do not depend on which.
    """
    train_index = torch.as_tensor(train_index, dtype=torch.int64)
    valid_index = torch.as_tensor(valid_index, dtype=torch.int64)
    if not in_place:
        return batch.take(train_index), batch.take(valid_index)
    n_train = len(train_index)
    inputs = tuple(_partition_rows_(t, train_index, valid_index) for t in batch.inputs)
    order = torch.cat([train_index, valid_index])
    # a target that is one of the inputs (reconstruction) was reordered with it
    same = [i for i, t in enumerate(batch.inputs) if t is batch.target]
    target = (
        inputs[same[0]]
        if same
        else None
        if batch.target is None
        else batch.target.index_select(0, order)
    )
    weight = None if batch.weight is None else batch.weight.index_select(0, order)
    whole = Batch(inputs, target, weight)
    return whole.slice(0, n_train), whole.slice(n_train, len(order))


def _partition_rows_(t, train_index, valid_index, block_bytes=4 * 2**20):
    """Reorder ``t``'s rows in place: those at ``train_index`` (sorted) first.

    Training row ``i`` comes from row ``train_index[i] >= i``, which no earlier
    block has overwritten; each block is gathered before it is written. The
    validation rows are copied out first and written after them. Peak extra
    memory: the validation rows and one block.
    """
    valid = t.index_select(0, valid_index)
    row_bytes = max(t[:1].numel() * t.element_size(), 1)
    block = max(1, block_bytes // row_bytes)
    for first in range(0, len(train_index), block):
        source = train_index[first : first + block]
        t[first : first + len(source)] = t.index_select(0, source)
    t[len(train_index) :] = valid
    return t


def _is_dense(t):
    return t is None or (isinstance(t, torch.Tensor) and t.layout == torch.strided)


class BatchIterator:
    """Yields the batches of one epoch over ``data``, all on ``data``'s device.

    With ``shuffle``, each epoch draws a permutation from ``generator`` (a CPU
    generator, so the order is the same on every device) and gathers the
    samples of several batches at a time (a block of about ``block_bytes``)
    into reused buffers; the batches are views of the block. Without it,
    batches are contiguous views. When one batch holds all samples, the data is
    yielded as it is: the gradient of a full batch does not depend on the
    order. A batch is valid until the next one is drawn.
    """

    # one gather per ~4 MiB instead of one per batch: the same rows in the
    # same order, at a fraction of the per-batch dispatch cost
    block_bytes = 4 * 2**20

    def __init__(self, data, batch_size, shuffle, generator):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self._buffers = None

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def _block_size(self, tensors, n):
        size = self.batch_size
        row_bytes = sum(
            t[:1].numel() * t.element_size() for t in tensors if t is not None
        )
        per_block = max(1, self.block_bytes // max(row_bytes, 1) // size)
        return min(per_block * size, n)

    def __iter__(self):
        n, size = len(self.data), self.batch_size
        if size >= n:
            yield self.data
            return
        if not self.shuffle:
            for start in range(0, n, size):
                yield self.data.slice(start, start + size)
            return
        tensors = self.data._tensors()
        device = tensors[0].device
        if not all(_is_dense(t) for t in tensors):
            # sparse rows or ragged sequences: gathered batch by batch, from
            # the same permutation, so a batch holds the same samples
            perm = torch.randperm(n, generator=self.generator).to(device)
            for start in range(0, n, size):
                yield self.data.take(perm[start : start + size])
            return
        block = self._block_size(tensors, n)
        if self._buffers is None:
            self._buffers = [
                None if t is None else t.new_empty((block, *t.shape[1:]))
                for t in tensors
            ]
        perm = torch.randperm(n, generator=self.generator).to(device)
        rebuild = self.data._rebuild
        for first in range(0, n, block):
            index = perm[first : first + block]
            m = index.shape[0]
            gathered = [
                None if t is None else torch.index_select(t, 0, index, out=buf[:m])
                for t, buf in zip(tensors, self._buffers)
            ]
            for start in range(0, m, size):
                stop = start + size
                yield rebuild([None if g is None else g[start:stop] for g in gathered])


def predict_batches(inputs, chunk_size=4096):
    """Split network inputs into chunks of rows for prediction.

    Chunks keep activations in cache: on the project's CPUs, 4096-row chunks
    of a 256-256 MLP ran at about twice the rows/s of one forward over 60 000
    rows (docs/performance.md).
    """
    n = inputs[0].shape[0]
    for start in range(0, n, chunk_size):
        yield tuple(slice_rows(t, start, start + chunk_size) for t in inputs)


def padded_batches(inputs, chunk_size):
    """Chunks of exactly ``chunk_size`` rows, and how many rows of each are real.

    The last chunk (or the only one) is filled up with copies of its first
    row, which are valid inputs of any kind (a sequence length included).
    Convolution and recurrent kernels pick their algorithm by the number of
    rows, so a row's output could differ by a rounding between a single-row
    and a batch predict; with every chunk the same size it cannot: a row's
    prediction does not depend on the rows that come with it.
    """
    n = inputs[0].shape[0]
    for start in range(0, n, chunk_size):
        chunk = tuple(slice_rows(t, start, start + chunk_size) for t in inputs)
        m = chunk[0].shape[0]
        if m < chunk_size:
            chunk = tuple(pad_rows(t, chunk_size) for t in chunk)
        yield chunk, m


# ----------------------------------------------------------------------
# Images and signals (the convolutional family)

_IMAGE_LAYOUTS = (
    "(n_samples, C, H, W) images, (n_samples, H, W) one-channel images, or "
    "(n_samples, n_features) rows"
)


def image_layout(X_shape, input_shape=None, channels_last=False):
    """How each sample of X becomes a network input ``(C, H, W)`` or ``(C, L)``.

    Parameters
    ----------
    X_shape : tuple of int
        Shape of the validated X, samples first.
    input_shape : tuple of int or None
        The shape to read each sample as, in X's layout: ``(C, H, W)`` or
        ``(C, L)``, channels last when ``channels_last``. None infers it: 2-D
        rows are one-channel signals ``(1, n_features)``, 3-D samples
        one-channel images, 4-D samples images with their channels first (or
        last with ``channels_last``).
    channels_last : bool
        Whether the channel axis of the samples (or of ``input_shape``) is the
        last one.

    Returns
    -------
    layout : tuple of int
        The shape each sample is reshaped to.
    moved : bool
        Whether the last axis of ``layout`` is the channel axis, to be moved
        first.
    """
    sample = tuple(int(s) for s in X_shape[1:])
    if input_shape is not None:
        layout = tuple(int(s) for s in input_shape)
        if math.prod(layout) != math.prod(sample):
            raise ValueError(
                f"X has samples of shape {sample} ({math.prod(sample)} values), "
                f"but input_shape={tuple(input_shape)} needs "
                f"{math.prod(layout)}; set input_shape to the shape of one "
                f"sample, or pass X as {_IMAGE_LAYOUTS} with input_shape=None."
            )
        return layout, bool(channels_last)
    if len(sample) == 1:
        return (1, *sample), False
    if len(sample) == 2:
        return (1, *sample), False
    if len(sample) == 3:
        return sample, bool(channels_last)
    raise ValueError(
        f"X has {len(X_shape)} dimensions (shape {tuple(X_shape)}), but images "
        f"must be {_IMAGE_LAYOUTS}; reshape X, or pass input_shape=(C, H, W)."
    )


def channels_first(layout, moved):
    """The network's input shape for a sample ``layout`` (see image_layout)."""
    return (layout[-1], *layout[:-1]) if moved else tuple(layout)


def images_to_tensor(X, layout, moved):
    """A float32 tensor ``(n_samples, C, ...)`` from validated X.

    ``layout`` and ``moved`` come from :func:`image_layout`. Shares memory
    with ``X`` when no copy is needed; nothing here writes to it.
    """
    if sp.issparse(X):
        X = X.toarray()
    X = np.asarray(X, dtype=np.float32).reshape(X.shape[0], *layout)
    if moved:
        X = np.moveaxis(X, -1, 1)
    # a flat view reshaped gives canonical strides even on axes of size 1, so
    # torch picks the same kernels whatever layout X came in
    return torch.from_numpy(np.ascontiguousarray(X).reshape(-1)).view(X.shape)


def augment_images(x, generator, rotation=0.0, shift=0.0, flip=False):
    """Randomly rotate, shift and flip a batch of images or signals.

    One affine resampling of the batch on its own device (bilinear, zeros
    outside the image). The random draws come from ``generator`` (a CPU
    generator), so a seed gives the same batches on every device.

    Parameters
    ----------
    x : torch.Tensor of shape (N, C, H, W) or (N, C, L)
        The batch.
    generator : torch.Generator
        A CPU generator.
    rotation : float, default=0.0
        Largest rotation in degrees, drawn uniformly in
        ``[-rotation, rotation]``. Images only; signals are not rotated.
    shift : float, default=0.0
        Largest shift along each spatial axis, as a fraction of its size.
    flip : bool, default=False
        Whether to flip half of the samples along the last (width) axis.

    Returns
    -------
    torch.Tensor
        The transformed batch, same shape, dtype and device as ``x``.
    """
    signal = x.ndim == 3
    if signal:
        x = x.unsqueeze(2)  # (N, C, L) -> (N, C, 1, L)
    n, _, height, width = x.shape
    u = torch.rand(n, 4, generator=generator).mul_(2).sub_(1)  # U(-1, 1)
    u = u.to(device=x.device, dtype=torch.float32)
    angle = u[:, 0] * (0.0 if signal else math.radians(rotation))
    cos, sin = torch.cos(angle), torch.sin(angle)
    mirror = torch.where(u[:, 3] < 0, -1.0, 1.0) if flip else torch.ones_like(cos)
    # the grid is in [-1, 1] on each axis: rotate in pixel units, not in those
    aspect = height / width
    theta = torch.stack(
        [
            torch.stack([cos * mirror, -sin * aspect, u[:, 1] * 2 * shift], 1),
            torch.stack(
                [sin / aspect * mirror, cos, u[:, 2] * 2 * (0.0 if signal else shift)],
                1,
            ),
        ],
        1,
    )  # (N, 2, 3): output grid -> input coordinates
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(
        x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    ).to(x.dtype)
    return out.squeeze(2) if signal else out


# ----------------------------------------------------------------------
# Sequences: 3-D arrays, 2-D rows of univariate sequences, and collections of
# variable-length (n_timesteps, n_features) arrays, padded with zeros.


@dataclass
class PaddedSequences:
    """Validated sequences: zero-padded float32 values and their true lengths.

    ``values`` has shape (n_samples, max_length, n_features). ``lengths`` holds
    the length of each sequence, or is None when none is padded. ``shape`` and
    ``len`` count samples, as scikit-learn's helpers (sample weights) expect.
    """

    values: np.ndarray
    lengths: np.ndarray | None = None

    @property
    def shape(self):
        return self.values.shape

    def __len__(self):
        return self.values.shape[0]

    def to_tensors(self):
        """The network inputs: ``(values,)``, or ``(values, lengths)`` if padded."""
        values = torch.from_numpy(np.ascontiguousarray(self.values, dtype=np.float32))
        if self.lengths is None:
            return (values,)
        return values, torch.from_numpy(self.lengths.astype(np.int64))


def sequence_layout(X):
    """How ``X`` holds its sequences: ``'table'``, ``'array'`` or ``'collection'``.

    ``'table'`` is a 2-D input whose rows are univariate sequences, or anything
    that scikit-learn's own validation should judge (and reject); ``'array'``
    an array of 3 or more dimensions; ``'collection'`` a list, tuple or 1-D
    object array whose members are sequences. A list of equal-length 1-D rows
    is a table, as in scikit-learn.
    """
    X = tensor_to_numpy(X)
    if sp.issparse(X):
        return "table"
    ndim = getattr(X, "ndim", None)
    if ndim is not None:
        if ndim == 1 and getattr(getattr(X, "dtype", None), "kind", "") == "O":
            return "collection"
        return "array" if ndim >= 3 else "table"
    if not isinstance(X, list | tuple) or len(X) == 0:
        return "table"
    try:
        shapes = {np.shape(tensor_to_numpy(member)) for member in X}
    except ValueError:  # a member that is itself ragged: say so when padding
        return "collection"
    if len(shapes) == 1 and len(next(iter(shapes))) <= 1:
        return "table"  # scalars (rejected later) or equal-length rows
    return "collection"


def check_sequence_array(X, *, dtype=np.float32):
    """Validate a 3-D array of shape (n_samples, n_timesteps, n_features)."""
    X = check_array(tensor_to_numpy(X), allow_nd=True, dtype=dtype, input_name="X")
    if X.ndim != 3:
        raise ValueError(
            f"X has shape {X.shape}, but sequences need 3 dimensions "
            f"(n_samples, n_timesteps, n_features). Pass a 3-D array, a 2-D "
            f"array (n_samples, n_timesteps) of univariate sequences, or a list "
            f"of (n_timesteps, n_features) arrays."
        )
    if X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(
            f"X has shape {X.shape}: sequences need at least one time step and "
            f"one feature, in the layout (n_samples, n_timesteps, n_features)."
        )
    return PaddedSequences(X)


def pad_sequences(X, *, dtype=np.float32):
    """Validate a collection of sequences: one array if equal, else ragged.

    Each member is an array of shape (n_timesteps_i, n_features), or
    (n_timesteps_i,) for one feature; lengths may differ, the number of
    features may not. Numeric members are copied once: into a
    :class:`PaddedSequences` array when all have the same length, else end to
    end into :class:`RaggedSequences`, padded later one batch at a time.
    """
    if len(X) == 0:
        raise ValueError(
            "X is an empty collection of sequences; pass at least one array of "
            "shape (n_timesteps, n_features)."
        )
    members = []
    for i, seq in enumerate(X):
        try:
            seq = np.asarray(tensor_to_numpy(seq))
        except ValueError as exc:
            raise ValueError(
                f"X[{i}] is not a rectangular array ({exc}); each sequence must "
                f"be an array of shape (n_timesteps, n_features)."
            ) from exc
        if seq.ndim == 1:
            seq = seq.reshape(-1, 1)
        if seq.ndim != 2:
            raise ValueError(
                f"X[{i}] has shape {seq.shape}; each sequence must be a 2-D array "
                f"of shape (n_timesteps, n_features), or 1-D (n_timesteps,) for "
                f"a single feature."
            )
        if seq.shape[0] == 0:
            raise ValueError(
                f"X[{i}] is an empty sequence (shape {seq.shape}): every sequence "
                f"needs at least one time step. Drop it from X (and its target "
                f"from y), or give it one step of values."
            )
        if seq.dtype.kind not in "biuf":  # strings, objects, complex
            try:
                seq = check_array(seq, dtype=dtype, input_name=f"X[{i}]")
            except ValueError as exc:
                raise ValueError(f"X[{i}] is not numeric: {exc}") from exc
        members.append(seq)
    n_features = members[0].shape[1]
    for i, seq in enumerate(members):
        if seq.shape[1] != n_features:
            raise ValueError(
                f"X[{i}] has {seq.shape[1]} features per time step (shape "
                f"{seq.shape}), but X[0] has {n_features}; every sequence needs "
                f"the same number of features."
            )
    lengths = np.array([len(seq) for seq in members], dtype=np.int64)
    with np.errstate(over="ignore"):  # too large for float32: reported below
        if lengths.min() == lengths.max():
            values = np.stack(members, dtype=dtype)
            finite = np.isfinite(values).all(axis=(1, 2))
        else:  # ragged: end to end, padded one batch at a time
            values = np.concatenate(members, dtype=dtype)
            steps = np.isfinite(values).all(axis=1)
            finite = np.logical_and.reduceat(steps, np.cumsum(lengths) - lengths)
    if not finite.all():
        i = int(np.argmin(finite))
        raise ValueError(
            f"X[{i}] contains NaN or infinity (or values too large for "
            f"{np.dtype(dtype).name}); every value of a sequence must be finite. "
            f"Impute or drop the missing values first."
        )
    if values.ndim == 3:
        return PaddedSequences(values)
    return RaggedSequences(torch.from_numpy(values), torch.from_numpy(lengths))


class RaggedSequences:
    """Sequences of different lengths, stored end to end and padded per batch.

    ``values`` holds every time step of every sequence, ``(n_steps, F)``,
    sequence ``i`` at rows ``offsets[i]:offsets[i + 1]``; ``lengths`` (int64,
    ``(n_samples,)``) their lengths. Nothing is padded in store: a batch is
    gathered with :meth:`take` or :meth:`slice`, and :meth:`padded` pads it
    to its own longest member, so memory and time follow the lengths of the
    batch, not of the longest sequence of the data set. ``shape`` is
    ``(n_samples, max_length, n_features)`` and ``len`` counts samples, as
    the network builder and scikit-learn's helpers (sample weights) expect.
    """

    ndim = 3

    def __init__(self, values, lengths, offsets=None):
        self.values, self.lengths = values, lengths
        if offsets is None:
            offsets = torch.zeros(len(lengths) + 1, dtype=torch.int64)
            torch.cumsum(lengths, 0, out=offsets[1:])
        self.offsets = offsets.to(lengths.device)
        longest = int(lengths.max()) if len(lengths) else 0
        self.shape = (len(lengths), longest, values.shape[1])

    def __len__(self):
        return self.shape[0]

    @property
    def device(self):
        return self.values.device

    def to(self, device, non_blocking=False):
        """The sequences on ``device`` (no copy if already there)."""
        return RaggedSequences(
            *(
                t.to(device, non_blocking=non_blocking)
                for t in (self.values, self.lengths, self.offsets)
            )
        )

    def take(self, index):
        """The sequences at ``index``, gathered end to end."""
        index = index.to(self.lengths.device, torch.int64)
        lengths = self.lengths.index_select(0, index)
        starts = self.offsets.index_select(0, index)
        positions, offsets = _segment_positions(starts, lengths)
        values = self.values.index_select(0, positions.to(self.values.device))
        return RaggedSequences(values, lengths, offsets)

    def slice(self, start, stop):
        """Sequences ``start:stop``, as views."""
        offsets = self.offsets[start : stop + 1]
        values = self.values[int(offsets[0]) : int(offsets[-1])]
        return RaggedSequences(values, self.lengths[start:stop], offsets - offsets[0])

    def padded(self):
        """Zero-padded values ``(N, T_batch, F)`` and the lengths ``(N,)``."""
        n, longest, n_features = self.shape
        out = self.values.new_zeros((n, longest, n_features))
        steps = torch.arange(longest, device=self.lengths.device)
        valid = steps < self.lengths[:, None]  # (N, T_batch), row by row
        out[valid.to(out.device)] = self.values
        return out, self.lengths


def univariate_sequences(X):
    """Rows of a validated 2-D array (dense or sparse) as one-feature sequences."""
    if sp.issparse(X):
        X = X.toarray()
    return PaddedSequences(np.asarray(X)[:, :, np.newaxis])


# ----------------------------------------------------------------------
# Input kinds: what a family's X is. A family declares one as its
# ``_input_kind``; the shared fit and predict ask it to validate X, make the
# network's tensors, describe the network's input, augment training batches,
# take the fast predict path, set the tags and document X. Kinds hold no
# state: what they learn in fit (a layout, a sample shape) is kept on the
# estimator, so that it pickles and saves with it.


def _y_kwargs(est):
    # 2-D y passes for every estimator: the task half says what it supports,
    # naming the shape and what to use instead
    return {"multi_output": True, "y_numeric": not is_classifier(est)}


# numpy predicts in blocks of this many rows, every BLAS call on one block
# (see TableInput.fast_layers)
_NUMPY_BLOCK_ROWS = 8
# rows per chunk of the numpy forward: a 256-wide layer's activations (1 MB)
# stay in cache; 1024 was the fastest of 256-20,000 for a 256-256 MLP
_NUMPY_CHUNK_ROWS = 1024


def _plain_rows(est, X):
    """X as a contiguous float32 array when it is a plain float ndarray of
    the fitted width (an estimator without feature names), else None."""
    if (
        type(X) is not np.ndarray
        or X.ndim != 2
        or X.dtype.char not in "fd"  # float32, float64
        or X.shape[0] == 0
        or X.shape[1] != getattr(est, "n_features_in_", -1)
        or hasattr(est, "feature_names_in_")
    ):
        return None
    X = np.ascontiguousarray(X, dtype=np.float32)
    return X if X.flags.writeable else None


class TableInput:
    """2-D tables, dense or sparse: ``(n_samples, n_features)``."""

    name = "table"
    three_d_array = False  # the tag: whether X may have 3 or more dimensions
    # Rows per predict chunk with every chunk padded to it, or None for chunks
    # sized by speed alone. Tables take None: padding would cost most of a
    # ~50 µs single-row predict, and their GEMMs pass scikit-learn's
    # subset-invariance check as they are.
    predict_chunk_rows = None
    x_doc = """\
X : {array-like, sparse matrix} of shape (n_samples, n_features)
    The input samples."""
    _validate_kwargs = {"accept_sparse": ("csr", "csc", "coo"), "dtype": np.float32}

    def check_params(self, est):
        """Check the parameters that say how to read X; at the top of ``fit``."""

    def validate(self, est, X, *, reset):
        """Validated X alone (predict time), as ``to_tensors`` takes it."""
        return validate_data(est, X, reset=reset, **self._validate_kwargs)

    def validate_fit(self, est, X, y, *, reset):
        """Validated X and y together (fit time)."""
        return validate_data(
            est, X, y, reset=reset, **_y_kwargs(est), **self._validate_kwargs
        )

    def to_tensors(self, est, X):
        """The network's inputs for validated X, as a tuple of CPU tensors."""
        with warnings.catch_warnings():
            # read-only inputs (memmaps) are fine: nothing writes to them
            warnings.filterwarnings("ignore", message="The given NumPy array")
            return (table_to_tensor(X),)

    def network_input(self, inputs):
        """What the network is built for: the number of features."""
        return inputs[0].shape[1]

    def augment(self, est, inputs, generator):
        """A training batch's inputs, transformed; tables are never augmented."""
        return inputs

    def fast_inputs(self, est, X):
        """The network inputs of a plain float ndarray, or None.

        The commonest predict input: a 2-D float32 or float64 numpy array of
        the fitted width, all finite, given to an estimator fitted without
        feature names. It makes the tensor ``validate`` + ``to_tensors`` would
        make, about 250 µs sooner. Anything else (and any error to report)
        returns None, and the full validation runs.
        """
        X = _plain_rows(est, X)
        if X is None or not np.isfinite(X.sum()):
            return None  # validate_data reports non-finite values
        return (torch.from_numpy(X),)

    def fast_layers(self, est, X, layers):
        """The output of a dense network (``numpy_layers()``), or None.

        Plain arrays (those of ``fast_inputs``) on the CPU, in numpy, with the
        layers' C-ordered copies (``numpy_copies``), the rows in blocks of
        ``_NUMPY_BLOCK_ROWS`` (the last one filled up with copies of its first
        row) and every layer one ``matmul`` over the stack of blocks: each
        BLAS call multiplies one block, so a row's outputs are computed by the
        same kernel in the same order alone and in any batch or order of rows,
        whatever BLAS picks on the machine at hand. One BLAS call over all the
        rows (as before) let BLAS pick its kernel by the row count: a
        LinearRegression row alone (matrix-vector kernel) and in a batch of 20
        differed by 1 float32 ulp (2.4e-7), which scikit-learn's invariance
        checks (rtol 1e-7) refuse, and padding to groups of 4 rows matched
        only the kernels of one machine. 8 rows: a whole number of register
        tiles of the usual kernels. Measured on one thread of the development
        machine, 20,000 rows: a 256-256 MLP in 50 ms (46 ms in one call per
        1024 rows), a 100-feature linear model into 10 outputs in 0.76 ms
        (0.85 ms in one ``sgemm``), one row of the MLP in 22 µs. Larger
        networks go in chunks of ``_NUMPY_CHUNK_ROWS`` rows, whose activations
        stay in cache; a linear model in one chunk. Through torch, per-layer
        dispatch dominated small batches (93 µs for one row of the MLP).
        """
        precision = getattr(est, "_fitted_precision", "32")
        if precision != "32" or getattr(est, "_compiled", None) is not None:
            return None
        plain = _plain_rows(est, X)
        if plain is None:
            return None
        layers = layers()
        if layers is None:
            return None
        n, width = plain.shape
        block = _NUMPY_BLOCK_ROWS
        whole = n - n % block
        chunk_rows = _NUMPY_CHUNK_ROWS if len(layers) > 1 else max(whole, block)
        pieces = [
            plain[start : min(start + chunk_rows, whole)]
            for start in range(0, whole, chunk_rows)
        ]
        if whole < n:  # the last rows, then copies of the first of them
            tail = np.empty((block, width), np.float32)
            tail[: n - whole], tail[n - whole :] = plain[whole:], plain[whole]
            pieces.append(tail)
        outputs = []
        for h in pieces:
            h = h.reshape(-1, block, width)  # (n_blocks, block, n_features)
            for weight, bias, activation in layers:
                if weight is None:  # an input layer, row by row: a new array
                    rows = activation(h.reshape(-1, h.shape[-1]))
                    h = rows.reshape(h.shape[0], block, rows.shape[-1])
                    continue
                h = np.matmul(h, weight)  # one BLAS call per block
                if bias is not None:
                    h += bias
                if activation is not None:
                    activation(h)  # in place
            outputs.append(h.reshape(-1, h.shape[-1]))
        out = outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
        out = out[:n]
        if len(layers) == 1 and n >= 512 and out.shape[1] > 1:
            # the columns contiguous for argmax_rows: a 0.1 ms copy that saved
            # 0.4 ms of the argmax over 20,000 rows of 10 classes
            out = np.asfortranarray(out)
        return out if np.isfinite(out.sum()) else None

    def fitted_width(self, est):
        """The width of the network's input for the fitted estimator's X (a
        loaded file's state, checked before the network is built), or None
        where that state does not agree with itself."""
        return est.n_features_in_

    def update_tags(self, tags):
        """The estimator's tags, with what this kind accepts."""
        tags.input_tags.sparse = True
        tags.input_tags.three_d_array = self.three_d_array
        return tags


# what augment=True means: small rotations and shifts, no flips (digits and
# letters change meaning when mirrored)
DEFAULT_AUGMENT = {"rotation": 10.0, "shift": 0.1, "flip": False}


class ImageInput(TableInput):
    """Images ``(n_samples, C, H, W)`` or ``(n_samples, H, W)``, channels last
    with ``channels_last``, flat rows with ``input_shape``, or rows as
    one-channel 1-D signals.

    Reads the estimator's ``input_shape``, ``channels_last`` and ``augment``
    parameters; keeps ``input_shape_`` and the layout it read in fit.
    """

    name = "image"
    three_d_array = True
    # oneDNN's convolutions pick their algorithm by batch size: fixed chunks
    # keep a row's prediction the same alone or in a batch. 32 rows: a
    # single-row predict of a 32-64 network on 8x8 images took ~1.2 ms (0.23 ms
    # unpadded); bulk predicts ran 1.4x faster than in 4096-row chunks
    predict_chunk_rows = 32
    x_doc = """\
X : array-like of shape (n_samples, C, H, W), (n_samples, H, W) or \
(n_samples, n_features)
    The input samples: images with their channels first (last with
    ``channels_last=True``), one-channel images, or rows, read as
    ``input_shape`` when it is given and as one-channel 1-D signals
    otherwise. A DataFrame or a sparse matrix is read as rows."""
    _validate_kwargs = {**TableInput._validate_kwargs, "allow_nd": True}

    def check_params(self, est):
        if est.input_shape is not None:
            values = est.input_shape
            shape = list(values) if np.iterable(values) else [values]
            if any(
                not isinstance(s, numbers.Integral | np.integer) or s <= 0
                for s in shape
            ):
                raise ValueError(
                    f"input_shape must hold positive integers, got {values!r}; "
                    f"for example (1, 28, 28)."
                )
            if len(shape) not in (2, 3):
                raise ValueError(
                    f"input_shape must be (C, H, W) for images or (C, L) for "
                    f"signals, got {values!r} ({len(shape)} values)."
                )
        est._augmentation = augment_options(est.augment)

    def validate(self, est, X, *, reset):
        X = self._check_fitted_shape(est, X, reset)
        X = validate_data(est, X, reset=reset, **self._validate_kwargs)
        self._read_shape(est, X, reset)
        return X

    def validate_fit(self, est, X, y, *, reset):
        X = self._check_fitted_shape(est, X, reset)
        X, y = super().validate_fit(est, X, y, reset=reset)
        self._read_shape(est, X, reset)
        return X, y

    def _check_fitted_shape(self, est, X, reset):
        """Compare images by their shape before scikit-learn's width check.

        That check reads the second axis as the number of features: the
        channels or the height of images. Images, or anything given to a
        network fitted on images, are compared as the network reads them.
        """
        if reset:
            return X
        X = tensor_to_numpy(X)
        if getattr(X, "shape", None) is None:  # lists: as validate_data would
            X = np.asarray(X)
        fitted_on_rows = est.n_features_in_ == math.prod(est.input_shape_)
        if len(X.shape) >= 3 or (len(X.shape) == 2 and not fitted_on_rows):
            self._read_shape(est, X, reset=False)
        return X

    def _read_shape(self, est, X, reset):
        if reset:
            est._image_params = (est.input_shape, est.channels_last)
        # predict reads X as fit did, whatever set_params changed since
        params = getattr(est, "_image_params", (est.input_shape, est.channels_last))
        layout, moved = image_layout(X.shape, *params)
        shape = channels_first(layout, moved)
        if reset:
            est.input_shape_ = shape
            est._layout = (layout, moved)
        elif shape != est.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, read as network "
                f"inputs of shape {shape} (C, H, W or C, L), but "
                f"{type(est).__name__} was fitted on inputs of shape "
                f"{est.input_shape_}; pass X shaped like the training data."
            )

    def to_tensors(self, est, X):
        with warnings.catch_warnings():
            # read-only inputs (memmaps) are fine: nothing writes to them
            warnings.filterwarnings("ignore", message="The given NumPy array")
            return (images_to_tensor(X, *est._layout),)

    def network_input(self, inputs):
        """The shape of one sample: ``(C, H, W)`` or ``(C, L)``."""
        return tuple(inputs[0].shape[1:])

    def augment(self, est, inputs, generator):
        options = est._augmentation
        if options == "auto":  # a classifier's images (N, C, H, W) only
            image = inputs[0].ndim == 4
            options = DEFAULT_AUGMENT if image and is_classifier(est) else {}
        if not options:
            return inputs
        return (augment_images(inputs[0], generator, **options),)

    def fast_inputs(self, est, X):
        return None  # every input goes through the full validation


def augment_options(augment):
    """The ``augment`` parameter as keyword arguments of ``augment_images``.

    {} for none, or 'auto' (a classifier's images are augmented, signals and
    a regressor's images not: decided per batch by ``ImageInput.augment``).
    """
    if augment is None or augment is False:
        return {}
    if isinstance(augment, str):
        return "auto"
    if augment is True:
        return dict(DEFAULT_AUGMENT)
    unknown = set(augment) - set(DEFAULT_AUGMENT)
    if unknown:
        raise ValueError(
            f"augment has unknown keys {sorted(map(str, unknown))}; the keys "
            f"are 'rotation', 'shift' and 'flip', got augment={augment!r}."
        )
    options = {**dict.fromkeys(("rotation", "shift"), 0.0), "flip": False}
    options.update(augment)
    rotation, shift = options["rotation"], options["shift"]
    if not isinstance(rotation, numbers.Real) or not 0 <= rotation <= 180:
        raise ValueError(
            f"augment['rotation'] must be a number of degrees in [0, 180], "
            f"got {rotation!r}."
        )
    if not isinstance(shift, numbers.Real) or not 0 <= shift < 1:
        raise ValueError(
            f"augment['shift'] must be a fraction of the image size in "
            f"[0, 1), got {shift!r}."
        )
    if not isinstance(options["flip"], bool | np.bool_):
        raise ValueError(
            f"augment['flip'] must be True or False, got {options['flip']!r}."
        )
    if not (rotation or shift or options["flip"]):
        return {}
    return options


def _refuse_no_sequences(est, X):
    """An empty list (or tuple, or object array) of sequences: say so."""
    empty_list = isinstance(X, list | tuple) and len(X) == 0
    empty_objects = (
        isinstance(X, np.ndarray) and X.dtype.kind == "O" and X.shape == (0,)
    )
    if empty_list or empty_objects:
        raise ValueError(
            f"X is an empty {type(X).__name__} of sequences: "
            f"{type(est).__name__} needs at least one sequence, each an array "
            f"of shape (n_timesteps, n_features) or (n_timesteps,)."
        )


class SequenceInput(TableInput):
    """Sequences: ``(n_samples, n_timesteps, n_features)`` arrays, 2-D rows of
    univariate sequences, or a collection of ``(n_timesteps_i, n_features)``
    arrays of different lengths (padded, with their lengths).

    2-D tables go through scikit-learn's validation (feature names,
    ``n_features_in_``); 3-D arrays and collections through this module's
    sequence helpers.
    """

    name = "sequence"
    three_d_array = True
    # fixed chunks: a row's prediction is the same alone or in a batch. 64
    # rows: 0.6 ms for a single-row predict of a 64-unit LSTM on 8 steps,
    # bulk predicts at 0.86x the rows/s of 4096-row chunks
    predict_chunk_rows = 64
    x_doc = """\
X : array-like of shape (n_samples, n_timesteps, n_features) or \
(n_samples, n_timesteps), or list of array-like of shape (n_timesteps_i, \
n_features)
    The input sequences: a 3-D array, a 2-D array of univariate sequences
    (a DataFrame or sparse matrix too), or a list (or 1-D object array) of
    sequences whose lengths may differ."""

    def validate(self, est, X, *, reset):
        X = tensor_to_numpy(X)
        _refuse_no_sequences(est, X)
        layout = sequence_layout(X)
        if layout == "table" and (reset or est._table_input):
            est._table_input = True
            X = validate_data(est, X, reset=reset, **self._validate_kwargs)
            return univariate_sequences(X)
        if layout == "table":  # fitted on sequences: rows of any length
            seqs = univariate_sequences(check_array(X, **self._validate_kwargs))
        elif layout == "array":
            seqs = check_sequence_array(X)
        else:
            seqs = pad_sequences(X)
        n_features = seqs.shape[2]
        if reset:
            est._table_input = False
            est.n_features_in_ = n_features
        elif n_features != est.module_.n_features_in:
            raise ValueError(
                f"X has {n_features} features per time step (shape "
                f"{seqs.shape[1:]} after padding), but {type(est).__name__} "
                f"was fitted with {est.module_.n_features_in}; pass sequences "
                f"of shape (n_timesteps, {est.module_.n_features_in})."
            )
        return seqs

    def validate_fit(self, est, X, y, *, reset):
        _refuse_no_sequences(est, X)
        if sequence_layout(X) == "table" and (reset or est._table_input):
            X, y = super().validate_fit(est, X, y, reset=reset)
            est._table_input = True
            return univariate_sequences(X), y
        X = self.validate(est, X, reset=reset)
        y = validate_data(est, "no_validation", y, reset=reset, **_y_kwargs(est))
        if len(X) != len(y):
            raise ValueError(
                f"X holds {len(X)} sequences but y has {len(y)} targets; pass "
                f"one target per sequence."
            )
        return X, y

    def to_tensors(self, est, X):
        if isinstance(X, RaggedSequences):
            return (X,)
        return X.to_tensors()

    def network_input(self, inputs):
        """The number of features per time step."""
        return inputs[0].shape[2]

    def fast_inputs(self, est, X):
        return None  # every input goes through the full validation
