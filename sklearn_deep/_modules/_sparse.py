"""A linear layer's product with sparse CSR rows, and its gradient.

``torch.nn.functional.linear`` takes a sparse CSR input, but its backward
converts that input to CSC for the weight's gradient at every call: on a
20,000 x 30,000 TF-IDF matrix with 1.6 M values the conversion took 80 ms of
a backward pass whose products take 2 ms, so a full-batch L-BFGS fit spent
nearly all its time there. Here the transpose is made once per input tensor
and kept on it: the full batch, given to every L-BFGS evaluation, pays it once.
"""

import numpy as np
import torch


def _transpose(x):
    """The CSR tensor of ``x.T`` (for CSR ``x``)."""
    n, p = x.shape
    crow, col, values = x.crow_indices(), x.col_indices(), x.values()
    if x.device.type == "cpu":  # scipy's C transpose: ~10x torch's to_sparse_csc
        import scipy.sparse as sp

        t = sp.csr_matrix(
            (values.detach().numpy(), col.numpy(), crow.numpy()), shape=(n, p)
        ).T.tocsr()
        index = np.result_type(t.indptr.dtype, t.indices.dtype)  # int32 mostly
        crow_t = torch.from_numpy(t.indptr.astype(index, copy=False))
        col_t = torch.from_numpy(t.indices.astype(index, copy=False))
        values_t = torch.from_numpy(t.data)
    else:
        csc = x.detach().to_sparse_csc()
        crow_t, col_t, values_t = csc.ccol_indices(), csc.row_indices(), csc.values()
    return torch.sparse_csr_tensor(
        crow_t, col_t, values_t, size=(p, n), check_invariants=False
    )


def transpose_of(x):
    """``x.T`` as CSR, computed once per tensor and kept on it."""
    cached = getattr(x, "_sklearn_deep_transpose", None)
    if cached is None:
        cached = _transpose(x)
        x._sklearn_deep_transpose = cached
    return cached


class _SparseLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.x = x  # the input is data: no gradient flows to it
        out = x @ weight.t()
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        grad_weight = grad_bias = None
        if ctx.needs_input_grad[1]:
            grad_weight = (transpose_of(ctx.x) @ grad).t()
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        ctx.x = None
        return None, grad_weight, grad_bias


def linear(layer, x):
    """``layer(x)`` for an ``nn.Linear``, with the sparse gradient above."""
    if x.layout != torch.sparse_csr:
        return layer(x)
    return _SparseLinear.apply(x, layer.weight, layer.bias)
