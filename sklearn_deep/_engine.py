"""The training loop shared by every estimator.

Small on purpose (docs/architecture.md, "The engine"): tensors are built and moved
once, a batch is an index slice of a permutation, the L2 penalty rides on the
optimizer's weight decay (applied to the gradients, weights only), and the loss
is synchronised once per epoch. Early stopping, ``tol`` and ``n_iter_no_change``
follow scikit-learn's MLP exactly; so do the ``learning_rate`` schedules of
``solver='sgd'``.

The functions take the estimator and read its parameters; they write the
history attributes (``loss_curve_``, ``n_iter_``, ...) as they go, so callbacks
see them live.
"""

import contextlib
import math
import time

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_deep._data import BatchIterator
from sklearn_deep.callbacks import StopTraining
from sklearn_deep.utils._warnings import warn

STOCHASTIC_SOLVERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")

_OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}
# Fused kernels exist for these on CPU and CUDA; RMSprop gets foreach only.
_FUSED = {"sgd", "adam", "adamw", "adagrad"}

_AUTOCAST_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def autocast(precision, device):
    """The autocast context for a ``precision`` setting on ``device``."""
    dtype = _AUTOCAST_DTYPES.get(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def split_params(module):
    """Weights (penalised) and the rest (biases, norms: not penalised)."""
    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        is_weight = name.endswith("weight") and p.ndim > 1
        (decay if is_weight else no_decay).append(p)
    return decay, no_decay


def make_optimizer(est, module, device, l2):
    """A torch optimizer for ``est.solver``.

    For ``'adamw'``, ``l2`` is AdamW's decoupled weight decay of the weights (a
    second parameter group holds the rest). For the other solvers the L2
    penalty is added to the gradients of the weights by ``run_stochastic``
    (``_add_l2``), as torch's ``weight_decay`` would, so one parameter group
    holds everything: one optimizer kernel per step instead of two.
    """
    decay, no_decay = split_params(module)
    solver = est._resolved_solver()
    if solver == "adamw":
        groups = [
            {"params": decay, "weight_decay": l2},
            {"params": no_decay, "weight_decay": 0.0},
        ]
    else:
        groups = [{"params": decay + no_decay, "weight_decay": 0.0}]
    kwargs = {"lr": float(est._resolved_learning_rate_init())}  # not an int
    if solver == "sgd":
        kwargs.update(
            momentum=float(est.momentum),
            nesterov=bool(est.nesterovs_momentum and est.momentum > 0),
        )
    elif solver in ("adam", "adamw"):
        kwargs.update(betas=(float(est.beta_1), float(est.beta_2)), eps=est.epsilon)
    elif solver in ("rmsprop", "adagrad"):
        kwargs.update(eps=est.epsilon)
    if solver in _FUSED and device.type in ("cpu", "cuda"):
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = True
    return _OPTIMIZERS[solver](groups, **kwargs)


class _Snapshot:
    """A copy of a module's state, refreshed in place (no allocation per epoch)."""

    def __init__(self, module):
        self._live = list(module.state_dict().values())
        self._saved = [t.detach().clone() for t in self._live]

    def save(self):
        with torch.no_grad():
            torch._foreach_copy_(self._saved, self._live)

    def restore(self):
        with torch.no_grad():
            torch._foreach_copy_(self._live, self._saved)


def _notify(est, hook, **kwargs):
    for cb in est.callbacks or ():
        method = getattr(cb, hook, None)
        if method is not None:
            method(est, **kwargs)


def _log(est, msg):
    if est.verbose:
        print(msg, flush=True)


def init_history(est):
    """Reset the history attributes at the start of a fresh fit."""
    est.n_iter_ = 0
    est.t_ = 0
    est.loss_curve_ = []
    est._no_improvement_count = 0
    if est.early_stopping:
        est.validation_scores_ = []
        est.best_validation_score_ = -np.inf
        est.best_loss_ = None
    else:
        est.validation_scores_ = None
        est.best_validation_score_ = None
        est.best_loss_ = np.inf


def _update_no_improvement(est, loss, score):
    """scikit-learn's MLP rule; returns True when the epoch is a new best."""
    if est.early_stopping:
        est.validation_scores_.append(score)
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            return True
        return False
    if loss > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    if loss < est.best_loss_:
        est.best_loss_ = loss
        return True
    return False


# Schedules over the whole budget of ``max_iter`` epochs, stepped every batch.
# The training-loss stopping rule does not cut them short (the annealing at
# the end is the point); the early-stopping rule on a validation split does.
BUDGET_SCHEDULES = ("cosine", "onecycle")
ALL_SOLVER_SCHEDULES = (*BUDGET_SCHEDULES, "plateau")


def scheduled_lr(schedule, base_lr, step, total_steps):
    """The step size of a budget schedule at ``step`` of ``total_steps``.

    ``'cosine'``: a linear warm-up over the first 5 % of the steps, then a
    cosine decay to zero (Loshchilov & Hutter 2017). ``'onecycle'``: a cosine
    rise from ``base_lr / 25`` to ``base_lr`` over the first 30 %, then a
    cosine decay to ``base_lr / 25e4`` (Smith & Topin 2019, torch's defaults).
    Past the budget (``partial_fit`` beyond ``max_iter``) it stays at the end.
    """
    step = min(step, total_steps - 1)
    if schedule == "cosine":
        warm = max(1, round(0.05 * total_steps))
        if step < warm:
            return base_lr * (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    start, end = base_lr / 25.0, base_lr / 25e4
    rise = max(1, round(0.3 * total_steps))
    if step < rise:
        return start + (base_lr - start) * 0.5 * (1 - math.cos(math.pi * step / rise))
    progress = (step - rise) / max(1, total_steps - rise)
    return end + (base_lr - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _current_lr(optimizer):
    return optimizer.param_groups[0]["lr"]


def _set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def run_stochastic(est, train, valid, *, incremental, generator):
    """Train ``est.module_`` by mini-batches for up to ``max_iter`` epochs.

    One epoch with ``incremental`` (``partial_fit``). ``valid`` is the
    early-stopping split (a Batch on the device) or None. Returns nothing;
    the estimator's history attributes and ``module_`` are updated.
    """
    module, optimizer, device = est.module_, est._optimizer, est._device
    schedule = est.learning_rate
    if schedule not in ALL_SOLVER_SCHEDULES and est._resolved_solver() != "sgd":
        schedule = "constant"  # scikit-learn's three are for solver='sgd' only
    n = len(train)
    batch_size = est._effective_batch_size(n)
    l2, l2_per_batch, l1 = est._penalty()
    mean_weight = est._weight_mean  # scikit-learn divides by the batch's weight
    batches = BatchIterator(train, batch_size, est.shuffle, generator)
    scaler = None
    if est.precision == "16-mixed" and device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
    best = _Snapshot(module)
    start = _Snapshot(module)  # the fallback of a divergence (_keep_finite)
    weights, _ = split_params(module)
    decoupled = est._resolved_solver() == "adamw"  # decay inside the optimizer
    params = [p for group in optimizer.param_groups for p in group["params"]]
    wd = l2
    if not incremental or not hasattr(est, "_max_iter"):
        est._max_iter = est._effective_max_iter(n)
    max_iter = est._max_iter
    n_epochs = 1 if incremental else max_iter
    budget = schedule in BUDGET_SCHEDULES
    base_lr = est._resolved_learning_rate_init()
    total_steps = max_iter * len(batches)
    step = getattr(est, "_schedule_step", 0) if incremental else 0
    stop_reason = None
    kept_best = False  # whether this call saved a best epoch to go back to
    est.n_iter_ = 0  # scikit-learn counts the epochs of this call only

    _notify(est, "on_train_begin")
    module.train()
    try:
        for _ in range(n_epochs):
            epoch = est.n_iter_ + 1
            _notify(est, "on_epoch_begin", epoch=epoch)
            tic = time.perf_counter()
            total = torch.zeros((), device=device)
            for batch in batches:
                m = len(batch)
                if budget:
                    lr = scheduled_lr(schedule, base_lr, step, total_steps)
                    _set_lr(optimizer, lr)
                    step += 1
                if l2_per_batch and l2:
                    # scikit-learn's MLP divides the penalty by the batch size
                    wd = l2 / (m * mean_weight)
                    if decoupled:
                        optimizer.param_groups[0]["weight_decay"] = wd
                inputs = est._input_kind.augment(est, batch.inputs, generator)
                with autocast(est.precision, device):
                    loss = est._loss(module(*inputs), batch.target, batch.weight)
                for p in params:  # optimizer.zero_grad(set_to_none=True)
                    p.grad = None
                if scaler is None:
                    loss.backward()
                else:
                    scaler.scale(loss).backward()
                if l2 and not decoupled:
                    if scaler is not None:
                        scaler.unscale_(optimizer)
                    _add_l2(weights, wd)
                if scaler is None:
                    optimizer.step()
                else:
                    scaler.step(optimizer)
                    scaler.update()
                if l1:
                    _soft_threshold(weights, optimizer, l1)
                total += loss.detach() * m
            data_loss = total.item() / n  # the one synchronisation of the epoch
            loss_value = data_loss + est._penalty_value(len(batches), n)

            est.n_iter_ += 1
            est.t_ += n
            est.loss_ = loss_value
            est.loss_curve_.append(loss_value)

            if not np.isfinite(loss_value):
                stop_reason = "diverged"
                break

            score = None
            if valid is not None:
                module.eval()
                score = est._validation_score(valid)
                module.train()
            improved = _update_no_improvement(est, loss_value, score)
            if improved:
                best.save()
                kept_best = True
            if est.verbose:
                _log(est, _epoch_line(est, loss_value, score, optimizer, tic))
            if schedule == "invscaling":
                lr = base_lr / (est.t_ + 1) ** est.power_t
                _set_lr(optimizer, lr)

            _notify(
                est,
                "on_epoch_end",
                epoch=epoch,
                loss=loss_value,
                validation_score=score,
            )

            if budget and not est.early_stopping:
                continue  # the schedule runs its budget (best epoch kept)
            if est._no_improvement_count > est.n_iter_no_change:
                what = "Validation score" if est.early_stopping else "Training loss"
                msg = (
                    f"{what} did not improve more than tol={est.tol} for "
                    f"{est.n_iter_no_change} consecutive epochs."
                )
                lr = _current_lr(optimizer)
                if schedule in ("adaptive", "plateau") and lr > 1e-6:
                    _set_lr(optimizer, lr / 5.0)
                    est._no_improvement_count = 0
                    _log(est, f"{msg} Setting learning rate to {lr / 5.0:g}.")
                else:
                    _log(est, f"{msg} Stopping.")
                    stop_reason = "converged"
                    break
    except StopTraining as exc:
        stop_reason = "callback"
        _log(est, f"Stopped by a callback: {exc}")
    except KeyboardInterrupt:
        stop_reason = "interrupted"
        warn(
            f"Training interrupted by user after {est.n_iter_} epochs; "
            f"{type(est).__name__} keeps the weights reached"
            + (" (the best validation epoch)." if est.early_stopping else ".")
            + " Call fit again to start over, or partial_fit to continue.",
            UserWarning,
        )
    finally:
        module.eval()
        est._schedule_step = step

    if stop_reason == "diverged":
        good = [v for v in est.loss_curve_ if np.isfinite(v)]
        est.loss_ = min(good) if good else float("nan")
        if _keep_finite(est, best, start, train):
            kept = f"The weights of the best finite epoch (loss {est.loss_:.6g})"
        else:
            est.loss_ = float("nan")
            kept = (
                "Those of the best finite epoch predict non-finite values, so "
                "the weights this fit started from"
            )
        warn(
            f"{type(est).__name__} diverged at epoch {est.n_iter_}: the "
            f"training loss became {est.loss_curve_[-1]}. {kept} were restored. "
            f"Lower learning_rate_init (now {est._resolved_learning_rate_init()}) "
            f"or scale the inputs, for example with StandardScaler.",
            ConvergenceWarning,
        )
    elif kept_best and not incremental:
        # the best epoch is what the model keeps, whichever rule stopped it:
        # the best validation score, or else the lowest training loss
        best.restore()
    if (
        stop_reason is None
        and not incremental
        and not budget
        and est.n_iter_ >= max_iter
    ):
        warn(
            f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached "
            f"and the optimization hasn't converged yet. Increase max_iter to "
            f"train longer.",
            ConvergenceWarning,
        )
    _notify(est, "on_train_end")


def _keep_finite(est, best, start, train):
    """Restore the best weights after a divergence, if they predict finite values.

    A finite training loss does not make finite predictions: a batch-norm
    network trains on batch statistics, and its running statistics (used to
    predict) can overflow where the batch ones did not. When the best weights
    predict a non-finite value on the training inputs, the weights the fit
    started from are restored instead. Returns whether the best ones were kept.
    """
    best.restore()
    if _predicts_finite(est, train):
        return True
    start.restore()
    return False


def _predicts_finite(est, data):
    module = est.module_
    state = module.state_dict().values()
    if not all(bool(torch.isfinite(t).all()) for t in state if t.is_floating_point()):
        return False
    return bool(torch.isfinite(est._forward_tensors(data.inputs)).all())


def _add_l2(weights, coef):
    """``grad += coef * weight``, as torch's ``weight_decay`` does: one kernel."""
    with_grad = [w for w in weights if w.grad is not None]
    with torch.no_grad():
        torch._foreach_add_([w.grad for w in with_grad], with_grad, alpha=coef)


def _soft_threshold(weights, optimizer, l1):
    """The proximal step of the L1 penalty on the weights."""
    threshold = optimizer.param_groups[0]["lr"] * l1
    with torch.no_grad():
        for p in weights:
            p.copy_(torch.sign(p) * torch.clamp(p.abs() - threshold, min=0.0))


def _epoch_line(est, loss, score, optimizer, tic):
    width = len(str(est._max_iter))
    line = f"epoch {est.n_iter_:>{width}}  loss {loss:.6f}"
    if score is not None:
        line += f"  validation score {score:.4f}"
        if score == est.best_validation_score_:
            line += " *"
    line += f"  lr {_current_lr(optimizer):.3g}  {time.perf_counter() - tic:.2f}s"
    return line


class _NonFiniteLoss(Exception):
    """Raised inside the L-BFGS closure to stop at a non-finite loss."""


def run_lbfgs(est, train):
    """Train ``est.module_`` on the full batch with torch's L-BFGS.

    The L2 penalty is a loss term here (the gradient is full-batch, so it costs
    nothing noticeable). ``loss_curve_`` holds the loss at each iteration.
    """
    module, device = est.module_, est._device
    n = len(train)
    max_iter = est._max_iter = est._effective_max_iter(n)
    l2, l2_per_batch, _ = est._penalty()
    if l2_per_batch:
        l2 = l2 / (n if train.weight is None else float(train.weight.sum()))
    decay, _ = split_params(module)
    optimizer = torch.optim.LBFGS(
        [p for p in module.parameters() if p.requires_grad],
        lr=1.0,
        max_iter=max_iter,
        max_eval=est.max_fun,
        tolerance_grad=est.tol,
        tolerance_change=1e-9,
        history_size=10,
        line_search_fn="strong_wolfe",
    )
    state = optimizer.state[optimizer._params[0]]
    per_iter = {}
    best, best_loss = _Snapshot(module), [np.inf]
    start = _Snapshot(module)

    def closure():
        optimizer.zero_grad(set_to_none=True)
        with autocast(est.precision, device):
            loss = est._loss(module(*train.inputs), train.target, train.weight)
        if l2:
            loss = loss + 0.5 * l2 * sum((w * w).sum() for w in decay)
        loss.backward()
        value = per_iter[state.get("n_iter", 0)] = loss.item()
        if not np.isfinite(value):  # torch's line search cannot recover: stop
            raise _NonFiniteLoss
        if value < best_loss[0]:  # the weights of the lowest finite loss so far
            best_loss[0] = value
            best.save()
        return loss

    _notify(est, "on_train_begin")
    module.train()
    tic = time.perf_counter()
    stopped = False
    try:
        optimizer.step(closure)
    except KeyboardInterrupt:
        warn(
            f"Training interrupted by user; {type(est).__name__} keeps the "
            f"weights reached.",
            UserWarning,
        )
    except _NonFiniteLoss:
        stopped = True
    except RuntimeError as exc:  # a line-search step too large for float32
        if "overflow" not in str(exc):
            raise
        stopped = True
    finally:
        module.eval()
    est.n_iter_ = int(state.get("n_iter", 0))
    est.t_ = n * max(est.n_iter_, 1)
    # per_iter[0] is the loss before the first step; keep one per iteration
    est.loss_curve_ = [per_iter[k] for k in sorted(per_iter) if k or len(per_iter) == 1]
    est.loss_ = est.loss_curve_[-1] if est.loss_curve_ else float("nan")
    good = [v for v in est.loss_curve_ if np.isfinite(v)]
    est.best_loss_ = min(good) if good else float("nan")
    diverged = stopped or not np.isfinite(est.loss_)
    diverged = diverged or not all(torch.isfinite(p).all() for p in module.parameters())
    if diverged:
        last, est.loss_ = est.loss_, best_loss[0]
        kept = f"the weights of the lowest finite loss ({est.loss_:.6g})"
        if not _keep_finite(est, best, start, train):
            est.loss_ = float("nan")
            kept = "the weights it started from (the others predict non-finite values)"
    _log(
        est,
        f"lbfgs: {est.n_iter_} iterations, {state.get('func_evals', 0)} loss "
        f"evaluations, loss {est.loss_:.6f}, {time.perf_counter() - tic:.2f}s",
    )
    if diverged:
        warn(
            f"{type(est).__name__}: L-BFGS diverged (last loss {last}); {kept} "
            f"were restored. "
            f"Scale the inputs, for example with StandardScaler, or raise alpha.",
            ConvergenceWarning,
        )
    elif est.n_iter_ >= max_iter:
        warn(
            f"lbfgs failed to converge after {max_iter} iterations. "
            f"Increase max_iter or scale the inputs, for example with "
            f"StandardScaler.",
            ConvergenceWarning,
        )
    _notify(est, "on_train_end")
