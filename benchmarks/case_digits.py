"""scikit-learn-sized data: digits (1797 x 64), 5-fold CV of a pipeline.

Here an epoch is a handful of batches, so per-epoch and per-batch overheads
decide, and so does the number of epochs each implementation runs before its
stopping rule fires.
"""

import multiprocessing as mp

from sklearn.datasets import load_digits
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._harness import (
    Section,
    Target,
    Timer,
    fmt_ratio,
    fmt_seconds,
    interleave,
    markdown_table,
)

# scikit-learn's network and training rules, which MLPClassifier's own defaults
# (a wider network trained for all max_iter epochs, for accuracy) are not: the
# same work on both sides
SKLEARN_SETTINGS = dict(
    hidden_layer_sizes=(100,), dropout=0.0, learning_rate="constant", batch_size=200
)


def _cv(cls, folds, max_iter, **params):
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), cls(random_state=0, max_iter=max_iter, **params)
    )
    with Timer() as t:
        res = cross_validate(pipe, X, y, cv=folds, return_estimator=True)
    epochs = sum(est[-1].n_iter_ for est in res["estimator"])
    return {
        "wall": t.wall,
        "cpu": t.cpu,
        "epochs": epochs,
        "score": res["test_score"].mean(),
    }


def _fresh_child(which, folds, max_iter, threads, conn):
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)
    if which == "ours":
        from sklearn_deep import MLPClassifier as cls

        params = {"device": "cpu", **SKLEARN_SETTINGS}
    else:
        from sklearn.neural_network import MLPClassifier as cls

        params = {}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conn.send(_cv(cls, folds, max_iter, **params))
    conn.close()


def _fresh(which, folds, max_iter, threads):
    """The same CV as the first thing a fresh Python process does."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_fresh_child, args=(which, folds, max_iter, threads, child)
    )
    proc.start()
    child.close()
    out = parent.recv()
    proc.join()
    return out


def run(cfg, device, log):
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from sklearn_deep import MLPClassifier

    folds, max_iter = cfg["digits_folds"], cfg["digits_max_iter"]
    log("digits cross-validation")
    res = interleave(
        {
            "sklearn_deep MLPClassifier": lambda: _cv(
                MLPClassifier, folds, max_iter, device="cpu", **SKLEARN_SETTINGS
            ),
            "scikit-learn MLPClassifier": lambda: _cv(SkMLPClassifier, folds, max_iter),
        },
        cfg["repeats"],
        log,
    )
    sk = res["scikit-learn MLPClassifier"]
    rows = []
    for name, m in res.items():
        epochs = m.extra["epochs"]
        rows.append(
            [
                name,
                fmt_seconds(m.median_wall),
                fmt_ratio(m.median_wall / sk.median_wall),
                fmt_ratio(m.median_cpu / sk.median_cpu),
                str(epochs),
                f"{m.median_cpu / epochs * 1e3:.2f} ms",
                f"{m.extra['score']:.4f}",
            ]
        )
    fresh_note = ""
    if cfg.get("digits_fresh", True):
        log("digits cross-validation, fresh processes")
        fresh = {
            "sklearn_deep MLPClassifier, fresh process": _fresh(
                "ours", folds, max_iter, cfg["threads"]
            ),
            "scikit-learn MLPClassifier, fresh process": _fresh(
                "sklearn", folds, max_iter, cfg["threads"]
            ),
        }
        sk_fresh = fresh["scikit-learn MLPClassifier, fresh process"]
        for name, out in fresh.items():
            rows.append(
                [
                    name,
                    fmt_seconds(out["wall"]),
                    fmt_ratio(out["wall"] / sk_fresh["wall"]),
                    fmt_ratio(out["cpu"] / sk_fresh["cpu"]),
                    str(out["epochs"]),
                    f"{out['cpu'] / out['epochs'] * 1e3:.2f} ms",
                    f"{out['score']:.4f}",
                ]
            )
        fresh_note = (
            " The fresh-process rows run the CV once, as the first thing a new "
            "Python process does after its imports: there the first torch "
            "optimizer built in the process imports `torch._dynamo` (torch's "
            "`Optimizer.add_param_group` is wrapped by `_disable_dynamo`), a "
            "one-time cost of about 1.3 s of CPU here that every torch training "
            "loop pays (skorch and the bare loop too), and each joblib worker "
            "pays again."
        )
    section = Section(
        title="scikit-learn-sized data: digits, 5-fold CV (CPU)",
        text=(
            f"`cross_validate(make_pipeline(StandardScaler(), MLPClassifier("
            f"random_state=0, max_iter={max_iter})), X, y, cv={folds})` on digits "
            f"(1797 x 64), every other parameter at scikit-learn's default "
            f"(hidden (100,), Adam at a constant step, batch 200, alpha 1e-4, tol "
            f"1e-4, n_iter_no_change 10; sklearn_deep's MLPClassifier is given "
            f"these explicitly, its own defaults differ). Epochs: "
            f"summed over the folds (each stops by scikit-learn's rule). CPU "
            f"ms/epoch: the CPU time of the whole CV divided by those epochs. The "
            f"first two rows: medians of {cfg['repeats']} interleaved repeats in "
            f"the benchmark process (torch already warm)." + fresh_note
        ),
    )
    section.tables.append(
        markdown_table(
            [
                "estimator",
                "CV time",
                "wall ratio",
                "CPU ratio",
                "epochs",
                "CPU ms / epoch",
                "accuracy",
            ],
            rows,
        )
    )
    ours = res["sklearn_deep MLPClassifier"]
    per_ours = ours.median_cpu / ours.extra["epochs"]
    per_sk = sk.median_cpu / sk.extra["epochs"]
    section.targets.append(
        Target(
            "digits CV: MLPClassifier per-epoch cost vs scikit-learn's (info)",
            "<= 1.05x",
            f"{per_ours / per_sk:.2f}x CPU per epoch; CV "
            f"{ours.median_wall / sk.median_wall:.2f}x wall",
            per_ours / per_sk <= 1.05,
        )
    )
    return section
