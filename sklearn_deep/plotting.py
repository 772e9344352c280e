"""Training-curve display, in scikit-learn's ``Display.from_estimator`` style."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


class LossCurveDisplay:
    """The training loss per epoch, and the validation score when there is one.

    Build it with :meth:`from_estimator`; ``plot`` draws it with matplotlib
    (install ``sklearn-deep[plot]``).

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The training loss of each epoch.

    validation_scores : array-like of shape (n_epochs,) or None, default=None
        The validation score of each epoch (``early_stopping=True``).

    estimator_name : str or None, default=None
        Name used in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the loss.

    ax_score_ : matplotlib Axes or None
        The twin axes of the validation score.

    figure_ : matplotlib Figure
        The figure.

    line_ : matplotlib Line2D
        The loss line.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against training size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_deep import MLPClassifier
    >>> from sklearn_deep.plotting import LossCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> disp = LossCurveDisplay.from_estimator(clf)
    >>> len(disp.line_.get_xdata())
    20
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, loss_kw=None, score_kw=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        loss_kw : dict, default=None
            Keyword arguments of the loss line's ``plot`` call.

        score_kw : dict, default=None
            Keyword arguments of the validation line's ``plot`` call.

        Returns
        -------
        display : LossCurveDisplay
            This object, with the matplotlib artists stored.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        epochs = np.arange(1, len(self.loss_curve) + 1)
        style = {"color": "C0", "label": "training loss"}
        if len(epochs) == 1:  # a closed-form fit has a single point
            style["marker"] = "o"
        (self.line_,) = ax.plot(epochs, self.loss_curve, **{**style, **(loss_kw or {})})
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        self.ax_score_ = None
        if self.validation_scores is not None and len(self.validation_scores):
            self.ax_score_ = ax.twinx()
            self.ax_score_.plot(
                epochs[: len(self.validation_scores)],
                self.validation_scores,
                **{"color": "C1", "label": "validation score", **(score_kw or {})},
            )
            self.ax_score_.set_ylabel("validation score")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """Plot the training history of a fitted sklearn_deep estimator.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted sklearn_deep estimator, or a pipeline ending in one.

        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        name : str, default=None
            Title; the estimator's class name when None.

        Returns
        -------
        display : LossCurveDisplay
            The drawn display.
        """
        if hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        check_is_fitted(estimator, "loss_curve_")
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
            estimator_name=name or type(estimator).__name__,
        )
        return display.plot(ax=ax)
