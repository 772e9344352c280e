"""
==============================================
Watching training: progress bars and curves
==============================================

A network trains for many epochs; this example shows how to follow them.
:class:`~sklearn_deep.callbacks.ProgressBar` draws a progress bar of the
epochs (a widget in a notebook, text in a terminal), with the loss and the
validation score in its postfix. After the fit, ``history_`` holds one row
per epoch, and :class:`~sklearn_deep.plotting.TrainingCurveDisplay` plots the
training and validation loss, the validation score and the best epoch, for an
estimator, a pipeline or a fitted search.
"""

# %%
# A progress bar while fitting
# ----------------------------
# ``callbacks=[ProgressBar()]`` is all it takes (it needs ``tqdm``:
# ``pip install sklearn-deep[progress]``). Here the bar is written to standard
# output so that it shows on this page.
import sys
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deep import MLPClassifier
from sklearn_deep.callbacks import ProgressBar
from sklearn_deep.plotting import TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
clf = make_pipeline(
    StandardScaler(),
    MLPClassifier(
        hidden_layer_sizes=(64,),
        max_iter=40,
        early_stopping=True,
        n_iter_no_change=8,
        random_state=0,
        device="cpu",
        callbacks=[ProgressBar(tqdm_kwargs={"file": sys.stdout, "ascii": True})],
    ),
)
clf.fit(X, y)

# %%
# The history as a table
# ----------------------
# ``history_`` is a pandas DataFrame: the training loss, the loss and score
# on the early-stopping split, the learning rate and the seconds of each
# epoch.
clf[-1].history_.tail()

# %%
# The training curves
# -------------------
# The losses share the left axis, the validation score has the right one, and
# the dotted line marks the best epoch: the one whose weights the model kept.
TrainingCurveDisplay.from_estimator(clf)
plt.show()

# %%
# After a search
# --------------
# A fitted search is plotted through its ``best_estimator_``. With
# scikit-learn 1.9 or later (and ``rich`` installed),
# ``search.set_callbacks(sklearn.callback.ProgressBar())`` shows the search's
# bar with each fit's epochs under it.
search = GridSearchCV(
    MLPClassifier(hidden_layer_sizes=(32,), max_iter=15, device="cpu"),
    {"alpha": [1e-4, 1e-2]},
    cv=2,
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(StandardScaler().fit_transform(X), y)
display = TrainingCurveDisplay.from_estimator(
    search, name=f"best: {search.best_params_}"
)
plt.show()
