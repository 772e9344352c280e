"""Callbacks: hooks into the training loop, with skorch's hook names.

A callback is any object with some of the methods below; subclassing
:class:`Callback` is optional and only provides no-op defaults. Hooks receive
the estimator being fitted, whose history attributes (``loss_curve_``,
``validation_scores_``, ``n_iter_``) are up to date when ``on_epoch_end`` runs.
"""

import math


class StopTraining(Exception):  # noqa: N818 (a signal, as KeyboardInterrupt)
    """Raise from a hook to end training after the current epoch.

    The estimator stays fitted with the weights reached (with early stopping,
    the best validation epoch's).
    """


class Callback:
    """Base class with no-op hooks.

    Examples
    --------
    >>> from sklearn_deep.callbacks import Callback
    >>> class PrintLoss(Callback):
    ...     def on_epoch_end(self, estimator, epoch, loss, validation_score):
    ...         print(f"{epoch}: {loss:.3f}")
    """

    def on_train_begin(self, estimator):
        """Called once before the first epoch of a fit or partial_fit.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        """

    def on_epoch_begin(self, estimator, epoch):
        """Called before each epoch.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.

        epoch : int
            The epoch about to run, counting from 1 in each call to fit.
        """

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        """Called after each epoch with its training loss and validation score.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.

        epoch : int
            The epoch that ran, counting from 1 in each call to fit.

        loss : float
            Its training loss.

        validation_score : float or None
            Its validation score; None unless ``early_stopping=True``.
        """

    def on_train_end(self, estimator):
        """Called once after training, after best weights are restored.

        Parameters
        ----------
        estimator : estimator
            The estimator being fitted.
        """


class TimeLimit(Callback):
    """Stop after a wall-clock budget in seconds, checked at each epoch's end.

    Parameters
    ----------
    seconds : float
        The time allowed for training.

    Examples
    --------
    >>> from sklearn_deep import MLPClassifier
    >>> from sklearn_deep.callbacks import TimeLimit
    >>> clf = MLPClassifier(callbacks=[TimeLimit(seconds=60)])
    """

    def __init__(self, seconds):
        self.seconds = seconds

    def on_train_begin(self, estimator):
        import time

        self._start = time.perf_counter()

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        import time

        elapsed = time.perf_counter() - self._start
        if elapsed > self.seconds:
            raise StopTraining(
                f"time budget of {self.seconds} s used up after epoch {epoch} "
                f"({elapsed:.1f} s)"
            )


class LossHistory(Callback):
    """Record the loss and validation score of each epoch in ``history``.

    Examples
    --------
    >>> from sklearn_deep.callbacks import LossHistory
    >>> history = LossHistory()
    >>> history.history
    []
    """

    def __init__(self):
        self.history = []

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        self.history.append(
            {
                "epoch": epoch,
                "loss": loss,
                "validation_score": (
                    math.nan if validation_score is None else validation_score
                ),
            }
        )
