"""Callbacks: hooks into the training loop, with skorch's hook names.

A callback is any object with some of the methods below; subclassing
:class:`Callback` is optional and only provides no-op defaults. Hooks receive
the estimator being fitted, whose history attributes (``loss_curve_``,
``validation_scores_``, ``n_iter_``, ``history_``) are up to date when
``on_epoch_end`` runs.
"""

import difflib
import inspect
import math

from sklearn_deep.utils._warnings import warn

# the hooks the training loop calls, in the order it calls them
HOOKS = ("on_train_begin", "on_epoch_begin", "on_epoch_end", "on_train_end")

# the methods of scikit-learn 1.9's callbacks (sklearn.callback), set with
# set_callbacks rather than callbacks=
_SKLEARN_HOOKS = ("on_fit_task_begin", "on_fit_task_end", "setup", "teardown")


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


class ProgressBar(Callback):
    """A progress bar of the epochs, with the loss in its postfix.

    The bar is `tqdm <https://tqdm.github.io>`_'s ``tqdm.auto``: a widget in
    a Jupyter notebook, text in a terminal. Its postfix shows the epoch's
    training loss, and with ``early_stopping=True`` the validation loss and
    score. It is updated once per epoch; the L-BFGS and normal-equation
    solvers show one step at the end. Needs tqdm (``pip install
    sklearn-deep[progress]``).

    Under a scikit-learn 1.9 search, prefer the search's own bar:
    ``GridSearchCV(...).set_callbacks(sklearn.callback.ProgressBar())``
    shows this package's epochs under each fit.

    Parameters
    ----------
    leave : bool, default=True
        Whether the bar stays on screen when training ends.

    tqdm_kwargs : dict, default=None
        More keyword arguments for ``tqdm.auto.tqdm`` (``file``, ``ncols``,
        ``disable``, ...).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_deep import MLPClassifier
    >>> from sklearn_deep.callbacks import ProgressBar
    >>> X, y = load_iris(return_X_y=True)
    >>> bar = ProgressBar(tqdm_kwargs={"disable": True})
    >>> clf = MLPClassifier(max_iter=5, callbacks=[bar]).fit(X, y)
    """

    def __init__(self, leave=True, tqdm_kwargs=None):
        self.leave = leave
        self.tqdm_kwargs = tqdm_kwargs

    def on_train_begin(self, estimator):
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError(
                "ProgressBar needs tqdm, which is not installed. Install it with "
                "`pip install sklearn-deep[progress]` (or `pip install tqdm`), "
                "or remove ProgressBar from callbacks."
            ) from exc
        stale = self.__dict__.pop("_bar", None)
        if stale is not None:  # left open by a fit that failed
            stale.close()
        self._bar = tqdm(
            total=getattr(estimator, "_max_iter", None),
            desc=type(estimator).__name__,
            unit="epoch",
            leave=self.leave,
            **(self.tqdm_kwargs or {}),
        )

    def on_epoch_end(self, estimator, epoch, loss, validation_score):
        postfix = {"loss": f"{loss:.4g}"}
        if validation_score is not None:
            curve = getattr(estimator, "_validation_loss_curve", None)
            if curve:
                postfix["validation_loss"] = f"{curve[-1]:.4g}"
            postfix["validation_score"] = f"{validation_score:.4g}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def on_train_end(self, estimator):
        bar = self.__dict__.pop("_bar", None)
        if bar is None:
            return
        if bar.n == 0:  # a full-batch solver: no epochs, one step at the end
            bar.total = 1
            bar.set_postfix({"loss": f"{estimator.loss_:.4g}"}, refresh=False)
            bar.update(1)
        elif bar.total is not None and bar.n < bar.total:
            bar.total = bar.n  # stopped early: the bar ends full, at the last epoch
            bar.refresh()
        bar.close()

    def __getstate__(self):
        # a live bar (during fit) is not part of the callback's state
        state = dict(self.__dict__)
        state.pop("_bar", None)
        return state


def check_callbacks(callbacks, name):
    """Validate the ``callbacks`` parameter of estimator ``name``.

    Each callback must be an instance with at least one of :data:`HOOKS`
    (a ``TypeError`` otherwise, which names the hooks and, for a
    scikit-learn 1.9 callback, says to use ``set_callbacks``); a method
    whose name is close to a hook's but is not one (``on_epoch_ended``)
    gets a ``UserWarning`` suggesting the right name (a ``TypeError`` when
    the callback has no hook at all).

    Parameters
    ----------
    callbacks : list, tuple or None
        The parameter's value.

    name : str
        The estimator's class name, for the messages.
    """
    for callback in callbacks or ():
        what = type(callback).__name__
        if isinstance(callback, type):
            raise TypeError(
                f"{name} got the class {callback.__name__} in callbacks; pass an "
                f"instance instead, for example callbacks=[{callback.__name__}()]."
            )
        methods = {
            attr
            for attr, _ in inspect.getmembers(type(callback), callable)
            if not attr.startswith("_")
        } | {
            attr
            for attr, value in getattr(callback, "__dict__", {}).items()
            if callable(value) and not attr.startswith("_")
        }
        hooks = [hook for hook in HOOKS if hook in methods]
        misspelled = {}
        for method in sorted(methods - set(HOOKS)):
            # per-batch hooks (skorch's on_batch_begin) are another thing
            if method.startswith("on_") and "batch" not in method:
                close = difflib.get_close_matches(method, HOOKS, n=1, cutoff=0.6)
                if close:
                    misspelled[method] = close[0]
        hint = "".join(
            f" {what}.{wrong} is not a hook: did you mean {right}?"
            for wrong, right in misspelled.items()
        )
        if not hooks:
            if any(hook in methods for hook in _SKLEARN_HOOKS):
                raise TypeError(
                    f"{name} got {what} in callbacks, which is a scikit-learn "
                    f"callback (sklearn.callback): set it with "
                    f"{name}(...).set_callbacks({what}(...)) instead of "
                    f"callbacks=[...] (scikit-learn >= 1.9), or use "
                    f"sklearn_deep.callbacks.ProgressBar in callbacks."
                )
            raise TypeError(
                f"{name} got {callback!r} of type {what} in callbacks, which has "
                f"none of the hook methods {', '.join(HOOKS)}, so it would never "
                f"be called.{hint} Define at least one of them, or subclass "
                f"sklearn_deep.callbacks.Callback."
            )
        for attr in HOOKS:
            value = getattr(callback, attr, None)
            if value is not None and not callable(value):
                raise TypeError(
                    f"{name} got {what} in callbacks whose {attr} is "
                    f"{type(value).__name__}, not a method; make it a method."
                )
        if misspelled:
            warn(
                f"{name}: callback {what} has a method that looks like a "
                f"misspelled hook and will never be called.{hint} The hooks are "
                f"{', '.join(HOOKS)}.",
                UserWarning,
            )
