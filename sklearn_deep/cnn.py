"""Convolutional networks for images (and 1-D signals)."""

import functools
from numbers import Integral, Real

from sklearn_deep._base import (
    SMALL_DATA_BUDGET,
    BaseDeepEstimator,
    positive_ints,
    shared_constraints,
)
from sklearn_deep._data import ImageInput
from sklearn_deep._modules import ConvNet
from sklearn_deep._task import ClassifierTaskMixin, RegressorTaskMixin
from sklearn_deep.utils._compat import Interval, StrOptions
from sklearn_deep.utils._docstring import BUDGET_PARAMETERS, Param, fill_doc

# The CNN's own parameters, and the shared ones it documents in its own words;
# the rest are documented in utils/_docstring.py.
_PARAMETERS = {
    "conv_channels": Param(
        "array-like of shape (n_blocks,) or 'auto'",
        """\
The number of output channels (filters) of each convolution block. A
block is a convolution zero-padded to keep the size, batch normalisation
(see ``batch_norm``) and the activation (two of each and a shortcut with
``residual``), then pooling (see ``pooling``). ``'auto'``: ``(64, 128,
64)`` for signals, the fully convolutional network (FCN) of Wang et al.
[1]_ at half its width; ``(24, 48)`` for images.""",
    ),
    "hidden_layer_sizes": Param(
        "array-like of shape (n_layers - 2,) or 'auto'",
        """\
The ith element is the number of neurons in the ith hidden layer of the
dense head that follows the convolution blocks. ``'auto'``: ``()`` (one
linear layer on the pooled features) for signals, ``(100,)`` for images.""",
    ),
    "kernel_size": Param(
        "int, array-like of shape (n_blocks,) or 'auto'",
        """\
The side of the convolution kernels: one for every block, or one per
block. ``'auto'``: 8, 5, 3 for signals (8, then 5s, then 3 for another
number of blocks), 3 for images.""",
    ),
    "pooling": Param(
        "{options}",
        """\
The pooling of size 2 after each block, along each spatial axis still
longer than 1; None for no pooling. ``'auto'``: None for signals, 'max'
for images.""",
    ),
    "global_pooling": Param(
        "{options}",
        """\
How the last feature maps become the head's input: their average or
maximum over the spatial axes (the head then works on any input size),
or None to flatten them. ``'auto'``: 'avg' for signals, None for images.""",
    ),
    "residual": Param(
        "bool",
        """\
Whether each block is a residual block (two convolutions and a shortcut,
as in ResNet [2]_) instead of a single convolution.""",
    ),
    "input_scaling": Param(
        "{options}",
        """\
Whether the network standardises each input channel first, with the mean
and standard deviation of the training inputs (over samples and
positions), as a :class:`~sklearn.preprocessing.StandardScaler` per
channel would. None passes the inputs as they are.""",
    ),
    "batch_norm": Param(
        "bool",
        "Whether each convolution is followed by batch normalisation.",
    ),
    "activation": Param(
        "{options}",
        """\
Activation of the convolution blocks and of the hidden dense layers.""",
    ),
    "input_shape": Param(
        "tuple of int or None",
        """\
The shape to read each sample of X as: ``(C, H, W)`` for images or
``(C, L)`` for signals, with the channel axis last instead when
``channels_last=True``. Use it to pass images as flat 2-D rows, for
example ``input_shape=(1, 8, 8)`` for rows of 64 pixels, or
multichannel signals as 3-D X, for example ``input_shape=(6, 100)``. None
infers the shape from X: 4-D X is ``(n_samples, C, H, W)`` images, 3-D X
``(n_samples, H, W)`` one-channel images, and 2-D X rows of one-channel
signals (a 1-D convolutional network), so the estimator works after any
scikit-learn transformer.""",
    ),
    "channels_last": Param(
        "bool",
        """\
Whether the channel axis comes last in each sample (``(n_samples, H, W,
C)`` images, as PIL, Matplotlib and Keras store them) or in
``input_shape``.""",
    ),
    "augment": Param(
        "bool, dict, 'auto' or None",
        """\
Random data augmentation of the training batches, drawn afresh each
epoch on the training device: a dict with any of the keys ``'rotation'``
(the largest rotation in degrees, images only), ``'shift'`` (the largest
shift along each axis, as a fraction of its size) and ``'flip'``
(whether half the samples are mirrored left to right). ``True`` means
``{'rotation': 10, 'shift': 0.1}``; None or False, no augmentation;
``'auto'``, ``True`` for the images of a classifier, none for signals and
for a regressor (whose targets may move with the image).
Predictions and the early-stopping split are never augmented.""",
    ),
    "dropout": Param(
        "float",
        "Dropout probability after each hidden layer of the dense head, in [0, 1).",
    ),
    "batch_size": BUDGET_PARAMETERS["batch_size"],
    "learning_rate_init": Param(
        "float or 'auto'",
        """\
The initial step size of the stochastic solvers (the peak of
``'onecycle'``). ``'auto'``: 0.003 for signals, 0.01 for images.""",
    ),
    "max_iter": Param(
        "int or 'auto'",
        """\
Maximum number of epochs (iterations for ``'lbfgs'``). ``'auto'`` follows
the size of the training set: ``10000 / n_samples`` epochs clipped to
[20, 300] for signals, ``60000 / n_samples`` clipped to [20, 300] for
images.""",
    ),
}

_ATTRIBUTES = """\
{{history_attributes}}

input_shape_ : tuple of int
    The shape of one sample as the network takes it: ``(C, H, W)`` for
    images, ``(C, L)`` for signals.

n_features_in_ : int
    Size of the second axis of the X seen during fit: the number of
    features of 2-D X, the number of channels of ``(n_samples, C, H, W)``
    images.

feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of features seen during fit, when X has string column names.

n_outputs_ : int
    Number of outputs."""

_document = fill_doc(_PARAMETERS, cnn_attributes=_ATTRIBUTES)

# the shared validator, with an example that fits convolution blocks
_positive_ints = functools.partial(positive_ints, example="(32, 64)")


def _signal_or_image(input_shape):
    """'signal' for ``(C, L)`` samples, 'image' for ``(C, H, W)``."""
    return "signal" if len(input_shape) == 2 else "image"


# The defaults by input kind ('auto'). Signals: the fully convolutional network
# of Wang et al. (2017) at half its width (64-128-64 filters, kernels 8-5-3, no
# pooling, global average pooling, a linear head), which reaches its accuracy
# on the UCR sets within a CPU minute. Images: small VGG-style blocks of 3x3
# convolutions with max pooling and a dense head.
_AUTO_ARCHITECTURE = {
    "signal": dict(
        conv_channels=(64, 128, 64),
        kernel_size=(8, 5, 3),
        pooling=None,
        global_pooling="avg",
        hidden_layer_sizes=(),
    ),
    "image": dict(
        conv_channels=(24, 48),
        kernel_size=3,
        pooling="max",
        global_pooling=None,
        hidden_layer_sizes=(100,),
    ),
}


# The 'auto' batch size and epochs by input kind (see BaseDeepEstimator):
# images learn from more passes than signals, and each costs less.
_AUTO_BUDGET = {
    "signal": SMALL_DATA_BUDGET,
    "image": {"batch": (8, 32), "samples": 60_000, "epochs": (20, 300)},
}
# the peak of the one-cycle schedule: the FCN's batch-normalised signals
# trained best at 0.003 (GunPoint 0.993 against 0.980 at 0.01), the image
# blocks at 0.01 (digits 0.987 against 0.983 at 0.003)
_AUTO_LEARNING_RATE = {"signal": 0.003, "image": 0.01}


class _BaseCNN(BaseDeepEstimator):
    _input_kind = ImageInput()

    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        **shared_constraints("max_iter", "input_scaling", "activation", "dropout"),
        "conv_channels": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "kernel_size": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "pooling": [StrOptions({"max", "avg", "auto"}), None],
        "global_pooling": [StrOptions({"avg", "max", "auto"}), None],
        "residual": ["boolean"],
        "learning_rate_init": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "batch_norm": ["boolean"],
        "input_shape": ["array-like", None],
        "channels_last": ["boolean"],
        "augment": ["boolean", dict, StrOptions({"auto"}), None],
    }
    # the network, and how X is read into it
    _module_params = (
        *("conv_channels", "hidden_layer_sizes", "kernel_size", "pooling"),
        *("global_pooling", "residual", "batch_norm", "activation", "dropout"),
        *("input_scaling", "input_shape", "channels_last"),
    )

    def __init__(
        self,
        conv_channels="auto",
        hidden_layer_sizes="auto",
        *,
        kernel_size="auto",
        pooling="auto",
        global_pooling="auto",
        residual=False,
        input_scaling="standard",
        batch_norm=True,
        activation="relu",
        input_shape=None,
        channels_last=False,
        augment="auto",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="onecycle",
        learning_rate_init="auto",
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
    ):
        self.conv_channels = conv_channels
        self.hidden_layer_sizes = hidden_layer_sizes
        self.kernel_size = kernel_size
        self.pooling = pooling
        self.global_pooling = global_pooling
        self.residual = residual
        self.input_scaling = input_scaling
        self.batch_norm = batch_norm
        self.activation = activation
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

    def _check_params(self):
        super()._check_params()
        for name in ("conv_channels", "hidden_layer_sizes", "kernel_size"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value == "auto"):
                _positive_ints(name, value, empty=name == "hidden_layer_sizes")
        kernels, channels = self.kernel_size, self.conv_channels
        if not isinstance(kernels, str) and not isinstance(channels, str):
            n_kernels = len(_positive_ints("kernel_size", kernels))
            n_blocks = len(_positive_ints("conv_channels", channels))
            if n_kernels not in (1, n_blocks):
                raise ValueError(
                    f"kernel_size={kernels!r} gives {n_kernels} sizes for "
                    f"{n_blocks} convolution blocks (conv_channels={channels!r}); "
                    f"give one size for all blocks, or one per block."
                )

    def _resolved_learning_rate_init(self):
        if isinstance(self.learning_rate_init, str):  # 'auto'
            return _AUTO_LEARNING_RATE[_signal_or_image(self.input_shape_)]
        return self.learning_rate_init

    @property
    def _auto_budget(self):
        return _AUTO_BUDGET[_signal_or_image(self.input_shape_)]

    def _architecture(self, input_shape):
        """The network's settings, with each 'auto' resolved for the input kind."""
        kind = _signal_or_image(input_shape)
        settings = {}
        for name, auto in _AUTO_ARCHITECTURE[kind].items():
            value = getattr(self, name)
            settings[name] = (
                auto if isinstance(value, str) and value == "auto" else value
            )
        n_blocks = len(_positive_ints("conv_channels", settings["conv_channels"]))
        if kind == "signal" and self.kernel_size == "auto" and n_blocks != 3:
            # FCN's 8-5-3 for another number of blocks: 8, then 5s, then 3
            settings["kernel_size"] = [8, *[5] * (n_blocks - 2), 3][:n_blocks]
        return settings

    def _build_module(self, n_features_in, n_outputs):
        arch = self._architecture(n_features_in)
        return ConvNet(
            n_features_in,
            _positive_ints("conv_channels", arch["conv_channels"]),
            _positive_ints("hidden_layer_sizes", arch["hidden_layer_sizes"]),
            n_outputs,
            kernel_size=_positive_ints("kernel_size", arch["kernel_size"]),
            pooling=arch["pooling"],
            global_pooling=arch["global_pooling"],
            residual=self.residual,
            standardize=self.input_scaling == "standard",
            batch_norm=self.batch_norm,
            activation=self.activation,
            dropout=self.dropout,
        )


@_document
class CNNClassifier(ClassifierTaskMixin, _BaseCNN):
    """Convolutional neural network classifier trained with PyTorch.

    Convolution blocks followed by a dense head, for images of any size and
    number of channels: ``(n_samples, C, H, W)`` or ``(n_samples, H, W)``
    arrays, channels-last images, or flat rows with ``input_shape``. Plain
    2-D rows without ``input_shape`` are read as one-channel 1-D signals, so
    the classifier also works after any scikit-learn transformer. Shapes and
    classes are inferred in ``fit``. The training engine, its parameters and
    its fitted attributes are those of :class:`MLPClassifier`.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {{cnn_attributes}}

    See Also
    --------
    CNNRegressor : The regressor with the same network.
    MLPClassifier : A dense network for tables.

    Notes
    -----
    The defaults depend on the input kind. For signals (2-D rows, or
    ``input_shape=(C, L)``): the fully convolutional network of Wang et al.
    [1]_ at half its width, trained with a one-cycle schedule in batches of
    about a tenth of the training set, which reaches the published FCN
    accuracies on the UCR archive within a CPU minute. For images: two
    blocks of 3x3 convolutions with max pooling, a dense layer of 100 with
    dropout 0.25, and mild augmentation (rotations up to 10 degrees, shifts
    up to 10 %). The accuracy page of the documentation has the figures, and
    what each default bought. Inputs are converted to float32 once and moved
    to the device once; augmentation runs there, batch by batch.

    References
    ----------
    .. [1] Z. Wang, W. Yan and T. Oates, "Time series classification from
       scratch with deep neural networks: a strong baseline", IJCNN 2017.
    .. [2] K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for
       image recognition", CVPR 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_deep import CNNClassifier
    >>> digits = load_digits()
    >>> X, y = digits.images[:500] / 16, digits.target[:500]
    >>> clf = CNNClassifier(conv_channels=(8,), max_iter=10,
    ...                     learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> clf.input_shape_
    (1, 8, 8)
    >>> clf.score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **_BaseCNN._parameter_constraints,
        **shared_constraints("class_weight"),
    }

    def __init__(
        self,
        conv_channels="auto",
        hidden_layer_sizes="auto",
        *,
        kernel_size="auto",
        pooling="auto",
        global_pooling="auto",
        residual=False,
        input_scaling="standard",
        batch_norm=True,
        activation="relu",
        input_shape=None,
        channels_last=False,
        augment="auto",
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="onecycle",
        learning_rate_init="auto",
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
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.25,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
        class_weight=None,
    ):
        super().__init__(
            conv_channels=conv_channels,
            hidden_layer_sizes=hidden_layer_sizes,
            kernel_size=kernel_size,
            pooling=pooling,
            global_pooling=global_pooling,
            residual=residual,
            input_scaling=input_scaling,
            batch_norm=batch_norm,
            activation=activation,
            input_shape=input_shape,
            channels_last=channels_last,
            augment=augment,
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
        )
        self.class_weight = class_weight


@_document
class CNNRegressor(RegressorTaskMixin, _BaseCNN):
    """Convolutional neural network regressor trained with PyTorch.

    Convolution blocks followed by a dense head, for images of any size and
    number of channels: ``(n_samples, C, H, W)`` or ``(n_samples, H, W)``
    arrays, channels-last images, or flat rows with ``input_shape``. Plain
    2-D rows without ``input_shape`` are read as one-channel 1-D signals.
    Several targets are fitted jointly, with half the mean squared error as
    the loss. The training engine, its parameters and its fitted attributes
    are those of :class:`MLPRegressor`.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    {{cnn_attributes}}

    See Also
    --------
    CNNClassifier : The classifier with the same network.
    MLPRegressor : A dense network for tables.

    Notes
    -----
    Scale the targets (for example with
    :class:`~sklearn.compose.TransformedTargetRegressor`) when they are far
    from unit variance: the network starts near zero. The defaults depend on
    the input kind, as for :class:`CNNClassifier`; images are not augmented.

    References
    ----------
    .. [1] Z. Wang, W. Yan and T. Oates, "Time series classification from
       scratch with deep neural networks: a strong baseline", IJCNN 2017.
    .. [2] K. He, X. Zhang, S. Ren and J. Sun, "Deep residual learning for
       image recognition", CVPR 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deep import CNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(200, 1, 6, 6)
    >>> y = X[:, 0, :3].mean(axis=(1, 2))  # mean brightness of the top half
    >>> reg = CNNRegressor(conv_channels=(4,), max_iter=50, learning_rate_init=0.01,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """
