"""A failed fit changes nothing: the estimator's attributes are restored on error.

Every public estimator's ``fit`` validates X, y and the parameters step by
step and sets fitted attributes on the way (scikit-learn's ``validate_data``
sets ``n_features_in_`` before the sample weights are checked, say).  A
later failure would leave a half-updated estimator: an unfitted one that
``check_is_fitted`` takes for fitted (its ``predict`` then fails on a
missing attribute instead of saying it is not fitted), or a fitted one that
expects the rejected data's features.
"""

import copy
import functools
from contextlib import contextmanager


@contextmanager
def unchanged_on_error(est, deep=False):
    """Restore ``est``'s attributes if the block raises: a failed fit changes nothing.

    The attributes are restored as they were, fitted or not.  A fit replaces
    fitted attributes rather than changing them in place (a warm start works
    on copies), so a shallow copy is a snapshot; ``partial_fit`` updates the
    model and its running statistics in place, so it takes a deep one
    (``deep=True``: the model is O(K d^2) numbers).
    """
    saved = copy.deepcopy(est.__dict__) if deep else dict(est.__dict__)
    try:
        yield
    except BaseException:
        est.__dict__.clear()
        est.__dict__.update(saved)
        raise


def fit_unchanged_on_error(fit):
    """Decorate a ``fit`` method with :func:`unchanged_on_error` (a shallow snapshot)."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        with unchanged_on_error(self):
            return fit(self, *args, **kwargs)

    return wrapper
