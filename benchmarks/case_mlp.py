"""Case 1: MLP fit per epoch (classifier at two batch sizes, regressor)."""

import numpy as np
import torch
from sklearn.metrics import accuracy_score, r2_score

from benchmarks import _peers
from benchmarks._harness import (
    Section,
    Target,
    Timer,
    fmt_ratio,
    fmt_seconds,
    interleave,
    markdown_table,
)


def make_data(n_train, n_test, n_features, task, seed=0):
    """Synthetic float32 data with a nonlinear signal (10 classes, or a value)."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    W1 = rng.standard_normal((n_features, 32)) / np.sqrt(n_features)
    W2 = rng.standard_normal((32, 10))
    H = np.tanh(X @ W1) @ W2
    if task == "classification":
        y = (H + 0.5 * rng.standard_normal(H.shape)).argmax(1)
    else:
        y = (H[:, 0] + 0.1 * rng.standard_normal(n)).astype(np.float32)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _score(task, y_true, y_pred):
    if task == "classification":
        return accuracy_score(y_true, y_pred)
    return r2_score(y_true, y_pred)


def fit_variants(data, *, task, hidden, batch_size, epochs, device, alpha_default):
    """name -> callable: one fit of ``epochs`` epochs each, timed."""
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    from sklearn_deep import MLPClassifier, MLPRegressor

    X, y, X_test, y_test = data
    n_features = X.shape[1]
    n_outputs = 10 if task == "classification" else 1
    Ours = MLPClassifier if task == "classification" else MLPRegressor
    Sk = SkMLPClassifier if task == "classification" else SkMLPRegressor
    # the same objective everywhere: no L2 penalty, Adam at a constant lr 1e-3,
    # no dropout, a fixed number of epochs (tol=0 and a patience longer than
    # the run): the engine's cost, not that of MLPClassifier's own defaults
    common = dict(
        hidden_layer_sizes=hidden,
        batch_size=batch_size,
        max_iter=epochs,
        learning_rate="constant",
        learning_rate_init=1e-3,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    if task == "classification":
        y_torch = torch.from_numpy(y.astype(np.int64))
        loss_fn = _peers.cross_entropy
        y_skorch = y.astype(np.int64)
    else:
        y_torch = torch.from_numpy(y.reshape(-1, 1))
        loss_fn = _peers.half_mse
        y_skorch = y.reshape(-1, 1)

    def ours(alpha=0.0):
        est = Ours(alpha=alpha, device=device, dropout=0.0, **common)
        with Timer(device) as t:
            est.fit(X, y)
        assert est.n_iter_ == epochs
        return {
            "wall": t.wall,
            "cpu": t.cpu,
            "score": _score(task, y_test, est.predict(X_test)),
        }

    def bare(fused):
        torch.manual_seed(0)
        module = _peers.mlp_module(n_features, hidden, n_outputs)
        t = _peers.bare_fit(
            module,
            X,
            y_torch,
            loss_fn,
            epochs=epochs,
            batch_size=batch_size,
            fused=fused,
            device=device,
        )
        out = _peers.bare_predict(module, X_test, device)
        pred = out.argmax(1) if task == "classification" else out[:, 0]
        return {"wall": t.wall, "cpu": t.cpu, "score": _score(task, y_test, pred)}

    def skorch():
        torch.manual_seed(0)
        net = _peers.skorch_net(
            _peers.mlp_module(n_features, hidden, n_outputs),
            task=task,
            epochs=epochs,
            batch_size=batch_size,
            device=device,
        )
        with Timer(device) as t:
            net.fit(X, y_skorch)
        pred = net.predict(X_test)
        pred = pred if task == "classification" else pred[:, 0]
        return {"wall": t.wall, "cpu": t.cpu, "score": _score(task, y_test, pred)}

    def sklearn():
        est = Sk(alpha=0.0, **common)
        with Timer() as t:
            est.fit(X, y)
        return {
            "wall": t.wall,
            "cpu": t.cpu,
            "score": _score(task, y_test, est.predict(X_test)),
        }

    variants = {
        "sklearn_deep": ours,
        "bare torch loop": lambda: bare(False),
        "bare torch loop, fused Adam": lambda: bare(True),
        "skorch (default DataLoader)": skorch,
    }
    if alpha_default:
        variants["sklearn_deep, alpha=1e-4"] = lambda: ours(1e-4)
    if torch.device(device).type == "cpu":
        variants["scikit-learn (float32 X)"] = sklearn
    return variants


def run(cfg, device, log):
    rows_n, n_test = cfg["mlp_rows"], cfg["mlp_test_rows"]
    n_features, hidden, epochs = (
        cfg["mlp_features"],
        cfg["mlp_hidden"],
        cfg["mlp_epochs"],
    )
    section = Section(
        title=f"MLP fit per epoch ({device})",
        text=(
            f"{rows_n} x {n_features} synthetic float32 rows, hidden {hidden}, Adam "
            f"(lr 1e-3), no L2 penalty, {epochs} epochs per fit (seconds per epoch "
            f"= fit time / {epochs}, setup included), {cfg['repeats']} interleaved "
            f"repeats, medians. Score: test accuracy (classifier) or R^2 "
            f"(regressor) on {n_test} held-out rows. Ratios are to the bare torch "
            f"loop (plain Adam), of the median wall times, the median CPU times "
            f"and the fastest repeats (other load only ever adds time, so on a "
            f"busy machine the best-of ratio is the steadiest)."
        ),
    )
    cases = [
        ("classification", cfg["mlp_batch_large"]),
        ("classification", cfg["mlp_batch_small"]),
        ("regression", cfg["mlp_batch_large"]),
    ]
    table = []
    for task, batch_size in cases:
        log(f"MLP {task}, batch {batch_size}")
        data = make_data(rows_n, n_test, n_features, task)
        variants = fit_variants(
            data,
            task=task,
            hidden=hidden,
            batch_size=batch_size,
            epochs=epochs,
            device=device,
            alpha_default=(task == "classification"),
        )
        res = interleave(variants, cfg["repeats"], log)
        base = res["bare torch loop"]
        label = f"MLP{'Classifier' if task == 'classification' else 'Regressor'}"
        for name, m in res.items():
            table.append(
                [
                    f"{label}, batch {batch_size}",
                    name,
                    fmt_seconds(m.median_wall / epochs),
                    fmt_ratio(m.median_wall / base.median_wall),
                    fmt_ratio(m.median_cpu / base.median_cpu),
                    fmt_ratio(m.min_wall / base.min_wall),
                    f"{m.extra['score']:.4f}",
                ]
            )
        ours = res["sklearn_deep"]
        wall = ours.median_wall / base.median_wall
        cpu = ours.median_cpu / base.median_cpu
        best = ours.min_wall / base.min_wall
        if task == "classification":
            limit = 0.90 if batch_size >= 256 else 0.80
            section.targets.append(
                Target(
                    f"{label} fit per epoch, batch {batch_size} ({device})",
                    f"<= {limit:.2f}x bare loop",
                    f"{wall:.2f}x wall, {cpu:.2f}x CPU, {best:.2f}x best",
                    wall <= limit,
                )
            )
        section.targets.append(
            Target(
                f"{label} fit, batch {batch_size}: fit in general ({device})",
                "<= 1.05x bare loop",
                f"{wall:.2f}x wall, {cpu:.2f}x CPU",
                wall <= 1.05,
            )
        )
    section.tables.append(
        markdown_table(
            [
                "fit",
                "variant",
                "s / epoch",
                "wall ratio",
                "CPU ratio",
                "best-of ratio",
                "score",
            ],
            table,
        )
    )
    return section
