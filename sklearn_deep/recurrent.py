"""Recurrent networks (LSTM or GRU) for sequences of any length."""

from numbers import Integral

from sklearn_deep._base import (
    SMALL_DATA_BUDGET,
    BaseDeepEstimator,
    positive_ints,
    shared_constraints,
)
from sklearn_deep._data import SequenceInput
from sklearn_deep._modules import CELLS, POOLINGS, RecurrentNetwork
from sklearn_deep._task import ClassifierTaskMixin, RegressorTaskMixin
from sklearn_deep.utils._compat import Interval, StrOptions
from sklearn_deep.utils._docstring import BUDGET_PARAMETERS, Param, fill_doc

# The recurrent family's own parameters, and the shared ones it documents in
# its own words; the rest are documented in utils/_docstring.py.
_PARAMETERS = {
    "cell": Param(
        "{options}",
        "The recurrent cell: long short-term memory or gated recurrent unit.",
    ),
    "hidden_size": Param("int", "Width of the hidden state (of each direction)."),
    "num_layers": Param("int", "Number of stacked recurrent layers."),
    "bidirectional": Param(
        "bool",
        """\
Whether each recurrent layer also reads the sequence backwards; the two
directions are concatenated.""",
    ),
    "pooling": Param(
        "{options}",
        """\
How the sequence is summarised for the head: the final hidden state of
the last layer (of both directions when bidirectional), or the mean or
the maximum of the last layer's outputs over the time steps. Padding is
never part of the summary.""",
    ),
    "hidden_layer_sizes": Param(
        "array-like of shape (n_dense_layers,)",
        """\
Hidden dense layers of the head, between the summary and the output
layer, as in :class:`~sklearn_deep.MLPClassifier`. Empty: the summary
feeds one linear output layer.""",
    ),
    "activation": Param(
        "{options}",
        """\
Activation of the head's hidden layers. Only used when
``hidden_layer_sizes`` is not empty.""",
    ),
    "dropout": Param(
        "float",
        """\
Dropout probability between stacked recurrent layers, on the summary, and
after each hidden layer of the head, in [0, 1).""",
    ),
    "input_scaling": Param(
        "{options}",
        """\
Whether the network standardises each input feature first, with the mean
and standard deviation of the training sequences (their valid steps
only), as a :class:`~sklearn.preprocessing.StandardScaler` would: saturated
gates learn slowly on unscaled inputs. None passes the inputs as they are.""",
    ),
    "batch_size": BUDGET_PARAMETERS["batch_size"],
    "max_iter": Param(
        "int or 'auto'",
        """\
Maximum number of epochs (iterations for ``'lbfgs'``). ``'auto'`` gives
about 10,000 training samples' worth of steps: ``10000 / n_samples``
epochs, clipped to [20, 300].""",
    ),
}

_RECURRENT_ATTRIBUTES = """
{{history_attributes}}

n_features_in_ : int
    For a 2-D ``X``, its number of columns (time steps of univariate
    sequences), as in scikit-learn; for 3-D or variable-length ``X``, the
    number of features per time step.

feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during fit, when X is a DataFrame with string
    column names.

n_outputs_ : int
    Number of outputs of the network.
"""

_INPUT_NOTES = """
``X`` may be a 3-D array of shape (n_samples, n_timesteps, n_features), a 2-D
array of shape (n_samples, n_timesteps) holding univariate sequences, or a
list (or 1-D object array) of arrays of shape (n_timesteps_i, n_features)
whose lengths differ. Variable-length sequences are padded with zeros and
packed, so the padding never changes a prediction. Data in the aeon and
sktime layout (n_samples, n_channels, n_timesteps) is passed as
``X.transpose(0, 2, 1)``.

An estimator fitted on a 2-D ``X`` predicts on 2-D inputs with the same
number of columns, as scikit-learn requires; it also predicts on 3-D or
variable-length inputs with one feature per step, of any length.

The defaults (a bidirectional LSTM, inputs standardised inside the network,
max pooling over time, a one-cycle schedule peaking at 0.003 over about
10,000 samples' worth of steps in batches of a tenth of the training set)
were measured on recorded series: JapaneseVowels ragged and zero-padded,
scikit-learn's digits read row by row, BasicMotions and PLAID. The accuracy
page of the documentation has the figures, and what each default bought.
"""


_document = fill_doc(
    _PARAMETERS,
    recurrent_attributes=_RECURRENT_ATTRIBUTES,
    input_notes=_INPUT_NOTES,
)


class _BaseRecurrent(BaseDeepEstimator):
    _input_kind = SequenceInput()

    _auto_budget = SMALL_DATA_BUDGET

    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        **shared_constraints(
            "max_iter", "hidden_layer_sizes", "activation", "dropout", "input_scaling"
        ),
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "pooling": [StrOptions(set(POOLINGS))],
    }
    _module_params = (
        *("cell", "hidden_size", "num_layers", "bidirectional", "pooling"),
        *("hidden_layer_sizes", "activation", "dropout", "input_scaling"),
    )

    def __init__(
        self,
        *,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        pooling="max",
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        input_scaling="standard",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="onecycle",
        learning_rate_init=0.003,
        power_t=0.5,
        max_iter="auto",
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_fun=15000,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
    ):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.input_scaling = input_scaling
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
        self.device = device
        self.callbacks = callbacks
        self.precision = precision
        self.compile = compile
        self.n_devices = n_devices

    def _head_sizes(self):
        return positive_ints(
            "hidden_layer_sizes",
            self.hidden_layer_sizes,
            example="() for a linear head or (32,) for one hidden dense layer",
        )

    def _check_params(self):
        super()._check_params()
        self._head_sizes()

    def _build_module(self, n_features_in, n_outputs):
        return RecurrentNetwork(
            n_features_in,
            n_outputs,
            cell=self.cell,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            pooling=self.pooling,
            hidden_sizes=self._head_sizes(),
            activation=self.activation,
            dropout=self.dropout,
            standardize=self.input_scaling == "standard",
        )


@_document
class LSTMClassifier(ClassifierTaskMixin, _BaseRecurrent):
    """Recurrent neural network classifier (LSTM or GRU) trained with PyTorch.

    Reads each sequence with a recurrent encoder, summarises it (final state,
    mean or maximum over time) and classifies the summary with a dense head.
    Sequences may have different lengths. Binary, multiclass and multilabel
    targets; labels of any type.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {{recurrent_attributes}}

    See Also
    --------
    LSTMRegressor : The regressor with the same network.
    MLPClassifier : A dense network for fixed-width tables.

    Notes
    -----
    {{input_notes}}

    References
    ----------
    .. [1] S. Hochreiter and J. Schmidhuber, "Long short-term memory", Neural
       Computation 9(8), 1997.
    .. [2] K. Cho et al., "Learning phrase representations using RNN
       encoder-decoder for statistical machine translation", EMNLP 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deep import LSTMClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 10, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = LSTMClassifier(hidden_size=16, max_iter=60, learning_rate_init=0.01,
    ...                      random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> ragged = [rng.normal(size=(n, 2)) for n in (3, 12, 5)]
    >>> clf.predict_proba(ragged).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseRecurrent._parameter_constraints,
        **shared_constraints("class_weight"),
    }

    def __init__(
        self,
        *,
        cell="lstm",
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        pooling="max",
        hidden_layer_sizes=(),
        activation="relu",
        dropout=0.0,
        input_scaling="standard",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="onecycle",
        learning_rate_init=0.003,
        power_t=0.5,
        max_iter="auto",
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        max_fun=15000,
        class_weight=None,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
    ):
        super().__init__(
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            pooling=pooling,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            input_scaling=input_scaling,
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
            device=device,
            callbacks=callbacks,
            precision=precision,
            compile=compile,
            n_devices=n_devices,
        )
        self.class_weight = class_weight


@_document
class LSTMRegressor(RegressorTaskMixin, _BaseRecurrent):
    """Recurrent neural network regressor (LSTM or GRU) trained with PyTorch.

    Reads each sequence with a recurrent encoder, summarises it (final state,
    mean or maximum over time) and maps the summary to the targets with a
    dense head, trained on half the mean squared error. Sequences may have
    different lengths; several targets are fitted jointly.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    {{recurrent_attributes}}

    See Also
    --------
    LSTMClassifier : The classifier with the same network.
    MLPRegressor : A dense network for fixed-width tables.

    Notes
    -----
    {{input_notes}}

    References
    ----------
    .. [1] S. Hochreiter and J. Schmidhuber, "Long short-term memory", Neural
       Computation 9(8), 1997.
    .. [2] K. Cho et al., "Learning phrase representations using RNN
       encoder-decoder for statistical machine translation", EMNLP 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deep import LSTMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.normal(size=(n, 1)) for n in rng.randint(2, 12, size=150)]
    >>> y = np.array([seq.sum() for seq in X])
    >>> reg = LSTMRegressor(cell="gru", hidden_size=16,
    ...                     max_iter=100, learning_rate_init=0.01,
    ...                     random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """
