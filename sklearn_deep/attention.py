"""Transformer encoders for sequences of any length."""

from numbers import Integral

from sklearn_deep._base import (
    SMALL_DATA_BUDGET,
    BaseDeepEstimator,
    positive_ints,
    shared_constraints,
)
from sklearn_deep._data import SequenceInput
from sklearn_deep._modules import (
    POSITIONAL_ENCODINGS,
    SUMMARIES,
    TransformerNetwork,
)
from sklearn_deep._task import ClassifierTaskMixin, RegressorTaskMixin
from sklearn_deep.utils._compat import Interval, StrOptions
from sklearn_deep.utils._docstring import BUDGET_PARAMETERS, Param, fill_doc

# The attention family's own parameters (torch.nn.Transformer's names), and
# the shared ones it documents in its own words.
_PARAMETERS = {
    "d_model": Param("int", "Width of the step embeddings and of every block."),
    "nhead": Param("int", "Attention heads of each block; must divide ``d_model``."),
    "num_layers": Param("int", "Number of encoder blocks."),
    "dim_feedforward": Param(
        "int", "Hidden width of each block's feed-forward network."
    ),
    "dropout": Param(
        "float",
        """\
Dropout probability on the embeddings, on each block's attention and
feed-forward outputs and inside its feed-forward network, and after each
hidden layer of the head, in [0, 1).""",
    ),
    "activation": Param(
        "{options}",
        "Activation of the feed-forward networks and of the head's hidden layers.",
    ),
    "positional_encoding": Param(
        "{options}",
        """\
How each step's position enters the embeddings: the fixed sines and
cosines of Vaswani et al., which extend to sequences longer than any
seen in fit. None adds no position: the encoder then reads each sequence
as a set of steps.""",
    ),
    "pooling": Param(
        "{options}",
        """\
How the sequence is summarised for the head: the mean or the maximum of
the last block's outputs over the valid steps, or the output of a learned
classification token put before the first step (as BERT). Padding is
never part of the summary.""",
    ),
    "hidden_layer_sizes": Param(
        "array-like of shape (n_dense_layers,)",
        """\
Hidden dense layers of the head, between the summary and the output
layer. Empty: the summary feeds one linear output layer.""",
    ),
    "input_scaling": Param(
        "{options}",
        """\
Whether the network standardises each input feature first, with the mean
and standard deviation of the valid steps of the training sequences. None
passes the inputs as they are.""",
    ),
    "alpha": Param(
        "float",
        """\
The decoupled weight decay of ``solver='adamw'`` (the default); for the
other solvers, the L2 penalty as in scikit-learn's MLP.""",
    ),
    "batch_size": BUDGET_PARAMETERS["batch_size"],
    "max_iter": BUDGET_PARAMETERS["max_iter"],
}

_ATTRIBUTES = """
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

_NOTES = """
``X`` is read as by :class:`~sklearn_deep.LSTMClassifier`: a 3-D array
(n_samples, n_timesteps, n_features), a 2-D array of univariate sequences,
or a list of (n_timesteps_i, n_features) arrays whose lengths differ. Padded
steps are masked out of every attention and of the summary, so padding never
changes a prediction.

The defaults follow the field's small Transformer encoders: pre-norm blocks
(as GPT-2 and ViT), ``d_model=64`` with 4 heads, 2 blocks, a feed-forward
width of four times ``d_model``, GELU, dropout 0.1, sinusoidal positions,
mean pooling over the valid steps, and AdamW (weight decay 0.01) on a
one-cycle schedule (a warm-up, then a cosine decay). The budget is the
sequence families': ``max_iter='auto'`` gives ``10000 / n_samples`` epochs,
clipped to [20, 300], in batches of a tenth of the training set, clipped
to [8, 32].
"""

_document = fill_doc(
    _PARAMETERS, transformer_attributes=_ATTRIBUTES, input_notes=_NOTES
)


class _BaseTransformer(BaseDeepEstimator):
    _input_kind = SequenceInput()

    _auto_budget = SMALL_DATA_BUDGET
    _module_params = (
        *("d_model", "nhead", "num_layers", "dim_feedforward", "dropout"),
        *("activation", "positional_encoding", "pooling", "hidden_layer_sizes"),
        "input_scaling",
    )

    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        **shared_constraints(
            "max_iter", "hidden_layer_sizes", "activation", "dropout", "input_scaling"
        ),
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "nhead": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "dim_feedforward": [Interval(Integral, 1, None, closed="left")],
        "positional_encoding": [StrOptions(set(POSITIONAL_ENCODINGS)), None],
        "pooling": [StrOptions(set(SUMMARIES))],
    }

    def __init__(
        self,
        *,
        d_model=64,
        nhead=4,
        num_layers=2,
        dim_feedforward=256,
        dropout=0.1,
        activation="gelu",
        positional_encoding="sinusoidal",
        pooling="mean",
        hidden_layer_sizes=(),
        input_scaling="standard",
        solver="adamw",
        alpha=0.01,
        batch_size="auto",
        learning_rate="onecycle",
        learning_rate_init=0.001,
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
        self.d_model = d_model
        self.nhead = nhead
        self.num_layers = num_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.activation = activation
        self.positional_encoding = positional_encoding
        self.pooling = pooling
        self.hidden_layer_sizes = hidden_layer_sizes
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
        self.n_iter_no_change = n_iter_no_change
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
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
        if self.d_model % self.nhead:
            raise ValueError(
                f"d_model={self.d_model} must be a multiple of nhead={self.nhead}: "
                f"each head attends over d_model / nhead dimensions. Change "
                f"d_model or nhead, for example d_model=64 with nhead=4."
            )

    def _build_module(self, n_features_in, n_outputs):
        return TransformerNetwork(
            n_features_in,
            n_outputs,
            d_model=self.d_model,
            nhead=self.nhead,
            num_layers=self.num_layers,
            dim_feedforward=self.dim_feedforward,
            dropout=self.dropout,
            activation=self.activation,
            positional_encoding=self.positional_encoding,
            pooling=self.pooling,
            hidden_sizes=self._head_sizes(),
            standardize=self.input_scaling == "standard",
        )


@_document
class TransformerClassifier(ClassifierTaskMixin, _BaseTransformer):
    """Transformer encoder classifier for sequences, trained with PyTorch.

    Embeds each time step, adds its position, attends over the sequence with
    pre-norm self-attention blocks, summarises the valid steps (mean, maximum
    or a classification token) and classifies the summary with a dense head.
    Sequences may have different lengths. Binary, multiclass and multilabel
    targets; labels of any type.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {{transformer_attributes}}

    See Also
    --------
    TransformerRegressor : The regressor with the same network.
    LSTMClassifier : A recurrent network for the same inputs.

    Notes
    -----
    {{input_notes}}

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017.
    .. [2] R. Xiong et al., "On layer normalization in the Transformer
       architecture", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deep import TransformerClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 10, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = TransformerClassifier(d_model=16, nhead=2, num_layers=1,
    ...                             dim_feedforward=32, max_iter=30,
    ...                             learning_rate_init=0.003,
    ...                             random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> ragged = [rng.normal(size=(n, 2)) for n in (3, 12, 5)]
    >>> clf.predict_proba(ragged).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseTransformer._parameter_constraints,
        **shared_constraints("class_weight"),
    }

    def __init__(
        self,
        *,
        d_model=64,
        nhead=4,
        num_layers=2,
        dim_feedforward=256,
        dropout=0.1,
        activation="gelu",
        positional_encoding="sinusoidal",
        pooling="mean",
        hidden_layer_sizes=(),
        input_scaling="standard",
        solver="adamw",
        alpha=0.01,
        batch_size="auto",
        learning_rate="onecycle",
        learning_rate_init=0.001,
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
            d_model=d_model,
            nhead=nhead,
            num_layers=num_layers,
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            positional_encoding=positional_encoding,
            pooling=pooling,
            hidden_layer_sizes=hidden_layer_sizes,
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
            n_iter_no_change=n_iter_no_change,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            max_fun=max_fun,
            device=device,
            callbacks=callbacks,
            precision=precision,
            compile=compile,
            n_devices=n_devices,
        )
        self.class_weight = class_weight


@_document
class TransformerRegressor(RegressorTaskMixin, _BaseTransformer):
    """Transformer encoder regressor for sequences, trained with PyTorch.

    Embeds each time step, adds its position, attends over the sequence with
    pre-norm self-attention blocks, summarises the valid steps and maps the
    summary to the targets with a dense head, trained on half the mean
    squared error. Sequences may have different lengths; several targets are
    fitted jointly.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    {{transformer_attributes}}

    See Also
    --------
    TransformerClassifier : The classifier with the same network.
    LSTMRegressor : A recurrent network for the same inputs.

    Notes
    -----
    {{input_notes}}

    References
    ----------
    .. [1] A. Vaswani et al., "Attention is all you need", NeurIPS 2017.
    .. [2] R. Xiong et al., "On layer normalization in the Transformer
       architecture", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deep import TransformerRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.normal(size=(n, 1)) for n in rng.randint(2, 12, size=150)]
    >>> y = np.array([seq.mean() for seq in X])
    >>> reg = TransformerRegressor(d_model=16, nhead=2, num_layers=1,
    ...                            dim_feedforward=32, max_iter=30,
    ...                            random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """
