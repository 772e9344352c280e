"""Case 2: LogisticRegression and LinearRegression on a large table."""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, r2_score
from torch import nn

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

BATCH = 4096  # mini-batch of the stochastic rows
LR = 0.01


def make_data(n_train, n_test, n_features, task, seed=0):
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    X = rng.standard_normal((n, n_features), dtype=np.float32)
    w = rng.standard_normal(n_features).astype(np.float32) / np.sqrt(n_features)
    signal = X @ w * 3.0 + 0.5
    if task == "classification":
        noise = rng.logistic(size=n).astype(np.float32)
        y = (signal + noise > 0).astype(np.int64)
    else:
        y = (signal + rng.standard_normal(n, dtype=np.float32)).astype(np.float32)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, target)


def variants_for(task, data, *, device, epochs):
    from sklearn.linear_model import LinearRegression as SkLinearRegression
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    from sklearn_deep import LinearRegression, LogisticRegression

    X, y, X_test, y_test = data
    n, p = X.shape
    classify = task == "classification"
    score = accuracy_score if classify else r2_score

    def timed_fit(est, dev="cpu"):
        with Timer(dev) as t:
            est.fit(X, y)
        return {
            "wall": t.wall,
            "cpu": t.cpu,
            "score": score(y_test, est.predict(X_test)),
        }

    y_t = torch.from_numpy(y.astype(np.float32).reshape(-1, 1))

    def bare_out(module):
        out = _peers.bare_predict(module, X_test, device)[:, 0]
        return (out > 0).astype(np.int64) if classify else out

    def bare_adam():
        torch.manual_seed(0)
        module = nn.Linear(p, 1)
        t = _peers.bare_fit(
            module,
            X,
            y_t,
            _bce if classify else _peers.half_mse,
            epochs=epochs,
            batch_size=BATCH,
            lr=LR,
            fused=True,
            device=device,
        )
        return {"wall": t.wall, "cpu": t.cpu, "score": score(y_test, bare_out(module))}

    def skorch():
        torch.manual_seed(0)
        net = _peers.skorch_net(
            nn.Linear(p, 1),
            task="binary" if classify else "regression",
            epochs=epochs,
            batch_size=BATCH,
            lr=LR,
            device=device,
        )
        target = y.astype(np.float32) if classify else y.reshape(-1, 1)
        with Timer(device) as t:
            net.fit(X, target)
        pred = net.predict(X_test)
        pred = pred if classify else pred[:, 0]
        return {"wall": t.wall, "cpu": t.cpu, "score": score(y_test, pred)}

    stochastic = dict(
        solver="adam",
        batch_size=BATCH,
        learning_rate_init=LR,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
        device=device,
    )
    variants = {}
    if classify:
        alpha = 1.0 / n  # scikit-learn's C=1
        variants["sklearn_deep (auto: L-BFGS)"] = lambda: timed_fit(
            LogisticRegression(alpha=alpha, device=device), device
        )

        def bare_lbfgs():
            module = nn.Linear(p, 1)
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)
            t = _peers.bare_lbfgs(
                module, X, y_t, _bce, l2=alpha, max_iter=100, tol=1e-4, device=device
            )
            return {
                "wall": t.wall,
                "cpu": t.cpu,
                "score": score(y_test, bare_out(module)),
            }

        variants["bare torch L-BFGS"] = bare_lbfgs
        variants[f"sklearn_deep (adam, {epochs} epochs)"] = lambda: timed_fit(
            LogisticRegression(alpha=0.0, penalty=None, **stochastic), device
        )
        if torch.device(device).type == "cpu":
            variants["scikit-learn LogisticRegression (lbfgs)"] = lambda: timed_fit(
                SkLogisticRegression(C=1.0)
            )
            variants["scikit-learn SGDClassifier (log_loss)"] = lambda: timed_fit(
                SGDClassifier(loss="log_loss", random_state=0)
            )
    else:
        variants["sklearn_deep (auto: normal equations)"] = lambda: timed_fit(
            LinearRegression(device=device), device
        )

        def bare_normal():
            t, coef, intercept = _peers.bare_normal_equations(X, y, device)
            pred = X_test @ coef.cpu().numpy() + float(intercept)
            return {"wall": t.wall, "cpu": t.cpu, "score": score(y_test, pred)}

        variants["bare torch normal equations"] = bare_normal
        variants[f"sklearn_deep (adam, {epochs} epochs)"] = lambda: timed_fit(
            LinearRegression(**stochastic), device
        )
        if torch.device(device).type == "cpu":
            variants["scikit-learn LinearRegression"] = lambda: timed_fit(
                SkLinearRegression()
            )
            variants["scikit-learn SGDRegressor"] = lambda: timed_fit(
                SGDRegressor(random_state=0)
            )
    variants[f"bare torch loop (fused Adam, {epochs} epochs)"] = bare_adam
    variants[f"skorch (Adam, {epochs} epochs)"] = skorch
    return variants


def run(cfg, device, log):
    n, n_test, p = cfg["linear_rows"], cfg["linear_test_rows"], cfg["linear_features"]
    epochs = cfg["skorch_linear_epochs"]
    section = Section(
        title=f"Linear models on {n} x {p} ({device})",
        text=(
            f"Fit time to the test score each reached ({n_test} held-out rows; "
            f"accuracy or R^2). LogisticRegression: the same objective as "
            f"scikit-learn's C=1 (alpha = 1/n_samples), solver 'auto' (torch "
            f"L-BFGS) against scikit-learn's lbfgs and SGDClassifier; "
            f"LinearRegression: solver 'auto' (normal equations in float64) against "
            f"scikit-learn's OLS and SGDRegressor. The stochastic torch rows "
            f"(sklearn_deep, bare loop, skorch) run Adam, batch {BATCH}, lr {LR}, "
            f"{epochs} epoch(s) each. {cfg['repeats']} interleaved repeats, medians."
        ),
    )
    table = []
    for task in ("classification", "regression"):
        name = "LogisticRegression" if task == "classification" else "LinearRegression"
        log(f"{name} {n} x {p}")
        data = make_data(n, n_test, p, task)
        res = interleave(
            variants_for(task, data, device=device, epochs=epochs), cfg["repeats"], log
        )
        names = list(res)
        ours, bare = res[names[0]], res[names[1]]
        sk_name = next((k for k in names if k.startswith("scikit-learn")), None)
        sk = res[sk_name] if sk_name else None
        for variant, m in res.items():
            table.append(
                [
                    name,
                    variant,
                    fmt_seconds(m.median_wall),
                    fmt_ratio(m.median_wall / sk.median_wall) if sk else "-",
                    fmt_ratio(m.median_wall / bare.median_wall),
                    f"{m.extra['score']:.4f}",
                ]
            )
        ratio_bare = ours.median_wall / bare.median_wall
        section.targets.append(
            Target(
                f"{name} fit ({names[0]}) vs {names[1]} ({device})",
                "<= 1.05x bare",
                f"{ratio_bare:.2f}x wall, "
                f"{ours.median_cpu / bare.median_cpu:.2f}x CPU, "
                f"{ours.min_wall / bare.min_wall:.2f}x best",
                ratio_bare <= 1.05,
            )
        )
        s_ours = f"sklearn_deep (adam, {epochs} epochs)"
        s_bare = f"bare torch loop (fused Adam, {epochs} epochs)"
        r = res[s_ours].median_wall / res[s_bare].median_wall
        section.targets.append(
            Target(
                f"{name} fit (adam) vs bare loop, fused Adam ({device})",
                "<= 1.05x bare",
                f"{r:.2f}x wall, "
                f"{res[s_ours].median_cpu / res[s_bare].median_cpu:.2f}x CPU, "
                f"{res[s_ours].min_wall / res[s_bare].min_wall:.2f}x best",
                r <= 1.05,
            )
        )
        if sk is not None:
            limit = 1.0 if task == "classification" else 0.5
            tolerance = 0.001 if task == "classification" else 1e-4
            r = ours.median_wall / sk.median_wall
            equal = ours.extra["score"] >= sk.extra["score"] - tolerance
            section.targets.append(
                Target(
                    f"{name} vs {sk_name}, equal test score",
                    f"<= {limit:.1f}x, score within {tolerance:g}",
                    f"{r:.2f}x wall ({ours.median_cpu / sk.median_cpu:.2f}x CPU, "
                    f"{ours.min_wall / sk.min_wall:.2f}x best); "
                    f"score {ours.extra['score']:.4f} vs {sk.extra['score']:.4f}",
                    r <= limit and equal,
                )
            )
    section.tables.append(
        markdown_table(
            ["model", "variant", "fit", "vs scikit-learn", "vs bare", "test score"],
            table,
        )
    )
    return section
