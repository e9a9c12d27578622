"""Initial partitions of an EM restart: the strategies and the portfolio.

EM for a mixture of experts finds a local maximum near where it starts, and
k-means on one standardised view of the data tends to start every restart in
the same basin.  A *portfolio* of unlike starts -- users of flexmix (random
memberships) and mixtools (random regression lines) know each of them --
gives restarts that actually differ; short-run screening (``_base``) then
spends the full EM runs on the most promising ones (Biernacki, Celeux &
Govaert 2003).

Every strategy but the line starts returns hard labels (one expert per row),
turned into responsibilities by :func:`skmoe._em.resp_from_labels`.  Strategies that
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
    random rows (mixtools' ``regmixEM`` starts).  Regressors with a feature
    matrix only.  Both line starts give soft responsibilities
    (:func:`line_resp`): each line's noise scale is the robust spread of the
    residuals of its nearest rows, so a line through a tight component starts
    tight.
``"consensus_lines"``
    Lines found one after another by consensus (sequential RANSAC): for each
    expert the line through random rows with the most rows within a narrow
    band (drawn per start) wins and its rows are set aside.  Finds a tight
    component -- many rows close to one line -- that the other starts merge
    into a wider one.  Regressors with a feature matrix only.
``"segments"``
    The rows sorted along the gate's first principal axis, cut into
    ``n_experts`` runs by dynamic programming so that each run's least-squares
    line with its own noise variance fits best (Bellman's segmented
    regression on a sample of at most ``SEGMENTS_MAX_ROWS`` rows).  A
    repeated segments restart cuts the rows under Bayesian-bootstrap weights
    (:func:`segment_weights`), so that repeats try other breakpoints.  Regimes
    that follow the gate's input, with a quiet stretch its own expert (the
    motorcycle data's first 14 ms).  Regressors with a feature matrix only.
``"classes"``
    k-means on the standardised inputs and the one-hot class: experts start
    specialised by class (classifier only).
``"portfolio"``
    Restart ``i`` takes strategy ``i mod m`` of the estimator's portfolio
    (:func:`portfolio`), so ``n_init`` restarts are as unlike as the
    portfolio allows, and restart 0 is k-means.
"""

import numpy as np

STRATEGIES = (
    "kmeans",
    "kmeans_gate",
    "random",
    "random_partition",
    "random_lines",
    "consensus_lines",
    "segments",
    "classes",
)
INIT_OPTIONS = (*STRATEGIES, "portfolio")

_REGRESSOR_PORTFOLIO = (
    "kmeans",
    "consensus_lines",
    "segments",
    "random_lines",
    "kmeans_gate",
    "random_partition",
    "random",
)
_CLASSIFIER_PORTFOLIO = ("kmeans", "classes", "random_partition", "kmeans_gate", "random")


# Strategies that fit lines of y on the expert features (regressors with a
# feature matrix only).
NEEDS_MATRIX = ("random_lines", "consensus_lines", "segments")


def portfolio(is_classifier, lines_possible):
    """The strategies a ``"portfolio"`` restart cycles through, in order."""
    if is_classifier:
        return _CLASSIFIER_PORTFOLIO
    return tuple(s for s in _REGRESSOR_PORTFOLIO if lines_possible or s not in NEEDS_MATRIX)


def strategy_of(init_params, restart, is_classifier, lines_possible):
    """The strategy of restart ``restart`` under ``init_params``.

    Raises a ValueError for a strategy the model cannot use (random lines
    without a feature matrix or in a classifier, class starts in a
    regressor), naming the alternatives.
    """
    if init_params == "portfolio":
        strategies = portfolio(is_classifier, lines_possible)
        return strategies[restart % len(strategies)]
    if init_params in NEEDS_MATRIX and (is_classifier or not lines_possible):
        raise ValueError(
            f"init_params={init_params!r} fits regression lines to the rows: it needs a "
            "MixtureOfExpertsRegressor whose experts see a feature matrix (not sequences). "
            f"Use one of {[s for s in INIT_OPTIONS if s not in NEEDS_MATRIX]}."
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


def line_scales(Zs, us, ws, lines, scale_floor=1e-3):
    """Each line's robust noise scale and share, from a sample of rows.

    Each sampled row goes to its nearest line; a line's scale is 1.4826
    times the weighted median absolute residual of its rows (the
    normal-consistent MAD), floored at ``scale_floor`` standard deviations of
    y; its share is its rows' weight.  ``Zs``, ``us``: standardised expert
    inputs and target of the sample, ``ws`` their weights.
    """
    A = np.abs(us[:, None] - (Zs @ lines[:, :-1].T + lines[:, -1]))
    labels = np.argmin(A, axis=1)
    near = A[np.arange(A.shape[0]), labels]
    overall = 1.4826 * _weighted_median(near, ws)
    K = lines.shape[0]
    scale = np.empty(K)
    share = np.empty(K)
    for k in range(K):
        mine = labels == k
        scale[k] = 1.4826 * _weighted_median(A[mine, k], ws[mine]) if mine.any() else overall
        share[k] = ws[mine].sum()
    share = np.maximum(share, 1e-3 * ws.sum() / K)  # a line no row chose still starts
    return np.maximum(scale, scale_floor), share / share.sum()


def _weighted_median(a, w):
    order = np.argsort(a, kind="stable")
    c = np.cumsum(w[order])
    return float(a[order][np.searchsorted(c, 0.5 * c[-1])])


def line_resp(Z, u, lines, scale, share):
    """Soft responsibilities of rows (standardised) for lines with noise scales.

    Every row's responsibilities are the lines' Gaussian densities at its
    residuals weighted by the lines' shares (:func:`line_scales`).  A line
    through rows of a tight component thereby starts tight: nearest-line
    hard labels would hand it the wider component's nearby rows too.  A
    function of the row alone, so any blocking of the rows gives the same.
    """
    R = u[:, None] - (Z @ lines[:, :-1].T + lines[:, -1])
    L = np.log(share) - np.log(scale) - 0.5 * (R / scale) ** 2
    L -= L.max(axis=1, keepdims=True)
    resp = np.exp(L)
    return resp / resp.sum(axis=1, keepdims=True)


def gate_axis(C):
    """The first principal axis of the gate inputs' covariance ``C``, sign fixed
    (its largest component positive) so that engines agree."""
    axis = np.linalg.eigh(C)[1][:, -1]
    return axis if axis[np.argmax(np.abs(axis))] > 0 else -axis


def segment_labels(t, cuts, n_experts, seed, offset):
    """Labels of rows by where ``t`` falls among the cuts; with fewer runs than
    experts, the first run's rows are spread over all experts (hashed)."""
    labels = np.searchsorted(cuts, t)
    if cuts.size + 1 < n_experts:
        spread = hashed_labels(seed, offset, offset + t.shape[0], n_experts)
        labels = np.where(labels == 0, spread, labels)
    return labels


# Rows (a uniform sample of those with weight) on which the line starts
# search and estimate their noise scales.
LINES_MAX_ROWS = 2_000

# Consensus lines: candidate lines tried per expert, and the range (in
# standard deviations of y) from which a start draws its inlier band.
CONSENSUS_CANDIDATES = 50
CONSENSUS_NEIGHBOURS = 10
CONSENSUS_BAND = (0.01, 0.1)


def consensus_lines(rng, Z, u, w, n_experts):
    """Lines found one after another by consensus (sequential RANSAC).

    For each expert ``CONSENSUS_CANDIDATES`` lines are tried, each through a
    random row not yet explained and ``n_features`` of its
    ``CONSENSUS_NEIGHBOURS`` nearest rows (in the standardised inputs and
    target); the one with
    the largest weight of rows within the start's inlier band (drawn
    log-uniformly from ``CONSENSUS_BAND`` standard deviations of y) wins and
    its inliers are set aside.  A tight component -- many rows on one line,
    the case random lines and k-means miss -- has by far the largest
    consensus at a narrow band, so it is found first.  ``Z``, ``u``:
    standardised expert inputs and target of (a sample of) the rows with
    positive weight ``w``.
    """
    lo, hi = np.log(CONSENSUS_BAND[0]), np.log(CONSENSUS_BAND[1])
    band = float(np.exp(rng.uniform(lo, hi)))
    n = Z.shape[0]
    A1 = np.column_stack([Z, np.ones(n)])
    P = np.column_stack([Z, u])
    sq = (P * P).sum(axis=1)
    p = A1.shape[1]
    m = min(p, n)
    C = CONSENSUS_CANDIDATES
    free = np.ones(n, dtype=bool)
    lines = []
    for _ in range(n_experts):
        pool = np.flatnonzero(free)
        if pool.size < m:
            pool = np.arange(n)
        # All candidates at once: a random row each and m - 1 of its nearest
        # neighbours in (x, y) -- rows of a small tight component are each
        # other's neighbours, so a line through them is proposed far more
        # often than by drawing all m rows at random (8% of the rows: 0.6%
        # of random pairs).
        first = rng.randint(pool.size, size=C)
        Q = P[pool]
        d2 = sq[pool][first][:, None] + sq[pool][None, :] - 2.0 * Q[first] @ Q.T
        d2[np.arange(C), first] = np.inf
        n_near = min(pool.size - 1, max(CONSENSUS_NEIGHBOURS, 2 * m))
        near = np.argpartition(d2, n_near - 1, axis=1)[:, :n_near] if n_near > 0 else first[:, None]
        pick = np.argsort(rng.random_sample(near.shape), axis=1)[:, : m - 1]
        rows = pool[np.column_stack([first, np.take_along_axis(near, pick, axis=1)])]
        # Least squares through each candidate's rows (normal equations with
        # a relative ridge: m rows fit exactly unless they are degenerate).
        A = A1[rows]
        G = np.einsum("cmi,cmj->cij", A, A)
        G[:, np.arange(p), np.arange(p)] += 1e-10 * (np.trace(G, axis1=1, axis2=2)[:, None] + 1.0)
        cand = np.linalg.solve(G, np.einsum("cmi,cm->ci", A, u[rows])[:, :, None])[:, :, 0]
        inlier = free[:, None] & (np.abs(u[:, None] - A1 @ cand.T) < band)
        score = w @ inlier
        best = int(np.argmax(score))  # ties to the earlier candidate
        lines.append(cand[best])
        free &= ~inlier[:, best]
    return np.array(lines)


# The segments start: rows (a sample) it segments, and the smallest segment
# in rows beyond the expert's own parameters.
SEGMENTS_MAX_ROWS = 250
SEGMENT_SLACK = 3
# Variance floor of a run (standardised units: (1e-3 sd(y))^2), so that a
# run fitted exactly does not cost minus infinity.
_SEGMENT_VAR_FLOOR = 1e-6
# Entries of the runs' normal-equation matrices formed at a time (8 MB).
_SEGMENT_CHUNK = 1 << 20


# Rows per block of nearest_centre: its (rows, K, d) temporary stays small.
_CENTRE_BLOCK_ROWS = 4096


def nearest_centre(Z, centres):
    """Index of each row's nearest centre (squared Euclidean; ties to the first).

    The ``"random"`` start's assignment.  Done in row blocks: the one-shot
    broadcast ``(Z[:, None] - centres[None])`` is an (n, K, d) temporary, K
    times the data (8 times X at K=8, held at the peak of a fit).  Every
    row's distances are computed exactly as in the one-shot form, so the
    labels are the same.
    """
    labels = np.empty(Z.shape[0], dtype=np.intp)
    for a in range(0, Z.shape[0], _CENTRE_BLOCK_ROWS):
        d2 = ((Z[a : a + _CENTRE_BLOCK_ROWS, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels[a : a + _CENTRE_BLOCK_ROWS] = np.argmin(d2, axis=1)
    return labels


def repeats_strategy(strategies, restart):
    """Whether an earlier restart of ``strategies`` used restart ``restart``'s strategy.

    The first ``"segments"`` restart cuts the rows exactly; a repeat cuts a
    perturbed copy (:func:`segment_weights`), so that repeats differ.
    """
    return strategies.index(strategies[restart]) != restart


def segment_weights(rng, w, perturb):
    """The row weights a ``"segments"`` start cuts: ``w``, or ``w`` times Bayesian-bootstrap draws.

    A deterministic cut repeated by every restart wastes the repeats; with
    ``perturb`` each row's weight is multiplied by an Exp(1) draw (Rubin's
    Bayesian bootstrap, 1981), which moves the breakpoints by about the
    sampling uncertainty of the cut.  The draw is taken in both cases, so the
    restart's later random numbers do not depend on ``perturb``.
    """
    draws = rng.exponential(size=w.shape[0])
    return w * draws if perturb else w


def segment_thresholds(t, Z, u, w, n_experts):
    """Breakpoints along ``t`` of the best piecewise-linear fit in ``n_experts`` pieces.

    Dynamic programming over the rows sorted by ``t`` (Bellman's segmented
    regression): the Gaussian deviance of the least-squares line of ``u`` on
    ``[Z, 1]`` with its own variance in every run of at least
    ``n_features + 1 + SEGMENT_SLACK`` rows, from prefix sums of the normal
    equations, then the split into ``n_experts`` runs with the least total.  Returns the ``n_experts - 1`` thresholds
    (midpoints between neighbouring rows), so that any row -- of the sample
    or not -- is labelled by where its ``t`` falls.
    """
    order = np.argsort(t, kind="stable")
    t, Z, u, w = t[order], Z[order], u[order], w[order]
    m, p = Z.shape[0], Z.shape[1] + 1
    K = min(n_experts, max(1, m // (p + SEGMENT_SLACK)))
    A = np.column_stack([Z, np.ones(m)])
    # Prefix sums of w a a^T, w a u and w u^2 (index j: rows before j).
    Sxx = np.zeros((m + 1, p, p))
    Sxx[1:] = np.cumsum(w[:, None, None] * A[:, :, None] * A[:, None, :], axis=0)
    Sxy = np.zeros((m + 1, p))
    Sxy[1:] = np.cumsum((w * u)[:, None] * A, axis=0)
    Syy = np.concatenate([[0.0], np.cumsum(w * u * u)])
    min_len = p + SEGMENT_SLACK
    if K == 2:
        # One breakpoint: only runs from the first row or to the last are
        # ever used (2m systems instead of m^2 / 2; the same cut).
        cut = np.arange(min_len, m - min_len + 1)
        i = np.concatenate([np.zeros(cut.size, dtype=np.intp), cut])
        j = np.concatenate([cut, np.full(cut.size, m, dtype=np.intp)])
        if m >= min_len:  # the one-run fit (no cut possible)
            i, j = np.append(i, 0), np.append(j, m)
    else:
        i, j = np.triu_indices(m + 1, k=min_len)
    # The runs' normal equations in chunks: all of them at once are an
    # (m^2 / 2, p, p) array, 330 MB at m = 250 and 20 features.
    fit = np.empty(i.size)
    step = max(1, _SEGMENT_CHUNK // (p * p))
    for a in range(0, i.size, step):
        ia, ja = i[a : a + step], j[a : a + step]
        M = Sxx[ja] - Sxx[ia]
        b = Sxy[ja] - Sxy[ia]
        M[:, np.arange(p), np.arange(p)] += 1e-9 * (np.trace(M, axis1=1, axis2=2)[:, None] + 1.0)
        coef = np.linalg.solve(M, b[:, :, None])[:, :, 0]
        fit[a : a + step] = np.einsum("kp,kp->k", coef, b)
    # A run's cost is its Gaussian profile deviance, n log(RSS / n): each
    # expert has its own noise variance, so a tight run (a quiet stretch, a
    # small tight component) is worth much more than its share of the RSS.
    rss = np.maximum(Syy[j] - Syy[i] - fit, 0.0)
    n_run = np.cumsum(np.concatenate([[0.0], w]))
    mass = n_run[j] - n_run[i]
    cost = np.full((m + 1, m + 1), np.inf)
    cost[i, j] = mass * np.log(np.maximum(rss / np.maximum(mass, 1e-300), _SEGMENT_VAR_FLOOR))
    best = cost[0].copy()  # best[j]: rows before j in one run
    back = []
    for _ in range(1, K):
        total = best[:, None] + cost  # end the previous runs at i, this one at j
        arg = np.argmin(total, axis=0)
        back.append(arg)
        best = total[arg, np.arange(m + 1)]
    cuts, j = [], m
    for arg in reversed(back):
        j = int(arg[j])
        cuts.append(j)
    cuts = sorted(c for c in cuts if 0 < c < m)
    return np.array([0.5 * (t[c - 1] + t[c]) for c in cuts])
