"""Case 7: the data path at scale: sparse text, ragged sequences, early stopping.

Each fit runs alone in a fresh child process (as the memory case), which
builds its data, pays torch's one-time costs on a small fit, resets the
kernel's peak-RSS counter and fits; the figures are how far the peak resident
memory rose above the resident memory just before ``fit``, and the fit's wall
seconds.

- Sparse text: a TF-IDF-like CSR matrix (power-law word frequencies, rows
  L2-normalised, a label the words predict), fitted by our LogisticRegression
  and a small MLPClassifier beside scikit-learn's LogisticRegression.
- Ragged sequences: one very long sequence among many short ones, beside the
  same data without it: memory and time should follow the batch's lengths.
- Early stopping: a float64 table fitted with and without
  ``early_stopping=True``, beside scikit-learn's MLP with early stopping.

``python -m benchmarks.case_data --size quick`` prints this case alone.
"""

import time
import warnings

import numpy as np

from benchmarks._harness import Section, Target, fmt_ratio, markdown_table
from benchmarks.case_memory import _peak_kb, _reset_peak, _status_kb, measure

# fmt: off
SIZES = {
    "tiny": dict(
        tfidf=(500, 1000, 20), ragged=(64, 3, 100), early=(1000, 20),
    ),
    # the figures: 20,000 x 30,000 with 1.8 M non-zeros; one
    # 20,000-step sequence among 2,000 of length 3; ~400 MB of float64
    "quick": dict(
        tfidf=(20_000, 30_000, 90), ragged=(2000, 3, 20_000), early=(100_000, 500),
    ),
}
SIZES["full"] = SIZES["quick"]
# fmt: on
HIDDEN = (16,)


def tfidf_data(n, p, words_per_row, seed=0):
    """A CSR TF-IDF-like matrix and a binary label the words predict."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    freq = 1.0 / np.arange(10, p + 10) ** 1.1  # Zipf-like word frequencies
    cols = rng.choice(p, size=n * words_per_row, p=freq / freq.sum())
    rows = np.repeat(np.arange(n), words_per_row)
    counts = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float64), (rows, cols)), shape=(n, p)
    )
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=p)
    counts.data *= np.log((1 + n) / (1 + df[counts.indices])) + 1  # idf
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(1)).ravel())
    X = sp.diags(1 / np.maximum(norms, 1e-12)) @ counts
    beta = rng.standard_normal(p) * (rng.random(p) < 0.05)
    score = X @ beta
    y = (score + 0.05 * rng.standard_normal(n) > np.median(score)).astype(np.int64)
    return X.tocsr(), y


def ragged_data(n, short, long, seed=0):
    """``n`` sequences of ``short`` steps and one of ``long`` (F=2), labels."""
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((short, 2)).astype(np.float32) for _ in range(n)]
    if long:
        X[n // 2] = rng.standard_normal((long, 2)).astype(np.float32)
    y = np.array([float(x[:, 0].mean() > 0) for x in X], dtype=np.int64)
    return X, y


def _fitter(variant):
    if variant == "sklearn_deep LogisticRegression":
        from sklearn_deep import LogisticRegression

        # scikit-learn's default objective (ours defaults to alpha=1e-3,
        # a stronger penalty here): the same minimiser, so times compare
        return LogisticRegression(C=1.0, device="cpu")
    if variant == "sklearn_deep MLPClassifier":
        from sklearn_deep import MLPClassifier

        return MLPClassifier(HIDDEN, max_iter=3, device="cpu", random_state=0)
    if variant == "scikit-learn LogisticRegression":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression()
    if variant.startswith("sklearn_deep LSTMClassifier"):
        from sklearn_deep import LSTMClassifier

        return LSTMClassifier(max_iter=1, device="cpu", random_state=0)
    early = "early_stopping" in variant
    if variant.startswith("sklearn_deep MLPClassifier"):
        from sklearn_deep import MLPClassifier

        return MLPClassifier(
            (64,), max_iter=1, batch_size=1024, early_stopping=early, device="cpu"
        )
    if variant.startswith("scikit-learn MLPClassifier"):
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier((64,), max_iter=1, batch_size=1024, early_stopping=early)
    raise ValueError(variant)


def _data(variant, size):
    sizes = SIZES[size]
    if "LSTM" in variant:
        n, short, long = sizes["ragged"]
        return ragged_data(n, short, long if "with" in variant else 0)
    if "early_stopping" in variant or "plain" in variant:
        n, p = sizes["early"]
        rng = np.random.default_rng(0)
        X = rng.standard_normal((n, p))  # float64, as most users' data
        return X, (X[:, 0] + rng.logistic(size=n) > 0).astype(np.int64)
    return tfidf_data(*sizes["tfidf"])


def _child(variant, size, _, threads, conn):
    import torch

    torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    X, y = _data(variant, size)
    with warnings.catch_warnings():  # torch's one-time costs, on a small fit
        warnings.simplefilter("ignore")
        _fitter(variant).fit(X[:200], y[:200])
    est = _fitter(variant)
    exact = _reset_peak()
    before = _status_kb("VmRSS") if exact else _peak_kb(False)
    tic, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    seconds, cpu = time.perf_counter() - tic, time.process_time() - cpu
    total = _peak_kb(exact) / 1024
    peak = total - before / 1024
    score = est.score(X, y)
    conn.send(
        {
            "peak_mb": peak,
            "total_mb": total,
            "seconds": seconds,
            "cpu": cpu,
            "score": score,
        }
    )
    conn.close()


def _run(variants, cfg, log):
    out = {}
    for variant in variants:
        log(f"data {variant}")
        out[variant] = r = measure(variant, cfg["size"], None, cfg["threads"], _child)
        log(
            f"  peak +{r['peak_mb']:.0f} MB, {r['seconds']:.2f} s, cpu {r['cpu']:.2f} s"
        )
    return out


def _rows(results, peer):
    base = results[peer]
    return [
        [
            name,
            f"{r['peak_mb']:.0f} MB",
            # a peer that rose under 1 MB makes no meaningful ratio
            fmt_ratio(r["peak_mb"] / base["peak_mb"]) if base["peak_mb"] >= 1 else "-",
            f"{r['total_mb']:.0f} MB",
            fmt_ratio(r["total_mb"] / base["total_mb"]),
            f"{r['seconds']:.2f} s",
            fmt_ratio(r["seconds"] / base["seconds"]),
            f"{r['cpu']:.2f} s",
            fmt_ratio(r["cpu"] / base["cpu"]),
            f"{r['score']:.3f}",
        ]
        for name, r in results.items()
    ]


def _peak_target(what, peer_name, ours, peer, factor, key="peak_mb"):
    label = {"peak_mb": "peak increase", "total_mb": "peak in all"}[key]
    ours, peer = ours[key], peer[key]
    return Target(
        what,
        f"{label} < {factor:g}x {peer_name}",
        f"{ours / max(peer, 1e-9):.2f}x ({ours:.0f} MB vs {peer:.0f} MB)",
        ours < factor * peer,
    )


HEADER = [
    "fit",
    "peak increase",
    "x peer",
    "peak in all",
    "x peer",
    "wall",
    "x peer",
    "CPU",
    "x peer",
    "train score",
]


def run(cfg, device, log):
    sizes = SIZES[cfg["size"]]
    section = Section(
        title="The data path: sparse text, ragged sequences, early stopping (CPU)",
        text=(
            "Each fit alone in a fresh child process (torch imported in each); "
            "peak increase is how far the peak RSS (VmHWM, reset just before "
            "fit) rose above the resident memory before `fit`, peak in all "
            "the process's peak RSS with its data and imports; wall and CPU "
            "seconds of the fit (CPU time is less disturbed by a busy "
            "machine). Ratios are to each table's peer (its last row)."
        ),
    )
    n, p, k = sizes["tfidf"]
    tfidf = _run(
        (
            "sklearn_deep LogisticRegression",
            "sklearn_deep MLPClassifier",
            "scikit-learn LogisticRegression",
        ),
        cfg,
        log,
    )
    section.tables.append(
        f"Sparse text: TF-IDF-like CSR, {n} x {p}, about {n * k} stored values "
        f"before duplicates are summed; our LogisticRegression with C=1.0, "
        f"scikit-learn's default objective; MLP hidden {HIDDEN}, 3 epochs.\n\n"
        + markdown_table(HEADER, _rows(tfidf, "scikit-learn LogisticRegression"))
    )
    section.targets.append(
        _peak_target(
            "LogisticRegression on sparse text: peak memory",
            "scikit-learn's LogisticRegression",
            tfidf["sklearn_deep LogisticRegression"],
            tfidf["scikit-learn LogisticRegression"],
            2.0,
            key="total_mb",  # the "220 MB in all"
        )
    )
    n, short, long = sizes["ragged"]
    ragged = _run(
        (
            "sklearn_deep LSTMClassifier, with the long sequence",
            "sklearn_deep LSTMClassifier, all short",
        ),
        cfg,
        log,
    )
    section.tables.append(
        f"Ragged sequences: {n} of {short} steps (F=2), one of them replaced by "
        f"one of {long} steps, beside the same data all short; one epoch.\n\n"
        + markdown_table(
            HEADER, _rows(ragged, "sklearn_deep LSTMClassifier, all short")
        )
    )
    n, p = sizes["early"]
    early = _run(
        (
            "sklearn_deep MLPClassifier, early_stopping",
            "sklearn_deep MLPClassifier, plain",
            "scikit-learn MLPClassifier, early_stopping",
        ),
        cfg,
        log,
    )
    section.tables.append(
        f"Early stopping: {n} x {p} float64 X ({n * p * 8 / 2**20:.0f} MB), "
        f"hidden (64,), batch 1024, one epoch.\n\n"
        + markdown_table(
            HEADER, _rows(early, "scikit-learn MLPClassifier, early_stopping")
        )
    )
    section.targets.append(
        _peak_target(
            "early_stopping=True holds no second copy of X",
            "the fit without it",
            early["sklearn_deep MLPClassifier, early_stopping"],
            early["sklearn_deep MLPClassifier, plain"],
            1.25,
        )
    )
    return section


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="quick", choices=sorted(SIZES))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    cfg = {"size": args.size, "threads": args.threads}
    print(run(cfg, "cpu", lambda m: print(m, flush=True)).markdown())
