"""Autoencoders: a learned non-linear code, as a scikit-learn transformer."""

from numbers import Integral

from sklearn_deep._base import BaseDeepEstimator, positive_ints, shared_constraints
from sklearn_deep._data import ImageInput
from sklearn_deep._modules import AutoEncoderNetwork
from sklearn_deep._task import ReconstructionTaskMixin
from sklearn_deep.utils._compat import Interval
from sklearn_deep.utils._docstring import Param, fill_doc

_PARAMETERS = {
    "n_components": Param("int", "Width of the code that ``transform`` returns."),
    "hidden_layer_sizes": Param(
        "array-like of shape (n_layers,)",
        """\
Hidden dense layers of the encoder, from the input to the code; the
decoder mirrors them. Empty: a linear encoder and decoder around the
code (with ``activation`` unused, close to PCA).""",
    ),
    "conv_channels": Param(
        "array-like of shape (n_blocks,)",
        """\
Output channels of size-keeping convolutions at the start of the encoder
(mirrored at the end of the decoder), for images and signals: a
convolutional autoencoder. Empty: a dense autoencoder over the flattened
samples.""",
    ),
    "kernel_size": Param(
        "int",
        "Side of the convolution kernels. Only used with ``conv_channels``.",
    ),
    "activation": Param(
        "{options}",
        "Activation of every hidden layer; the code and the reconstruction are linear.",
    ),
    "dropout": Param(
        "float",
        """\
Probability of zeroing each input value during training, in [0, 1): the
masking noise of a denoising autoencoder, which learns to reconstruct
the clean sample from a corrupted one. Never applied in ``transform``.""",
    ),
    "input_scaling": Param(
        "{options}",
        """\
Whether the network standardises its input (each feature of flat
samples, each channel before convolutions) with the training data's
mean and standard deviation, and maps its reconstruction back to the
input's scale. The loss and the scores are on the input's own scale.""",
    ),
    "input_shape": Param(
        "tuple of int or None",
        """\
The shape to read each sample of X as, ``(C, H, W)`` or ``(C, L)`` (the
channel axis last with ``channels_last=True``): for example ``(1, 8, 8)``
to pass images as flat rows of 64 pixels to a convolutional
autoencoder. None reads 4-D X as ``(n_samples, C, H, W)``, 3-D X as
one-channel images and 2-D X as rows.""",
    ),
    "channels_last": Param(
        "bool",
        "Whether the channel axis comes last in each sample or in ``input_shape``.",
    ),
    "augment": Param(
        "bool, dict or None",
        """\
Random shifts, rotations or flips of the training inputs (the keys of
:class:`~sklearn_deep.CNNClassifier`'s ``augment``), while the target
stays the unchanged sample: another corruption to undo. None or False:
none.""",
    ),
}

_document = fill_doc(_PARAMETERS)


@_document
class AutoEncoder(ReconstructionTaskMixin, BaseDeepEstimator):
    """Autoencoder trained with PyTorch: a learned non-linear code.

    An encoder maps each sample to a code of ``n_components`` values and a
    decoder maps the code back; both are trained together to reconstruct the
    training samples, on half the mean squared error. ``transform`` returns
    the code (a non-linear counterpart of :class:`~sklearn.decomposition.PCA`),
    ``inverse_transform`` the reconstruction, and ``score_samples`` the
    negative reconstruction error, which flags outliers. Dense for tables;
    convolutional for images and signals with ``conv_channels``; denoising
    with ``dropout`` or ``augment``.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    n_components_ : int
        Width of the code.

    {{history_attributes}}

    n_features_in_ : int
        Number of features (columns of 2-D X; the size of the second axis of
        images) seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.

    input_shape_ : tuple of int
        The shape of one sample as the network reads it: ``(1,
        n_features)`` for rows, ``(C, H, W)`` for images.

    See Also
    --------
    sklearn.decomposition.PCA : The linear code of largest variance.
    sklearn.ensemble.IsolationForest : Another detector of outliers.

    Notes
    -----
    A sample's code is computed without dropout or augmentation, so
    ``transform`` is deterministic. ``score`` is the mean of
    ``score_samples``, so :class:`~sklearn.model_selection.GridSearchCV`
    without a scorer picks the parameters that reconstruct held-out data
    best.

    References
    ----------
    .. [1] G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality
       of data with neural networks", Science 313(5786), 2006.
    .. [2] P. Vincent et al., "Extracting and composing robust features with
       denoising autoencoders", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_deep import AutoEncoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoEncoder(n_components=8, max_iter=20, random_state=0).fit(X)
    >>> ae.transform(X[:3]).shape
    (3, 8)
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    >>> ae.get_feature_names_out()[:2].tolist()
    ['autoencoder0', 'autoencoder1']
    """

    _input_kind = ImageInput()
    _module_params = (
        *("n_components", "hidden_layer_sizes", "conv_channels", "kernel_size"),
        *("activation", "dropout", "input_scaling", "input_shape", "channels_last"),
    )

    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        **shared_constraints(
            "hidden_layer_sizes", "activation", "dropout", "input_scaling"
        ),
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "conv_channels": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "input_shape": ["array-like", None],
        "channels_last": ["boolean"],
        "augment": ["boolean", dict, None],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256,),
        conv_channels=(),
        kernel_size=3,
        activation="relu",
        dropout=0.0,
        input_scaling="standard",
        input_shape=None,
        channels_last=False,
        augment=None,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="cosine",
        learning_rate_init=0.003,
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
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.conv_channels = conv_channels
        self.kernel_size = kernel_size
        self.activation = activation
        self.dropout = dropout
        self.input_scaling = input_scaling
        self.input_shape = input_shape
        self.channels_last = channels_last
        self.augment = augment
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

    def _check_params(self):
        super()._check_params()
        positive_ints(
            "hidden_layer_sizes", self.hidden_layer_sizes, example="(128,) or ()"
        )
        positive_ints("conv_channels", self.conv_channels, example="(16, 32) or ()")

    def _build_module(self, n_features_in, n_outputs):
        return AutoEncoderNetwork(
            n_features_in,
            n_outputs,
            hidden_sizes=positive_ints("hidden_layer_sizes", self.hidden_layer_sizes),
            conv_channels=positive_ints("conv_channels", self.conv_channels),
            kernel_size=self.kernel_size,
            activation=self.activation,
            dropout=self.dropout,
            standardize=self.input_scaling == "standard",
        )
