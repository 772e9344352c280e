"""Case 3: CNN and LSTM fit per epoch against the bare loop, same network."""

import copy

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


def _images(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, *shape), dtype=np.float32)
    # the class is the quadrant with the most mass: needs spatial features
    h, w = shape[-2] // 2, shape[-1] // 2
    quads = [
        X[..., :h, :w].mean((1, 2, 3)),
        X[..., :h, w:].mean((1, 2, 3)),
        X[..., h:, :w].mean((1, 2, 3)),
        X[..., h:, w:].mean((1, 2, 3)),
    ]
    return X, np.argmax(quads, 0)


def _sequences(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, *shape), dtype=np.float32)
    # the class depends on the order of events: late mean against early mean
    half = shape[0] // 2
    y = (X[:, half:, 0].mean(1) > X[:, :half, 0].mean(1)).astype(np.int64)
    return X, y


def _estimator(family, epochs, batch_size):
    # the bare loop's work: a constant step, no augmentation, no input scaling
    common = dict(
        learning_rate="constant",
        input_scaling=None,
        batch_size=batch_size,
        max_iter=epochs,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    if family == "CNNClassifier":
        from sklearn_deep import CNNClassifier

        return CNNClassifier(
            conv_channels=(32, 64),
            hidden_layer_sizes=(100,),
            kernel_size=3,
            pooling="max",
            global_pooling=None,
            augment=None,
            learning_rate_init=1e-3,
            **common,
        )
    from sklearn_deep import LSTMClassifier

    return LSTMClassifier(hidden_size=64, **common)


def _variants(family, X, y, *, epochs, batch_size, device):
    template = _estimator(family, 1, batch_size).set_params(device="cpu")
    template.fit(X[: 2 * batch_size], y[: 2 * batch_size])
    y_t = torch.from_numpy(y)
    n_classes = len(np.unique(y))

    def ours():
        est = _estimator(family, epochs, batch_size).set_params(device=device)
        with Timer(device) as t:
            est.fit(X, y)
        assert est.n_iter_ == epochs
        return {"wall": t.wall, "cpu": t.cpu}

    def bare(fused):
        module = copy.deepcopy(template.module_)
        t = _peers.bare_fit(
            module,
            X,
            y_t if n_classes > 2 else y_t.float().reshape(-1, 1),
            _peers.cross_entropy if n_classes > 2 else _bce,
            epochs=epochs,
            batch_size=batch_size,
            fused=fused,
            device=device,
        )
        return {"wall": t.wall, "cpu": t.cpu}

    def skorch():

        module = copy.deepcopy(template.module_)
        if n_classes > 2:
            task, target = "classification", y
        else:
            task, target = "binary", y.astype(np.float32)
        net = _peers.skorch_net(
            module, task=task, epochs=epochs, batch_size=batch_size, device=device
        )
        with Timer(device) as t:
            net.fit(X, target)
        return {"wall": t.wall, "cpu": t.cpu}

    return {
        "sklearn_deep": ours,
        "bare torch loop": lambda: bare(False),
        "bare torch loop, fused Adam": lambda: bare(True),
        "skorch (default DataLoader)": skorch,
    }


def _bce(logits, target):
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, target)


def run(cfg, device, log):
    epochs, batch_size = cfg["deep_epochs"], cfg["deep_batch"]
    section = Section(
        title=f"CNN and LSTM fit per epoch ({device})",
        text=(
            f"CNNClassifier (conv (32, 64), dense (100,), batch norm, max pooling) "
            f"on {cfg['cnn_rows']} images {cfg['cnn_shape']}, 4 classes; "
            f"LSTMClassifier (hidden 64, last step) on {cfg['lstm_rows']} sequences "
            f"{cfg['lstm_shape']}, 2 classes. Batch {batch_size}, Adam lr 1e-3, no "
            f"L2, {epochs} epoch(s) per fit. The bare loop and skorch train a copy "
            f"of the very module the estimator builds. {cfg['repeats']} "
            f"interleaved repeats, medians; ratios to the bare loop (plain Adam)."
        ),
    )
    table = []
    for family, make, n, shape in (
        ("CNNClassifier", _images, cfg["cnn_rows"], cfg["cnn_shape"]),
        ("LSTMClassifier", _sequences, cfg["lstm_rows"], cfg["lstm_shape"]),
    ):
        try:
            variants = _variants(
                family,
                *make(n, shape),
                epochs=epochs,
                batch_size=batch_size,
                device=device,
            )
        except ImportError as exc:
            section.text += f"\n\n{family} is not available here ({exc}): left out."
            section.targets.append(
                Target(f"{family} fit vs bare loop", "<= 1.05x", "-", None)
            )
            continue
        log(f"{family} {n} x {shape}")
        res = interleave(variants, cfg["repeats"], log)
        table += per_epoch_rows(section, family, res, epochs, device)
    section.tables.append(per_epoch_table(table))
    return section


def per_epoch_rows(section, family, res, epochs, device):
    """One family's table rows, and its target (<= 1.05x) added to section."""
    base = res["bare torch loop"]
    rows = [
        [
            family,
            name,
            fmt_seconds(m.median_wall / epochs),
            fmt_ratio(m.median_wall / base.median_wall),
            fmt_ratio(m.median_cpu / base.median_cpu),
            fmt_ratio(m.min_wall / base.min_wall),
        ]
        for name, m in res.items()
    ]
    ours = res["sklearn_deep"]
    wall = ours.median_wall / base.median_wall
    section.targets.append(
        Target(
            f"{family} fit per epoch vs bare loop ({device})",
            "<= 1.05x bare loop",
            f"{wall:.2f}x wall, {ours.median_cpu / base.median_cpu:.2f}x CPU, "
            f"{ours.min_wall / base.min_wall:.2f}x best",
            wall <= 1.05,
        )
    )
    return rows


def per_epoch_table(rows):
    return markdown_table(
        ["fit", "variant", "s / epoch", "wall ratio", "CPU ratio", "best-of ratio"],
        rows,
    )
