"""Small real data sets shipped inside the package."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch


def _read_csv(name):
    with resources.files("skmoe.datasets").joinpath("data", name).open("r") as f:
        header = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    return header, data


def load_mcycle(*, return_X_y=False, as_frame=False):
    """Load the motorcycle crash helmet data (Silverman 1985; R's MASS::mcycle).

    133 measurements of head acceleration (g) against time after impact
    (ms): piecewise, strongly heteroscedastic, a standard mixture-of-experts
    benchmark.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    as_frame : bool, default=False
        Return pandas objects (requires pandas).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (133, 1) times, ``target`` (133,) accelerations,
        ``feature_names``, ``target_names``, ``frame`` (if ``as_frame``) and
        ``DESCR``.
    (X, y) : tuple
        If ``return_X_y``.

    Examples
    --------
    >>> from skmoe.datasets import load_mcycle
    >>> X, y = load_mcycle(return_X_y=True)
    >>> X.shape, y.shape
    ((133, 1), (133,))
    """
    header, data = _read_csv("mcycle.csv")
    # Contiguous copies, not column views of the table: a strided X would
    # cost every kernel a second compilation for its layout.
    X, y = np.ascontiguousarray(data[:, :1]), np.ascontiguousarray(data[:, 1])
    frame = None
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame(data, columns=header)
        X, y = frame[header[:1]], frame[header[1]]
    if return_X_y:
        return X, y
    descr = resources.files("skmoe.datasets").joinpath("descr", "mcycle.rst").read_text()
    return Bunch(
        data=X,
        target=y,
        frame=frame,
        feature_names=header[:1],
        target_names=header[1:],
        DESCR=descr,
    )
