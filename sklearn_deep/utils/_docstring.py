"""Docstring snippets shared by several estimators, and the decorator inserting them.

A class docstring names a snippet as ``{{name}}`` on a line of its own; the
decorator replaces it, indented like the marker, by the text below.
"""

import textwrap

_VALIDATION = """
early_stopping : bool, default=False
    Whether to hold out ``validation_fraction`` of the training data and stop
    when its score (accuracy for classifiers, R^2 for regressors) has not
    improved by at least ``tol`` for ``n_iter_no_change`` consecutive epochs.
    The weights of the best epoch are restored at the end. Only for the
    stochastic solvers.

validation_fraction : float, default=0.1
    The share of training data held out for early stopping, between 0 and 1.
    Only used if ``early_stopping`` is True.
"""

_N_ITER_NO_CHANGE = """
n_iter_no_change : int, default=10
    Epochs without an improvement of at least ``tol`` (of the training loss,
    or of the validation score with ``early_stopping``) before training stops.
    Only for the stochastic solvers.
"""

_SNIPPETS = {
    # the two parts apart, where other parameters stand between them
    "validation": _VALIDATION,
    "n_iter_no_change": _N_ITER_NO_CHANGE,
    "early_stopping": _VALIDATION + _N_ITER_NO_CHANGE,
    "random_state": """
random_state : int, RandomState instance or None, default=None
    Seeds the weight initialisation, the batch order, dropout, augmentation and
    the early-stopping split. An int makes training on the CPU reproducible bit
    for bit. The caller's global numpy and torch generators are never touched
    when an int is given.
""",
    "learning_rate": """
learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine', 'onecycle', \
'plateau'}, default='constant'
    The step-size schedule. scikit-learn's three apply to ``solver='sgd'``
    only, as in scikit-learn: ``'constant'`` keeps ``learning_rate_init``,
    ``'invscaling'`` divides it by ``t ** power_t``, and ``'adaptive'`` divides
    it by 5 each time ``n_iter_no_change`` epochs bring no improvement of
    ``tol``. The others apply to every stochastic solver: ``'plateau'`` is
    ``'adaptive'`` for any solver; ``'cosine'`` warms up linearly over the
    first 5 % of the steps of ``max_iter`` epochs, then decays to zero along
    a cosine; ``'onecycle'`` rises from ``learning_rate_init / 25`` to
    ``learning_rate_init`` over the first 30 % of the steps, then decays along
    a cosine. ``'cosine'`` and ``'onecycle'`` run their whole budget of
    ``max_iter`` epochs: the training-loss rule of ``n_iter_no_change`` does
    not cut them short (``early_stopping`` still does), and reaching
    ``max_iter`` raises no ConvergenceWarning.
""",
    "batch_size_auto": """
batch_size : int or 'auto', default='auto'
    Mini-batch size. ``'auto'`` follows the size of the training set:
    ``n_samples / 10``, clipped to [8, 32] (small data learns best from many
    small steps).
""",
    "max_iter_auto": """
max_iter : int or 'auto', default='auto'
    Maximum number of epochs (iterations for ``'lbfgs'``). ``'auto'`` gives
    about 10,000 training samples' worth of steps: ``10000 / n_samples``
    epochs, clipped to [20, 300].
""",
    "device": """
device : str, default='auto'
    Where the network trains and predicts: ``'auto'`` takes CUDA when present,
    then Apple's MPS, then the CPU; or any torch device string such as
    ``'cpu'``, ``'cuda'`` or ``'cuda:1'``. Resolved in ``fit``; a fitted
    estimator pickled on a GPU loads (on the CPU) on a machine without one.
""",
    "callbacks": """
callbacks : list of Callback or None, default=None
    Objects with any of the hooks ``on_train_begin(estimator)``,
    ``on_epoch_begin(estimator, epoch)``, ``on_epoch_end(estimator, epoch,
    loss, validation_score)`` and ``on_train_end(estimator)`` (skorch's names).
    A hook may raise :class:`~sklearn_deep.callbacks.StopTraining` to end
    training after the current epoch. See :mod:`sklearn_deep.callbacks`.
""",
    "precision": """
precision : {'32', 'bf16-mixed', '16-mixed'}, default='32'
    Arithmetic used in training and prediction. ``'32'`` is plain float32;
    the mixed settings run the forward pass under :func:`torch.autocast` with
    bfloat16 or float16 (float16 with gradient scaling on CUDA). Weights stay
    float32.
""",
    "history_attributes": """
loss_ : float
    The loss (data loss plus penalty) of the last epoch.

best_loss_ : float or None
    The lowest training loss reached. None with ``early_stopping=True``, where
    ``best_validation_score_`` is tracked instead.

loss_curve_ : list of float
    The loss of each epoch (for ``solver='lbfgs'``, of each iteration).

validation_scores_ : list of float or None
    The validation score of each epoch, with ``early_stopping=True``.

best_validation_score_ : float or None
    The best validation score, with ``early_stopping=True``.

n_iter_ : int
    The number of epochs (iterations for ``solver='lbfgs'``) run.

t_ : int
    The number of training samples seen.

module_ : torch.nn.Module
    The trained network. An advanced attribute: it returns logits.
""",
}


def fill_doc(obj):
    """Replace each ``{{name}}`` line of ``obj.__doc__`` by the shared snippet."""
    doc = obj.__doc__
    for name, text in _SNIPPETS.items():
        marker = "{{" + name + "}}"
        while marker in doc:
            start = doc.index(marker)
            line_start = doc.rfind("\n", 0, start) + 1
            indent = doc[line_start:start]
            block = textwrap.indent(text.strip("\n"), indent)
            doc = doc[:line_start] + block + doc[start + len(marker) :]
    obj.__doc__ = doc
    return obj
