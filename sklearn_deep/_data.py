"""Turning validated inputs into tensors, and the batch iterator of the engine.

Tables become one float32 tensor, built once and moved to the device once. A
batch is an index slice of a permutation, gathered with ``index_select`` into
buffers reused across batches, so an epoch allocates nothing per batch.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch


def tensor_to_numpy(X):
    """Return a torch tensor as a numpy array (any device); anything else as is."""
    if isinstance(X, torch.Tensor):
        return X.detach().cpu().numpy()
    return X


def table_to_tensor(X):
    """Convert a validated 2-D array (dense or sparse) to a float32 tensor.

    The result shares memory with ``X`` when ``X`` is already float32 and
    C-contiguous; nothing here writes to it.
    """
    if sp.issparse(X):
        X = X.toarray()
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


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
            [None if t is None else t[start:stop] for t in self._tensors()]
        )

    def take(self, index):
        """Samples at ``index`` (a tensor of indices on the same device)."""
        return self._rebuild(
            [None if t is None else t.index_select(0, index) for t in self._tensors()]
        )


class BatchIterator:
    """Yields the batches of one epoch over ``data``, all on ``data``'s device.

    With ``shuffle``, each epoch draws a permutation from ``generator`` (a CPU
    generator, so the order is the same on every device) and gathers each
    batch into reused buffers. Without it, batches are contiguous views.
    When one batch holds all samples, the data is yielded as it is: the
    gradient of a full batch does not depend on the order.
    """

    def __init__(self, data, batch_size, shuffle, generator):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self._buffers = None

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

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
        if self._buffers is None:
            self._buffers = [
                None if t is None else t.new_empty((size, *t.shape[1:]))
                for t in tensors
            ]
        perm = torch.randperm(n, generator=self.generator).to(device)
        for start in range(0, n, size):
            index = perm[start : start + size]
            m = index.shape[0]
            out = []
            for t, buf in zip(tensors, self._buffers):
                if t is None:
                    out.append(None)
                else:
                    out.append(torch.index_select(t, 0, index, out=buf[:m]))
            yield self.data._rebuild(out)


def predict_batches(inputs, chunk_size=4096):
    """Split network inputs into chunks of rows for prediction.

    Chunks keep activations in cache; 4096 rows was fastest on the project's
    CPUs (PERF_NOTES.md).
    """
    n = inputs[0].shape[0]
    for start in range(0, n, chunk_size):
        yield tuple(t[start : start + chunk_size] for t in inputs)
