"""Case 7: TransformerClassifier and AutoEncoder fit per epoch against the bare
loop, same network."""

import copy

import numpy as np
import torch

from benchmarks import _peers
from benchmarks._harness import Section, Timer, interleave
from benchmarks.case_cnn_lstm import (
    _bce,
    _sequences,
    per_epoch_rows,
    per_epoch_table,
)


def _table(n, n_features, seed=0):
    """Rows near a 4-dimensional subspace: something for a code to learn."""
    rng = np.random.default_rng(seed)
    code = rng.standard_normal((n, 4), dtype=np.float32)
    mixing = rng.standard_normal((4, n_features), dtype=np.float32)
    noise = 0.1 * rng.standard_normal((n, n_features), dtype=np.float32)
    return code @ mixing + noise, None


def _estimator(family, epochs, batch_size):
    # the bare loop's work: Adam at a constant 1e-3, no L2, no input scaling
    common = dict(
        solver="adam",
        learning_rate="constant",
        learning_rate_init=1e-3,
        input_scaling=None,
        batch_size=batch_size,
        max_iter=epochs,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    if family == "TransformerClassifier":
        from sklearn_deep import TransformerClassifier

        return TransformerClassifier(**common)  # d_model 64, 4 heads, 2 blocks
    from sklearn_deep import AutoEncoder

    return AutoEncoder(n_components=8, hidden_layer_sizes=(256, 64), **common)


def _half_mse(output, target):
    return 0.5 * torch.nn.functional.mse_loss(output, target)


def _variants(family, X, y, *, epochs, batch_size, device):
    template = _estimator(family, 1, batch_size).set_params(device="cpu")
    template.fit(X[: 2 * batch_size], None if y is None else y[: 2 * batch_size])
    if y is None:  # reconstruction: the target is the input, as the network reads it
        X_bare = X.reshape(len(X), 1, -1)
        target, loss = torch.from_numpy(X_bare), _half_mse
    else:
        X_bare = X
        target, loss = torch.from_numpy(y).float().reshape(-1, 1), _bce

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
            X_bare,
            target,
            loss,
            epochs=epochs,
            batch_size=batch_size,
            fused=fused,
            device=device,
        )
        return {"wall": t.wall, "cpu": t.cpu}

    return {
        "sklearn_deep": ours,
        "bare torch loop": lambda: bare(False),
        "bare torch loop, fused Adam": lambda: bare(True),
    }


def run(cfg, device, log):
    epochs, batch_size = cfg["deep_epochs"], cfg["deep_batch"]
    section = Section(
        title=f"Transformer and AutoEncoder fit per epoch ({device})",
        text=(
            f"TransformerClassifier (defaults: d_model 64, 4 heads, 2 pre-norm "
            f"blocks, feed-forward 256, dropout 0.1, mean pooling) on "
            f"{cfg['lstm_rows']} sequences {cfg['lstm_shape']}, 2 classes; "
            f"AutoEncoder (dense 256-64, code 8) on {cfg['mlp_rows']} rows of "
            f"{cfg['mlp_features']} features. Batch {batch_size}, Adam lr 1e-3, "
            f"no L2, no input scaling, {epochs} epoch(s) per fit. The bare loop "
            f"trains a copy of the very module the estimator builds. "
            f"{cfg['repeats']} interleaved repeats, medians; ratios to the bare "
            f"loop (plain Adam)."
        ),
    )
    table = []
    for family, make, n, shape in (
        ("TransformerClassifier", _sequences, cfg["lstm_rows"], cfg["lstm_shape"]),
        ("AutoEncoder", _table, cfg["mlp_rows"], cfg["mlp_features"]),
    ):
        log(f"{family} {n} x {shape}")
        variants = _variants(
            family, *make(n, shape), epochs=epochs, batch_size=batch_size, device=device
        )
        res = interleave(variants, cfg["repeats"], log)
        table += per_epoch_rows(section, family, res, epochs, device)
    section.tables.append(per_epoch_table(table))
    return section
