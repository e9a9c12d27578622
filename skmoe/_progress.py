"""Progress reporting of long fits: summary lines, per-iteration lines, or a tqdm bar.

Every iterative fit in skmoe (the EM driver, neural training) takes a
``verbose`` parameter with one meaning:

- ``0`` / ``False``: silent;
- ``1`` / ``True``: one summary line per restart (or training run) when it
  ends (converged, stopped at ``max_iter``, screened out), plus notable
  events (an expert re-seeded);
- an integer ``>= 2``: also one line per iteration (or epoch);
- ``"progress"``: one progress bar per restart (or per training run), drawn
  by `tqdm <https://tqdm.github.io>`_ with the current objective and its
  change as its postfix; events are written above the bar.  A run that stops
  before its maximum number of iterations (converged, screened out) ends as
  a complete ("success") bar whose total is the iterations it ran, with the
  reason in its postfix.  tqdm is optional (``pip install "skmoe[progress]"``
  installs it, with ipywidgets for notebooks) and imported only then:
  without it the fit prints one line every :data:`FALLBACK_EVERY` iterations
  and the summary line, with a one-time note on how to get the bar.

The fit loops ask :func:`progress` for a reporter, call its ``step`` once
per iteration and ``done`` with the run's summary; they never test
``verbose`` themselves.
"""

#: The value of ``verbose`` that asks for a progress bar.
PROGRESS = "progress"

#: Without tqdm, ``verbose="progress"`` prints every this many iterations.
FALLBACK_EVERY = 10

_INSTALL = 'pip install "skmoe[progress]"'

# The fallback's note is printed once per process, not once per fit.
_NOTED = []


def _import_tqdm():
    """tqdm's auto-selected bar class (notebook or terminal), or None if tqdm is missing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def _level(verbose):
    """The integer level of an integer/bool ``verbose`` (0 for anything else)."""
    if isinstance(verbose, str):
        return 0
    return int(verbose or 0)


class _Lines:
    """Prints the summary (level >= 1) and every step's line (level >= 2); no bar."""

    def __init__(self, verbose):
        self.level = _level(verbose)
        self.n = 0
        self.summary = None

    def _step_printed(self):
        return self.level >= 2

    def step(self, line, **postfix):
        """One iteration: its line, and the bar's postfix (unused here)."""
        self.n += 1
        self.summary = None  # a paused run that resumes has no summary yet
        if self._step_printed():
            print(line)

    def write(self, line):
        """An event (a re-seed, a polish)."""
        if self.level >= 1:
            print(line)

    def done(self, summary, status):
        """The run's summary line (printed at close) and its short status."""
        self.summary = summary

    def close(self):
        if self.level >= 1 and self.summary is not None:
            print(self.summary)
        self.summary = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Every(_Lines):
    """verbose="progress" without tqdm: a line every ``FALLBACK_EVERY`` steps, the summary."""

    def __init__(self):
        super().__init__(1)
        if not _NOTED:
            _NOTED.append(True)
            print(
                f'skmoe: verbose="progress" draws a bar with tqdm, which is not installed '
                f"({_INSTALL}); printing every {FALLBACK_EVERY}th iteration instead."
            )

    def _step_printed(self):
        return self.n % FALLBACK_EVERY == 0


class _Bar(_Lines):
    """Advances a tqdm bar by one per step; events go through ``tqdm.write``."""

    def __init__(self, tqdm, total, desc):
        super().__init__(0)
        self._bar = tqdm(total=total, desc=desc, leave=True)
        self._postfix = {}
        self._status = None

    def step(self, line, **postfix):
        self.n += 1
        self._status = None
        if postfix:
            self._postfix = dict(postfix)
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(1)

    def write(self, line):
        # tqdm.write prints above the bar instead of through it.
        self._bar.write(line)

    def done(self, summary, status):
        self._status = status

    def close(self):
        bar = self._bar
        if bar is None:
            return
        self._bar = None
        if self._status is not None:
            bar.set_postfix({**self._postfix, "status": self._status}, refresh=False)
        # A run that stopped before its maximum (converged, screened out) is
        # complete: its total is what it ran.  (A notebook bar closed short
        # of its total turns red, as if the fit had failed.)
        if bar.total is None or bar.n < bar.total:
            bar.total = bar.n
        bar.refresh()
        bar.close()


def progress(verbose, *, total, desc):
    """A reporter for an iterative fit, chosen by ``verbose``.

    Parameters
    ----------
    verbose : int, bool or "progress"
        The estimator's ``verbose`` parameter (see the module docstring).
    total : int
        Maximum number of steps (the bar's length; a run that stops early
        ends with its total set to the steps it took).
    desc : str
        The bar's label.

    Returns
    -------
    reporter : object
        With ``step(line, **postfix)`` (one iteration: print ``line`` at
        ``verbose >= 2``, or advance the bar and show ``postfix``),
        ``write(line)`` (an event), ``done(summary, status)`` (how the run
        ended: the line printed at ``verbose >= 1`` and the bar's final
        status) and ``close()``; also a context manager that closes it.
    """
    if isinstance(verbose, str) and verbose == PROGRESS:
        tqdm = _import_tqdm()
        if tqdm is not None:
            return _Bar(tqdm, total, desc)
        return _Every()
    return _Lines(verbose)
