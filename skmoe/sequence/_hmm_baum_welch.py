"""Weighted Baum-Welch for one hidden Markov model on many sequences.

The E-step runs the shared log-space forward-backward kernel
(:func:`skmoe._kernels.forward_backward`) once per sequence and accumulates
sufficient statistics, each sequence's multiplied by its weight; the M-step
is a function of those statistics only (hmmlearn's
``_accumulate_sufficient_statistics`` / ``_do_mstep`` split).  With integer
weights a step is therefore exactly the step on the data in which every
sequence is repeated as many times as its weight says.

Parameters are plain dicts of arrays:

``startprob`` (S,), ``transmat`` (S, S) and, by emission model,
``means`` (S, d) with ``covars`` (S, d) for diagonal or (S, d, d) for full
Gaussian covariances, or ``emissionprob`` (S, M) for discrete symbols.
"""

import warnings

import numpy as np
from scipy.linalg import LinAlgError, cholesky, solve_triangular
from sklearn.exceptions import ConvergenceWarning

from .._kernels import forward_backward
from .._lazy import KMeans

_LOG_2PI = np.log(2.0 * np.pi)


def concatenate(seqs):
    """``(X, bounds)``: the frames of ``seqs`` stacked, and sequence ``i`` is
    ``X[bounds[i]:bounds[i + 1]]``."""
    bounds = np.zeros(len(seqs) + 1, dtype=np.intp)
    np.cumsum([s.shape[0] for s in seqs], out=bounds[1:])
    X = np.concatenate(seqs, axis=0) if len(seqs) > 1 else seqs[0]
    return np.ascontiguousarray(X), bounds


def _safe_log(p):
    with np.errstate(divide="ignore"):
        return np.log(p)


# ---------------------------------------------------------------------- #
# Emission models
# ---------------------------------------------------------------------- #
class GaussianEmission:
    """Gaussian emissions with diagonal or full covariances.

    ``reg_covar`` is added to the diagonal of every covariance after each
    M-step (as in scikit-learn's ``GaussianMixture``), which keeps them
    positive definite.
    """

    def __init__(self, covariance_type="diag", reg_covar=1e-6):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar

    def log_emit(self, params, X):
        means, covars = params["means"], params["covars"]
        S, d = means.shape
        out = np.empty((X.shape[0], S))
        if self.covariance_type == "diag":
            for s in range(S):
                diff = X - means[s]
                out[:, s] = -0.5 * (
                    d * _LOG_2PI + np.sum(np.log(covars[s])) + (diff * diff) @ (1.0 / covars[s])
                )
        else:
            for s in range(S):
                try:
                    L = cholesky(covars[s], lower=True)
                except LinAlgError:
                    raise ValueError(
                        f"The covariance of hidden state {s} is not positive definite (the "
                        "state collapsed onto too few distinct points); increase reg_covar "
                        "or use covariance_type='diag'."
                    ) from None
                z = solve_triangular(L, (X - means[s]).T, lower=True)
                out[:, s] = -0.5 * (
                    d * _LOG_2PI + 2.0 * np.sum(np.log(np.diag(L))) + np.einsum("ij,ij->j", z, z)
                )
        return out

    def init(self, X, frame_weight, n_states, rng, n_kmeans=10):
        """k-means means and the weighted covariance of all frames for every state.

        ``n_kmeans`` k-means runs (10, as hmmlearn); 0 gives every state the
        mean of all frames (the neutral start other strategies refine).
        """
        w = frame_weight / frame_weight.sum()
        mu = w @ X
        if n_kmeans:
            km = KMeans(
                n_clusters=n_states,
                n_init=n_kmeans,
                random_state=rng.randint(np.iinfo(np.int32).max),
            )
            with warnings.catch_warnings():
                # Fewer distinct frames than states: k-means says so, the M-step copes.
                warnings.simplefilter("ignore", ConvergenceWarning)
                means = km.fit(X, sample_weight=frame_weight).cluster_centers_.copy()
        else:
            means = np.tile(mu, (n_states, 1))
        D = X - mu
        d = X.shape[1]
        if self.covariance_type == "diag":
            cov = w @ (D * D) + self.reg_covar
            # A constant feature: any positive variance will do to start.
            cov = np.where(cov > 0, cov, 1.0)
            covars = np.tile(cov, (n_states, 1))
        else:
            cov = (D * w[:, None]).T @ D + self.reg_covar * np.eye(d)
            covars = np.tile(cov, (n_states, 1, 1))
        return {"means": means, "covars": covars}

    def random_init(self, X, frame_weight, n_states, rng):
        """``n_states`` distinct random frames as centres, every frame to the nearest
        (in standardised units), then the M-step of that partition."""
        params = self.init(X, frame_weight, n_states, rng, n_kmeans=0)
        w = frame_weight / frame_weight.sum()
        mu = w @ X
        sd = np.sqrt(w @ ((X - mu) ** 2))
        Z = (X - mu) / np.where(sd > 0, sd, 1.0)
        centres = Z[rng.choice(Z.shape[0], size=min(n_states, Z.shape[0]), replace=False)]
        d2 = (Z * Z).sum(axis=1)[:, None] - 2.0 * Z @ centres.T + (centres * centres).sum(axis=1)
        post = np.zeros((X.shape[0], n_states))
        post[np.arange(X.shape[0]), np.argmin(d2, axis=1)] = frame_weight
        # A state no frame chose keeps the all-frames start of ``init``.
        params.update(self.m_step(X, post, params))
        return params

    def m_step(self, X, post, prev):
        """Weighted means and covariances from frame posteriors ``post`` (N, S)."""
        denom = post.sum(axis=0)
        S, d = prev["means"].shape
        means = prev["means"].copy()
        covars = prev["covars"].copy()
        # A state no frame visits keeps its previous parameters.
        alive = denom > 1e-12 * max(denom.sum(), 1e-300)
        for s in np.flatnonzero(alive):
            g = post[:, s]
            mu = (g @ X) / denom[s]
            D = X - mu
            means[s] = mu
            if self.covariance_type == "diag":
                covars[s] = (g @ (D * D)) / denom[s] + self.reg_covar
            else:
                C = (D * g[:, None]).T @ D / denom[s]
                C = 0.5 * (C + C.T)
                C.flat[:: d + 1] += self.reg_covar
                covars[s] = C
        return {"means": means, "covars": covars}

    def split(self, params, h, dead, rng):
        """Give the unused state ``dead`` half of state ``h``: means moved apart by
        half a standard deviation (random signs), covariances copied."""
        covars = params["covars"]
        var = covars[h] if self.covariance_type == "diag" else np.diag(covars[h])
        step = 0.5 * np.sqrt(var) * rng.choice([-1.0, 1.0], size=var.shape[0])
        params["means"][dead] = params["means"][h] + step
        params["means"][h] = params["means"][h] - step
        covars[dead] = covars[h]

    def n_parameters(self, n_states, n_features):
        d = n_features
        cov = d if self.covariance_type == "diag" else d * (d + 1) // 2
        return n_states * (d + cov)


class CategoricalEmission:
    """Discrete emissions over ``n_symbols`` symbols ``0 .. n_symbols - 1``.

    ``alpha`` is a pseudocount added to every (state, symbol) count in the
    M-step (0: maximum likelihood, as hmmlearn's default).
    """

    perturb_transitions = True

    def __init__(self, n_symbols, alpha=0.0):
        self.n_symbols = n_symbols
        self.alpha = alpha

    def log_emit(self, params, X):
        return np.ascontiguousarray(_safe_log(params["emissionprob"])[:, X[:, 0]].T)

    def init(self, X, frame_weight, n_states, rng):
        """The weighted symbol frequencies, perturbed differently for each state."""
        freq = np.bincount(X[:, 0], weights=frame_weight, minlength=self.n_symbols)
        freq = freq / freq.sum()
        E = freq[None, :] * rng.uniform(0.05, 1.0, size=(n_states, self.n_symbols))
        E /= E.sum(axis=1, keepdims=True)
        return {"emissionprob": E}

    def random_init(self, X, frame_weight, n_states, rng):
        """Emission rows drawn uniformly from the simplex (hmmlearn's random start)."""
        return {"emissionprob": rng.dirichlet(np.ones(self.n_symbols), size=n_states)}

    def m_step(self, X, post, prev):
        S = post.shape[1]
        counts = np.empty((S, self.n_symbols))
        for s in range(S):
            counts[s] = np.bincount(X[:, 0], weights=post[:, s], minlength=self.n_symbols)
        counts += self.alpha
        tot = counts.sum(axis=1, keepdims=True)
        E = prev["emissionprob"].copy()
        alive = tot[:, 0] > 0
        E[alive] = counts[alive] / tot[alive]
        return {"emissionprob": E}

    def split(self, params, h, dead, rng):
        """Give the unused state ``dead`` a perturbed copy of state ``h``'s emissions."""
        E = params["emissionprob"]
        for s in (h, dead):
            e = E[h] * rng.uniform(0.5, 1.5, size=E.shape[1])
            E[s] = e / e.sum()

    def n_parameters(self, n_states, n_features):
        return n_states * (self.n_symbols - 1)


# ---------------------------------------------------------------------- #
# E-step, M-step, the loop
# ---------------------------------------------------------------------- #
def log_likelihoods(params, emission, X, bounds):
    """Per-sequence log-likelihoods ``log p(sequence_i)``, shape (n_sequences,)."""
    log_start = _safe_log(params["startprob"])
    log_trans = _safe_log(params["transmat"])[None]
    log_emit = emission.log_emit(params, X)
    n = bounds.shape[0] - 1
    out = np.empty(n)
    for i in range(n):
        out[i] = forward_backward(log_start, log_trans, log_emit[bounds[i] : bounds[i + 1]])[0]
    return out


def e_step(params, emission, X, bounds, weights):
    """Weighted sufficient statistics.

    Returns
    -------
    ll : ndarray of shape (n_sequences,)
        Per-sequence log-likelihoods (NaN where the weight is zero: those
        sequences are skipped).
    stats : dict
        ``start`` (S,) = sum_i w_i gamma_i[0]; ``trans`` (S, S) = sum_i w_i
        sum_t xi_i[t]; ``post`` (N, S) = w_i gamma_i[t] for every frame.
    """
    log_start = _safe_log(params["startprob"])
    log_trans = _safe_log(params["transmat"])[None]
    log_emit = emission.log_emit(params, X)
    S = log_start.shape[0]
    n = bounds.shape[0] - 1
    ll = np.full(n, np.nan)
    start = np.zeros(S)
    trans = np.zeros((S, S))
    post = np.zeros((X.shape[0], S))
    for i in range(n):
        w = weights[i]
        if w <= 0:
            continue
        a, b = bounds[i], bounds[i + 1]
        ll[i], _, gamma, xi = forward_backward(log_start, log_trans, log_emit[a:b])
        start += w * gamma[0]
        trans += w * xi[0]
        post[a:b] = w * gamma
    return ll, {"start": start, "trans": trans, "post": post}


def m_step(stats, emission, X, prev):
    """New parameters from weighted sufficient statistics.

    A transition row with no mass keeps its previous values (as does a state's
    emission model).
    """
    start = stats["start"]
    startprob = start / start.sum() if start.sum() > 0 else prev["startprob"].copy()
    trans = stats["trans"]
    rows = trans.sum(axis=1)
    transmat = prev["transmat"].copy()
    ok = rows > 0
    transmat[ok] = trans[ok] / rows[ok, None]
    new = {"startprob": startprob, "transmat": transmat}
    new.update(emission.m_step(X, stats["post"], prev))
    return new


def baum_welch_step(params, emission, seqs, weights=None):
    """One weighted Baum-Welch step; returns ``(new_params, weighted log-likelihood)``."""
    X, bounds = concatenate(seqs)
    w = np.ones(len(seqs)) if weights is None else np.asarray(weights, dtype=np.float64)
    ll, stats = e_step(params, emission, X, bounds, w)
    keep = w > 0
    return m_step(stats, emission, X, params), float(w[keep] @ ll[keep])


# Strategies of a start (see ``initial_params``), and the EM iterations of
# the time-ignoring mixture fitted by the "mixture" start.
HMM_STRATEGIES = ("kmeans", "mixture", "random")
MIXTURE_ITER = 20


def initial_params(emission, X, bounds, weights, n_states, rng, strategy="kmeans"):
    """Parameters to start Baum-Welch from, by ``strategy``.

    ``"kmeans"``
        The emission model's own start (Gaussian: k-means means, hmmlearn's
        start; discrete symbols: the symbol frequencies perturbed per state),
        uniform start probabilities and transitions (hmmlearn's choice).
    ``"random"``
        Gaussian: every frame to the nearest of ``n_states`` random frames;
        discrete: emission rows drawn uniformly from the simplex.
    ``"mixture"``
        A mixture of the emission model fitted to the frames ignoring time
        (``MIXTURE_ITER`` EM iterations from the ``"random"`` start); its
        frame posteriors give the emissions, the first frames' posteriors the
        start probabilities and consecutive frames' the transitions.

    A uniform transition matrix is a saddle point that Baum-Welch leaves
    slowly when the emissions start nearly alike (discrete symbols), so there
    the rows are perturbed at random.
    """
    keep_seq = weights > 0
    frame_w = np.repeat(weights, np.diff(bounds))
    keep = frame_w > 0
    Xk, wk = X[keep], frame_w[keep]
    transmat = np.full((n_states, n_states), 1.0 / n_states)
    if getattr(emission, "perturb_transitions", False):
        transmat = transmat * rng.uniform(0.5, 1.5, size=(n_states, n_states))
        transmat /= transmat.sum(axis=1, keepdims=True)
    params = {"startprob": np.full(n_states, 1.0 / n_states), "transmat": transmat}
    if strategy == "kmeans":
        params.update(emission.init(Xk, wk, n_states, rng))
        return params
    params.update(emission.random_init(Xk, wk, n_states, rng))
    if strategy == "random":
        return params
    post = _mixture_posteriors(params, emission, Xk, wk, MIXTURE_ITER)
    # Transitions and start probabilities of the posteriors along time, with
    # a pseudocount of one average-weight frame per row so that no cell
    # starts impossible (relative to the weights: scaling them all changes
    # nothing).
    lens = np.diff(bounds)[keep_seq]
    first = np.concatenate([[0], np.cumsum(lens)[:-1]])
    pw = post * wk[:, None]
    prior = wk.mean() / n_states
    start = pw[first].sum(axis=0) + prior
    params["startprob"] = start / start.sum()
    nxt = np.ones(Xk.shape[0], dtype=bool)
    nxt[np.cumsum(lens) - 1] = False  # the last frame of a sequence has no successor
    idx = np.flatnonzero(nxt)
    trans = pw[idx].T @ post[idx + 1] + prior
    params["transmat"] = trans / trans.sum(axis=1, keepdims=True)
    return params


def _mixture_posteriors(params, emission, X, w, n_iter):
    """EM for a mixture of the emission model ignoring time (``params`` updated in
    place); returns the frame posteriors (N, S) at the final parameters."""
    S = params["startprob"].shape[0]
    log_pi = np.full(S, -np.log(S))
    for it in range(n_iter + 1):
        L = emission.log_emit(params, X) + log_pi
        L -= L.max(axis=1, keepdims=True)
        post = np.exp(L)
        post /= post.sum(axis=1, keepdims=True)
        if it == n_iter:
            return post
        pw = post * w[:, None]
        params.update(emission.m_step(X, pw, params))
        mass = pw.sum(axis=0)
        with np.errstate(divide="ignore"):
            log_pi = np.log(mass / mass.sum())


# A state whose posterior mass is below this fraction of all the mass is
# unused: it is revived by splitting the busiest state.
_DEAD_STATE = 1e-6


def revive_dead_states(params, emission, occupancy, rng):
    """Split the busiest state into each unused one (in place); returns how many.

    An unused state is a wasted one, and a local optimum Baum-Welch does not
    leave by itself: e.g. in a mixture of experts, a state that modelled the
    sequences another expert took over.  Transitions into the busiest state
    and its start probability are shared equally with the revived state,
    which also copies its outgoing transitions.
    """
    total = occupancy.sum()
    dead = np.flatnonzero(occupancy < _DEAD_STATE * total)
    if dead.size == 0 or dead.size == occupancy.size:
        return 0
    occ = occupancy.copy()
    for d in dead:
        h = int(np.argmax(occ))
        emission.split(params, h, d, rng)
        A, pi = params["transmat"], params["startprob"]
        A[d] = A[h]
        col = 0.5 * A[:, h]
        A[:, h] = col
        A[:, d] = col
        pi[[h, d]] = 0.5 * pi[h]
        occ[h] *= 0.5
        occ[d] = occ[h]
    # Renormalise (the copied mass of a dead row's own column is dropped).
    params["transmat"] /= params["transmat"].sum(axis=1, keepdims=True)
    params["startprob"] /= params["startprob"].sum()
    return int(dead.size)


def fit_baum_welch(params, emission, X, bounds, weights, max_iter, tol, rng=None):
    """Weighted Baum-Welch from ``params`` until the change of the weighted mean
    per-frame log-likelihood is below ``tol`` or ``max_iter`` M-steps.

    The iterations are the shared EM loop (:func:`skmoe._em.iterate_em`):
    an E-step (forward-backward), the convergence test, an M-step.  With
    ``rng``, unused states are revived after an M-step (at most ``n_states``
    times) by splitting the busiest state, see :func:`revive_dead_states`;
    the next change of the objective is then not a convergence test.

    Returns
    -------
    params : dict
    lower_bound : float
        Weighted mean per-frame log-likelihood at the returned parameters.
    n_iter : int
        Number of M-steps.
    converged : bool
    """
    from .._em import iterate_em

    keep = weights > 0
    frames = float(weights @ np.diff(bounds))
    state = {
        "params": params,
        "revivals_left": params["startprob"].shape[0] if rng is not None else 0,
    }

    def expectation():
        ll, state["stats"] = e_step(state["params"], emission, X, bounds, weights)
        return float(weights[keep] @ ll[keep]) / frames

    def reseed():
        return np.empty(0, dtype=np.intp)

    def maximisation(n_iter, dead):
        stats = state["stats"]
        state["params"] = m_step(stats, emission, X, state["params"])
        if state["revivals_left"] > 0:
            revived = revive_dead_states(state["params"], emission, stats["post"].sum(axis=0), rng)
            state["revivals_left"] -= revived
            return revived > 0
        return False

    # max_iter M-steps are max_iter + 1 E-steps of the shared loop.
    run = iterate_em(
        _BaumWelch(max_iter + 1, tol), 0, None, None, expectation, reseed, maximisation
    )
    return state["params"], run["lower_bound"], run["n_iter"] - 1, run["converged"]


class _BaumWelch:
    """The loop's settings (silent: the classifier reports per class, not per step)."""

    verbose = 0

    def __init__(self, max_iter, tol):
        self.max_iter, self.tol = max_iter, tol
