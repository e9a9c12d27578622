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
"""

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._inference import central_hessian
from ._markov_fit import LinearGaussianPolish, e_step


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
        # Transitions: logits log P[i, j], the last column log(1 - sum).
        off_t += S
        off_p += S
        last = 1.0 - P.sum(axis=1)
        L = np.log(np.column_stack([P, last]))
        for i in range(S):
            for j in range(S - 1):
                col = off_p + i * (S - 1) + j
                J[off_t + i * S + j, col] = 1.0 / P[i, j]
                J[off_t + i * S + S - 1, col] = -1.0 / last[i]
        parts = [B.ravel(), eta, L.ravel()]
        if self.learned:
            off_t += S * S
            off_p += S * (S - 1)
            last0 = 1.0 - p0.sum()
            parts.append(np.log(np.append(p0, last0)))
            for j in range(S - 1):
                J[off_t + j, off_p + j] = 1.0 / p0[j]
                J[off_t + S - 1, off_p + j] = -1.0 / last0
        return np.concatenate(parts), J

    def loglik_and_grad(self, psi):
        """Log-likelihood of ``y`` (up to a constant) and its gradient in ``psi``."""
        theta, J = self.theta_and_jacobian(psi)
        f, g = self.polish.value_and_grad(theta)
        n = self.polish.n
        return -f * n, J.T @ (-g * n)


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
    # Steps: relative to each parameter, kept inside (0, 1) for probabilities
    # and above the floor for variances.
    S, d = par.S, par.d
    steps = 1e-5 * np.maximum(np.abs(psi), 1e-3)
    n_exp = S * (d + 1)
    E, var, P, p0 = par._split(psi)
    floor = pol.floor * pol.ysd**2
    steps[n_exp : n_exp + S] = 1e-5 * (var - floor)
    probs = slice(n_exp + S, psi.size)
    pr = psi[probs]
    steps[probs] = 1e-5 * np.minimum(np.minimum(pr, 1.0 - pr), 0.5)
    steps = np.maximum(steps, 1e-12)
    H = central_hessian(lambda v: par.loglik_and_grad(v)[1], psi, steps)
    return psi, -H, grad, par


def markov_param_names(est):
    """Names of ``psi`` (statsmodels' style: ``const[0]``, ``sigma2[1]``, ``p[0->0]``)."""
    S = est.n_regimes_
    cols = est._expert_cols
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        names = [f"x{j}" for j in range(est.n_features_in_)]
    names = [str(v) for v in names]
    feats = names if cols is None else [names[j] for j in cols]
    out = [f"{f}[{k}]" for k in range(S) for f in feats + ["const"]]
    out += [f"sigma2[{k}]" for k in range(S)]
    out += [f"p[{i}->{j}]" for i in range(S) for j in range(S - 1)]
    if est.start == "learned":
        out += [f"start[{j}]" for j in range(S - 1)]
    return out


def markov_summary_parts(est, X, y, bounds):
    """Keyword arguments of :class:`~skmoe._summary.SummaryResults` for ``est``."""
    from .._inference import _invert_information
    from .._warn import warn_user
    from ..experts._sets import _LinearGaussianSet

    check_is_fitted(est)
    if est.transitions != "homogeneous":
        raise NotImplementedError(
            "summary is implemented for transitions='homogeneous' only; this model has "
            "input-dependent transitions."
        )
    if not isinstance(est._expert_set, _LinearGaussianSet):
        raise NotImplementedError(
            "summary is implemented for the built-in linear-Gaussian experts only "
            "(experts=None or LinearExpert); this model's experts are "
            f"{sorted({type(e).__name__ for e in est.experts_})}."
        )
    psi, info, grad, par = markov_information(est, X, y, bounds)
    names = markov_param_names(est)
    cov, bad = _invert_information(info)
    if not est.converged_:
        warn_user(
            "The fit did not converge: the estimate may not be a maximum of the likelihood, "
            "and the standard errors are unreliable. Refit with a larger max_iter.",
            UserWarning,
        )
    if bad.any():
        warn_user(
            "The observed information is not positive definite: the estimate is not a strict "
            "local maximum of the likelihood (a regime without data, a transition probability "
            "at 0 or 1, or collinear features). Standard errors of the affected parameters "
            f"are NaN: {[n for n, b in zip(names, bad, strict=True) if b]}.",
            UserWarning,
        )
    S, d = par.S, par.d
    n_exp = S * (d + 1)
    groups = [
        (
            f"Regime {k} parameters",
            list(range(k * (d + 1), (k + 1) * (d + 1))) + [n_exp + k],
        )
        for k in range(S)
    ]
    groups.append(("Regime transition parameters", list(range(n_exp + S, psi.size))))
    Xe, Xt = est._split(X)
    llf = e_step(est._chain, est._log_emit(est._expert_set, Xe, y), bounds, Xt)["ll"]
    header = {
        "Regimes": S,
        "Start": est.start,
        "Converged": bool(est.converged_),
        "EM iterations": int(est.n_iter_),
        "Polish iterations": int(est.n_polish_iter_),
        "nobs": X.shape[0],
        "llf": llf,
        "n_params": int(est._n_parameters()),
    }
    A = est.transition_matrix_
    with np.errstate(divide="ignore"):
        durations = 1.0 / (1.0 - np.diag(A))
    return dict(
        param_names=names,
        params=psi,
        cov=cov,
        groups=groups,
        header=header,
        no_test=[n for n in names if n.startswith(("sigma2[", "p[", "start["))],
        notes=[
            "Covariance: inverse observed information of the exact log-likelihood "
            "(numerical Hessian of the analytic score).",
            "z and P>|z| are NaN for variances and probabilities (no test of zero).",
        ],
        extra=dict(expected_durations=durations, score=grad, information=info),
    )
