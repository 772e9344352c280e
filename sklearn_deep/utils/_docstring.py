"""One source for the documentation of shared parameters, and the decorator that
writes it into the class docstrings.

Every constructor parameter is documented once, as a :class:`Param` (its type
and description): here when several families take it with the same meaning,
in the family's own file otherwise. :func:`fill_doc` writes a class's
Parameters section from its ``__init__`` signature, in signature order, with
each ``default=`` read from the signature and each set of string options read
from the class's ``_parameter_constraints``, so a changed default or a new
option shows in the docs without an edit. Other shared text (the history
attributes, a family's notes) is named as ``{{name}}`` on a line of its own and
inserted indented like the marker. Text is inserted, never cut out of another
docstring.
"""

import inspect
import textwrap
import types
from typing import NamedTuple

from sklearn.utils.metaestimators import available_if


class Param(NamedTuple):
    """The documentation of one constructor parameter.

    ``type`` is the numpydoc type without the default, for example
    ``'float'`` or ``'int or 'auto''``; ``'{options}'`` in it stands for the
    parameter's string options, read from the class's constraints (with
    ``' or None'`` when None is allowed). ``text`` is the description,
    unindented.
    """

    type: str
    text: str


_EARLY_STOPPING = """\
Whether to hold out ``validation_fraction`` of the training data and stop
when its score (accuracy for classifiers, R^2 for regressors) has not
improved by at least ``tol`` for ``n_iter_no_change`` consecutive epochs.
The weights of the best epoch are restored at the end. Only for the
stochastic solvers."""

# The parameters every family that trains a network takes, with one meaning.
PARAMETERS = {
    "solver": Param(
        "{options}",
        """\
The optimizer. ``'lbfgs'`` trains on the full batch (fast on small data);
the others train by mini-batches.""",
    ),
    "alpha": Param(
        "float",
        """\
Strength of the L2 penalty on the weights, scaled as in scikit-learn's MLP
(divided by the batch's total sample weight). For ``'adamw'`` it is the
decoupled weight decay instead.""",
    ),
    "batch_size": Param(
        "int or 'auto'",
        "Mini-batch size; ``'auto'`` means ``min(200, n_samples)``.",
    ),
    "learning_rate": Param(
        "{options}",
        """\
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
``max_iter`` raises no ConvergenceWarning.""",
    ),
    "learning_rate_init": Param(
        "float",
        """\
The initial step size of the stochastic solvers (the peak of
``'onecycle'``).""",
    ),
    "power_t": Param("float", "Exponent of the ``'invscaling'`` schedule."),
    "max_iter": Param("int", "Maximum number of epochs (iterations for ``'lbfgs'``)."),
    "shuffle": Param("bool", "Whether to shuffle the samples each epoch."),
    "random_state": Param(
        "int, RandomState instance or None",
        """\
Seeds the weight initialisation, the batch order, dropout, augmentation and
the early-stopping split. An int makes training on the CPU reproducible bit
for bit. The caller's global numpy and torch generators are never touched
when an int is given.""",
    ),
    "tol": Param(
        "float",
        """\
Minimum improvement of the loss (or validation score) that counts, and
the gradient tolerance of ``'lbfgs'``.""",
    ),
    "verbose": Param(
        "bool",
        """\
Whether to print a line per epoch (loss, validation score, learning
rate, time) and why training stopped.""",
    ),
    "warm_start": Param(
        "bool",
        """\
Whether ``fit`` continues from the previous solution instead of
initialising a new network. The network is continued as it was built:
changing a parameter that shapes it (layer sizes, ``dropout``,
``activation``, ...) before a warm-started ``fit`` or a ``partial_fit``
raises a ValueError rather than silently keeping the old network or
discarding its training; set ``warm_start=False`` to train a new one.""",
    ),
    "momentum": Param("float", "Momentum of ``solver='sgd'``, between 0 and 1."),
    "nesterovs_momentum": Param(
        "bool", "Whether ``solver='sgd'`` uses Nesterov's momentum."
    ),
    "early_stopping": Param("bool", _EARLY_STOPPING),
    "validation_fraction": Param(
        "float",
        """\
The share of training data held out for early stopping, between 0 and 1.
Only used if ``early_stopping`` is True.""",
    ),
    "beta_1": Param(
        "float", "Decay of the first-moment estimates of Adam and AdamW, in [0, 1)."
    ),
    "beta_2": Param(
        "float", "Decay of the second-moment estimates of Adam and AdamW, in [0, 1)."
    ),
    "epsilon": Param(
        "float", "Numerical stability constant of Adam, AdamW, RMSprop and Adagrad."
    ),
    "n_iter_no_change": Param(
        "int",
        """\
Epochs without an improvement of at least ``tol`` (of the training loss,
or of the validation score with ``early_stopping``) before training stops.
Only for the stochastic solvers.""",
    ),
    "max_fun": Param("int", "Maximum number of loss evaluations of ``'lbfgs'``."),
    "class_weight": Param(
        "dict, 'balanced' or None",
        """\
Weights of the classes in the loss, ``{label: weight}``; ``'balanced'``
weighs classes inversely to their frequency. Multiplies
``sample_weight``. Ignored for multilabel targets.""",
    ),
    "device": Param(
        "str",
        """\
Where the network trains and predicts: ``'auto'`` takes CUDA when present,
then Apple's MPS, then the CPU; or any torch device string such as
``'cpu'``, ``'cuda'`` or ``'cuda:1'``. Resolved in ``fit``; a fitted
estimator pickled on a GPU loads (on the CPU) on a machine without one.""",
    ),
    "callbacks": Param(
        "list of Callback or None",
        """\
Objects with any of the hooks ``on_train_begin(estimator)``,
``on_epoch_begin(estimator, epoch)``, ``on_epoch_end(estimator, epoch,
loss, validation_score)`` and ``on_train_end(estimator)`` (skorch's names).
A hook may raise :class:`~sklearn_deep.callbacks.StopTraining` to end
training after the current epoch. An object with none of these hooks is a
``TypeError`` at fit. :class:`~sklearn_deep.callbacks.ProgressBar` shows a
progress bar. scikit-learn 1.9's callbacks (``sklearn.callback``) are set
with ``set_callbacks`` instead. See :mod:`sklearn_deep.callbacks`.""",
    ),
    "precision": Param(
        "{options}",
        """\
Arithmetic used in training and prediction. ``'32'`` is plain float32;
the mixed settings run the forward pass under :func:`torch.autocast` with
bfloat16 or float16 (float16 with gradient scaling on CUDA). Weights stay
float32.""",
    ),
    "compile": Param(
        "bool or str",
        """\
Whether to compile the network with :func:`torch.compile` for training and
prediction: True uses torch's default backend, a string names another
(``'aot_eager'``, ``'cudagraphs'``, ...). Compilation happens at the first
forward pass; where it fails (no C compiler, an unsupported platform or
device) the estimator warns once and runs the network uncompiled. It pays
for convolutions and on GPUs; on one CPU thread, small dense networks ran
0.55-0.62x as fast compiled (``python -m benchmarks.run --cases compile``).""",
    ),
    "n_devices": Param(
        "int, 'torchrun' or None",
        """\
Data-parallel training of one network with torch's
``DistributedDataParallel``. None trains in this process. An int ``k > 1``
starts ``k`` processes from ``fit``, one per CUDA device (NCCL) when
``device`` is a GPU, else one per CPU share (gloo); each computes the
gradients of its part of every batch, and the gradients are averaged over
the whole batch, so the fit is that of one process with the same
``batch_size``. ``'torchrun'`` joins the process group of a script started
by ``torchrun`` (every rank calls ``fit`` on the same data). Only for the
stochastic solvers; the fitted estimator is an ordinary one. See
:ref:`scale`.""",
    ),
    "input_scaling": Param(
        "{options}",
        """\
Whether the network standardises each input feature (or channel) first,
with the mean and standard deviation of the training inputs, as a
:class:`~sklearn.preprocessing.StandardScaler` would. None passes the
inputs as they are.""",
    ),
}

# The training budget of the families without a scikit-learn counterpart,
# whose 'auto' follows the size of the training set (BaseDeepEstimator).
BUDGET_PARAMETERS = {
    "batch_size": Param(
        "int or 'auto'",
        """\
Mini-batch size. ``'auto'`` follows the size of the training set:
``n_samples / 10``, clipped to [8, 32] (small data learns best from many
small steps).""",
    ),
    "max_iter": Param(
        "int or 'auto'",
        """\
Maximum number of epochs (iterations for ``'lbfgs'``). ``'auto'`` gives
a number of epochs that follows the size of the training set (see the
Notes).""",
    ),
}

# Shared text other than parameters, inserted where a docstring names it.
TEXTS = {
    "history_attributes": """\
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

history_ : pandas.DataFrame
    One row per epoch (per iteration for ``solver='lbfgs'``), over all calls
    as ``loss_curve_``: ``epoch``, ``train_loss``, ``validation_loss`` and
    ``validation_score`` (with ``early_stopping=True``, else NaN),
    ``learning_rate`` and ``seconds``. Plot it with
    :class:`~sklearn_deep.plotting.TrainingCurveDisplay`.

n_iter_ : int
    The number of epochs (iterations for ``solver='lbfgs'``) run.

t_ : int
    The number of training samples seen.

module_ : torch.nn.Module
    The trained network. An advanced attribute: it returns logits.""",
}


def format_default(value):
    """A default as numpydoc writes it: ``'adam'``, ``(100,)``, ``1e-8``."""
    if isinstance(value, str):
        return f"'{value}'"
    text = repr(value)
    if isinstance(value, float) and "e" in text:  # 1e-08 -> 1e-8
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def options(cls, name):
    """The string options of parameter ``name`` of ``cls``, as a numpydoc set.

    Read from ``cls._parameter_constraints``, the default first; ``' or
    None'`` follows when None is allowed.
    """
    constraints = cls._parameter_constraints[name]
    values = set()
    for constraint in constraints:
        values |= set(getattr(constraint, "options", ()))
    if not values:
        raise TypeError(f"{cls.__name__}.{name} has no string options to list.")
    default = inspect.signature(cls).parameters[name].default
    ordered = sorted(values, key=lambda v: (v != default, v))
    text = "{" + ", ".join(f"'{v}'" for v in ordered) + "}"
    return text + (" or None" if None in constraints else "")


def parameter_entry(cls, name, param):
    """The numpydoc lines of one parameter, unindented."""
    kind = param.type
    if "{options}" in kind:
        kind = kind.replace("{options}", options(cls, name))
    default = inspect.signature(cls).parameters[name].default
    header = f"{name} : {kind}, default={format_default(default)}"
    return header + "\n" + textwrap.indent(param.text.strip("\n"), "    ")


def fill_doc(parameters=None, **texts):
    """Class decorator writing the docstring's shared parts.

    Parameters
    ----------
    parameters : dict of str to Param, default=None
        The family's own parameters, and the shared ones it documents in its
        own words; the rest come from :data:`PARAMETERS`.
    **texts : str
        Text for ``{{name}}`` markers, besides :data:`TEXTS`.

    Returns
    -------
    decorator : callable
        Replaces the ``{{parameters}}`` line of the class docstring by an entry
        per ``__init__`` parameter, in signature order, and each other
        ``{{name}}`` line by its text. An undocumented parameter or an unknown
        marker is an error at import.
    """
    own = dict(parameters or {})
    shared_texts = {**TEXTS, **texts}

    def decorate(cls):
        names = list(inspect.signature(cls).parameters)
        missing = [n for n in names if n not in own and n not in PARAMETERS]
        if missing:
            raise TypeError(
                f"{cls.__name__} has undocumented parameters {missing}: give each "
                f"a Param in its family's fill_doc(parameters=...) or in "
                f"utils._docstring.PARAMETERS."
            )
        entries = "\n\n".join(
            parameter_entry(cls, n, own.get(n) or PARAMETERS[n]) for n in names
        )
        cls.__doc__ = _insert(
            cls.__name__, cls.__doc__, {"parameters": entries, **shared_texts}
        )
        _document_inputs(cls)
        return cls

    return decorate


def _document_inputs(cls):
    """Give each public method that names ``{{X}}`` the class's own X docs.

    The shared ``fit``, ``predict``, ... document X once, as the marker; the
    class gets a copy of each (the same code, no extra call) whose docstring
    says what X is for its input kind (``cls._input_kind.x_doc``).
    """
    texts = {"X": cls._input_kind.x_doc}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(cls, name)
        func = getattr(member, "fn", member)  # available_if keeps it as .fn
        doc = getattr(func, "__doc__", None)
        if not inspect.isfunction(func) or not doc or "{{X}}" not in doc:
            continue
        copy = types.FunctionType(
            func.__code__,
            func.__globals__,
            func.__name__,
            func.__defaults__,
            func.__closure__,
        )
        copy.__kwdefaults__ = func.__kwdefaults__
        copy.__dict__.update(func.__dict__)
        copy.__qualname__ = f"{cls.__qualname__}.{name}"
        copy.__doc__ = _insert(f"{cls.__name__}.{name}", doc, texts)
        if member is not func:  # an available_if descriptor
            copy = available_if(member.check)(copy)
        setattr(cls, name, copy)


def _insert(owner, doc, texts):
    """Replace each line holding only ``{{name}}`` by ``texts[name]``, indented."""
    lines = []
    for line in doc.split("\n"):
        marker = line.strip()
        if marker.startswith("{{") and marker.endswith("}}"):
            name = marker[2:-2]
            if name not in texts:
                raise TypeError(f"{owner}'s docstring names unknown text {marker}.")
            indent = line[: len(line) - len(line.lstrip())]
            text = _insert(owner, texts[name].strip("\n"), texts)  # nested
            line = textwrap.indent(text, indent)
        lines.append(line)
    return "\n".join(lines)
