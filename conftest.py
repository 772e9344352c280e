"""Test configuration for tests/ and the doctests: one torch thread, array-API
checks on, and the GPU marker."""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402
import torch  # noqa: E402

# A busy second core makes libgomp's spin-wait collapse torch (docs/performance.md).
torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
