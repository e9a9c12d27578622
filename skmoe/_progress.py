"""Progress reporting of long fits: per-iteration lines, or a tqdm bar.

Every iterative fit in skmoe (the EM driver, neural training) takes a
``verbose`` parameter with one meaning:

- ``0`` / ``False``: silent;
- an integer ``>= 1`` / ``True``: one printed line per iteration (or epoch),
  plus notable events (an expert re-seeded);
- ``"progress"``: one progress bar per restart (or per training run), drawn
  by `tqdm <https://tqdm.github.io>`_ with the current objective as its
  postfix; events are written above the bar.  tqdm is optional and imported
  only then: without it a ``UserWarning`` says how to install it and the
  fit prints the lines of ``verbose=1`` instead.

The fit loops ask :func:`progress` for a reporter and call its ``step`` once
per iteration; they never test ``verbose`` themselves.
"""

import warnings

#: The value of ``verbose`` that asks for a progress bar.
PROGRESS = "progress"

_INSTALL = "pip install tqdm"


def _import_tqdm():
    """tqdm's auto-selected bar class (notebook or terminal), or None if tqdm is missing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class _Lines:
    """Prints each step's line when ``verbose`` is set; no bar."""

    def __init__(self, verbose):
        self.verbose = verbose

    def step(self, line, **postfix):
        if self.verbose:
            print(line)

    def write(self, line):
        if self.verbose:
            print(line)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Bar(_Lines):
    """Advances a tqdm bar by one per step; events go through ``tqdm.write``."""

    def __init__(self, tqdm, total, desc):
        super().__init__(True)
        self._bar = tqdm(total=total, desc=desc, leave=True)

    def step(self, line, **postfix):
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def write(self, line):
        # tqdm.write prints above the bar instead of through it.
        self._bar.write(line)

    def close(self):
        self._bar.close()


def progress(verbose, *, total, desc):
    """A reporter for an iterative fit, chosen by ``verbose``.

    Parameters
    ----------
    verbose : int, bool or "progress"
        The estimator's ``verbose`` parameter (see the module docstring).
    total : int
        Maximum number of steps (the bar's length; a fit that stops early
        leaves it short).
    desc : str
        The bar's label.

    Returns
    -------
    reporter : object
        With ``step(line, **postfix)`` (one iteration: print ``line``, or
        advance the bar and show ``postfix``), ``write(line)`` (an event) and
        ``close()``; also a context manager that closes it.
    """
    if isinstance(verbose, str) and verbose == PROGRESS:
        tqdm = _import_tqdm()
        if tqdm is not None:
            return _Bar(tqdm, total, desc)
        warnings.warn(
            f"verbose={PROGRESS!r} draws a progress bar with tqdm, which is not installed "
            f"({_INSTALL}); printing one line per iteration instead.",
            UserWarning,
            stacklevel=3,
        )
        return _Lines(1)
    return _Lines(verbose)
