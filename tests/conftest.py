"""Data fixtures shared by the test modules: scikit-learn's bundled data, scaled.

Under pytest-xdist (the suite's default, ``-n 2``) each worker process runs
torch and numpy's BLAS on one thread: two workers of two threads each on two
cores would oversubscribe them (the library itself never sets threads).
"""

import os

import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.preprocessing import StandardScaler

if os.environ.get("PYTEST_XDIST_WORKER"):
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    # numpy's BLAS too (the dense networks predict in numpy): its threads
    # spin-wait, and two workers of two threads each would share two cores
    _BLAS_LIMITS = threadpool_limits(1)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y
