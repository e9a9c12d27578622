"""The types a fitted skmoe model is made of, for ``skops.io.load``'s trusted list."""

import inspect
import re
import sys

# The packages whose classes a fitted (non-neural) skmoe model holds: the
# estimators, experts, gates and their fitted state.  skmoe.neural's
# estimators hold torch modules, which skops cannot persist.
_PACKAGES = ("skmoe", "skmoe.experts", "skmoe.gating", "skmoe.sequence")

# Private classes of fitted state, by name.
_STATE = re.compile(r"^_\w+Set$|Emission$|^RegimeChain$|^MultinomialSolverState$")


def skops_trusted_types():
    """The names of skmoe's own types, for ``skops.io.load(..., trusted=...)``.

    `skops <https://skops.readthedocs.io>`_ loads only the types it trusts:
    NumPy's, SciPy's and scikit-learn's by default.  A fitted skmoe model
    also holds skmoe's classes (the estimator, its gate, its experts and
    their fitted state, some of them private); this list names every class
    of skmoe's estimators, experts, gates and sequence models and of the
    fitted state they hold, so that a model saved with ``skops.io.dump``
    loads with one short, stable call.  The types of other libraries'
    estimators used as experts are not in it (a decision-tree expert holds
    ``sklearn.tree._tree.Tree``, which this version of skops does not
    trust by default): ``get_untrusted_types`` names them.
    Check first, as skops recommends, that the file's untrusted types
    (``skops.io.get_untrusted_types(file=...)``) are in this list: then the
    file holds nothing but skmoe's, NumPy's, SciPy's and scikit-learn's
    types.  The neural estimators (:mod:`skmoe.neural`) hold torch modules,
    which skops does not persist: save them with pickle or joblib.

    Returns
    -------
    list of str
        Fully qualified class names (``"skmoe._regressor.MixtureOfExpertsRegressor"``,
        ...), sorted.

    Examples
    --------
    >>> import skops.io as sio  # doctest: +SKIP
    >>> from skmoe.utils import skops_trusted_types
    >>> sio.dump(model, "model.skops")  # doctest: +SKIP
    >>> set(sio.get_untrusted_types(file="model.skops")) <= set(skops_trusted_types())  # doctest: +SKIP
    True
    >>> model = sio.load("model.skops", trusted=skops_trusted_types())  # doctest: +SKIP
    """
    import importlib

    from sklearn.base import BaseEstimator

    for name in _PACKAGES:
        importlib.import_module(name)
    names = set()
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith(_PACKAGES):
            continue
        if module_name.startswith(("skmoe.neural", "skmoe.utils")):
            continue
        for obj in vars(module).values():
            if not (inspect.isclass(obj) and obj.__module__ == module_name):
                continue
            # The estimators, experts and gates, and the fitted state they
            # hold (expert sets, HMM emissions, the regime chain, the
            # multinomial solver's warm start); not solver scratch objects.
            if issubclass(obj, BaseEstimator) or _STATE.search(obj.__name__):
                names.add(f"{obj.__module__}.{obj.__qualname__}")
    return sorted(names)
