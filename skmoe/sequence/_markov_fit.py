"""Engine of the Markov-switching mixtures: regime chain, E-step, M-steps, polish.

Kept apart from the estimators (:mod:`skmoe.sequence._markov`), which own
validation and the public API.  Everything here works on validated float64
arrays and on the private expert sets of :mod:`skmoe.experts._sets`.

Conventions
-----------
Rows ``bounds[s]:bounds[s+1]`` of ``X`` form series ``s``.  The transition
into row ``t`` (from row ``t - 1`` of the same series) is
``A_t[i, j] = P(z_t = j | z_{t-1} = i, x_t)``: with input-dependent
transitions, ``A_t[i] = softmax(x_t W_i + b_i)`` (the input of the *arriving*
step, as in statsmodels' ``exog_tvtp`` and Bengio & Frasconi's IOHMM).  The
first regime of a series has the learned start distribution or the
stationary distribution of the transition matrix at the series' first row.
"""

import numpy as np
from scipy import linalg, optimize

from .._frame import frame_scale
from .._kernels import forward_backward, gaussian_log_density
from .._multinomial import (
    MultinomialSolverState,
    fit_multinomial,
    softmax_log_proba,
)

# Probabilities are floored before log so that a regime the EM drove to zero
# stays representable (and the polish's logits finite).
_LOG_FLOOR = 1e-250
# EM hands over to the quasi-Newton polish once the mean log-likelihood
# changes by less than this (or tol, if larger).
EM_SWITCH_TOL = 1e-5
# Rows per chunk of the second pass of :func:`column_moments`.
_CHUNK_ROWS = 16384


def _log(p):
    return np.log(np.maximum(p, _LOG_FLOOR))


def column_moments(X):
    """Mean and scale of each column of ``X``, scale 1 for a constant column.

    Two passes (no cancellation for features far from zero), the second in
    row chunks.  A column is constant when its spread is within its own
    resolution (:func:`skmoe._frame.is_constant`: 64 ulps of its centre):
    relative to the column, so a feature in units of 1e-10 keeps its scale
    and one offset by 1e10 is still centred exactly.
    """
    n = X.shape[0]
    ones = np.ones(n)
    mean = (ones @ X) / n
    ss = np.zeros(X.shape[1])
    for a in range(0, n, _CHUNK_ROWS):
        Xc = X[a : a + _CHUNK_ROWS] - mean
        Xc *= Xc
        ss += ones[a : a + _CHUNK_ROWS] @ Xc
    return mean, frame_scale(mean, np.sqrt(np.maximum(ss / n, 0.0)))


def stationary_distribution(A):
    """Stationary distribution of the row-stochastic matrix ``A`` (S, S).

    Solves ``pi (I - A + 1 1^T) = 1^T``, which for an irreducible chain is
    the unique solution of ``pi (I - A) = 0, sum(pi) = 1``; a reducible
    chain (singular system) falls back on the least-squares solution through
    the pseudo-inverse of the stacked system, statsmodels' steady-state
    initialisation.
    """
    return stationary_distributions(np.asarray(A)[None])[0]


def stationary_distributions(A):
    """Row-wise :func:`stationary_distribution` of a stack (n, S, S)."""
    n, S, _ = A.shape
    M = np.swapaxes(np.eye(S) - A, 1, 2) + 1.0
    pi = None
    try:
        pi = np.linalg.solve(M, np.ones((n, S, 1)))[:, :, 0]
        if not (np.all(np.isfinite(pi)) and np.all(pi > -1e-12)):
            pi = None
        elif np.linalg.cond(M).max() > 1e12:
            pi = None
    except np.linalg.LinAlgError:
        pi = None
    if pi is None:
        Ms = np.concatenate([np.swapaxes(np.eye(S) - A, 1, 2), np.ones((n, 1, S))], axis=1)
        pi = np.linalg.pinv(Ms)[:, :, -1]
    pi = np.maximum(pi, 0.0)
    return pi / pi.sum(axis=1, keepdims=True)


def _stationary_grad(A, pi, g):
    """Gradient of ``g . pi(A)`` with respect to ``A`` (entries moved freely).

    ``d pi^T = pi^T dA Z`` with ``Z = (I - A + 1 pi^T)^{-1}`` (the
    fundamental matrix) for any ``dA`` whose rows sum to zero, hence
    ``d(g . pi) / dA_ij = pi_i (Z g)_j``.
    """
    S = A.shape[0]
    M = np.eye(S) - A + np.outer(np.ones(S), pi)
    try:
        Zg = linalg.solve(M, g, check_finite=False)
    except (linalg.LinAlgError, ValueError):
        Zg = np.linalg.pinv(M) @ g
    return np.outer(pi, Zg)


def _row_softmax_backprop(A, G):
    """Gradient on the logits of row-softmax ``A`` from the gradient ``G`` on ``A``."""
    return A * (G - np.sum(G * A, axis=-1, keepdims=True))


class RegimeChain:
    """Start distribution and transition law of the regime chain.

    Parameters
    ----------
    n_regimes : int
    transitions : {"homogeneous", "input"}
    start : {"learned", "steady-state"}
    alpha : float
        Ridge on the standardised transition slopes (input transitions only),
        on the scale of a summed log-likelihood.
    """

    def __init__(self, n_regimes, transitions, start, alpha):
        self.S = n_regimes
        self.transitions = transitions
        self.start = start
        self.alpha = alpha
        self.log_A = None  # homogeneous: (S, S)
        self.V = None  # input: (S, d_t, S) standardised slopes per origin
        self.c = None  # input: (S, S) intercepts per origin
        self.mean = None
        self.scale = None
        self.log_start = None  # learned start: (S,)
        self.states = None

    # ------------------------------------------------------------------ #
    def init(self, Xt, bounds, labels, rng, neutral=False):
        """Initial chain from hard regime labels (e.g. k-means clusters).

        The transition matrix is half the (smoothed) label transition
        frequencies, half a prior with persistence 0.5 (``neutral``, the first
        restart) or drawn from U(0.2, 0.97): a persistent start biases EM
        towards persistent regimes, and on series like statsmodels'
        ``areturns`` the maximum has regimes that switch more often than not.
        """
        S = self.S
        counts = np.ones((S, S))
        for s in range(len(bounds) - 1):
            a, b = bounds[s], bounds[s + 1]
            np.add.at(counts, (labels[a : b - 1], labels[a + 1 : b]), 1.0)
        A_counts = counts / counts.sum(axis=1, keepdims=True)
        stay = rng.uniform(0.2, 0.97)
        if neutral:
            stay = 0.5
        A_prior = np.full((S, S), (1.0 - stay) / max(S - 1, 1))
        np.fill_diagonal(A_prior, stay if S > 1 else 1.0)
        A = 0.5 * A_counts + 0.5 * A_prior
        A /= A.sum(axis=1, keepdims=True)
        if self.transitions == "homogeneous":
            self.log_A = np.log(A)
        else:
            d = Xt.shape[1]
            self.mean, self.scale = column_moments(Xt)
            self.V = np.zeros((S, d, S))
            self.c = np.log(A)
            self.c -= self.c.mean(axis=1, keepdims=True)
            self.states = [MultinomialSolverState() for _ in range(S)]
        first = labels[np.asarray(bounds[:-1])]
        p0 = np.bincount(first, minlength=S) + 1.0
        self.log_start = np.log(p0 / p0.sum())

    # ------------------------------------------------------------------ #
    def raw_transition_coef(self):
        """(coef (S, d_t, S), intercept (S, S)) acting on raw transition features."""
        coef = self.V / self.scale[None, :, None]
        intercept = self.c - np.einsum("d,idj->ij", self.mean, coef)
        return coef, intercept

    def standardise(self, Xt):
        """Transition features in the chain's standardised frame."""
        return (Xt - self.mean) / self.scale

    def log_trans_rows(self, Xt):
        """Input transitions: ``log A_t`` for every row, shape (n, S, S).

        The logits are formed in the standardised frame (``V`` and ``c``):
        with raw coefficients, features near 1.7e9 would give logits that are
        differences of terms near 1e9, exact to 1e-7 only.
        """
        Zt = self.standardise(Xt)
        out = np.empty((Xt.shape[0], self.S, self.S))
        for i in range(self.S):
            out[:, i, :] = softmax_log_proba(Zt, self.V[i], self.c[i])
        return out

    def mean_matrix(self):
        return np.exp(self.log_A)

    def series_log_start(self, first_rows_logA):
        """Log start distribution of each series, (n_series, S).

        ``first_rows_logA``: the log transition matrix governing each
        series' first row ((n_series, S, S)), used by the steady state.
        """
        n_series = first_rows_logA.shape[0]
        if self.start == "learned":
            return np.broadcast_to(self.log_start, (n_series, self.S))
        if self.transitions == "homogeneous":
            pi = stationary_distribution(np.exp(self.log_A))
            return np.broadcast_to(_log(pi), (n_series, self.S))
        return _log(stationary_distributions(np.exp(first_rows_logA)))

    def n_parameters(self, d_t=0):
        S = self.S
        n = S - 1 if self.start == "learned" else 0
        if self.transitions == "homogeneous":
            return n + S * (S - 1)
        return n + S * (S - 1) * (d_t + 1)

    def penalty(self):
        if self.transitions == "input":
            return 0.5 * self.alpha * float(np.sum(self.V * self.V))
        return 0.0

    # ------------------------------------------------------------------ #
    def m_step(self, post, Xt, bounds, multinomial_iter=50):
        """Exact M-step for the learned start and homogeneous transitions; a
        warm-started penalised softmax fit per origin regime for input
        transitions.  The steady-state start is ignored here (generalised
        EM, as statsmodels' EM); the polish accounts for it exactly."""
        S = self.S
        if self.start == "learned":
            p0 = post["gamma0"].sum(axis=0)
            self.log_start = _log(p0 / p0.sum())
        if self.transitions == "homogeneous":
            N = post["xi"]
            rows = N.sum(axis=1)
            A = np.exp(self.log_A)
            ok = rows > 0
            A[ok] = N[ok] / rows[ok, None]
            self.log_A = _log(A)
            self.log_A -= np.logaddexp.reduce(self.log_A, axis=1, keepdims=True)
        else:
            xi = post["xi"]  # (n, S, S): transition into row t
            rows = post["trans_rows"]
            Z = Xt[rows]
            ones = np.ones(rows.size)
            for i in range(S):
                targets = np.ascontiguousarray(xi[rows, i, :])
                V, c, _, _ = fit_multinomial(
                    Z,
                    targets,
                    ones,
                    alpha=self.alpha,
                    mean=self.mean,
                    scale=self.scale,
                    V0=self.V[i],
                    c0=self.c[i],
                    max_iter=multinomial_iter,
                    tol=1e-9,
                    state=self.states[i],
                )
                self.V[i], self.c[i] = V, c


def transition_logs(chain, Xt):
    """Per-row log transition matrices (input) or None (homogeneous)."""
    if chain.transitions == "homogeneous":
        return None
    return chain.log_trans_rows(Xt)


def e_step(chain, log_emit, bounds, Xt, *, want_alpha=False):
    """Forward-backward over every series.

    Returns a dict with ``ll`` (total log-likelihood), ``ll_series``,
    ``gamma`` (n, S), ``gamma0`` (n_series, S), ``xi`` ((S, S) summed for
    homogeneous transitions, (n, S, S) per arriving row for input ones),
    ``trans_rows`` (rows that are not the first of their series), ``log_start``
    (n_series, S), ``logA`` (None or (n, S, S)) and, if asked, ``log_alpha``.
    """
    S = chain.S
    n = log_emit.shape[0]
    n_series = len(bounds) - 1
    logA = transition_logs(chain, Xt)
    firsts = np.asarray(bounds[:-1])
    if logA is None:
        first_logA = np.broadcast_to(chain.log_A, (n_series, S, S))
        log_trans_h = np.ascontiguousarray(chain.log_A[None])
    else:
        first_logA = logA[firsts]
    log_start = np.array(chain.series_log_start(first_logA), dtype=np.float64)  # own, writeable
    gamma = np.empty((n, S))
    gamma0 = np.empty((n_series, S))
    ll_series = np.empty(n_series)
    log_alpha = np.empty((n, S)) if want_alpha else None
    if logA is None:
        xi = np.zeros((S, S))
    else:
        xi = np.zeros((n, S, S))
    for s in range(n_series):
        a, b = bounds[s], bounds[s + 1]
        lt = log_trans_h if logA is None else logA[a + 1 : b]
        ll, la, g, x = forward_backward(log_start[s], lt, log_emit[a:b])
        ll_series[s] = ll
        gamma[a:b] = g
        gamma0[s] = g[0]
        if want_alpha:
            log_alpha[a:b] = la
        if logA is None:
            xi += x[0]
        elif b - a > 1:
            xi[a + 1 : b] = x
    mask = np.ones(n, dtype=bool)
    mask[firsts] = False
    return dict(
        ll=float(ll_series.sum()),
        ll_series=ll_series,
        gamma=gamma,
        gamma0=gamma0,
        xi=xi,
        trans_rows=np.flatnonzero(mask),
        log_start=log_start,
        logA=logA,
        log_alpha=log_alpha,
    )


def chain_score(chain, post, bounds, Xt):
    """Gradient of the (penalised) log-likelihood in the chain's parameters.

    By Fisher's identity, from one forward-backward pass ``post``
    (:func:`e_step`): the expected complete-data score of the transition
    logits (``log_A`` for homogeneous transitions, ``V`` then ``c`` for
    input ones, minus the gradient of the chain's penalty) and of the learned
    start's logits, in the order :meth:`LinearGaussianPolish.pack` lays them
    out.  The steady-state start is differentiated through the stationary
    distribution (fundamental matrix).  Shared by the polish and by the
    summaries of both Markov-switching estimators.

    Returns
    -------
    parts : list of ndarray
        The flattened gradient blocks.
    """
    parts = []
    firsts = np.asarray(bounds[:-1])
    gamma0 = post["gamma0"]
    if chain.transitions == "homogeneous":
        A = np.exp(chain.log_A)
        N = post["xi"]
        GL = N - N.sum(axis=1, keepdims=True) * A
        if chain.start == "steady-state":
            pi = np.exp(post["log_start"][0])
            g = gamma0.sum(axis=0) / np.maximum(pi, 1e-300)
            GL = GL + _row_softmax_backprop(A, _stationary_grad(A, pi, g))
        parts.append(GL.ravel())
    else:
        logA = post["logA"]
        A = np.exp(logA)
        xi = post["xi"]
        G = xi - xi.sum(axis=2, keepdims=True) * A  # zero on first rows
        if chain.start == "steady-state":
            pis = np.exp(post["log_start"])
            for s, a in enumerate(firsts):
                g = gamma0[s] / np.maximum(pis[s], 1e-300)
                G[a] += _row_softmax_backprop(A[a], _stationary_grad(A[a], pis[s], g))
        Zt = chain.standardise(Xt)
        gV = np.einsum("nd,nij->idj", Zt, G) - chain.alpha * chain.V
        gc = G.sum(axis=0)
        parts.append(gV.ravel())
        parts.append(gc.ravel())
    if chain.start == "learned":
        p0 = np.exp(chain.log_start)
        parts.append(gamma0.sum(axis=0) - gamma0.shape[0] * p0)
    return parts


# ---------------------------------------------------------------------- #
# Quasi-Newton polish of the exact log-likelihood (built-in linear experts)
# ---------------------------------------------------------------------- #
class _Polish:
    """L-BFGS on the exact log-likelihood from where EM stopped (the polishes' shared run).

    Subclasses provide ``pack()``, ``unpack(theta)`` and ``value_and_grad(theta)``
    (minus the mean penalised log-likelihood and its gradient).
    """

    def run(self, max_iter, gtol):
        theta0 = self.pack()
        f0, _ = self.value_and_grad(theta0)
        res = optimize.minimize(
            self.value_and_grad,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=max_iter, maxcor=20, ftol=1e-15, gtol=gtol),
        )
        theta = res.x if res.fun <= f0 else theta0
        self.unpack(theta)
        _, g = self.value_and_grad(theta)
        return res, float(np.max(np.abs(g))) if g.size else 0.0


class LinearGaussianPolish(_Polish):
    """L-BFGS on the exact (penalised) log-likelihood of a Markov-switching
    model with linear-Gaussian regimes, gradient by Fisher's identity.

    At any parameter value, the gradient of the observed-data log-likelihood
    equals the expected complete-data score under the smoothed posteriors,
    so one forward-backward pass gives both the value and the gradient.  The
    experts are parametrised in standardised units (features and target), the
    noise variances as ``floor + exp(eta)``, transition rows and the learned
    start by unconstrained logits.  The steady-state start is differentiated
    through the stationary distribution (fundamental matrix).
    """

    def __init__(self, chain, experts, Xe, y, Xt, bounds, tie_intercept=False, tie_variance=False):
        self.chain = chain
        self.experts = experts
        self.Xe, self.y, self.Xt, self.bounds = Xe, y, Xt, bounds
        n, d = Xe.shape
        self.n = n
        self.S = chain.S
        self.mu, self.sd = column_moments(Xe)
        Z = (Xe - self.mu) / self.sd
        self.Z1 = np.hstack([Z, np.ones((n, 1))])
        self.ybar = float(y.mean())
        self.ysd = float(frame_scale(self.ybar, y.std()))
        self.yt = (y - self.ybar) / self.ysd
        self.floor = experts.var_floor / self.ysd**2
        self.p = d + 1
        self.n_evals = 0
        # Shared parameters (switching_trend / switching_variance False):
        # the optimiser moves the free ones, mapped linearly to (B, eta).
        self.M = tie_matrix(self.S, d, self.mu, self.sd, tie_intercept, tie_variance)
        self.n_full = self.S * self.p + self.S

    # -- packing --------------------------------------------------------- #
    def pack(self):
        theta = self._pack_full()
        if self.M is None:
            return theta
        free = np.linalg.lstsq(self.M, theta[: self.n_full], rcond=None)[0]
        return np.concatenate([free, theta[self.n_full :]])

    def _expand(self, theta):
        if self.M is None:
            return theta
        k = self.M.shape[1]
        return np.concatenate([self.M @ theta[:k], theta[k:]])

    def unpack(self, theta):
        return self._unpack_full(self._expand(theta))

    def value_and_grad(self, theta):
        """Negative penalised log-likelihood per observation, and its gradient.

        In the free parameters: shared ones (see :func:`tie_matrix`) by the
        chain rule through ``M``.
        """
        f, g = self._value_and_grad_full(self._expand(theta))
        if self.M is None:
            return f, g
        return f, np.concatenate([self.M.T @ g[: self.n_full], g[self.n_full :]])

    def _pack_full(self):
        S, p = self.S, self.p
        ex = self.experts
        # raw -> standardised: y~ = (y - ybar)/ysd = z1 B
        coef = ex.coef  # (d, S)
        B = np.empty((S, p))
        B[:, :-1] = (coef * self.sd[:, None]).T / self.ysd
        B[:, -1] = (ex.intercept + self.mu @ coef - self.ybar) / self.ysd
        var = ex.variance / self.ysd**2
        eta = np.log(np.maximum(var - self.floor, 1e-300 + 1e-12 * self.floor))
        return np.concatenate([B.ravel(), eta, _pack_chain(self.chain)])

    def _unpack_full(self, theta):
        S, p = self.S, self.p
        ch = self.chain
        k = 0
        B = theta[k : k + S * p].reshape(S, p)
        k += S * p
        eta = theta[k : k + S]
        k += S
        var = self.floor + np.exp(eta)
        coef = (B[:, :-1] / self.sd).T * self.ysd  # (d, S)
        intercept = self.ybar + self.ysd * (B[:, -1] - (B[:, :-1] / self.sd) @ self.mu)
        self.experts.coef = np.ascontiguousarray(coef)
        self.experts.intercept = intercept
        self.experts.variance = var * self.ysd**2
        _unpack_chain(ch, theta[k:])
        return B, var

    # -- objective ------------------------------------------------------- #
    def _value_and_grad_full(self, theta):
        """Negative penalised log-likelihood per observation, and its gradient.

        Of the standardised target: the log-likelihood of ``y`` plus
        ``log(std(y))`` per observation, a constant.  The optimiser then sees
        the same numbers, and stops at the same point, whatever the units of
        ``y`` (its relative ``ftol`` would otherwise stop it earlier on a
        target in small units, whose log-likelihood is large).
        """
        self.n_evals += 1
        ch = self.chain
        B, var = self._unpack_full(theta)
        mean = self.Z1 @ B.T  # (n, S) standardised
        log_emit = gaussian_log_density(self.yt, mean, var)
        post = e_step(ch, log_emit, self.bounds, self.Xt)
        ll = post["ll"]
        if not np.isfinite(ll):
            return np.inf, np.zeros_like(theta)
        gam = post["gamma"]
        resid = self.yt[:, None] - mean
        # A trial point of the line search far out (huge coefficients, a
        # variance at its floor) can overflow the squares: that point is
        # refused (infinite objective), and the search steps back.
        with np.errstate(over="ignore", invalid="ignore"):
            w = gam * resid / var  # (n, S)
            gB = w.T @ self.Z1  # (S, p)
            # (r^2 / v - 1) / v, not r^2 / v^2 - 1 / v: v^2 overflows first.
            g_var = 0.5 * np.sum(gam * (resid * resid / var - 1.0) / var, axis=0)
        if not (np.all(np.isfinite(gB)) and np.all(np.isfinite(g_var))):
            return np.inf, np.zeros_like(theta)
        g_eta = g_var * (var - self.floor)
        parts = [gB.ravel(), g_eta]
        parts.extend(chain_score(ch, post, self.bounds, self.Xt))
        objective = ll - ch.penalty()
        grad = np.concatenate(parts)
        return -objective / self.n, -grad / self.n


def _pack_chain(chain):
    """The chain's unconstrained parameters, in :meth:`LinearGaussianPolish.pack`'s order."""
    if chain.transitions == "homogeneous":
        parts = [chain.log_A.ravel()]
    else:
        parts = [chain.V.ravel(), chain.c.ravel()]
    if chain.start == "learned":
        parts.append(chain.log_start)
    return np.concatenate(parts)


def _unpack_chain(chain, theta):
    """Set the chain from :func:`_pack_chain`'s vector (logits renormalised)."""
    S = chain.S
    k = 0
    if chain.transitions == "homogeneous":
        L = theta[k : k + S * S].reshape(S, S)
        k += S * S
        chain.log_A = L - np.logaddexp.reduce(L, axis=1, keepdims=True)
    else:
        dt = chain.V.shape[1]
        chain.V = theta[k : k + S * dt * S].reshape(S, dt, S).copy()
        k += S * dt * S
        chain.c = theta[k : k + S * S].reshape(S, S).copy()
        k += S * S
    if chain.start == "learned":
        ls = theta[k : k + S]
        chain.log_start = ls - np.logaddexp.reduce(ls)


class LogisticPolish(_Polish):
    """L-BFGS on the exact penalised log-likelihood of a Markov-switching
    classifier whose regimes are built-in :class:`~skmoe.experts.LogisticExpert`.

    EM's chain M-step ignores a steady-state start (generalised EM), so EM
    alone does not maximise that model's likelihood; and EM is slow when
    regimes overlap.  The polish maximises the objective EM's experts
    maximise, ``log L - sum_k 0.5 * alpha_k * ||V_k||^2``, in each expert's
    own standardised coefficients ``(V_k, c_k)`` (its fixed frame), with the
    gradient by Fisher's identity from one forward-backward pass.

    Parameters
    ----------
    chain : RegimeChain
    experts : _ClassifierSet
        Its estimators are fitted LogisticExperts (``_V``, ``_c``, ``_mean``,
        ``_scale``); they are updated in place.
    Xe, y, Xt, bounds
        Validated expert inputs, label codes, transition inputs, series bounds.
    """

    def __init__(self, chain, experts, Xe, y, Xt, bounds):
        self.chain = chain
        self.experts = experts
        self.Xt, self.bounds = Xt, bounds
        self.n = n = Xe.shape[0]
        self.S = chain.S
        self.C = C = experts.n_classes
        self.Y = np.zeros((n, C))
        self.Y[np.arange(n), y] = 1.0
        self.Zs = [(Xe - e._mean) / e._scale for e in experts.ests]
        self.d = Xe.shape[1]
        self.n_evals = 0

    def pack(self):
        parts = []
        for e in self.experts.ests:
            parts += [e._V.ravel(), e._c]
        parts.append(_pack_chain(self.chain))
        return np.concatenate(parts)

    def unpack(self, theta):
        from .._multinomial import raw_coefficients

        d, C = self.d, self.C
        k = 0
        for e in self.experts.ests:
            e._V = theta[k : k + d * C].reshape(d, C).copy()
            k += d * C
            e._c = theta[k : k + C].copy()
            k += C
            e.coef_, e.intercept_ = raw_coefficients(e._V, e._c, e._mean, e._scale)
        _unpack_chain(self.chain, theta[k:])

    def value_and_grad(self, theta):
        """Negative penalised log-likelihood per observation, and its gradient."""
        self.n_evals += 1
        self.unpack(theta)
        ests = self.experts.ests
        log_p = []
        for e, Z in zip(ests, self.Zs, strict=True):
            logits = Z @ e._V + e._c
            log_p.append(logits - np.logaddexp.reduce(logits, axis=1, keepdims=True))
        log_emit = np.ascontiguousarray(np.stack([np.sum(lp * self.Y, axis=1) for lp in log_p], 1))
        post = e_step(self.chain, log_emit, self.bounds, self.Xt)
        ll = post["ll"]
        if not np.isfinite(ll):
            return np.inf, np.zeros_like(theta)
        gam = post["gamma"]
        parts = []
        objective = ll - self.chain.penalty()
        for k, (e, Z) in enumerate(zip(ests, self.Zs, strict=True)):
            R = (self.Y - np.exp(log_p[k])) * gam[:, k : k + 1]
            parts += [(Z.T @ R - e.alpha * e._V).ravel(), R.sum(axis=0)]
            objective -= 0.5 * e.alpha * float(np.sum(e._V * e._V))
        parts.extend(chain_score(self.chain, post, self.bounds, self.Xt))
        return -objective / self.n, -np.concatenate(parts) / self.n


# ---------------------------------------------------------------------- #
# Parameters shared across regimes (statsmodels' switching_trend and
# switching_variance set to False)
# ---------------------------------------------------------------------- #
def constrained_m_step(experts, Xe, y, W, var_old, switching_trend, switching_variance):
    """Impose shared parameters on the experts after their unconstrained M-step.

    ``switching_variance=False``: one noise variance, ``sum_tk W_tk r_tk^2 /
    sum_tk W_tk`` from every regime's residuals; the regression coefficients
    of each regime do not depend on the variance, so with switching
    intercepts this is the exact M-step.

    ``switching_trend=False`` (built-in linear experts only): one intercept
    ``c`` (at ``x = 0``) and a slope vector per regime, the weighted least
    squares problem ``sum_tk W_tk (y_t - c - x_t b_k)^2 / v_k`` solved
    jointly (``b_k`` profiled out, then ``c`` in closed form), with the
    variances ``v_k`` of the previous iteration; the variances are then
    re-estimated at the new coefficients (an ECM step, which never lowers
    the likelihood).  The design is ``[1, z + mu / sd]`` with ``z`` the
    standardised features: the shared intercept is at ``x = 0``, as in
    statsmodels, however far the features' centre is from zero.
    """
    S = W.shape[1]
    floor = experts.var_floor
    if not switching_trend:
        v = np.ones(S) if var_old is None else np.asarray(var_old, dtype=np.float64)
        mu, sd = column_moments(Xe)
        ybar = float(y.mean())
        ysd = float(frame_scale(ybar, y.std()))
        yt = (y - ybar) / ysd
        U = (Xe - mu) / sd + mu / sd
        d = U.shape[1]
        num, den = 0.0, 0.0
        uk, vk = [], []
        for k in range(S):
            w = W[:, k] / (v[k] / ysd**2)
            s_k = U.T @ w
            if d:
                A = (U * w[:, None]).T @ U
                A[np.diag_indices(d)] += 1e-12 * max(float(np.trace(A)) / d, 1e-300)
                try:
                    sol = linalg.solve(A, np.column_stack([U.T @ (w * yt), s_k]), assume_a="pos")
                except (linalg.LinAlgError, ValueError):
                    sol = np.linalg.pinv(A) @ np.column_stack([U.T @ (w * yt), s_k])
            else:
                sol = np.zeros((0, 2))
            uk.append(sol[:, 0])
            vk.append(sol[:, 1])
            num += float(w @ yt) - s_k @ sol[:, 0]
            den += float(w.sum()) - s_k @ sol[:, 1]
        c = num / den if den > 0 else 0.0
        G = np.array([uk[k] - c * vk[k] for k in range(S)]).reshape(S, d)  # (S, d)
        coef = (G / sd).T * ysd  # raw slopes (d, S)
        experts.coef = np.ascontiguousarray(coef)
        # Predictions about the feature centre (exact far from zero):
        # c + mu . b_k at x = mu.
        experts.shift = mu.copy()
        experts.intercept_c = ybar + ysd * (c + (mu / sd) @ G.T)
    resid = y[:, None] - experts.predict(Xe)
    ss = W * resid * resid
    mass = W.sum(axis=0)
    if switching_variance:
        if switching_trend:
            return  # nothing is shared
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.where(mass > 0, ss.sum(axis=0) / np.maximum(mass, 1e-300), floor)
    else:
        var = np.full(S, float(ss.sum()) / max(float(mass.sum()), 1e-300))
    experts.variance = np.maximum(var, floor)


def tie_matrix(S, d, mu, sd, tie_intercept, tie_variance):
    """Map ``M`` from the free expert parameters to the polish's ``(B, eta)``.

    The polish's expert block is ``B`` (S, d + 1) in standardised units
    (slopes, then the intercept at the feature centre) and ``eta`` (S,);
    with a shared raw intercept ``c``, ``B[k, d] = c~ + (mu / sd) . B[k, :d]``
    (``c~ = (c - ybar) / ysd``); with a shared variance all ``eta`` are one.
    Returns None when nothing is shared.
    """
    if not (tie_intercept or tie_variance):
        return None
    p = d + 1
    n_int = 1 if tie_intercept else S
    n_var = 1 if tie_variance else S
    M = np.zeros((S * p + S, S * d + n_int + n_var))
    m = mu / sd
    for k in range(S):
        for j in range(d):
            M[k * p + j, k * d + j] = 1.0
        if tie_intercept:
            M[k * p + d, S * d] = 1.0
            M[k * p + d, k * d : (k + 1) * d] = m
        else:
            M[k * p + d, S * d + k] = 1.0
        M[S * p + k, S * d + n_int + (0 if tie_variance else k)] = 1.0
    return M
