"""The linear layer's product with sparse CSR rows and its gradient."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklearn_deep._data import csr_to_tensor
from sklearn_deep._modules._sparse import linear, transpose_of


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("bias", [True, False])
def test_sparse_rows_give_the_dense_output_and_gradients(index_dtype, bias):
    X = sp.random(60, 40, density=0.15, format="csr", random_state=0)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    sparse, dense = csr_to_tensor(X), torch.from_numpy(X.toarray()).float()
    torch.manual_seed(0)
    layer = torch.nn.Linear(40, 3, bias=bias)
    upstream = torch.randn(60, 3)
    grads = []
    for x in (sparse, dense):
        layer.zero_grad()
        out = linear(layer, x)
        (out * upstream).sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
        if x is sparse:
            expected = out.detach()
    torch.testing.assert_close(expected, layer(dense).detach())
    for g_sparse, g_dense in zip(*grads):
        torch.testing.assert_close(g_sparse, g_dense)


def test_the_cpu_gradient_makes_no_transposed_copy_of_the_input():
    # a transposed CSR copy per input doubled a sparse fit's memory (33 MB
    # above the data against scikit-learn's 11 MB on a 20,000 x 30,000
    # TF-IDF matrix); on the CPU the gradient reads X's own arrays as CSC
    X = csr_to_tensor(sp.random(30, 20, density=0.2, format="csr", random_state=1))
    layer = torch.nn.Linear(20, 2)
    linear(layer, X).sum().backward()
    assert getattr(X, "_sklearn_deep_transpose", None) is None
    # negative control: the cached transpose is still what other callers
    # (CGLS, other devices) get, and it is kept once made
    assert transpose_of(X) is X._sklearn_deep_transpose


def test_the_transpose_is_made_once_per_input():
    X = csr_to_tensor(sp.random(30, 20, density=0.2, format="csr", random_state=1))
    first = transpose_of(X)
    assert transpose_of(X) is first  # a second full-batch evaluation
    torch.testing.assert_close(first.to_dense(), X.to_dense().T)
