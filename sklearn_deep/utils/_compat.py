"""The one place that imports private scikit-learn helpers.

scikit-learn does not promise these names; keeping them here means a rename in a
future release is fixed in one file.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

try:  # scikit-learn >= 1.9: callbacks (set_callbacks, task trees, ProgressBar)
    from sklearn.callback import CallbackSupportMixin

    SKLEARN_CALLBACKS = True
except ImportError:  # scikit-learn 1.6-1.8

    class CallbackSupportMixin:
        """Stands in for scikit-learn 1.9's mixin: no ``set_callbacks``."""

    SKLEARN_CALLBACKS = False

__all__ = [
    "SKLEARN_CALLBACKS",
    "CallbackSupportMixin",
    "HasMethods",
    "Interval",
    "StrOptions",
    "_fit_context",
]
