"""The one place that imports private scikit-learn helpers.

scikit-learn does not promise these names; keeping them here means a rename in a
future release is fixed in one file.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

__all__ = ["HasMethods", "Interval", "StrOptions", "_fit_context"]
