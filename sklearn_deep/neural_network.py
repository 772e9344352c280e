"""Multilayer perceptrons: drop-in replacements for scikit-learn's MLP."""

from sklearn_deep._base import BaseDeepEstimator, positive_ints, shared_constraints
from sklearn_deep._frames import FrameInput
from sklearn_deep._modules import MLP, PeriodicEmbedding, TableScaler
from sklearn_deep._task import ClassifierTaskMixin, RegressorTaskMixin
from sklearn_deep.utils._compat import StrOptions
from sklearn_deep.utils._docstring import Param, fill_doc

# The MLP's own parameters; the rest are documented in utils/_docstring.py.
_PARAMETERS = {
    "hidden_layer_sizes": Param(
        "array-like of shape (n_layers - 2,)",
        "The ith element is the number of neurons in the ith hidden layer.",
    ),
    "activation": Param("{options}", "Activation of the hidden layers."),
    "dropout": Param(
        "float", "Dropout probability after each hidden layer, in [0, 1)."
    ),
    "input_scaling": Param(
        "{options}",
        """\
How the network's input layer scales the numeric columns, with
statistics of the training split: ``'robust'`` centres each on its median,
divides by its interquartile range and clips smoothly,
``z / sqrt(1 + (z / 3)^2)``, as RealMLP does (outliers and heavy tails no
longer dominate); ``'standard'`` is a
:class:`~sklearn.preprocessing.StandardScaler`; None passes them as they
are. One-hot columns of categorical features are not scaled; sparse input
is never centred.""",
    ),
    "batch_size": Param(
        "int or 'auto'",
        """\
Mini-batch size. ``'auto'`` follows the size of the training set:
``n_samples / 10``, clipped to [8, 64] (tables learn best from many small
steps; scikit-learn's ``'auto'`` is ``min(200, n_samples)``).""",
    ),
    "early_stopping": Param(
        "bool or 'auto'",
        """\
Whether to hold out ``validation_fraction`` of the training data, keep
the weights of the epoch with the lowest validation loss, and stop when
that loss has not improved by at least ``tol`` for ``n_iter_no_change``
consecutive epochs (scikit-learn compares the validation score, whose
ties over epochs kept an under-trained one; ``validation_scores_`` still
holds the scores). ``'auto'`` does so when the split would hold at least
10 samples and can be stratified, and otherwise trains on the training
loss as with False. Only for the stochastic solvers, and not in
``partial_fit`` (as scikit-learn's).""",
    ),
    "numerical_embedding": Param(
        "{'pbld'} or None",
        """\
Whether each numeric column enters the network through a numerical
embedding: ``'pbld'`` is RealMLP's periodic embedding (16 learned
frequencies per column, mapped to 3 values, beside the column itself),
with which a column can carry thresholds and bumps into the first layer;
None feeds the scaled columns as they are.""",
    ),
    "categorical_features": Param(
        "{'from_dtype'}, array-like of int, str or bool, or None",
        """\
Which columns are categorical, as in
:class:`~sklearn.ensemble.HistGradientBoostingClassifier`:
``'from_dtype'`` takes a DataFrame's pandas ``category``, string and
object columns; or a bool mask, column indices, or (with a DataFrame)
column names; None: no column. Each categorical column is one-hot encoded
inside the estimator, with the categories seen in fit (the 100 most
frequent); a category not seen in fit is encoded as all zeros, as
``OneHotEncoder(handle_unknown='ignore')`` does, and a missing category
gets its own column when fit saw one. Missing numeric values (NaN) are
replaced by the training median (after scaling, 0), with an indicator
column for each column that had missing values in fit.""",
    ),
}

_ATTRIBUTES = """\
{{history_attributes}}

coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
    The weight matrix of each layer (a copy of the network's weights).

intercepts_ : list of ndarray of shape (n_fan_out,)
    The bias vector of each layer.

n_features_in_ : int
    Number of features seen during fit.

feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during fit, when X has string column names.

is_categorical_ : ndarray of shape (`n_features_in_`,) of bool
    Which columns were read as categorical (``categorical_features``).

n_layers_ : int
    Number of layers, input and output included.

n_outputs_ : int
    Number of outputs.

out_activation_ : str
    Name of the output activation (applied by ``predict_proba`` only)."""

_document_regressor = fill_doc(
    {
        **_PARAMETERS,
        "normalize_y": Param(
            "bool",
            """\
Whether the targets are standardised inside the fit (each target's mean
and standard deviation on the training split, weighted by
``sample_weight``; with ``loss='poisson'``, divided by its mean, keeping
the log link) and predictions mapped back to the target's units, as
:class:`~sklearn.compose.TransformedTargetRegressor` with a
``StandardScaler`` would. The network's outputs start near zero: a target
in the thousands trains for hundreds of epochs unscaled. ``loss_``,
``best_loss_`` and ``loss_curve_`` are then in the units of the
standardised target (multiply by the variance of y for one target's
units); ``validation_scores_`` (R^2) does not depend on the scale. False
is scikit-learn's MLPRegressor.""",
        ),
        "loss": Param(
            "{options}",
            """\
The loss, as scikit-learn's MLPRegressor (1.7+): half the mean squared
error, or half the Poisson deviance, ``mean(y log(y / mu) - y + mu)``,
with a log link: the network's output is ``log(mu)``, and ``predict``
returns ``mu = exp(output)``. ``'poisson'`` needs ``y >= 0`` (a negative
target is a ValueError, where scikit-learn's loss becomes NaN). Keyword
only here: scikit-learn's takes it as the first positional argument.""",
        ),
    },
    mlp_attributes=_ATTRIBUTES,
)
_document_classifier = fill_doc(
    {
        **_PARAMETERS,
        "calibration": Param(
            "{'temperature'} or None",
            """\
How ``predict_proba`` is calibrated after training, on the
early-stopping split (so only with ``early_stopping=True``):
``'temperature'`` divides the logits by one temperature, fitted to
minimise that split's log-loss (Guo et al., 2017; the fitted
``temperature_``), which leaves every predicted label as it was; None
keeps the network's own probabilities.""",
        ),
    },
    mlp_attributes=_ATTRIBUTES,
)


class _BaseMLP(BaseDeepEstimator):
    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        **shared_constraints("hidden_layer_sizes", "activation", "dropout"),
        "input_scaling": [StrOptions({"robust", "standard"}), None],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "numerical_embedding": [StrOptions({"pbld"}), None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
    }
    _module_params = (
        "hidden_layer_sizes",
        "activation",
        "dropout",
        "input_scaling",
        "categorical_features",
        "numerical_embedding",
    )
    # DataFrames with categorical columns and missing values, or plain arrays
    _input_kind = FrameInput()
    # the best epoch by validation loss: accuracy on a small split ties over
    # many epochs, and the first of them was kept, under-trained
    _early_stopping_monitor = "loss"
    # Better by default, measured on 14 real tables (docs/tabular.md): two
    # hidden layers of 256, early stopping on a tenth of the data with the
    # best epoch kept, and batches of a tenth of the data between 8 and 64
    # (many small steps on small tables); at scikit-learn's MLP's CPU cost
    _auto_budget = {"batch": (8, 64)}

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
        input_scaling="robust",
        categorical_features="from_dtype",
        numerical_embedding=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.device = device
        self.callbacks = callbacks
        self.precision = precision
        self.compile = compile
        self.n_devices = n_devices
        self.input_scaling = input_scaling
        self.categorical_features = categorical_features
        self.numerical_embedding = numerical_embedding

    def _hidden_sizes(self):
        return positive_ints(
            "hidden_layer_sizes", self.hidden_layer_sizes, example="(100,) or (64, 32)"
        )

    def _check_params(self):
        super()._check_params()
        self._hidden_sizes()

    def _build_module(self, n_features_in, n_outputs):
        input_layer = embedding = None
        if hasattr(self, "_n_scaled"):  # (files saved before 0.6 have none)
            input_layer = TableScaler(
                n_features_in,
                self._n_scaled,
                self.input_scaling,
                missing=self._missing_columns,
            )
            if self.numerical_embedding == "pbld":
                embedding = PeriodicEmbedding(
                    input_layer.n_features_out, self._n_scaled
                )
        return MLP(
            n_features_in,
            self._hidden_sizes(),
            n_outputs,
            activation=self.activation,
            dropout=self.dropout,
            input_layer=input_layer,
            embedding=embedding,
        )

    @property
    def coefs_(self):
        return [
            layer.weight.detach().cpu().numpy().T.copy()
            for layer in self._linear_layers()
        ]

    @property
    def intercepts_(self):
        return [
            layer.bias.detach().cpu().numpy().copy() for layer in self._linear_layers()
        ]

    @property
    def n_layers_(self):
        return len(self._linear_layers()) + 1

    @property
    def out_activation_(self):
        if not hasattr(self, "classes_"):
            return "exp" if getattr(self, "loss", None) == "poisson" else "identity"
        return "softmax" if self._target_kind == "multiclass" else "logistic"

    def _linear_layers(self):
        if not hasattr(self, "module_"):
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet."
            )
        return self.module_.linear_layers()


@_document_classifier
class MLPClassifier(ClassifierTaskMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained with PyTorch.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, fitted attributes and early-stopping rules, plus
    dropout, class weights, more optimizers, callbacks and a GPU when one is
    there. Binary, multiclass and multilabel targets; labels of any type.
    Some defaults differ from scikit-learn's, to give better models (see the
    Notes).

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    temperature_ : float
        The temperature that divides the logits (``calibration``; 1.0 when
        calibration left them as they were). Only set after a fit with an
        early-stopping split.

    {{mlp_attributes}}

    See Also
    --------
    MLPRegressor : The regressor with the same network.
    sklearn.neural_network.MLPClassifier : The NumPy version in scikit-learn.

    Notes
    -----
    The defaults are chosen for tables, as RealMLP's [1]_, and measured on 14
    real tables beside scikit-learn's MLP, HistGradientBoosting, RealMLP and
    TabM (the tables page of the documentation has the figures and an
    ablation of each default): a DataFrame is read as it is (categorical
    columns one-hot encoded, missing values imputed with an indicator), the
    numeric columns are scaled robustly inside the network, two hidden layers
    of 256 train in batches of about a tenth of the data, early stopping keeps
    the epoch of least validation loss, and one temperature calibrates the
    probabilities on that split. A default fit costs about what scikit-learn's
    ``MLPClassifier()`` costs. ``hidden_layer_sizes=(100,),
    early_stopping=False, input_scaling=None, batch_size=200`` gives
    scikit-learn's network, inputs and stopping rule. Inputs are converted to
    float32 once and moved to the device once. With an int ``random_state``
    the fit is reproducible on the CPU. The input scaling and the target
    encoding are fitted on the first call of ``partial_fit`` and kept.

    References
    ----------
    .. [1] D. Holzmüller, L. Grinsztajn and I. Steinwart, "Better by default:
       strong pre-tuned MLPs and boosted trees on tabular data", NeurIPS 2024.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_deep import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(max_iter=300, learning_rate_init=0.01,
    ...                     random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        **shared_constraints("class_weight"),
        "calibration": [StrOptions({"temperature"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping="auto",
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
        input_scaling="robust",
        categorical_features="from_dtype",
        numerical_embedding=None,
        class_weight=None,
        calibration="temperature",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            device=device,
            callbacks=callbacks,
            precision=precision,
            compile=compile,
            n_devices=n_devices,
            input_scaling=input_scaling,
            categorical_features=categorical_features,
            numerical_embedding=numerical_embedding,
        )
        self.class_weight = class_weight
        self.calibration = calibration

    def _calibration(self):
        return self.calibration


@_document_regressor
class MLPRegressor(RegressorTaskMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained with PyTorch.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`
    (squared-error or Poisson loss): the same parameters, fitted attributes and
    early-stopping rules, plus dropout, more optimizers, callbacks and a GPU
    when one is there. Several targets are fitted jointly.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    {{mlp_attributes}}

    See Also
    --------
    MLPClassifier : The classifier with the same network.
    sklearn.neural_network.MLPRegressor : The NumPy version in scikit-learn.

    Notes
    -----
    The defaults are those of :class:`MLPClassifier`, measured on the same
    tables, plus the targets standardised inside (``normalize_y``) and
    RealMLP's periodic embedding of the numeric columns
    (``numerical_embedding='pbld'``), which was more accurate on every
    regression table measured. The loss is half the mean squared error (or
    half the Poisson deviance), as in scikit-learn; with ``normalize_y=True``
    it is that of the standardised target. ``hidden_layer_sizes=(100,),
    early_stopping=False, input_scaling=None, numerical_embedding=None,
    normalize_y=False, batch_size=200`` gives scikit-learn's model, whose
    ``loss_`` values compare directly. A single target, of shape (n_samples,)
    or (n_samples, 1), is predicted with shape (n_samples,), as
    scikit-learn's.

    References
    ----------
    .. [1] D. Holzmüller, L. Grinsztajn and I. Steinwart, "Better by default:
       strong pre-tuned MLPs and boosted trees on tabular data", NeurIPS 2024.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_deep import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0,
    ...                        random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs",
    ...                    max_iter=500, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
        "normalize_y": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        *,
        loss="squared_error",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping="auto",
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
        input_scaling="robust",
        categorical_features="from_dtype",
        numerical_embedding="pbld",
        normalize_y=True,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            device=device,
            callbacks=callbacks,
            precision=precision,
            compile=compile,
            n_devices=n_devices,
            input_scaling=input_scaling,
            categorical_features=categorical_features,
            numerical_embedding=numerical_embedding,
        )
        self.loss = loss
        self.normalize_y = normalize_y

    def _scales_targets(self):
        return self.normalize_y
