"""Case 4: predict, single-row latency and batch throughput."""

import statistics
import time

import numpy as np
import torch

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
from benchmarks.case_mlp import make_data


def _latency(predict, rows, calls):
    """Median seconds of one ``predict`` call on one row (and mean CPU)."""
    times = []
    cpu = time.process_time()
    for i in range(calls):
        row = rows[i % len(rows)][None]
        tic = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - tic)
    return {
        "wall": statistics.median(times),
        "cpu": (time.process_time() - cpu) / calls,
    }


def _throughput(predict, X, device, budget=0.1, most=100):
    """The fastest ``predict`` over all of X, in seconds (and mean CPU).

    A call of a few milliseconds (a linear model's) is at the mercy of the
    other tenants of the machine's cores and cache: one measured call swung
    1.5x between rounds. The calls are repeated back to back for about
    ``budget`` seconds (at least 3, at most ``most``) and the fastest is
    kept, as ``timeit`` advises: other load only ever adds time.
    """
    with Timer(device) as t:
        predict(X)
    calls = int(min(most, max(3, budget / max(t.wall, 1e-6))))
    walls, cpu = [], 0.0
    for _ in range(calls):
        with Timer(device) as t:
            predict(X)
        walls.append(t.wall)
        cpu += t.cpu
    return {"wall": min(walls), "cpu": cpu / calls}


def _fitted(cfg, device, model):
    """name -> predict callable, for the same network in each library."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from sklearn_deep import LogisticRegression, MLPClassifier

    n = cfg["predict_rows"]
    X, y, _, _ = make_data(n, 0, cfg["mlp_features"], "classification")
    hidden = cfg["mlp_hidden"]
    fit_rows = min(n, 4000)
    Xf, yf = X[:fit_rows], y[:fit_rows]
    predictors = {}
    if model == "mlp":
        ours = MLPClassifier(hidden, max_iter=1, random_state=0, device=device)
        ours.fit(Xf, yf)
        sk = SkMLPClassifier(hidden, max_iter=1, random_state=0).fit(Xf, yf)
        torch.manual_seed(0)
        net = _peers.skorch_net(
            _peers.mlp_module(X.shape[1], hidden, 10),
            task="classification",
            epochs=1,
            batch_size=200,
            device=device,
        ).fit(Xf, yf.astype(np.int64))
        module = ours.module_

        def bare(rows):
            with torch.inference_mode():
                out = module(torch.from_numpy(rows).to(device))
                return out.argmax(1).cpu().numpy()

        predictors["sklearn_deep"] = ours.predict
        predictors["bare torch module"] = bare
        predictors["skorch"] = net.predict
    else:
        ours = LogisticRegression(device=device).fit(Xf, yf)
        sk = SkLogisticRegression().fit(Xf, yf)
        predictors["sklearn_deep"] = ours.predict
    if torch.device(device).type == "cpu":
        predictors["scikit-learn"] = sk.predict
    return X, predictors


def run(cfg, device, log):
    calls = cfg["predict_calls"]
    section = Section(
        title=f"Predict ({device})",
        text=(
            f"Models fitted for one epoch on {cfg['mlp_features']} features "
            f"(MLP hidden {cfg['mlp_hidden']}; LogisticRegression: 10 classes). "
            f"Single row: median latency of {calls} `predict` calls on one float32 "
            f"row each. Batch: `predict` over {cfg['predict_rows']} float32 rows, "
            f"the fastest of calls repeated back to back for about 0.1 s. The "
            f"bare torch module skips all input checks and runs one forward over "
            f"all the rows, as a plain loop would. {cfg['repeats']} interleaved "
            f"repeats, medians."
        ),
    )
    table = []
    for model, label in (("mlp", "MLPClassifier"), ("linear", "LogisticRegression")):
        log(f"predict {label}")
        X, predictors = _fitted(cfg, device, model)
        single = interleave(
            {
                k: (lambda p=p, X=X: _latency(p, X, calls))
                for k, p in predictors.items()
            },
            cfg["repeats"],
            log,
        )
        batch = interleave(
            {
                k: (lambda p=p, X=X: _throughput(p, X, device))
                for k, p in predictors.items()
            },
            cfg["repeats"],
            log,
        )
        sk_single = single.get("scikit-learn")
        sk_batch = batch.get("scikit-learn")
        for name in predictors:
            s, b = single[name], batch[name]
            rate = len(X) / b.median_wall
            table.append(
                [
                    label,
                    name,
                    fmt_seconds(s.median_wall),
                    fmt_ratio(s.median_wall / sk_single.median_wall)
                    if sk_single
                    else "-",
                    f"{rate / 1e3:.0f}k",
                    fmt_ratio(rate / (len(X) / sk_batch.median_wall))
                    if sk_batch
                    else "-",
                ]
            )
        if sk_single is not None:
            ours_s, ours_b = single["sklearn_deep"], batch["sklearn_deep"]
            r = ours_s.median_wall / sk_single.median_wall
            section.targets.append(
                Target(
                    f"{label} single-row predict latency vs scikit-learn",
                    "<= 0.40x",
                    f"{r:.2f}x ({fmt_seconds(ours_s.median_wall)} vs "
                    f"{fmt_seconds(sk_single.median_wall)})",
                    r <= 0.40,
                )
            )
            r = sk_batch.median_wall / ours_b.median_wall
            section.targets.append(
                Target(
                    f"{label} batch predict rows/s vs scikit-learn",
                    ">= 1.25x",
                    f"{r:.2f}x ({len(X) / ours_b.median_wall / 1e3:.0f}k vs "
                    f"{len(X) / sk_batch.median_wall / 1e3:.0f}k rows/s)",
                    r >= 1.25,
                )
            )
    section.tables.append(
        markdown_table(
            [
                "model",
                "variant",
                "1-row latency",
                "vs scikit-learn",
                "batch rows/s",
                "vs scikit-learn",
            ],
            table,
        )
    )
    return section
