"""Warnings that point at the user's line, not into the library."""

import os
import sys
import warnings

import sklearn

# frames in these folders are the library's (ours, and scikit-learn's wrappers
# such as _fit_context and available_if), never the line a user wrote
_LIBRARY_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
)


def warn(message, category=UserWarning):
    """``warnings.warn`` with the stacklevel of the first frame outside the library.

    A fixed stacklevel would be right for one call path only: ``fit``,
    ``partial_fit``, a warm start and ``sklearn_deep.save`` reach the engine
    through different numbers of frames. The warning names the caller's file and
    line, as scikit-learn's own warnings do; under ``GridSearchCV`` that is the
    line that called the search.
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
