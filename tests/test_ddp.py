"""Data-parallel training of one network (``n_devices``) on 2 gloo CPU processes.

Each rank computes the gradient of its half of every batch and DDP averages
them, weighted so that the average is the gradient of the whole batch: the
fit is that of one process with the same ``batch_size``, up to the order of
float32 sums (measured: 3e-8 after 60 steps; the tolerance is 1e-6).
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sklearn_deep import MLPClassifier

torch_distributed = pytest.importorskip("torch.distributed")
if not torch_distributed.is_available():  # pragma: no cover
    pytest.skip("torch built without torch.distributed", allow_module_level=True)


def _fit(X, y, **params):
    # no dropout: its masks are drawn per rank, so the fits would differ
    est = MLPClassifier(
        (32,), batch_size=50, max_iter=5, dropout=0.0, random_state=0, device="cpu"
    ).set_params(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def test_two_processes_fit_as_one():
    X, y = load_digits(return_X_y=True)
    X, y = (X[:600] / 16).astype(np.float32), y[:600]
    one = _fit(X, y)
    two = _fit(X, y, n_devices=2)
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    np.testing.assert_allclose(two.loss_curve_, one.loss_curve_, rtol=1e-6)
    assert two.n_iter_ == one.n_iter_ == 5
    # negative control: each rank's half-batch alone is another fit, far
    # outside the tolerance
    half = _fit(X, y, batch_size=25)
    assert np.abs(half.coefs_[0] - one.coefs_[0]).max() > 1e-3
    # an ordinary estimator in this process: it predicts, pickles, continues
    np.testing.assert_array_equal(two.predict(X), one.predict(X))
    loaded = pickle.loads(pickle.dumps(two))
    np.testing.assert_array_equal(loaded.predict_proba(X), two.predict_proba(X))
    loaded.set_params(n_devices=None).partial_fit(X, y)
    assert loaded.n_iter_ == 1


@pytest.mark.parametrize(
    "params, match",
    [
        ({"solver": "lbfgs"}, "full-batch"),
        ({"callbacks": [object()]}, "callbacks cannot run"),
    ],
)
def test_data_parallel_refuses_what_it_cannot_run(params, match):
    X, y = load_digits(return_X_y=True)
    est = MLPClassifier((8,), max_iter=1, n_devices=2, device="cpu", **params)
    with pytest.raises(ValueError, match=match):
        est.fit(X[:50], y[:50])
    assert not hasattr(est, "module_")  # nothing half-fit
