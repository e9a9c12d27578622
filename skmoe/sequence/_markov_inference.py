"""Observed information of a Markov-switching regression (built-in linear experts).

The reported parameters ``psi`` are, in order, for each regime ``k``: the
slopes on the expert features and the intercept (in the units of the user's
features and target), then the noise variance ``sigma2[k]`` of each regime,
then the transition probabilities ``p[i->j] = P(z_t = j | z_{t-1} = i)`` for
every origin ``i`` and every destination ``j < S - 1`` (the last column is
one minus the others, as statsmodels' ``MarkovRegression`` reports them),
then, for a learned start, ``start[j]`` for ``j < S - 1``.

The covariance is the inverse of the observed information
``-d^2 log L / d psi^2`` of the exact log-likelihood, by central
differences of its analytic gradient: the polish's gradient (Fisher's
identity, :class:`~skmoe.sequence._markov_fit.LinearGaussianPolish`) in its
own parametrisation, mapped to ``psi`` by the chain rule.  Since the
information is computed directly in ``psi``, no delta method is needed (it
is statsmodels' ``cov_type="approx"``: the Hessian in the constrained
parameters).

``cov_type="robust"`` gives the sandwich ``H^-1 J H^-1``: ``H`` that
information, ``J`` the sum over time steps of the outer products of the
scores of ``log p(y_t | y_1..t-1)`` (the forward filter's normalisers,
every series' steps), by central differences of the vector of per-step
log-likelihoods in the same ``psi`` (statsmodels' ``cov_type="robust"``,
which differentiates its ``loglikeobs``).
"""

import copy

import numpy as np
from scipy.special import logsumexp
from sklearn.utils.validation import check_is_fitted

from .._inference import central_hessian, check_cov_type
from .._kernels import gaussian_log_density
from .._validation import feature_names
from ._markov_fit import LinearGaussianPolish, chain_score, e_step


def chain_logits_and_jacobian(P, p0):
    """The chain's logits from its reported probabilities, and their Jacobian.

    Parameters
    ----------
    P : ndarray of shape (S, S - 1)
        ``P[i, j] = p[i->j]`` for ``j < S - 1``; the last column is one minus
        the others.
    p0 : ndarray of shape (S - 1,) or None
        The learned start probabilities but the last (None: no learned start).

    Returns
    -------
    L : ndarray of shape (S, S)
        ``log A``, the transition logits the polish and the E-step use.
    ls : ndarray of shape (S,) or None
        ``log start``.
    J : ndarray
        ``d (L, ls) / d (P, p0)``, shape ``(S * S [+ S], S * (S - 1) [+ S - 1])``.
    """
    S = P.shape[0]
    learned = p0 is not None
    J = np.zeros((S * S + (S if learned else 0), S * (S - 1) + (S - 1 if learned else 0)))
    # A probability on the boundary (0 or 1) gives infinite entries, set to
    # zero: its column is held fixed by the caller (information_off_boundary).
    with np.errstate(divide="ignore", invalid="ignore"):
        last = 1.0 - P.sum(axis=1)
        L = np.log(np.column_stack([P, last]))
        for i in range(S):
            for j in range(S - 1):
                col = i * (S - 1) + j
                J[i * S + j, col] = 1.0 / P[i, j]
                J[i * S + S - 1, col] = -1.0 / last[i]
        ls = None
        if learned:
            last0 = 1.0 - p0.sum()
            ls = np.log(np.append(p0, last0))
            for j in range(S - 1):
                J[S * S + j, S * (S - 1) + j] = 1.0 / p0[j]
                J[S * S + S - 1, S * (S - 1) + j] = -1.0 / last0
    J[~np.isfinite(J)] = 0.0
    return L, ls, J


def chain_psi(chain):
    """The reported chain parameters: ``p[i->j]`` (``j < S - 1``), then a learned start's."""
    S = chain.S
    A = np.exp(chain.log_A)
    A /= A.sum(axis=1, keepdims=True)
    parts = [A[:, : S - 1].ravel()]
    if chain.start == "learned":
        p0 = np.exp(chain.log_start)
        parts.append((p0 / p0.sum())[: S - 1])
    return np.concatenate(parts)


def _room(pr, S):
    """How far each chain probability of ``pr`` can move: to 0, to 1, or the
    implied last entry of its row (``1 - sum``) to 0."""
    room = np.minimum(pr, 1.0 - pr)
    n_rows = pr.size // max(S - 1, 1)  # S transition rows, then the start's
    for r in range(n_rows):
        row = slice(r * (S - 1), (r + 1) * (S - 1))
        room[row] = np.minimum(room[row], 1.0 - pr[row].sum())
    return room


def probability_steps(pr, S):
    """Central-difference steps for the chain's probabilities ``pr``, kept well
    inside their range (the row's implied last entry stays positive too)."""
    return 1e-5 * np.minimum(_room(pr, S), 0.5)


# A probability this close to 0 or 1 is on the boundary of its range: the
# likelihood's maximum there is not a stationary point (a learned start on
# one series always ends on a vertex), so it has no Wald standard error.
_BOUNDARY = 1e-8


def information_off_boundary(grad, psi, steps, boundary):
    """Observed information ``-H`` by central differences of ``grad``, boundary excluded.

    Parameters
    ----------
    grad : callable
        Analytic gradient of the objective in ``psi``.
    psi : ndarray of shape (P,)
    steps : ndarray of shape (P,)
    boundary : ndarray of bool of shape (P,)
        Parameters on the boundary of their range: held fixed, their rows
        and columns of the information are NaN (so their standard errors
        are NaN, and the others are conditional on them).

    Returns
    -------
    info : ndarray of shape (P, P)
    """
    free = np.flatnonzero(~boundary)
    info = np.full((psi.size, psi.size), np.nan)

    def sub_grad(v):
        full = psi.copy()
        full[free] = v
        return grad(full)[free]

    info[np.ix_(free, free)] = -central_hessian(sub_grad, psi[free], steps[free])
    return info


def covariance_off_boundary(info, boundary):
    """Inverse information over the free parameters; NaN for the boundary ones.

    Returns
    -------
    cov : ndarray of shape (P, P)
    bad : ndarray of bool of shape (P,)
        Free parameters that the information does not identify.
    """
    from .._inference import _invert_information

    free = np.flatnonzero(~boundary)
    cov = np.full(info.shape, np.nan)
    bad = np.zeros(info.shape[0], dtype=bool)
    sub, sub_bad = _invert_information(info[np.ix_(free, free)])
    cov[np.ix_(free, free)] = sub
    bad[free] = sub_bad
    return cov, bad


def per_step_loglik(chain, log_emit, bounds, Xt=None):
    """``log p(y_t | y_1..t-1)`` of every row: the forward filter's normalisers.

    Parameters
    ----------
    chain : RegimeChain
    log_emit : ndarray of shape (n_samples, S)
        ``log p(y_t | z_t = k)``.
    bounds : ndarray of int
        Series boundaries; the first row of a series conditions on nothing.
    Xt : ndarray or None
        Transition inputs (None for homogeneous transitions).

    Returns
    -------
    ll : ndarray of shape (n_samples,)
        Sums to the log-likelihood over every series.
    """
    from scipy.special import logsumexp as lse

    post = e_step(chain, log_emit, bounds, Xt, want_alpha=True)
    c = lse(post["log_alpha"], axis=1)  # log p(y_1..t) within each series
    ll = np.diff(c, prepend=0.0)
    firsts = np.asarray(bounds[:-1])
    ll[firsts] = c[firsts]
    return ll


def per_step_scores(loglik_obs, psi, steps, boundary):
    """Per-step scores ``d log p(y_t | y_1..t-1) / d psi`` by central differences.

    ``2 P`` forward passes of ``loglik_obs`` (``psi -> (n_samples,)``).
    Columns of the parameters on the boundary (held fixed) are zero.

    Returns
    -------
    scores : ndarray of shape (n_samples, P)
    """
    free = np.flatnonzero(~boundary)
    cols = {}
    for j in free:
        e = np.zeros(psi.size)
        e[j] = steps[j]
        cols[j] = (loglik_obs(psi + e) - loglik_obs(psi - e)) / (2.0 * steps[j])
    n = next(iter(cols.values())).size if cols else loglik_obs(psi).size
    G = np.zeros((n, psi.size))
    for j, col in cols.items():
        G[:, j] = col
    return G


def sandwich(cov, scores):
    """``H^-1 J H^-1`` with ``J = scores^T scores``, over the parameters ``cov`` identifies.

    Rows and columns of ``cov`` that are NaN (boundary or unidentified
    parameters) stay NaN.
    """
    ok = np.flatnonzero(np.isfinite(np.diag(cov)))
    out = np.full(cov.shape, np.nan)
    C = cov[np.ix_(ok, ok)]
    G = scores[:, ok]
    out[np.ix_(ok, ok)] = C @ (G.T @ G) @ C
    return out


_ROBUST_J = (
    "J the sum of the outer products of the per-step scores of log p(y_t | y_1..t-1) "
    "(central differences of the forward filter's normalisers)."
)


def boundary_probabilities(psi, start, S):
    """Mask of the chain probabilities ``psi[start:]`` on the boundary of their range.

    An entry within ``_BOUNDARY`` of 0 or 1, or in a row whose implied last
    entry is: the constraint is active there, and the row's free entries
    cannot all move.
    """
    mask = np.zeros(psi.size, dtype=bool)
    mask[start:] = _room(psi[start:], S) < _BOUNDARY
    return mask


class MarkovParametrisation:
    """Map between the reported parameters ``psi`` and the polish's ``theta``.

    Parameters
    ----------
    polish : LinearGaussianPolish
        Built on private copies of the fitted chain and expert set (its
        evaluations overwrite them).
    """

    def __init__(self, polish):
        self.polish = polish
        self.S = polish.S
        self.d = polish.p - 1
        self.learned = polish.chain.start == "learned"

    def n_params(self):
        S, d = self.S, self.d
        return S * (d + 1) + S + S * (S - 1) + (S - 1 if self.learned else 0)

    def current(self):
        """``psi`` of the fitted model."""
        pol = self.polish
        ex, ch = pol.experts, pol.chain
        S = self.S
        parts = [np.column_stack([ex.coef.T, ex.intercept]).ravel(), np.asarray(ex.variance)]
        A = np.exp(ch.log_A)
        A /= A.sum(axis=1, keepdims=True)
        parts.append(A[:, : S - 1].ravel())
        if self.learned:
            p0 = np.exp(ch.log_start)
            parts.append((p0 / p0.sum())[: S - 1])
        return np.concatenate(parts)

    def _split(self, psi):
        S, d = self.S, self.d
        k = S * (d + 1)
        E = psi[:k].reshape(S, d + 1)
        var = psi[k : k + S]
        k += S
        P = psi[k : k + S * (S - 1)].reshape(S, S - 1)
        k += S * (S - 1)
        p0 = psi[k : k + S - 1] if self.learned else None
        return E, var, P, p0

    def theta_and_jacobian(self, psi):
        """``theta(psi)`` and ``J = d theta / d psi`` (n_theta, n_psi)."""
        pol = self.polish
        S, d = self.S, self.d
        p = d + 1
        E, var, P, p0 = self._split(psi)
        n_theta = S * p + S + S * S + (S if self.learned else 0)
        J = np.zeros((n_theta, psi.size))
        # Experts: B[k, :-1] = coef * sd / ysd; B[k, -1] = (b + mu . coef - ybar) / ysd.
        B = np.empty((S, p))
        B[:, :-1] = E[:, :d] * pol.sd / pol.ysd
        B[:, -1] = (E[:, d] + E[:, :d] @ pol.mu - pol.ybar) / pol.ysd
        for k in range(S):
            rows = slice(k * p, (k + 1) * p)
            block = np.zeros((p, p))
            block[np.arange(d), np.arange(d)] = pol.sd / pol.ysd
            block[d, :d] = pol.mu / pol.ysd
            block[d, d] = 1.0 / pol.ysd
            J[rows, rows] = block
        # Variances: eta = log(var / ysd^2 - floor).
        off_t, off_p = S * p, S * p
        excess = var - pol.floor * pol.ysd**2
        eta = np.log(excess / pol.ysd**2)
        J[off_t + np.arange(S), off_p + np.arange(S)] = 1.0 / excess
        L, ls, Jc = chain_logits_and_jacobian(P, p0)
        J[off_t + S :, off_p + S :] = Jc
        parts = [B.ravel(), eta, L.ravel()]
        if ls is not None:
            parts.append(ls)
        return np.concatenate(parts), J

    def loglik_and_grad(self, psi):
        """Log-likelihood of ``y`` (up to a constant) and its gradient in ``psi``."""
        theta, J = self.theta_and_jacobian(psi)
        f, g = self.polish.value_and_grad(theta)
        n = self.polish.n
        return -f * n, J.T @ (-g * n)

    def loglik_obs(self, psi):
        """``log p(y_t | y_1..t-1)`` of every row at ``psi`` (the exact terms, in ``y``'s units)."""
        pol = self.polish
        theta, _ = self.theta_and_jacobian(psi)
        B, var = pol._unpack_full(theta)
        log_emit = gaussian_log_density(pol.yt, pol.Z1 @ B.T, var)
        # The emissions are of the standardised target: log(ysd) per row.
        return per_step_loglik(pol.chain, log_emit, pol.bounds, pol.Xt) - np.log(pol.ysd)

    def steps(self, psi):
        """Central-difference steps: relative to each parameter, kept inside (0, 1)
        for probabilities and above the floor for variances."""
        pol = self.polish
        S, d = self.S, self.d
        steps = 1e-5 * np.maximum(np.abs(psi), 1e-3)
        n_exp = S * (d + 1)
        _, var, _, _ = self._split(psi)
        floor = pol.floor * pol.ysd**2
        steps[n_exp : n_exp + S] = 1e-5 * (var - floor)
        steps[n_exp + S :] = probability_steps(psi[n_exp + S :], S)
        return np.maximum(steps, 1e-12)


def markov_information(est, X, y, bounds):
    """Observed information of a fitted MarkovSwitchingRegressor, in ``psi``.

    Parameters
    ----------
    est : MarkovSwitchingRegressor
        Fitted, homogeneous transitions, built-in linear-Gaussian experts.
    X : ndarray of shape (n_samples, n_features)
        Validated training inputs.
    y : ndarray of shape (n_samples,)
        Training targets.
    bounds : ndarray of int
        Series boundaries.

    Returns
    -------
    psi : ndarray of shape (n_params,)
    info : ndarray of shape (n_params, n_params)
        ``-`` the Hessian of the log-likelihood at ``psi``.
    grad : ndarray of shape (n_params,)
        The score at ``psi`` (near zero at a maximum).
    """
    Xe, Xt = est._split(X)
    chain = copy.deepcopy(est._chain)
    experts = copy.deepcopy(est._expert_set)
    pol = LinearGaussianPolish(chain, experts, Xe, y, Xt, bounds)
    par = MarkovParametrisation(pol)
    psi = par.current()
    _, grad = par.loglik_and_grad(psi)
    S, d = par.S, par.d
    n_exp = S * (d + 1)
    steps = par.steps(psi)
    boundary = boundary_probabilities(psi, n_exp + S, S)
    info = information_off_boundary(lambda v: par.loglik_and_grad(v)[1], psi, steps, boundary)
    return psi, info, grad, par


def markov_param_names(est):
    """Names of ``psi`` (statsmodels' style: ``const[0]``, ``sigma2[1]``, ``p[0->0]``)."""
    S = est.n_regimes_
    feats = feature_names(est, est._expert_cols)
    out = [f"{f}[{k}]" for k in range(S) for f in feats + ["const"]]
    out += [f"sigma2[{k}]" for k in range(S)]
    return out + _chain_param_names(est)


def _shared_parameters(est, names, S, d):
    """Map ``T`` from the free parameters to the regime-wise ``psi``, and their names.

    With ``switching_trend=False`` the intercepts ``const[k]`` are one
    parameter ``const``; with ``switching_variance=False`` the variances
    ``sigma2[k]`` are one ``sigma2`` (statsmodels' names).  Returns
    ``(None, names)`` when every parameter switches.
    """
    tie_c = not getattr(est, "switching_trend", True)
    tie_v = not getattr(est, "switching_variance", True)
    if not (tie_c or tie_v):
        return None, names
    p = d + 1
    free, where = [], []
    for k in range(S):
        for j in range(d):
            free.append(names[k * p + j])
            where.append([k * p + j])
        if not tie_c:
            free.append(names[k * p + d])
            where.append([k * p + d])
    if tie_c:
        free.append("const")
        where.append([k * p + d for k in range(S)])
    if tie_v:
        free.append("sigma2")
        where.append([S * p + k for k in range(S)])
    else:
        for k in range(S):
            free.append(names[S * p + k])
            where.append([S * p + k])
    for i in range(S * p + S, len(names)):
        free.append(names[i])
        where.append([i])
    T = np.zeros((len(names), len(free)))
    for j, rows in enumerate(where):
        T[rows, j] = 1.0
    return T, free


def markov_summary_parts(est, X, y, bounds, cov_type="observed"):
    """Keyword arguments of :class:`~skmoe._summary.SummaryResults` for ``est``.

    ``cov_type="observed"``: the inverse observed information;
    ``"robust"``: the sandwich (:func:`sandwich`) with the per-step scores
    of :meth:`MarkovParametrisation.loglik_obs`.
    """
    from ..experts._sets import _LinearGaussianSet

    check_cov_type(cov_type)
    check_is_fitted(est)
    _check_homogeneous(est)
    if not isinstance(est._expert_set, _LinearGaussianSet):
        raise NotImplementedError(
            "summary is implemented for the built-in linear-Gaussian experts only "
            "(experts=None or LinearExpert); this model's experts are "
            f"{sorted({type(e).__name__ for e in est.experts_})}."
        )
    psi, info, grad, par = markov_information(est, X, y, bounds)
    names = markov_param_names(est)
    S, d = par.S, par.d
    boundary = boundary_probabilities(psi, S * (d + 2), S)
    scores = None
    if cov_type == "robust":
        # In the regime-wise psi, then (shared parameters) through T like the score.
        scores = per_step_scores(par.loglik_obs, psi, par.steps(psi), boundary)
    T, names = _shared_parameters(est, names, S, d)
    if T is not None:
        # Shared parameters: psi_full = T psi, so the information in psi is
        # T^T I T exactly (a linear map adds no curvature), the score T^T g.
        first = np.argmax(T, axis=0)
        psi, grad = psi[first], T.T @ grad
        info = T.T @ np.where(np.isfinite(info), info, 0.0) @ T
        boundary = boundary[first]
        info[boundary, :] = np.nan
        info[:, boundary] = np.nan
        if scores is not None:
            scores = scores @ T
    cov, bad = covariance_off_boundary(info, boundary)
    if scores is not None:
        cov = sandwich(cov, scores)
    edge_notes = _warn_fit_quality(est, names, bad, boundary, "likelihood")
    n_chain = len(_chain_param_names(est))
    n_own = psi.size - n_chain
    groups = []
    for k in range(S):
        idx = [i for i in range(n_own) if names[i].endswith(f"[{k}]")]
        if idx:
            groups.append((f"Regime {k} parameters", idx))
    shared = [i for i in range(n_own) if names[i] in ("const", "sigma2")]
    if shared:
        groups.append(("Parameters shared by all regimes", shared))
    groups.append(("Regime transition parameters", list(range(n_own, psi.size))))
    Xe, Xt = est._split(X)
    llf = e_step(est._chain, est._log_emit(est._expert_set, Xe, y), bounds, Xt)["ll"]
    header = {
        "Regimes": S,
        "Start": est.start,
    }
    if shared:
        header["Shared by all regimes"] = ", ".join(names[i] for i in shared)
    header |= {
        "Covariance type": cov_type,
        "Converged": bool(est.converged_),
        "EM iterations": int(est.n_iter_),
        "Polish iterations": int(est.n_polish_iter_),
        "nobs": X.shape[0],
        "llf": llf,
        "n_params": int(est._n_parameters()),
    }
    durations = _durations(est.transition_matrix_)
    return dict(
        param_names=names,
        params=psi,
        cov=cov,
        groups=groups,
        header=header,
        no_test=[n for n in names if n.startswith(("sigma2", "p[", "start["))],
        notes=[
            (
                "Covariance: robust sandwich H^-1 J H^-1, H the observed information of the "
                "exact log-likelihood (numerical Hessian of the analytic score); " + _ROBUST_J
            )
            if cov_type == "robust"
            else "Covariance: inverse observed information of the exact log-likelihood "
            "(numerical Hessian of the analytic score).",
            "z and P>|z| are NaN for variances and probabilities (no test of zero).",
            *edge_notes,
        ],
        criteria={"HQIC": hqic(llf, header["n_params"], X.shape[0])},
        extra=dict(expected_durations=durations, score=grad, information=info, cov_type=cov_type),
    )


# ---------------------------------------------------------------------- #
# MarkovSwitchingClassifier: regimes of multinomial logistic experts
# ---------------------------------------------------------------------- #
class MarkovClassifierProblem:
    """Penalised log-likelihood of a Markov-switching classifier and its score.

    The reported parameters ``psi`` are, for each regime ``k`` and each class
    ``c = 1, ..., C - 1``: the logit contrast of class ``c`` against class 0
    in regime ``k`` (slopes on the expert features in their units, then the
    intercept), then the transition probabilities ``p[i->j]`` (``j < S - 1``)
    and, for a learned start, ``start[j]`` (``j < S - 1``).

    The objective is the one whose maximiser EM finds: the exact
    log-likelihood (forward algorithm) minus each regime's ridge penalty
    ``0.5 * alpha * ||V||^2`` on its standardised slopes ``V = coef * scale``
    (the expert's fixed frame).  Softmax is invariant to a common shift of
    its columns, so the penalty is written with the shift profiled out,
    ``0.5 * alpha * sum_c ||scale * (b_c - mean_c b)||^2`` with ``b_0 = 0``:
    equal to the fitted penalty at the estimate, whose symmetric
    coefficients are centred over classes.  The score is Fisher's identity
    from one forward-backward pass.

    Parameters
    ----------
    est : MarkovSwitchingClassifier
        Fitted, homogeneous transitions, built-in logistic experts.
    X : ndarray of shape (n_samples, n_features)
        Validated training inputs.
    y_idx : ndarray of int of shape (n_samples,)
        Training labels as indices into ``est.classes_``.
    bounds : ndarray of int
        Series boundaries.
    """

    def __init__(self, est, X, y_idx, bounds):
        from .._classifier_inference import _contrasts

        self.chain = copy.deepcopy(est._chain)
        self.bounds = bounds
        self.S = self.chain.S
        self.C = C = len(est.classes_)
        self.learned = self.chain.start == "learned"
        Xe, _ = est._split(X)
        # With no expert features, _split hands the experts one column of
        # zeros, whose coefficient is not a parameter of the model.
        no_features = est._expert_cols is not None and est._expert_cols.size == 0
        self.d = d = 0 if no_features else Xe.shape[1]
        n = X.shape[0]
        self.Z1 = np.hstack([Xe[:, :d], np.ones((n, 1))])
        self.Y = np.zeros((n, C))
        self.Y[np.arange(n), y_idx] = 1.0
        ests = est._expert_set.ests
        self.alpha = np.array([float(e.alpha) for e in ests])
        self.scale = [np.asarray(e._scale, dtype=np.float64)[:d] for e in ests]
        E = [_contrasts(np.vstack([e.coef_[:d], e.intercept_[None, :]])) for e in ests]
        self.n_expert = self.S * (C - 1) * (d + 1)
        self.psi = np.concatenate([np.concatenate([b.ravel() for b in E]), chain_psi(self.chain)])

    def _split(self, psi):
        S, C, d = self.S, self.C, self.d
        m = self.n_expert
        E = psi[:m].reshape(S, C - 1, d + 1)
        P = psi[m : m + S * (S - 1)].reshape(S, S - 1)
        p0 = psi[m + S * (S - 1) :] if self.learned else None
        return E, P, p0

    def _emissions(self, psi):
        """Log-probabilities of every class in every regime, the observed labels'
        (``log_emit``), and the chain set to ``psi``'s."""
        E, P, p0 = self._split(psi)
        n = self.Y.shape[0]
        log_p = np.empty((n, self.S, self.C))
        for k in range(self.S):
            logits = np.hstack([np.zeros((n, 1)), self.Z1 @ E[k].T])
            log_p[:, k] = logits - logsumexp(logits, axis=1, keepdims=True)
        L, ls, J = chain_logits_and_jacobian(P, p0)
        self.chain.log_A = L
        if ls is not None:
            self.chain.log_start = ls
        log_emit = np.ascontiguousarray(np.einsum("nkc,nc->nk", log_p, self.Y))
        return log_p, log_emit, J

    def _forward(self, psi):
        """Log-probabilities of every class in every regime, and the E-step."""
        log_p, log_emit, J = self._emissions(psi)
        post = e_step(self.chain, log_emit, self.bounds, None)
        return log_p, post, J

    def loglik_obs(self, psi):
        """``log p(y_t | y_1..t-1)`` of every row at ``psi`` (unpenalised)."""
        _, log_emit, _ = self._emissions(psi)
        return per_step_loglik(self.chain, log_emit, self.bounds, None)

    def penalty(self, psi):
        """The experts' ridge penalties at ``psi`` (profiled over the softmax shift)."""
        E, _, _ = self._split(psi)
        total = 0.0
        for k in range(self.S):
            full = np.vstack([np.zeros(self.d), E[k][:, : self.d]])
            centred = (full - full.mean(axis=0)) * self.scale[k]
            total += 0.5 * self.alpha[k] * float(np.sum(centred * centred))
        return total

    def loglik(self, psi):
        """Exact log-likelihood (forward algorithm), unpenalised."""
        return self._forward(psi)[1]["ll"]

    def objective_grad(self, psi):
        """Gradient of the penalised log-likelihood in ``psi``."""
        from .._classifier_inference import _profiled_penalty_grad

        E, P, p0 = self._split(psi)
        log_p, post, J = self._forward(psi)
        gam = post["gamma"]
        d = self.d
        gE = np.empty_like(E)
        for k in range(self.S):
            resid = (self.Y - np.exp(log_p[:, k]))[:, 1:] * gam[:, k : k + 1]
            gE[k] = resid.T @ self.Z1
            if self.alpha[k] > 0 and d > 0:
                gE[k][:, :d] -= _profiled_penalty_grad(E[k][:, :d], self.alpha[k], self.scale[k])
        g_chain = np.concatenate(chain_score(self.chain, post, self.bounds, None))
        return np.concatenate([gE.ravel(), J.T @ g_chain])

    def steps(self):
        """Central-difference steps: relative for contrasts, inside (0, 1) for probabilities."""
        steps = 1e-5 * np.maximum(np.abs(self.psi), 1.0)
        m = self.n_expert
        steps[m:] = probability_steps(self.psi[m:], self.S)
        return np.maximum(steps, 1e-12)


def markov_classifier_param_names(est, d):
    """Names of ``psi``: ``x[k, c]`` / ``const[k, c]`` (regime k, class c), then the chain's."""
    S = est.n_regimes_
    feats = feature_names(est, est._expert_cols)[:d] + ["const"]
    classes = [str(c) for c in est.classes_]
    out = [
        f"{f}[{k}, {classes[c]}]" for k in range(S) for c in range(1, len(classes)) for f in feats
    ]
    return out + _chain_param_names(est)


def _chain_param_names(est):
    S = est.n_regimes_
    out = [f"p[{i}->{j}]" for i in range(S) for j in range(S - 1)]
    if est.start == "learned":
        out += [f"start[{j}]" for j in range(S - 1)]
    return out


def check_summary_alpha(alpha):
    """Validate the interval level of ``summary`` before any computation."""
    from numbers import Real

    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0.0 < alpha < 1.0:
        raise ValueError(
            f"alpha must be a number in (0, 1) (the intervals' coverage is 1 - alpha); "
            f"got {alpha!r}."
        )
    return float(alpha)


def hqic(llf, n_params, nobs):
    """Hannan-Quinn criterion ``-2 llf + 2 k log(log n)``, statsmodels' ``hqic``."""
    return -2.0 * llf + 2.0 * n_params * np.log(np.log(nobs))


def _check_homogeneous(est):
    if est.transitions != "homogeneous":
        raise NotImplementedError(
            "summary is implemented for transitions='homogeneous' only; this model has "
            "input-dependent transitions."
        )


def _warn_fit_quality(est, names, bad, boundary, what):
    """Warn of a fit that did not converge, of boundary estimates and of a singular information.

    Returns the notes to print under the tables.
    """
    from .._warn import warn_user

    if not est.converged_:
        warn_user(
            "The fit did not converge: the estimate may not be a maximum of the likelihood, "
            "and the standard errors are unreliable. Refit with a larger max_iter.",
            UserWarning,
        )
    notes = []
    on_edge = [n for n, b in zip(names, boundary, strict=True) if b]
    if on_edge:
        # Not a warning: a learned start on a single series always ends on a vertex.
        notes.append(
            f"On the boundary of their range (0 or 1), held fixed, no standard error: "
            f"{', '.join(on_edge)}."
        )
    singular = bad & ~boundary
    if singular.any():
        warn_user(
            "The observed information is not positive definite: the estimate is not a strict "
            f"local maximum of the {what} (a regime without data, a transition probability "
            "at 0 or 1, or collinear features). Standard errors of the affected parameters "
            f"are NaN: {[n for n, b in zip(names, singular, strict=True) if b]}.",
            UserWarning,
        )
    return notes


def markov_classifier_summary_parts(est, X, y_idx, bounds, cov_type="observed"):
    """Keyword arguments of :class:`~skmoe._summary.SummaryResults` for a classifier.

    Parameters
    ----------
    est : MarkovSwitchingClassifier
        Fitted.
    X : ndarray of shape (n_samples, n_features)
        Validated training inputs.
    y_idx : ndarray of int of shape (n_samples,)
        Training labels as indices into ``est.classes_``.
    bounds : ndarray of int
        Series boundaries.
    cov_type : {"observed", "robust"}, default="observed"
        The inverse observed information, or the sandwich with ``J`` the
        outer products of the per-step scores of the unpenalised
        log-likelihood.

    Returns
    -------
    parts : dict
    """
    from ..experts import LogisticExpert

    check_cov_type(cov_type)
    check_is_fitted(est)
    _check_homogeneous(est)
    C = len(est.classes_)
    ests = est._expert_set.ests
    others = sorted({type(e).__name__ for e in ests if type(e) is not LogisticExpert})
    if others:
        raise NotImplementedError(
            "summary is implemented for the built-in logistic experts only (experts=None or "
            f"LogisticExpert); this model's experts include {others}."
        )
    for k, e in enumerate(ests):
        if not np.array_equal(np.asarray(e.classes_), np.arange(C)):
            # A regime whose expert never saw a class has no contrast for it.
            raise NotImplementedError(
                f"summary needs every regime's expert to model all {C} classes; regime {k}'s "
                f"expert was fitted on {len(e.classes_)} of them."
            )
    prob = MarkovClassifierProblem(est, X, y_idx, bounds)
    psi = prob.psi
    grad = prob.objective_grad(psi)
    boundary = boundary_probabilities(psi, prob.n_expert, prob.S)
    info = information_off_boundary(prob.objective_grad, psi, prob.steps(), boundary)
    names = markov_classifier_param_names(est, prob.d)
    cov, bad = covariance_off_boundary(info, boundary)
    if cov_type == "robust":
        cov = sandwich(cov, per_step_scores(prob.loglik_obs, psi, prob.steps(), boundary))
    edge_notes = _warn_fit_quality(est, names, bad, boundary, "(penalised) likelihood")
    S, d = prob.S, prob.d
    classes = [str(c) for c in est.classes_]
    groups = []
    for k in range(S):
        for c in range(1, C):
            start = (k * (C - 1) + c - 1) * (d + 1)
            groups.append(
                (
                    f"Regime {k}: log(p({classes[c]}) / p({classes[0]}))",
                    list(range(start, start + d + 1)),
                )
            )
    groups.append(("Regime transition parameters", list(range(prob.n_expert, psi.size))))
    llf = prob.loglik(psi)
    penalised = bool(d > 0 and np.any(prob.alpha > 0))
    header = {
        "Regimes": S,
        "Classes": C,
        "Start": est.start,
    }
    if penalised:
        header["Expert penalty (alpha)"] = ", ".join(f"{a:g}" for a in prob.alpha)
    header.update(
        {
            "Covariance type": cov_type,
            "Converged": bool(est.converged_),
            "EM iterations": int(est.n_iter_),
            "nobs": X.shape[0],
            "llf": llf,
            "n_params": int(est._n_parameters()),
        }
    )
    if penalised:
        how = (
            "Covariance of the penalised estimate: inverse observed information of the exact "
            "log-likelihood (forward algorithm) penalised by each regime's 0.5 * alpha * "
            "||V||^2 (V its standardised slopes); Hessian by central differences of the "
            "analytic score."
        )
    else:
        how = (
            "Covariance: inverse observed information of the exact log-likelihood (forward "
            "algorithm); Hessian by central differences of the analytic score."
        )
    if cov_type == "robust":
        how = how.replace(
            "inverse observed information",
            "robust sandwich H^-1 J H^-1, H the observed information",
        ).replace("analytic score.", "analytic score; " + _ROBUST_J)
        if penalised:
            how = how.replace("per-step scores of", "per-step scores of the unpenalised")
    return dict(
        param_names=names,
        params=psi,
        cov=cov,
        groups=groups,
        header=header,
        no_test=[n for n in names if n.startswith(("p[", "start["))],
        notes=[
            how,
            f"Coefficients are logit contrasts against class {classes[0]}.",
            "z and P>|z| are NaN for probabilities (no test of zero).",
            *edge_notes,
        ],
        criteria={"HQIC": hqic(llf, int(est._n_parameters()), X.shape[0])},
        extra=dict(
            expected_durations=_durations(est.transition_matrix_),
            score=grad,
            information=info,
            penalised=penalised,
            cov_type=cov_type,
        ),
    )


def _durations(A):
    """Expected regime durations ``1 / (1 - p[k->k])``, in rows (inf for an absorbing regime)."""
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 - np.diag(A))
