"""Sparse X stays sparse: tables fit and predict on CSR without densifying.

The estimators that take tables multiply sparse rows through their first
linear layer (torch sparse CSR @ dense), batch by batch; the full-batch
solvers (L-BFGS, the normal equations) use the same product or dense chunks
of a few MB. Nothing may densify the whole matrix.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _estimator_cases import CLASSES, as_sparse_fit, family, make
from sklearn.base import is_classifier

from sklearn_deep.callbacks import Callback

TABLES = [c for c in CLASSES if family(c) == "table"]
# the ways a table estimator trains: its default solver (L-BFGS or the normal
# equations for the linear models), mini-batches, and mini-batches with the
# early-stopping split, sample weights and class weights
OPTIONS = {
    "default": {},
    "minibatch": {"solver": "adam", "batch_size": 16, "learning_rate_init": 0.01},
    "early_stopping": {"solver": "sgd", "early_stopping": True, "batch_size": 16},
}


class NoDensifyCSR(sp.csr_matrix):
    """A CSR matrix that fails the test when it is densified whole."""

    def toarray(self, *args, **kwargs):
        raise AssertionError(f"the whole {self.shape} sparse X was densified")

    todense = toarray


def _sparse_data(cls, n=80, p=300, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=0.03, format="csr", dtype=np.float64, random_state=seed)
    X = X.astype(np.float32)
    score = np.asarray(X[:, :30].sum(1)).ravel()
    if is_classifier(cls()):
        y = np.where(score > np.median(score), "spam", "ham")
    else:
        y = score + 0.1 * rng.standard_normal(n)
    return X, y


def _make(cls, option, **params):
    return make(
        cls, **{**as_sparse_fit(cls), **OPTIONS[option], "max_iter": 5, **params}
    )


def _fit(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few epochs to converge
        return est.fit(X, y, **kwargs)


def _outputs(est, X):
    out = {"predict": est.predict(X)}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    return out


class _RecordLayouts(Callback):
    """Records the layout of every input the network gets during training."""

    def __init__(self):
        self.layouts = []

    def on_train_begin(self, estimator):
        self._hook = estimator.module_.register_forward_pre_hook(
            lambda module, args: self.layouts.append(args[0].layout)
        )

    def on_train_end(self, estimator):
        self._hook.remove()


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_fit_and_predict_never_densify_the_whole_matrix(cls, option):
    X, y = _sparse_data(cls)
    X = NoDensifyCSR(X)
    weight = np.linspace(0.5, 2.0, len(y))
    est = _fit(_make(cls, option), X, y, sample_weight=weight)
    big = NoDensifyCSR(sp.vstack([X] * 8))  # 640 rows: the chunked predict
    for rows in (X[:1], X[:3], X, big):
        for value in _outputs(est, NoDensifyCSR(rows)).values():
            assert len(value) == rows.shape[0]
    # negative control: the check does fire on a densification
    with pytest.raises(AssertionError, match="densified"):
        X.toarray()


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_the_network_gets_sparse_batches(cls, option):
    X, y = _sparse_data(cls)
    recorder = _RecordLayouts()
    est = _make(cls, option, callbacks=[recorder])
    _fit(est, X, y)
    if est._resolved_solver() != "normal":  # the normal equations: no hooks
        assert recorder.layouts and set(recorder.layouts) == {torch.sparse_csr}
    recorder.on_train_begin(est)
    est.predict(X)
    est.predict(X[:2])
    assert set(recorder.layouts) == {torch.sparse_csr}
    # negative control: dense X reaches the network dense (a list: a plain
    # small ndarray is predicted in numpy, without the network's forward)
    recorder.layouts.clear()
    est.predict(X.toarray().tolist())
    assert set(recorder.layouts) == {torch.strided}


@pytest.mark.parametrize(
    "container",
    [sp.csr_array, sp.csc_matrix],  # csr_matrix: the other tests; COO: CSC's path
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_sparse_fit_is_the_dense_fit_up_to_rounding(cls, option, container):
    X, y = _sparse_data(cls)
    weight = np.linspace(0.5, 2.0, len(y))
    dense = _fit(_make(cls, option), X.toarray(), y, sample_weight=weight)
    sparse = _fit(_make(cls, option), container(X), y, sample_weight=weight)
    for method, value in _outputs(dense, X.toarray()).items():
        if value.dtype.kind == "f":  # sparse products sum in another order
            got = _outputs(sparse, container(X))[method]
            np.testing.assert_allclose(got, value, rtol=1e-4, atol=1e-5)
    # negative control: other data gives other predictions
    other = _fit(_make(cls, option), X.toarray()[::-1], y, sample_weight=weight)
    key = "predict_proba" if is_classifier(dense) else "predict"
    assert not np.allclose(_outputs(other, X)[key], _outputs(dense, X)[key], atol=1e-3)


@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_duplicate_entries_are_summed_on_a_copy(cls):
    X, y = _sparse_data(cls)
    dup = _with_duplicates(X)
    before = (dup.indptr.copy(), dup.indices.copy(), dup.data.copy())
    est = _fit(_make(cls, "default"), dup, y)
    canonical = _fit(_make(cls, "default"), X, y)
    np.testing.assert_allclose(
        _outputs(est, dup)["predict_proba" if is_classifier(est) else "predict"],
        _outputs(canonical, X)["predict_proba" if is_classifier(est) else "predict"],
        rtol=1e-5,
        atol=1e-6,
    )
    # the caller's matrix keeps its duplicates
    assert not dup.has_canonical_format and dup.nnz == 2 * X.nnz
    for kept, given in zip(before, (dup.indptr, dup.indices, dup.data)):
        np.testing.assert_array_equal(kept, given)


def _with_duplicates(X):
    """X (CSR) with each stored value split in two entries at its position."""
    n_row = np.diff(X.indptr)
    indptr = np.concatenate([[0], np.cumsum(2 * n_row)])
    indices = np.repeat(X.indices, 2)
    data = np.repeat(X.data / 2, 2)
    dup = sp.csr_matrix((data, indices, indptr), shape=X.shape)
    assert not dup.has_canonical_format
    return dup


@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_partial_fit_on_sparse_chunks(cls):
    X, y = _sparse_data(cls)
    est = _make(cls, "minibatch")
    if not hasattr(est, "partial_fit"):
        pytest.fail(f"{cls.__name__} with a mini-batch solver has partial_fit")
    dense = _make(cls, "minibatch")
    extra = {"classes": np.unique(y)} if is_classifier(est) else {}
    for start in range(0, len(y), 40):
        rows = slice(start, start + 40)
        est.partial_fit(X[rows], y[rows], **extra)
        dense.partial_fit(X[rows].toarray(), y[rows], **extra)
    np.testing.assert_allclose(
        _outputs(est, X)["predict" if not is_classifier(est) else "predict_proba"],
        _outputs(dense, X.toarray())[
            "predict" if not is_classifier(est) else "predict_proba"
        ],
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("precision", ["bf16-mixed"])
@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_mixed_precision_runs_sparse_products_in_float32(cls, precision):
    # torch has no float16/bfloat16 sparse CSR product on the CPU
    X, y = _sparse_data(cls)
    mixed = _fit(_make(cls, "minibatch", precision=precision), X, y)
    full = _fit(_make(cls, "minibatch"), X, y)
    for method, value in _outputs(full, X).items():
        np.testing.assert_array_equal(_outputs(mixed, X)[method], value)


# ----------------------------------------------------------------------
# Least squares on wide X: no p x p Gram matrix


def _min_norm_least_squares(X, y, w, alpha):
    """The weighted (ridge) solution through the n x n dual: exact, small n."""
    root_w = np.sqrt(w)[:, None]
    x_mean = w @ X / w.sum()
    y_mean = w @ y / w.sum()
    A = root_w * (X - x_mean)
    b = root_w * (y - y_mean)
    kernel = A @ A.T + alpha * w.sum() * np.eye(len(X))
    coef = A.T @ (np.linalg.pinv(kernel, hermitian=True) @ b)
    return coef, y_mean - x_mean @ coef


@pytest.mark.parametrize("alpha", [0.0, 0.01])
def test_wide_sparse_least_squares_is_exact_without_a_gram_matrix(alpha, capsys):
    from sklearn_deep import LinearRegression

    # 60,000 features: their Gram matrix would take 29 GB
    rng = np.random.default_rng(0)
    n, p = 60, 60_000
    X = sp.random(n, p, density=2e-3, format="csr", random_state=0)
    y = np.c_[X @ rng.standard_normal(p) + 3.0, rng.standard_normal(n)]
    w = rng.uniform(0.5, 2.0, n)
    est = LinearRegression(penalty="l2" if alpha else None, alpha=alpha, verbose=1).fit(
        X, y, sample_weight=w
    )
    assert "conjugate gradients" in capsys.readouterr().out
    coef, intercept = _min_norm_least_squares(X.toarray(), y, w, alpha)
    np.testing.assert_allclose(est.coef_, coef.T, atol=1e-5)
    np.testing.assert_allclose(est.intercept_, intercept, rtol=1e-5)


def test_wide_dense_least_squares_is_the_minimum_norm_solution():
    from sklearn.linear_model import LinearRegression as SkLinearRegression

    from sklearn_deep import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 4200))
    y = X[:, :5].sum(1) + rng.standard_normal(80)
    ours = LinearRegression().fit(X, y)
    theirs = SkLinearRegression().fit(X, y)  # lstsq: the minimum norm
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), atol=1e-4)
