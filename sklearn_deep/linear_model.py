"""Linear models trained on torch: logistic regression and linear regression."""

import inspect
from numbers import Real

import numpy as np

from sklearn_deep._base import BaseDeepEstimator, shared_constraints
from sklearn_deep._engine import Penalty
from sklearn_deep._modules import LinearModel
from sklearn_deep._task import ClassifierTaskMixin, RegressorTaskMixin
from sklearn_deep.utils._compat import Interval, StrOptions
from sklearn_deep.utils._docstring import Param, fill_doc

_SMOOTH_PENALTIES = (None, "l2")


class _BaseLinear(BaseDeepEstimator):
    _parameter_constraints: dict = {
        **BaseDeepEstimator._parameter_constraints,
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "fit_intercept": ["boolean"],
        "solver": [
            StrOptions({"auto", "lbfgs", "sgd", "adam", "adamw", "rmsprop", "adagrad"})
        ],
    }
    _module_params = ("fit_intercept",)
    _full_batch_solver = "lbfgs"

    def _resolved_solver(self):
        if self.solver != "auto":
            return self.solver
        if self.penalty in _SMOOTH_PENALTIES:
            return self._full_batch_solver
        return "adam"

    def _check_params(self):
        super()._check_params()
        solver = self._resolved_solver()
        if solver in ("lbfgs", "normal") and self.penalty not in _SMOOTH_PENALTIES:
            raise ValueError(
                f"solver={solver!r} supports penalty='l2' or None, got "
                f"penalty={self.penalty!r}. Use solver='sgd' or 'adam' (they take "
                f"proximal steps for the L1 part), or solver='auto'."
            )

    def _alpha(self, n_samples):
        """``alpha``, or the one that ``C`` gives (LogisticRegression)."""
        C = getattr(self, "C", None)
        if C is None:
            return self.alpha
        # C * sum_i(s_i * loss_i) + R(w) divided by C * sum_i(s_i)
        return 1.0 / (C * n_samples * self._weight_mean)

    def _penalty(self, n_samples):
        """``alpha * R(w)`` on the mean loss, as scikit-learn's SGD estimators."""
        alpha = self._alpha(n_samples)
        if self.penalty is None:
            return Penalty()
        if self.penalty == "l2":
            return Penalty(l2=alpha)
        if self.penalty == "l1":
            return Penalty(l1=alpha)
        return Penalty(l2=alpha * (1 - self.l1_ratio), l1=alpha * self.l1_ratio)

    def _build_module(self, n_features_in, n_outputs):
        return LinearModel(n_features_in, n_outputs, bias=self.fit_intercept)

    def _weight_and_bias(self):
        if not hasattr(self, "module_"):
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet."
            )
        layer = self.module_.linear
        weight = layer.weight.detach().cpu().numpy().astype(np.float64)
        if layer.bias is None:
            bias = np.zeros(weight.shape[0])
        else:
            bias = layer.bias.detach().cpu().numpy().astype(np.float64)
        return weight, bias


# The linear models' own parameters; the training ones they share with the
# networks are documented in utils/_docstring.py.
_PARAMETERS = {
    "penalty": Param(
        "{options}",
        """\
The penalty on the coefficients (never on the intercept):
``alpha * R(w)`` added to the mean loss, with
``R = ||w||_2^2 / 2``, ``||w||_1``, or
``l1_ratio * ||w||_1 + (1 - l1_ratio) * ||w||_2^2 / 2``, as in
scikit-learn's SGD estimators.""",
    ),
    "l1_ratio": Param(
        "float",
        """\
The L1 share of the elastic net, in [0, 1]. Only used with
``penalty='elasticnet'``.""",
    ),
    "fit_intercept": Param("bool", "Whether to learn an intercept."),
    "verbose": Param("bool", "Whether to print progress."),
    "warm_start": Param(
        "bool", "Whether ``fit`` continues from the previous solution."
    ),
}

_STOCHASTIC_NOTE = (
    "Use a stochastic solver for data that does not fit in memory at once, and "
    "for ``partial_fit``."
)


@fill_doc(
    {
        **_PARAMETERS,
        "alpha": Param(
            "float",
            """\
Strength of the penalty, on the mean loss. scikit-learn's
``LogisticRegression(C=C)`` is ``alpha = 1 / (C * n_samples)`` (with
sample or class weights, their sum instead of ``n_samples``); pass ``C``
to have that computed at each fit. The default is stronger than
SGDClassifier's 1e-4: L-BFGS reaches the exact optimum, which overfits
separable data when the penalty is weak; 0.001 is scikit-learn's default
``C=1`` at 1000 samples.""",
        ),
        "C": Param(
            "float or None",
            """\
Inverse of the penalty's strength, as in scikit-learn's
``LogisticRegression``: the objective ``C * sum_i(s_i * loss_i) + R(w)``,
that is ``alpha = 1 / (C * sum_i(s_i))`` with ``s_i`` the sample (times
class) weights, 1 without them, over the samples the fit trains on (the
training split with ``early_stopping``; each call's samples in
``partial_fit``). ``C=np.inf`` is no penalty. None uses ``alpha``; set
only one of the two.""",
        ),
        "solver": Param(
            "{options}",
            """\
``'auto'`` picks ``'lbfgs'`` (full batch, quasi-Newton) for ``penalty`` in
{'l2', None}, and ``'adam'`` with proximal steps for 'l1' and
'elasticnet'. """
            + _STOCHASTIC_NOTE,
        ),
        "class_weight": Param(
            "dict, 'balanced' or None",
            """\
Weights of the classes in the loss, ``{label: weight}``; ``'balanced'``
weighs classes inversely to their frequency.""",
        ),
    }
)
class LogisticRegression(ClassifierTaskMixin, _BaseLinear):
    """Logistic regression (binary and multinomial) trained on torch.

    Full-batch L-BFGS by default, mini-batch solvers for large data and
    ``partial_fit``. Binary problems learn one coefficient vector, multiclass
    problems the multinomial (softmax) model, as scikit-learn's
    ``LogisticRegression``.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The coefficients; one row for binary problems.

    intercept_ : ndarray of shape (1,) or (n_classes,)
        The intercepts (zeros with ``fit_intercept=False``).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    n_outputs_ : int
        Number of outputs of the linear layer.

    {{history_attributes}}

    See Also
    --------
    LinearRegression : The regressor with the same solvers.
    sklearn.linear_model.LogisticRegression : The version in scikit-learn.
    sklearn.linear_model.SGDClassifier : The stochastic one in scikit-learn.

    Notes
    -----
    The objective is the mean log-loss plus ``alpha * R(w)``. scikit-learn's
    ``C * sum(log-loss) + R(w)`` is the same objective divided by
    ``C * n_samples``, so ``C`` and ``alpha = 1 / (C * n_samples)`` give the
    same coefficients.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_deep import LogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _multilabel_supported = False
    _parameter_constraints: dict = {
        **_BaseLinear._parameter_constraints,
        **shared_constraints("class_weight"),
        "C": [Interval(Real, 0, None, closed="right"), None],
    }

    def _check_params(self):
        super()._check_params()
        if self.C is None:
            return
        default = inspect.signature(type(self)).parameters["alpha"].default
        if self.alpha != default:
            raise ValueError(
                f"Got both C={self.C!r} and alpha={self.alpha!r}; they set the "
                f"same penalty (alpha = 1 / (C * n_samples)). Pass one of them: "
                f"C as in scikit-learn, or alpha with C=None."
            )
        if self.penalty is None:
            raise ValueError(
                f"Got C={self.C!r} with penalty=None, which has no penalty for C "
                f"to scale. Use penalty='l2' (or 'l1', 'elasticnet') with C, or "
                f"C=np.inf for no penalty."
            )

    def __init__(
        self,
        penalty="l2",
        *,
        alpha=0.001,
        C=None,
        l1_ratio=0.15,
        fit_intercept=True,
        solver="auto",
        max_iter=100,
        tol=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.01,
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
        class_weight=None,
        random_state=None,
        verbose=False,
        warm_start=False,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.device = device
        self.callbacks = callbacks
        self.precision = precision
        self.compile = compile
        self.n_devices = n_devices

    @property
    def coef_(self):
        return self._weight_and_bias()[0]

    @property
    def intercept_(self):
        return self._weight_and_bias()[1]

    def decision_function(self, X):
        """Confidence scores: the linear model's output (logits).

        Parameters
        ----------
        {{X}}

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems, the score of ``classes_[1]``.
        """
        scores = self._forward(X).astype(np.float64)
        return scores.ravel() if self._target_kind == "binary" else scores


@fill_doc(
    {
        **_PARAMETERS,
        "alpha": Param(
            "float",
            """\
Strength of the penalty. With ``penalty='l2'`` the model is
scikit-learn's ``Ridge(alpha=alpha * n_samples)`` (with sample weights,
their sum instead of ``n_samples``): Ridge penalises the summed squared
error, this estimator half its mean.""",
        ),
        "solver": Param(
            "{options}",
            """\
``'auto'`` picks ``'normal'`` (the normal equations, solved exactly in
float64: by a Cholesky factorisation of the Gram matrix up to 4096
features, by conjugate gradients on the least-squares problem beyond, so
that a wide sparse X never makes a ``(n_features, n_features)`` matrix) for
``penalty`` in {'l2', None}, and ``'adam'`` with proximal steps for 'l1'
and 'elasticnet'. """
            + _STOCHASTIC_NOTE,
        ),
    }
)
class LinearRegression(RegressorTaskMixin, _BaseLinear):
    """Least-squares linear regression on torch, with optional penalties.

    By default the exact least-squares solution (the normal equations in
    float64, on the device); with ``penalty='l2'`` ridge regression; with
    'l1' or 'elasticnet' a lasso or elastic net trained by mini-batches.
    Several targets are fitted jointly.

    Parameters
    ----------
    {{parameters}}

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        The coefficients.

    intercept_ : float or ndarray of shape (n_targets,)
        The intercept (0.0 with ``fit_intercept=False``).

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    n_outputs_ : int
        Number of targets.

    {{history_attributes}}

    See Also
    --------
    LogisticRegression : The classifier with the same solvers.
    sklearn.linear_model.LinearRegression : Least squares in scikit-learn.
    sklearn.linear_model.SGDRegressor : The stochastic one in scikit-learn.

    Notes
    -----
    The objective is half the mean squared error plus ``alpha * R(w)``. With
    ``solver='normal'`` and no penalty, rank-deficient X gets the minimum-norm
    solution, as scikit-learn's ``LinearRegression``. Beyond 4096 features
    the solve is iterative (CGLS, to a relative residual of 1e-10 of the
    normal equations); memory is then X and a few vectors, where the Gram
    matrix of a 100,000-word vocabulary would take 80 GB.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_deep import LinearRegression
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = LinearRegression().fit(X, y)
    >>> round(reg.score(X, y), 2)
    0.52
    """

    _parameter_constraints: dict = {
        **_BaseLinear._parameter_constraints,
        "solver": [
            StrOptions(
                {
                    "auto",
                    "normal",
                    "lbfgs",
                    "sgd",
                    "adam",
                    "adamw",
                    "rmsprop",
                    "adagrad",
                }
            )
        ],
    }
    _full_batch_solver = "normal"
    _predict_keeps_y_shape = True  # y of shape (n, 1) predicts (n, 1), as sklearn's

    def __init__(
        self,
        penalty=None,
        *,
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        solver="auto",
        max_iter=100,
        tol=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.01,
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
        random_state=None,
        verbose=False,
        warm_start=False,
        device="auto",
        callbacks=None,
        precision="32",
        compile=False,
        n_devices=None,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.device = device
        self.callbacks = callbacks
        self.precision = precision
        self.compile = compile
        self.n_devices = n_devices

    def _scales_targets(self):
        # the least-squares solvers are exact at any scale, and coef_ and
        # intercept_ stay in the target's units
        return False

    @property
    def coef_(self):
        weight = self._weight_and_bias()[0]
        return weight[0] if self._single_output else weight

    @property
    def intercept_(self):
        bias = self._weight_and_bias()[1]
        return float(bias[0]) if self._single_output else bias
