"""Training-curve displays, in scikit-learn's ``Display.from_estimator`` style."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _trained_estimator(estimator):
    """The sklearn_deep estimator inside a fitted search or pipeline.

    A search gives its ``best_estimator_`` (a ValueError when it was fitted
    with ``refit=False``, which keeps none), a pipeline its final step, at
    any depth (a search over a pipeline, a pipeline of a search).
    """
    while True:
        if hasattr(estimator, "cv_results_") or hasattr(estimator, "refit"):
            check_is_fitted(estimator, "cv_results_")
            if not hasattr(estimator, "best_estimator_"):
                raise ValueError(
                    f"{type(estimator).__name__} was fitted with "
                    f"refit={estimator.refit!r}, so it keeps no best_estimator_ "
                    f"to plot. Fit it with refit=True, or fit the estimator "
                    f"with the best parameters (best_params_) and plot that."
                )
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        else:
            break
    check_is_fitted(estimator, "loss_curve_")
    return estimator


class TrainingCurveDisplay:
    """Training and validation loss per epoch, the validation score, the best epoch.

    The losses share the left axis; the validation score (with
    ``early_stopping=True``) has its own on the right. A vertical line marks
    the best epoch: the best validation score, or else the lowest training
    loss (the epoch whose weights ``fit`` keeps). Build it with
    :meth:`from_estimator`; ``plot`` draws it with matplotlib (install
    ``sklearn-deep[plot]``).

    Parameters
    ----------
    train_loss : array-like of shape (n_epochs,)
        The training loss of each epoch.

    validation_loss : array-like of shape (n_epochs,) or None, default=None
        The loss on the validation split of each epoch.

    validation_score : array-like of shape (n_epochs,) or None, default=None
        The validation score of each epoch.

    best_epoch : int or None, default=None
        The epoch to mark (counting from 1); None marks none.

    estimator_name : str or None, default=None
        Name used in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.

    ax_score_ : matplotlib Axes or None
        The twin axes of the validation score; None without one.

    figure_ : matplotlib Figure
        The figure.

    lines_ : dict of str to matplotlib Line2D
        The drawn curves, by label.

    best_epoch_line_ : matplotlib Line2D or None
        The best epoch's vertical line.

    legend_ : matplotlib Legend
        One legend for both axes.

    See Also
    --------
    LossCurveDisplay : The training loss and the validation score only.
    sklearn.model_selection.LearningCurveDisplay : Scores against training size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_deep import MLPClassifier
    >>> from sklearn_deep.plotting import TrainingCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(max_iter=20, early_stopping=True, random_state=0)
    >>> disp = TrainingCurveDisplay.from_estimator(clf.fit(X, y))
    >>> sorted(disp.lines_)
    ['training loss', 'validation loss', 'validation score']
    """

    def __init__(
        self,
        *,
        train_loss,
        validation_loss=None,
        validation_score=None,
        best_epoch=None,
        estimator_name=None,
    ):
        self.train_loss = train_loss
        self.validation_loss = validation_loss
        self.validation_score = validation_score
        self.best_epoch = best_epoch
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, loss_kw=None, score_kw=None):
        """Draw the curves, the best-epoch mark and the legend.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        loss_kw : dict, default=None
            Keyword arguments of both loss lines' ``plot`` calls.

        score_kw : dict, default=None
            Keyword arguments of the validation score line's ``plot`` call.

        Returns
        -------
        display : TrainingCurveDisplay
            This object, with the matplotlib artists stored.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        train_loss, validation_loss, validation_score, best_epoch = self._curves()
        epochs = np.arange(1, len(train_loss) + 1)
        marker = {"marker": "o"} if len(epochs) == 1 else {}  # one closed-form point
        self.lines_ = {}

        def draw(axes, values, label, color, kwargs, **style):
            values = np.asarray(values, dtype=float)
            if not np.isfinite(values).any():
                return
            (self.lines_[label],) = axes.plot(
                epochs[: len(values)],
                values,
                **{"color": color, "label": label, **marker, **style, **kwargs},
            )

        draw(ax, train_loss, "training loss", "C0", loss_kw or {})
        if validation_loss is not None:
            draw(ax, validation_loss, "validation loss", "C1", loss_kw or {})
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        self.ax_score_ = None
        if validation_score is not None and len(validation_score):
            self.ax_score_ = ax.twinx()
            draw(
                self.ax_score_,
                validation_score,
                "validation score",
                "C2",
                score_kw or {},
                linestyle="--",
            )
            self.ax_score_.set_ylabel("validation score")
        self.best_epoch_line_ = None
        if best_epoch is not None:
            self.best_epoch_line_ = ax.axvline(
                best_epoch,
                color="0.4",
                linestyle=":",
                label=f"best epoch ({best_epoch})",
            )
        handles = list(self.lines_.values())
        if self.best_epoch_line_ is not None:
            handles.append(self.best_epoch_line_)
        self.legend_ = ax.legend(handles=handles, loc="best")
        if self.estimator_name:
            ax.set_title(self.estimator_name)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _curves(self):
        return (
            self.train_loss,
            self.validation_loss,
            self.validation_score,
            self.best_epoch,
        )

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None):
        """Plot the training history of a fitted sklearn_deep estimator.

        Parameters
        ----------
        estimator : estimator, Pipeline or search
            A fitted sklearn_deep estimator, a pipeline ending in one, or a
            fitted search (``GridSearchCV``, ...) whose ``best_estimator_``
            is one (a ValueError if it was fitted with ``refit=False``).

        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None.

        name : str, default=None
            Title; the estimator's class name when None.

        Returns
        -------
        display : TrainingCurveDisplay
            The drawn display.
        """
        estimator = _trained_estimator(estimator)
        display = cls._from_fitted(estimator, name or type(estimator).__name__)
        return display.plot(ax=ax)

    @classmethod
    def _from_fitted(cls, estimator, name):
        history = estimator.history_
        score = history["validation_score"]
        has_score = bool(score.notna().any())
        best = score if has_score else -history["train_loss"]
        best_epoch = None
        if best.notna().any():
            best_epoch = int(history["epoch"][best.idxmax()])  # the first best
        return cls(
            train_loss=history["train_loss"].to_numpy(),
            validation_loss=(
                history["validation_loss"].to_numpy()
                if history["validation_loss"].notna().any()
                else None
            ),
            validation_score=score.to_numpy() if has_score else None,
            best_epoch=best_epoch,
            estimator_name=name,
        )


class LossCurveDisplay(TrainingCurveDisplay):
    """The training loss per epoch, and the validation score when there is one.

    The thinner sibling of :class:`TrainingCurveDisplay` (same ``plot`` and
    ``from_estimator``), without the validation loss and the best-epoch mark.

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
    TrainingCurveDisplay : With the validation loss and the best epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_deep.plotting import LossCurveDisplay
    >>> disp = LossCurveDisplay(loss_curve=[1.0, 0.6, 0.4]).plot()
    >>> len(disp.line_.get_xdata())
    3
    """

    def __init__(self, *, loss_curve, validation_scores=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    @property
    def line_(self):
        return self.lines_["training loss"]

    def _curves(self):
        return self.loss_curve, None, self.validation_scores, None

    @classmethod
    def _from_fitted(cls, estimator, name):
        return cls(
            loss_curve=estimator.loss_curve_,
            validation_scores=getattr(estimator, "validation_scores_", None),
            estimator_name=name,
        )
