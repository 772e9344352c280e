"""The peers: the honest bare torch loop, and skorch nets with the same module."""

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks._harness import Timer


def mlp_module(n_features, hidden, n_outputs):
    """A plain torch MLP: the network MLPClassifier builds, written by hand."""
    layers, fan_in = [], n_features
    for width in hidden:
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    layers.append(nn.Linear(fan_in, n_outputs))
    return nn.Sequential(*layers)


def bare_fit(
    module,
    X,
    y,
    loss_fn,
    *,
    epochs,
    batch_size,
    lr=1e-3,
    fused=False,
    device="cpu",
    seed=0,
):
    """The honest bare loop of docs/performance.md, timed; returns the Timer.

    Tensors are built once and moved once; each epoch permutes the rows with
    ``X[perm]`` and trains on slices, with Adam (torch's default for-loop
    implementation on the CPU, or ``fused=True``).
    """
    with Timer(device) as timer:
        X = torch.as_tensor(X).to(device)
        y = torch.as_tensor(y).to(device)
        module.to(device).train()
        optimizer = torch.optim.Adam(
            module.parameters(), lr=lr, fused=True if fused else None
        )
        generator = torch.Generator().manual_seed(seed)
        n = X.shape[0]
        for _ in range(epochs):
            perm = torch.randperm(n, generator=generator).to(device)
            Xp, yp = X[perm], y[perm]
            for start in range(0, n, batch_size):
                optimizer.zero_grad()
                loss = loss_fn(
                    module(Xp[start : start + batch_size]),
                    yp[start : start + batch_size],
                )
                loss.backward()
                optimizer.step()
    module.eval()
    return timer


def bare_lbfgs(module, X, y, loss_fn, *, l2, max_iter, tol, device="cpu"):
    """Full-batch L-BFGS with torch's optimizer, as a user would write it."""
    with Timer(device) as timer:
        X = torch.as_tensor(X).to(device)
        y = torch.as_tensor(y).to(device)
        module.to(device).train()
        weights = [p for name, p in module.named_parameters() if "weight" in name]
        optimizer = torch.optim.LBFGS(
            module.parameters(),
            lr=1.0,
            max_iter=max_iter,
            tolerance_grad=tol,
            tolerance_change=1e-9,
            history_size=10,
            line_search_fn="strong_wolfe",
        )

        def closure():
            optimizer.zero_grad()
            loss = loss_fn(module(X), y)
            loss = loss + 0.5 * l2 * sum((w * w).sum() for w in weights)
            loss.backward()
            return loss

        optimizer.step(closure)
    module.eval()
    return timer


def bare_normal_equations(X, y, device="cpu"):
    """Least squares by the normal equations in float64: (coef, intercept)."""
    with Timer(device) as timer:
        X = torch.as_tensor(X).to(device)
        y = torch.as_tensor(y).to(device).double()
        Xd = X.double()
        x_mean, y_mean = Xd.mean(0), y.mean()
        Xc = Xd - x_mean
        coef = torch.linalg.solve(Xc.T @ Xc, Xc.T @ (y - y_mean))
        intercept = y_mean - x_mean @ coef
    return timer, coef, intercept


@torch.inference_mode()
def bare_predict(module, X, device="cpu", chunk=4096):
    """The module's output for X (numpy or tensor), in chunks, as numpy."""
    X = torch.as_tensor(X)
    outputs = [
        module(X[s : s + chunk].to(device)).float().cpu()
        for s in range(0, X.shape[0], chunk)
    ]
    return torch.cat(outputs).numpy()


def cross_entropy(logits, target):
    return F.cross_entropy(logits, target)


def half_mse(output, target):
    return 0.5 * F.mse_loss(output, target)


def skorch_net(module, *, task, epochs, batch_size, lr=1e-3, device="cpu"):
    """skorch as its users write it: its default Dataset and DataLoader.

    ``task`` is 'classification' (cross-entropy on class indices), 'binary'
    (skorch's binary classifier on one logit per sample; float 0/1 targets) or
    'regression' (MSE on 2-D float targets).
    """
    from skorch import (
        NeuralNetBinaryClassifier,
        NeuralNetClassifier,
        NeuralNetRegressor,
    )

    common = dict(
        module=module,
        optimizer=torch.optim.Adam,
        lr=lr,
        max_epochs=epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
        device=device,
    )
    if task == "classification":
        return NeuralNetClassifier(criterion=nn.CrossEntropyLoss, **common)
    if task == "binary":
        # its module must return shape (n,): flatten the one logit per sample
        common["module"] = nn.Sequential(module, nn.Flatten(0))
        return NeuralNetBinaryClassifier(**common)
    return NeuralNetRegressor(criterion=nn.MSELoss, **common)
