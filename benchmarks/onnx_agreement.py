"""ONNX export against predict: max |probability difference| and label
agreement per family, on scikit-learn's digits (and diabetes for regressors).

Run: ``python -m benchmarks.onnx_agreement`` (about 30 s on one CPU core).
"""

import warnings

import numpy as np
from sklearn.datasets import load_diabetes, load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_deep
import sklearn_deep.onnx  # noqa: F401  (registers the skl2onnx converters)


def _run(model, feeds):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString())
    return session.run(None, feeds)


def _ragged(X):
    """Digits as sequences of 4 to 8 rows of 8 pixels, padded, with lengths."""
    seqs = [x.reshape(8, 8)[: 4 + i % 5] for i, x in enumerate(X)]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    padded = np.zeros((len(seqs), 8, 8), np.float32)
    for i, s in enumerate(seqs):
        padded[i, : len(s)] = s
    return seqs, {"X": padded, "lengths": lengths}


def main():
    import skl2onnx

    warnings.filterwarnings("ignore")
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    names = np.array(list("abcdefghij"))[y]  # string labels
    fit, test = slice(0, 1200), slice(1200, None)
    common = {"device": "cpu", "random_state": 0, "max_iter": 20}
    rows = []

    def classifier(label, est, X_fit, X_test, feeds, model=None):
        est.fit(X_fit, names[fit])
        model = model or sklearn_deep.to_onnx(est, X_fit[:2])
        out_label, proba = _run(model, feeds)
        diff = np.abs(proba - est.predict_proba(X_test)).max()
        agree = (out_label == est.predict(X_test)).mean()
        rows.append((label, f"{diff:.1e}", f"{100 * agree:.2f} %"))

    Xt = X[test]
    classifier(
        "LogisticRegression",
        sklearn_deep.LogisticRegression(**common),
        X[fit],
        Xt,
        {"X": Xt},
    )
    classifier(
        "MLPClassifier", sklearn_deep.MLPClassifier(**common), X[fit], Xt, {"X": Xt}
    )
    images = X.reshape(-1, 1, 8, 8)
    classifier(
        "CNNClassifier (8x8 images)",
        sklearn_deep.CNNClassifier(conv_channels=(8, 16), **common),
        images[fit],
        images[test],
        {"X": images[test]},
    )
    seqs, feeds = _ragged(X)
    classifier(
        "LSTMClassifier (ragged, 4-8 steps)",
        sklearn_deep.LSTMClassifier(hidden_size=32, **common),
        seqs[fit],
        seqs[test],
        {"X": feeds["X"][test], "lengths": feeds["lengths"][test]},
    )
    pipe = make_pipeline(StandardScaler(), sklearn_deep.MLPClassifier(**common))
    pipe.fit(X[fit], names[fit])
    model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    classifier(
        "Pipeline(StandardScaler, MLPClassifier)", pipe, X[fit], Xt, {"X": Xt}, model
    )

    Xr, yr = load_diabetes(return_X_y=True)
    Xr = StandardScaler().fit_transform(Xr).astype(np.float32)
    for cls in (sklearn_deep.LinearRegression, sklearn_deep.MLPRegressor):
        params = {} if cls is sklearn_deep.LinearRegression else {"max_iter": 50}
        est = cls(device="cpu", random_state=0, **params).fit(Xr, yr)
        (pred,) = _run(sklearn_deep.to_onnx(est, Xr[:2]), {"X": Xr})
        diff = np.abs(pred - est.predict(Xr)).max() / np.abs(est.predict(Xr)).max()
        rows.append((f"{cls.__name__} (relative)", f"{diff:.1e}", "-"))

    print("| estimator | max abs. probability difference | labels agreeing |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
