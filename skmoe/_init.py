"""Initial partitions of an EM restart: the strategies and the portfolio.

EM for a mixture of experts finds a local maximum near where it starts, and
k-means on one standardised view of the data tends to start every restart in
the same basin.  A *portfolio* of unlike starts -- users of flexmix (random
memberships) and mixtools (random regression lines) know each of them --
gives restarts that actually differ; short-run screening (``_base``) then
spends the full EM runs on the most promising ones (Biernacki, Celeux &
Govaert 2003).

Every strategy returns hard labels (one expert per row), turned into
responsibilities by :func:`skmoe._em.resp_from_labels`.  Strategies that
draw per-row randomness use a counter-based hash of the row's index, so the
labels do not depend on how the rows are split into blocks (threads, Dask).

``"kmeans"``
    k-means on the standardised gate inputs and target (the regressor's y;
    the classifier clusters the inputs alone).
``"kmeans_gate"``
    k-means on the standardised gate inputs alone: the regimes as the gate
    sees them (a concomitant variable the experts do not use).
``"random"``
    ``n_experts`` distinct random rows as centres in the k-means space,
    every row to its nearest centre.
``"random_partition"``
    Every row to a uniformly random expert (flexmix's default start).
``"random_lines"``
    Each expert a least-squares line through ``n_expert_features + 1``
    random rows, every row to the line with the smallest absolute residual
    (mixtools' ``regmixEM`` starts).  Regressors with a feature matrix only.
``"classes"``
    k-means on the standardised inputs and the one-hot class: experts start
    specialised by class (classifier only).
``"portfolio"``
    Restart ``i`` takes strategy ``i mod m`` of the estimator's portfolio
    (:func:`portfolio`), so ``n_init`` restarts are as unlike as the
    portfolio allows, and restart 0 is k-means.
"""

import numpy as np

STRATEGIES = ("kmeans", "kmeans_gate", "random", "random_partition", "random_lines", "classes")
INIT_OPTIONS = (*STRATEGIES, "portfolio")

_REGRESSOR_PORTFOLIO = ("kmeans", "random_lines", "kmeans_gate", "random_partition", "random")
_CLASSIFIER_PORTFOLIO = ("kmeans", "classes", "random_partition", "kmeans_gate", "random")


def portfolio(is_classifier, lines_possible):
    """The strategies a ``"portfolio"`` restart cycles through, in order."""
    if is_classifier:
        return _CLASSIFIER_PORTFOLIO
    return tuple(s for s in _REGRESSOR_PORTFOLIO if lines_possible or s != "random_lines")


def strategy_of(init_params, restart, is_classifier, lines_possible):
    """The strategy of restart ``restart`` under ``init_params``.

    Raises a ValueError for a strategy the model cannot use (random lines
    without a feature matrix or in a classifier, class starts in a
    regressor), naming the alternatives.
    """
    if init_params == "portfolio":
        strategies = portfolio(is_classifier, lines_possible)
        return strategies[restart % len(strategies)]
    if init_params == "random_lines" and (is_classifier or not lines_possible):
        raise ValueError(
            "init_params='random_lines' draws regression lines through sampled rows: it needs "
            "a MixtureOfExpertsRegressor whose experts see a feature matrix (not sequences). "
            f"Use one of {[s for s in INIT_OPTIONS if s != 'random_lines']}."
        )
    if init_params == "classes" and not is_classifier:
        raise ValueError(
            "init_params='classes' starts each expert on one class: it is for "
            "MixtureOfExpertsClassifier. Use 'kmeans', 'kmeans_gate', 'random', "
            "'random_partition', 'random_lines' or 'portfolio'."
        )
    return init_params


# --------------------------------------------------------------------------- #
# Per-row randomness independent of blocking
# --------------------------------------------------------------------------- #
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hashed_labels(seed, start, stop, n_experts):
    """Uniform labels in ``[0, n_experts)`` for rows ``start..stop-1`` (splitmix64).

    A function of ``(seed, row index)`` only: any split of the rows into
    blocks gives the same labels.
    """
    with np.errstate(over="ignore"):
        z = (np.arange(start, stop, dtype=np.uint64) + np.uint64(seed)) * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z ^= z >> np.uint64(31)
    return (z % np.uint64(n_experts)).astype(np.intp)


# --------------------------------------------------------------------------- #
# Regression lines through sampled rows (mixtools' regmixEM start)
# --------------------------------------------------------------------------- #
def sample_line_rows(rng, candidates, n_experts, n_features):
    """Row indices (into ``candidates``) of the ``n_features + 1`` rows of each line."""
    m = min(n_features + 1, len(candidates))
    return [np.sort(rng.choice(len(candidates), size=m, replace=False)) for _ in range(n_experts)]


def fit_lines(points):
    """Least-squares lines ``[coef, intercept]`` through each expert's sampled ``(Z, u)``.

    ``Z`` and ``u`` are the standardised expert inputs and target (callers
    standardise with the sample-weighted moments), so the lines, hence the
    labels, do not depend on units or offsets.
    """
    lines = []
    for Xs, ys in points:
        A = np.column_stack([Xs, np.ones(len(ys))])
        lines.append(np.linalg.lstsq(A, ys, rcond=None)[0])
    return np.array(lines)


def line_labels(Z, u, lines):
    """Each row (standardised, as in :func:`fit_lines`) to the line of smallest residual."""
    pred = Z @ lines[:, :-1].T + lines[:, -1]
    return np.argmin(np.abs(u[:, None] - pred), axis=1)
