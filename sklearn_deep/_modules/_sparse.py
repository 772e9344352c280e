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


def _weight_gradient(x, grad):
    """``grad.T @ x`` for CSR ``x``: the weight's gradient, ``(k, p)``.

    On the CPU, scipy multiplies by ``x.T`` as the CSC matrix that ``x``'s own
    arrays are (``csc_matvecs``), with no transposed copy: the cached CSR
    transpose doubled the memory of a sparse fit beyond its validated copy
    (33 MB above the data against scikit-learn's 11 MB on the 20,000 x
    30,000 TF-IDF case of ``benchmarks.case_data``), and scipy's product took
    the same time. Other devices multiply by the cached transpose.
    """
    if x.device.type != "cpu" or grad.dtype != x.values().dtype:
        return (transpose_of(x) @ grad).t()
    import scipy.sparse as sp

    n, p = x.shape
    csc = sp.csc_matrix(  # x.T: the same arrays, read column by column
        (
            x.values().detach().numpy(),
            x.col_indices().numpy(),
            x.crow_indices().numpy(),
        ),
        shape=(p, n),
    )
    return torch.from_numpy(np.asarray(csc @ grad.detach().numpy())).t().contiguous()


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
            grad_weight = _weight_gradient(ctx.x, grad)
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(0)
        ctx.x = None
        return None, grad_weight, grad_bias


def linear(layer, x):
    """``layer(x)`` for an ``nn.Linear``, with the sparse gradient above."""
    if x.layout != torch.sparse_csr:
        return layer(x)
    return _SparseLinear.apply(x, layer.weight, layer.bias)
