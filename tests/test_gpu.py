"""CUDA paths (marked ``gpu``: skipped without a CUDA device, run by
``python -m benchmarks.gpu`` on a lent GPU)."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_deep import CNNClassifier, MLPClassifier

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _fit(X, y, **params):
    est = MLPClassifier((32,), max_iter=20, dropout=0.0, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.gpu
def test_cuda_fit_predicts_as_the_cpu_fit(cancer):
    X, y = cancer
    gpu, cpu = _fit(X, y, device="cuda"), _fit(X, y, device="cpu")
    assert gpu._device.type == "cuda"
    # other kernels, other rounding: close, not equal
    np.testing.assert_allclose(
        gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-3, atol=1e-3
    )
    assert gpu.score(X, y) > 0.95


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["bf16-mixed", "16-mixed"])
def test_mixed_precision_trains_on_cuda(precision, cancer):
    X, y = cancer
    est = _fit(X, y, device="cuda", precision=precision, learning_rate_init=0.01)
    assert est.score(X, y) > 0.95
    assert np.all(np.isfinite(est.loss_curve_))
    assert next(est.module_.parameters()).dtype.is_floating_point


@pytest.mark.gpu
def test_cuda_fitted_cnn_predicts_the_same_in_a_cpu_only_process(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((200, 1, 12, 12), dtype=np.float32)
    y = (X[:, 0, :6].mean((1, 2)) > X[:, 0, 6:].mean((1, 2))).astype(int)
    est = CNNClassifier(max_iter=3, random_state=0, device="cuda").fit(X, y)
    (tmp_path / "est.pkl").write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, sys, numpy as np, torch; "
        "assert not torch.cuda.is_available(); "
        "est = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "np.save(sys.argv[3], est.predict_proba(np.load(sys.argv[2])))"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=ROOT)
    out = tmp_path / "p.npy"
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "est.pkl"),
            str(tmp_path / "X.npy"),
            str(out),
        ],
        env=env,
        check=True,
    )
    np.testing.assert_allclose(np.load(out), est.predict_proba(X), atol=1e-5)
