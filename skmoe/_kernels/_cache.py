"""Numba's on-disk cache for the kernels, keyed to the whole kernel package.

Numba decides whether a cached kernel is still valid from the source of the
file that defines it, and nothing else (numba issue #6845).  Our kernels read
constants from ``_config.py`` at compile time (the probability floors, the
JIT flags) and call helpers defined in other files of this package
(``_vector.py``'s ``exp`` and ``log``, ``_estep.py``'s tile helpers), all of
them compiled into the caller.  Editing one of those files in a checkout
then leaves every kernel that uses it stale in ``__pycache__``: old floors,
old helpers, silently.  (An installed package is not exposed: installing
writes fresh files and an empty cache.)

:func:`install` puts a cache locator in front of Numba's own, for the files
of this package only: it finds the same cache directory as Numba's locators
would (``NUMBA_CACHE_DIR`` included), and adds to each kernel's source stamp
a digest of every module of the package.  Any edit here then invalidates
every kernel's cache entry once.  It relies on Numba's private cache classes;
where they differ from what it expects it installs nothing, and Numba's usual
per-file behaviour applies.

Every kernel module imports this module before it defines a kernel (the
locator is chosen when ``@njit(cache=True)`` runs).
"""

import functools
import hashlib
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def package_stamp(directory=_HERE):
    """A digest of the contents of every ``.py`` file in ``directory``.

    Memoised on the files' names, sizes and modification times, so that a
    process reads them once (each kernel module creates a locator per
    kernel), and re-reads them if one of them changes.
    """
    names = sorted(f for f in os.listdir(directory) if f.endswith(".py"))
    stats = []
    for name in names:
        st = os.stat(os.path.join(directory, name))
        stats.append((name, st.st_size, st.st_mtime_ns))
    return _digest(directory, tuple(stats))


@functools.lru_cache(maxsize=8)
def _digest(directory, stats):
    h = hashlib.sha256()
    for name, _, _ in stats:
        h.update(name.encode())
        with open(os.path.join(directory, name), "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _make_locator_class(base_locator, numba_locators):
    class PackageLocator(base_locator):
        """Numba's cache locator for this package's files, with the package's
        stamp added to the file's own (see the module notes)."""

        def __init__(self, base):
            self._base = base

        def get_cache_path(self):
            return self._base.get_cache_path()

        def get_source_stamp(self):
            try:
                package = package_stamp()
            except OSError:
                # A package that cannot be listed or read (a file removed
                # meanwhile): Numba's own stamp, never an import error.
                package = None
            return (self._base.get_source_stamp(), package)

        def get_disambiguator(self):
            return self._base.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            if os.path.dirname(os.path.abspath(py_file)) != _HERE:
                return None
            # The locator Numba would have chosen (the ones after this one).
            for other in numba_locators:
                if other is cls:
                    continue
                base = other.from_function(py_func, py_file)
                if base is not None:
                    return cls(base)
            return None

    return PackageLocator


@functools.cache
def install():
    """Put :class:`PackageLocator` first in Numba's list of cache locators (once).

    Returns the class, or None where Numba's cache classes are not the ones
    this module was written for.
    """
    try:
        from numba.core import caching

        base = caching._CacheLocator
        classes = caching.CacheImpl._locator_classes
    except (ImportError, AttributeError):
        return None
    if not isinstance(classes, list):
        return None
    cls = _make_locator_class(base, classes)
    classes.insert(0, cls)
    return cls


PackageLocator = install()
