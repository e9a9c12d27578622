"""What the non-Gaussian expert families share: dispatch, target checks, predictive laws.

An expert class of a family (:class:`~skmoe.experts.StudentTExpert`,
:class:`~skmoe.experts.PoissonExpert`, :class:`~skmoe.experts.BinomialExpert`)
carries two class-level hooks used by :class:`~skmoe.MixtureOfExpertsRegressor`:

``_check_targets(y, estimators)``
    validate (and return as float64) the targets before any work is done;
``_make_family_set(estimators, var_floor)``
    the batched expert set that runs the family's M-step for all K experts.

A family set implements the expert-set protocol of :mod:`skmoe.experts._sets`
(``fit``, ``log_prob``, ``predict``, ``n_parameters``, ``estimators``) plus
``predictive(X)``, a :class:`PredictiveLaw` that gives the regressor the
per-expert means, variances, CDFs and samplers it needs for
``predict(return_std=True)``, ``predict_quantiles`` and ``sample_y`` (the
Gaussian sets keep their ``variance`` attribute instead).
"""

import numpy as np

# Bracket tops of the lattice bisection stop doubling here (then: inf).
_LATTICE_MAX = 1e300


def expert_family(estimators, m_step="weighted"):
    """The family expert class shared by ``estimators``, or None for Gaussian experts.

    Raises a ValueError when family experts are mixed with other experts (or
    with another family: their likelihoods live on different supports and
    cannot be compared in one E-step), or with ``m_step="stochastic"``, and
    scikit-learn's InvalidParameterError for an invalid expert parameter
    (the mixture never calls these experts' own ``fit``, which would check).
    """
    kinds = [type(est) for est in estimators if hasattr(type(est), "_make_family_set")]
    if not kinds:
        return None
    if len(kinds) != len(estimators) or len(set(kinds)) > 1:
        names = sorted({type(est).__name__ for est in estimators})
        raise ValueError(
            "Experts of a non-Gaussian family (StudentTExpert, PoissonExpert, "
            "BinomialExpert) cannot be mixed with other experts in one mixture: "
            f"the experts are {names}. The likelihoods of different families are "
            "not comparable in one E-step; use one expert class for every expert."
        )
    if m_step != "weighted":
        raise ValueError(
            f"{kinds[0].__name__} experts are fitted by their own weighted M-step; "
            f"m_step={m_step!r} is not supported for them. Use m_step='weighted'."
        )
    for est in estimators:
        est._validate_params()
    return kinds[0]


def check_counts(y, who):
    """Non-negative whole counts, as float64; a ValueError naming a bad value otherwise."""
    y = np.asarray(y, dtype=np.float64)
    bad = ~np.isfinite(y) | (y < 0) | (y != np.floor(y))
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{who} needs non-negative whole counts as y; y[{i}] = {y[i]!r} "
            f"({int(bad.sum())} bad value(s)). Poisson experts model counts "
            "0, 1, 2, ...; for a non-negative continuous target use another expert."
        )
    return y


def check_proportions(y, n_trials, who):
    """Proportions of successes out of ``n_trials``, as float64; a ValueError otherwise."""
    y = np.asarray(y, dtype=np.float64)
    bad = ~np.isfinite(y) | (y < 0) | (y > 1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{who} needs proportions in [0, 1] as y (successes / n_trials); "
            f"y[{i}] = {y[i]!r} ({int(bad.sum())} value(s) outside [0, 1])."
        )
    s = y * n_trials
    off = np.abs(s - np.rint(s)) > 1e-8 * max(n_trials, 1)
    if np.any(off):
        i = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"{who} with n_trials={n_trials} needs y * n_trials to be a whole number of "
            f"successes; y[{i}] = {y[i]!r} gives {s[i]!r}. Set n_trials to the number of "
            "trials behind each proportion (every row must share it)."
        )
    return y


def bisect_quantiles(mixture_cdf, lo, hi, q):
    """Quantiles of a continuous mixture by bisection in the bracket ``[lo, hi]``.

    ``mixture_cdf(v)`` is the mixture's CDF at the points ``v`` (n, len(q));
    ``lo`` and ``hi`` bracket each quantile.  Stops at 1e-12 of the first
    bracket (which spans the predictive law, so the quantiles are exact in
    any unit of y: a fixed 1e-10 was coarser than the whole law of a target
    in micro-units), or at 4 ulps of the midpoint where the floats are
    coarser than that (a target offset far from zero).
    """
    width = 1e-12 * (hi - lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = mixture_cdf(mid) < q[None, :]
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo <= np.maximum(width, 4.0 * np.spacing(np.abs(mid)))):
            break
    return 0.5 * (lo + hi)


class PredictiveLaw:
    """Per-expert predictive laws at n inputs: what the regressor's predictive methods need.

    Subclasses set ``mean`` and ``var`` (n, K) and implement ``cdf``,
    ``expert_quantiles`` and ``sample``.  ``lattice`` is None for a continuous
    law, or the spacing of a discrete law's support ``{0, h, 2h, ...}``.
    """

    lattice = None

    def cdf(self, y):
        """Per-expert CDFs at y of shape (n, q): an array (n, q, K)."""
        raise NotImplementedError

    def expert_quantiles(self, q):
        """Each expert's q-quantile, (n, len(q), K)."""
        raise NotImplementedError

    def sample(self, rows, comp, rng):
        """One draw from expert ``comp[i, s]`` at row ``rows[i, 0]`` for every (i, s)."""
        raise NotImplementedError

    def mixture_quantiles(self, gate, q):
        """Quantiles of the mixture ``sum_k gate_k F_k``, shape (n, len(q)).

        The mixture's q-quantile lies between the smallest and the largest of
        the experts' q-quantiles (where every ``F_k`` is below, resp. at or
        above, q), so bisection on the mixture CDF starts from that bracket:
        on the real line to 1e-12 of the bracket for a continuous law, and on
        the support lattice (to the exact smallest support point with
        ``F >= q``) for a discrete one.
        """
        Qk = self.expert_quantiles(q)
        lo, hi = Qk.min(axis=2), Qk.max(axis=2)
        if self.lattice is None:
            return bisect_quantiles(lambda v: np.einsum("nk,nqk->nq", gate, self.cdf(v)), lo, hi, q)
        h = self.lattice

        def below(idx):
            with np.errstate(invalid="ignore"):
                return np.einsum("nk,nqk->nq", gate, self.cdf(idx * h)) < q[None, :]

        # Integer indices on the lattice with F(lo) < q <= F(hi), from the
        # smallest and largest finite expert quantiles (one step of slack on
        # each side against rounding in the experts' quantile functions),
        # checked: a bracket that misses (an approximate quantile of a huge
        # Poisson mean) is widened, the bottom to -1 (F = 0 there) and the
        # top by doubling until the mixture's CDF reaches q.  An expert whose
        # mean overflowed (inf, far outside the data) has infinite
        # quantiles; a top that passes the largest float is inf.
        finite = np.isfinite(Qk)
        top = np.where(finite, Qk, -np.inf).max(axis=2)
        bottom = np.where(finite, Qk, np.inf).min(axis=2)
        some = np.isfinite(top)  # else every expert's mean overflowed: inf
        lo = np.where(some, np.maximum(np.rint(bottom / h) - 2.0, -1.0), -1.0)
        hi = np.where(some, np.maximum(np.rint(top / h) + 1.0, lo + 1.0), np.inf)
        lo = np.where(some & ~below(lo), -1.0, lo)
        grow = some & below(np.where(some, hi, 0.0))
        while grow.any():
            doubled = 2.0 * hi + 1.0
            hi = np.where(grow, np.where(doubled * h > _LATTICE_MAX, np.inf, doubled), hi)
            grow &= np.isfinite(hi)
            if grow.any():
                grow &= below(np.where(grow, hi, 0.0))
        # Bisection; on a lattice finer than the floats near the answer (a
        # count beyond 2**53) it stops at the float resolution.
        active = np.isfinite(hi) & (hi - lo > 1)
        while active.any():
            mid = np.floor(0.5 * (lo + hi))
            moves = active & (mid > lo) & (mid < hi)
            if not moves.any():
                break
            b = below(np.where(moves, mid, lo))
            lo = np.where(moves & b, mid, lo)
            hi = np.where(moves & ~b, mid, hi)
            active = moves & (hi - lo > 1)
        return hi * h

    def mixture_sample(self, gate, n_samples, rng):
        """``n_samples`` draws per row from the mixture, (n, n_samples)."""
        cdf = np.cumsum(gate, axis=1)
        u = rng.uniform(size=(gate.shape[0], n_samples))
        comp = (u[:, :, None] > cdf[:, None, :-1]).sum(axis=2)
        rows = np.broadcast_to(np.arange(gate.shape[0])[:, None], comp.shape)
        return self.sample(rows, comp, rng)
