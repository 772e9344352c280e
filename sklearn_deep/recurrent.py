"""Recurrent networks (LSTM or GRU) for sequences of any length."""

import textwrap
from numbers import Integral, Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from sklearn_deep._base import BaseDeepEstimator
from sklearn_deep._data import (
    check_sequence_array,
    pad_sequences,
    sequence_layout,
    tensor_to_numpy,
    univariate_sequences,
)
from sklearn_deep._modules import ACTIVATIONS, CELLS, POOLINGS, RecurrentNetwork
from sklearn_deep._task import ClassifierTaskMixin, RegressorTaskMixin
from sklearn_deep.utils._compat import Interval, StrOptions
from sklearn_deep.utils._docstring import fill_doc

_RECURRENT_PARAMETERS = """
cell : {'lstm', 'gru'}, default='lstm'
    The recurrent cell: long short-term memory or gated recurrent unit.

hidden_size : int, default=64
    Width of the hidden state (of each direction).

num_layers : int, default=1
    Number of stacked recurrent layers.

bidirectional : bool, default=True
    Whether each recurrent layer also reads the sequence backwards; the two
    directions are concatenated.

pooling : {'last', 'mean', 'max'}, default='max'
    How the sequence is summarised for the head: the final hidden state of
    the last layer (of both directions when bidirectional), or the mean or
    the maximum of the last layer's outputs over the time steps. Padding is
    never part of the summary.

hidden_layer_sizes : array-like of shape (n_dense_layers,), default=()
    Hidden dense layers of the head, between the summary and the output
    layer, as in :class:`~sklearn_deep.MLPClassifier`. Empty: the summary
    feeds one linear output layer.

activation : {'identity', 'logistic', 'tanh', 'relu', 'gelu', 'silu', \
'leaky_relu', 'elu'}, default='relu'
    Activation of the head's hidden layers. Only used when
    ``hidden_layer_sizes`` is not empty.

dropout : float, default=0.0
    Dropout probability between stacked recurrent layers, on the summary, and
    after each hidden layer of the head, in [0, 1).

input_scaling : {'standard'} or None, default='standard'
    Whether the network standardises each input feature first, with the mean
    and standard deviation of the training sequences (their valid steps
    only), as a :class:`~sklearn.preprocessing.StandardScaler` would: saturated
    gates learn slowly on unscaled inputs. None passes the inputs as they are.

solver : {'adam', 'sgd', 'adamw', 'rmsprop', 'adagrad', 'lbfgs'}, default='adam'
    The optimizer. ``'lbfgs'`` trains on the full batch; the others by
    mini-batches.

alpha : float, default=0.0001
    Strength of the L2 penalty on the weights, scaled as in scikit-learn's
    MLP (divided by the batch's total sample weight). For ``'adamw'`` it is
    the decoupled weight decay instead.

{{batch_size_auto}}

{{learning_rate}}

learning_rate_init : float, default=0.003
    The initial step size of the stochastic solvers (the peak of
    ``'onecycle'``).

power_t : float, default=0.5
    Exponent of the ``'invscaling'`` schedule.

{{max_iter_auto}}

shuffle : bool, default=True
    Whether to shuffle the samples each epoch.

{{random_state}}

tol : float, default=1e-4
    Minimum improvement of the loss (or validation score) that counts, and
    the gradient tolerance of ``'lbfgs'``.

verbose : bool, default=False
    Whether to print a line per epoch and why training stopped.

warm_start : bool, default=False
    Whether ``fit`` continues from the previous solution instead of
    initialising a new network.

momentum : float, default=0.9
    Momentum of ``solver='sgd'``, between 0 and 1.

nesterovs_momentum : bool, default=True
    Whether ``solver='sgd'`` uses Nesterov's momentum.

{{early_stopping}}

beta_1 : float, default=0.9
    Decay of the first-moment estimates of Adam and AdamW, in [0, 1).

beta_2 : float, default=0.999
    Decay of the second-moment estimates of Adam and AdamW, in [0, 1).

epsilon : float, default=1e-8
    Numerical stability constant of Adam, AdamW, RMSprop and Adagrad.

max_fun : int, default=15000
    Maximum number of loss evaluations of ``'lbfgs'``.
"""

_ENGINE_PARAMETERS = """
{{device}}

{{callbacks}}

{{precision}}
"""

_RECURRENT_ATTRIBUTES = """
{{history_attributes}}

n_features_in_ : int
    For a 2-D ``X``, its number of columns (time steps of univariate
    sequences), as in scikit-learn; for 3-D or variable-length ``X``, the
    number of features per time step.

feature_names_in_ : ndarray of shape (n_features_in_,)
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

Scale the inputs first: saturated gates learn slowly. The defaults
(``pooling='max'``, ``learning_rate_init=0.01``) were chosen on short
recorded series (scikit-learn's digits read row by row, the JapaneseVowels
speakers); there, ``cell='gru', bidirectional=True`` was more accurate still.
The user guide has the figures.
"""


def _shared_doc(cls):
    doc = cls.__doc__
    for marker, text in (
        ("{{recurrent_parameters}}", _RECURRENT_PARAMETERS),
        ("{{engine_parameters}}", _ENGINE_PARAMETERS),
        ("{{recurrent_attributes}}", _RECURRENT_ATTRIBUTES),
        ("{{input_notes}}", _INPUT_NOTES),
    ):
        doc = doc.replace(f"    {marker}", textwrap.indent(text.strip(), "    "))
    cls.__doc__ = doc
    return fill_doc(cls)


class _BaseRecurrent(BaseDeepEstimator):
    # fixed chunks: a row's prediction is the same alone or in a batch. 64
    # rows: 0.6 ms for a single-row predict of the default network on 8
    # steps, bulk predicts at 0.86x the rows/s of 4096-row chunks
    _predict_chunk_rows = 64

    _auto_budget = {"batch": (8, 32), "samples": 10_000, "epochs": (20, 300)}

    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "cell": [StrOptions(set(CELLS))],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "pooling": [StrOptions(set(POOLINGS))],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_scaling": [StrOptions({"standard"}), None],
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
        device="auto",
        callbacks=None,
        precision="32",
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

    def _head_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if np.iterable(sizes) else [sizes]
        if any(not isinstance(s, Integral | np.integer) or s <= 0 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers, got "
                f"{self.hidden_layer_sizes!r}; for example () for a linear head "
                f"or (32,) for one hidden dense layer."
            )
        return [int(s) for s in sizes]

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

    # Inputs: 2-D tables go through scikit-learn's validation (feature names,
    # n_features_in_); 3-D arrays and collections of sequences through _data.

    def _validate_X(self, X, reset):
        X = tensor_to_numpy(X)
        layout = sequence_layout(X)
        if layout == "table" and (reset or self._table_input):
            self._table_input = True
            X = validate_data(self, X, reset=reset, **self._validate_kwargs())
            return univariate_sequences(X)
        if layout == "table":  # fitted on sequences: rows of any length
            seqs = univariate_sequences(check_array(X, **self._validate_kwargs()))
        elif layout == "array":
            seqs = check_sequence_array(X)
        else:
            seqs = pad_sequences(X)
        n_features = seqs.shape[2]
        if reset:
            self._table_input = False
            self.n_features_in_ = n_features
        elif n_features != self.module_.n_features_in:
            raise ValueError(
                f"X has {n_features} features per time step (shape "
                f"{seqs.shape[1:]} after padding), but {type(self).__name__} "
                f"was fitted with {self.module_.n_features_in}; pass sequences "
                f"of shape (n_timesteps, {self.module_.n_features_in})."
            )
        return seqs

    def _validate_X_y(self, X, y, reset):
        layout = sequence_layout(X)
        if layout == "table" and (reset or self._table_input):
            X, y = super()._validate_X_y(X, y, reset)
            self._table_input = True
            return univariate_sequences(X), y
        X = self._validate_X(X, reset)
        y = validate_data(
            self,
            "no_validation",
            y,
            reset=reset,
            multi_output=self._multilabel_supported or not is_classifier(self),
            y_numeric=not is_classifier(self),
        )
        if len(X) != len(y):
            raise ValueError(
                f"X holds {len(X)} sequences but y has {len(y)} targets; pass "
                f"one target per sequence."
            )
        return X, y

    def _to_tensors(self, X):
        return X.to_tensors()

    def _n_features_for_module(self, inputs):
        return inputs[0].shape[2]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


@_shared_doc
class LSTMClassifier(ClassifierTaskMixin, _BaseRecurrent):
    """Recurrent neural network classifier (LSTM or GRU) trained with PyTorch.

    Reads each sequence with a recurrent encoder, summarises it (final state,
    mean or maximum over time) and classifies the summary with a dense head.
    Sequences may have different lengths. Binary, multiclass and multilabel
    targets; labels of any type.

    Parameters
    ----------
    {{recurrent_parameters}}

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes in the loss, ``{label: weight}``; ``'balanced'``
        weighs classes inversely to their frequency. Multiplies
        ``sample_weight``. Ignored for multilabel targets.

    {{engine_parameters}}

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
        "class_weight": [dict, StrOptions({"balanced"}), None],
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
        )
        self.class_weight = class_weight


@_shared_doc
class LSTMRegressor(RegressorTaskMixin, _BaseRecurrent):
    """Recurrent neural network regressor (LSTM or GRU) trained with PyTorch.

    Reads each sequence with a recurrent encoder, summarises it (final state,
    mean or maximum over time) and maps the summary to the targets with a
    dense head, trained on half the mean squared error. Sequences may have
    different lengths; several targets are fitted jointly.

    Parameters
    ----------
    {{recurrent_parameters}}

    {{engine_parameters}}

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
