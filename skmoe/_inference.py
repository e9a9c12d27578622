"""Standard errors of a fitted mixture of linear-Gaussian experts.

The observed information is the negative Hessian of the (penalised)
observed-data log-likelihood at the estimate, computed analytically.

Parameterisation
----------------
The flat parameter vector ``theta`` is laid out as follows (K experts, gate
design ``Zg`` with q columns, expert design ``Ze`` with p columns; both end
with the intercept column of ones):

1. Gate, for ``k = 1, ..., K - 1``: the logit contrast of expert k against
   the reference expert 0, ``eta_k = (coef_k - coef_0, intercept_k -
   intercept_0)`` (q values; a softmax gate's slopes then its intercept, a
   constant gate's ``log(pi_k / pi_0)`` alone).  Fixing expert 0 makes the
   gate identifiable: softmax is invariant to a common shift of the logits.
2. Experts, for ``k = 0, ..., K - 1``: slopes, intercept, then
   ``log(sigma_k)``, the log of the noise standard deviation (unconstrained,
   so its curvature is well behaved; ``SE(sigma_k) ~= sigma_k *
   SE(log sigma_k)`` by the delta method).

Penalty
-------
The softmax gate is fitted with ``0.5 * alpha * ||V||^2`` on its
standardised slopes ``V = coef * scale``.  That penalty is part of the
objective EM maximises, so the information returned is that of the
*penalised* log-likelihood: the curvature of the function whose maximiser is
the estimate (a Laplace approximation under the Gaussian prior the penalty
encodes).  In the reference parameterisation the penalty is written with the
common shift profiled out, ``0.5 * alpha * sum_k ||V_k - mean_k V_k||^2``
with ``V_0 = 0``, which equals the fitted penalty at the estimate (the
fitted slopes sum to zero over experts).  With the default ``alpha=1e-2``
the penalty changes standard errors negligibly unless the gate separates
the experts almost perfectly, where it is what keeps them finite.  The
experts' tiny ridge (``LinearExpert.alpha``) is ignored.

Hessian
-------
With ``a_ik = log g_k(x_i) + log N(y_i; Ze_i beta_k, sigma_k^2)``,
``l_i = logsumexp_k a_ik`` and responsibilities ``r_ik``,
``grad^2 l_i = sum_k r_ik (grad^2 a_ik + grad a_ik grad a_ik^T)
- (sum_k r_ik grad a_ik)(sum_k r_ik grad a_ik)^T``; its blocks reduce to
weighted Gram matrices (gate-gate, gate-expert and expert-expert), formed
in row chunks at a cost of about ``n K^2 (d + 2)^2`` flops.
"""

import numpy as np
from scipy import linalg
from scipy.special import log_softmax, logsumexp, ndtr

from ._results import ResultTable
from ._validation import check_sample_weight, feature_names
from ._warn import warn_user
from .experts._sets import _LinearGaussianSet
from .gating import ConstantGate, GaussianGate, HierarchicalGate, SoftmaxGate

_LOG_2PI = np.log(2.0 * np.pi)
_CHUNK_ROWS = 4096


def mixture_loglik_derivatives(
    theta, Zg, Ze, y, sample_weight, n_experts, alpha=0.0, penalty_scale=None
):
    """Penalised log-likelihood of a linear-Gaussian mixture, its gradient and Hessian.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameters, laid out as described in the module docstring.
    Zg : ndarray of shape (n_samples, q)
        Gate design, intercept column last (a single column of ones for a
        constant gate).
    Ze : ndarray of shape (n_samples, p)
        Expert design, intercept column last.
    y, sample_weight : ndarrays of shape (n_samples,)
    n_experts : int
    alpha : float, default=0.0
        Penalty ``0.5 * alpha * sum_k ||V_k - mean V||^2`` on the
        standardised gate slopes ``V_k = penalty_scale * eta_k[:-1]``.
    penalty_scale : ndarray of shape (q - 1,) or None

    Returns
    -------
    objective : float
        ``sum_i w_i log p(y_i | x_i) - penalty``.
    grad : ndarray of shape (n_params,)
    hess : ndarray of shape (n_params, n_params)
    """
    K = n_experts
    m = K - 1
    n, q = Zg.shape
    p = Ze.shape[1]
    n_gate = m * q
    P = n_gate + K * (p + 1)
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (P,):
        raise ValueError(f"theta must have shape ({P},); got {theta.shape}.")
    eta = np.zeros((q, K))
    eta[:, 1:] = theta[:n_gate].reshape(m, q).T
    E = theta[n_gate:].reshape(K, p + 1)
    beta = E[:, :p]
    log_sigma = E[:, p]
    var = np.exp(2.0 * log_sigma)

    obj = 0.0
    g_gate = np.zeros((m, q))
    g_exp = np.zeros((K, p + 1))
    H_gg = np.zeros((m, q, m, q))
    H_ge = np.zeros((m, q, K, p + 1))
    H_ee = np.zeros((K, p + 1, K, p + 1))
    eye_m = np.eye(m)
    onehot = np.eye(K)[1:]  # (m, K): expert j + 1 of gate row j
    for a in range(0, n, _CHUNK_ROWS):
        z = min(a + _CHUNK_ROWS, n)
        zg, ze, yc, w = Zg[a:z], Ze[a:z], y[a:z], sample_weight[a:z]
        logG = log_softmax(zg @ eta, axis=1)
        e = yc[:, None] - ze @ beta.T
        t = e * e / var
        log_phi = -0.5 * _LOG_2PI - log_sigma - 0.5 * t
        A = logG + log_phi
        ll = logsumexp(A, axis=1)
        R = np.exp(A - ll[:, None])
        G = np.exp(logG)
        obj += float(w @ ll)

        # Per-expert score of log N(y; ze beta_k, sigma_k^2): (n, K, p + 1).
        c = np.empty((z - a, K, p + 1))
        c[:, :, :p] = (e / var)[:, :, None] * ze[:, None, :]
        c[:, :, p] = t - 1.0

        # Gradient.
        g_gate += ((R - G)[:, 1:] * w[:, None]).T @ zg
        g_exp += np.einsum("n,nk,nkb->kb", w, R, c)

        # Gate-gate: sum_i w_i [diag(r - g) - (r r^T - g g^T)]_{jl} zg zg^T.
        r1, g1 = R[:, 1:], G[:, 1:]
        C = (r1 - g1)[:, :, None] * eye_m - (
            r1[:, :, None] * r1[:, None, :] - g1[:, :, None] * g1[:, None, :]
        )
        zz = (zg[:, :, None] * zg[:, None, :]).reshape(z - a, q * q)
        H_gg += (
            ((C * w[:, None, None]).reshape(z - a, m * m).T @ zz)
            .reshape(m, m, q, q)
            .transpose(0, 2, 1, 3)
        )

        # Gate-expert: sum_i w_i r_ik (1[k = j] - r_ij) zg c_k^T.
        B = R[:, None, :] * (onehot[None, :, :] - r1[:, :, None])  # (n, m, K)
        H_ge += np.einsum("njk,na,nkb->jakb", B * w[:, None, None], zg, c, optimize=True)

        # Expert-expert: -sum_i w_i (r_ik c_ik)(r_il c_il)^T, plus on the
        # diagonal sum_i w_i r_ik (grad^2 log phi_ik + c_ik c_ik^T).
        rc = (R[:, :, None] * c).reshape(z - a, K * (p + 1))
        H_ee -= ((rc * w[:, None]).T @ rc).reshape(K, p + 1, K, p + 1)
        u = e / var
        f_bb = (t - 1.0) / var  # coefficient of ze ze^T
        f_bs = u * (t - 3.0)  # coefficient of ze (slope/intercept x log sigma)
        f_ss = (t - 1.0) ** 2 - 2.0 * t
        wr = w[:, None] * R
        for k in range(K):
            H_ee[k, :p, k, :p] += ze.T @ (ze * (wr[:, k] * f_bb[:, k])[:, None])
            cross = ze.T @ (wr[:, k] * f_bs[:, k])
            H_ee[k, :p, k, p] += cross
            H_ee[k, p, k, :p] += cross
            H_ee[k, p, k, p] += wr[:, k] @ f_ss[:, k]

    hess = np.zeros((P, P))
    hess[:n_gate, :n_gate] = H_gg.reshape(n_gate, n_gate)
    hess[:n_gate, n_gate:] = H_ge.reshape(n_gate, K * (p + 1))
    hess[n_gate:, :n_gate] = hess[:n_gate, n_gate:].T
    hess[n_gate:, n_gate:] = H_ee.reshape(K * (p + 1), K * (p + 1))
    grad = np.concatenate([g_gate.ravel(), g_exp.ravel()])

    if alpha > 0 and m > 0 and q > 1:
        s = np.asarray(penalty_scale, dtype=np.float64)
        V = theta[:n_gate].reshape(m, q)[:, :-1] * s  # (m, q - 1); V_0 = 0
        V_mean = V.sum(axis=0) / K
        obj -= 0.5 * alpha * (float(np.sum(V * V)) - K * float(V_mean @ V_mean))
        grad_pen = np.zeros((m, q))
        grad_pen[:, :-1] = alpha * (V - V_mean) * s
        grad[:n_gate] -= grad_pen.ravel()
        pen = np.zeros((m, q, m, q))
        block = alpha * (eye_m - 1.0 / K)
        for a_ in range(q - 1):
            pen[:, a_, :, a_] = block * s[a_] ** 2
        hess[:n_gate, :n_gate] -= pen.reshape(n_gate, n_gate)
    return obj, grad, 0.5 * (hess + hess.T)


def central_hessian(grad, theta, steps):
    """Symmetrised central-difference Jacobian of ``grad`` at ``theta`` (a Hessian).

    Parameters
    ----------
    grad : callable
        The analytic gradient, ``grad(theta) -> ndarray of shape (P,)``.
    theta : ndarray of shape (P,)
        The point.
    steps : ndarray of shape (P,)
        The step of each coordinate.

    Returns
    -------
    H : ndarray of shape (P, P)
    """
    P = theta.size
    H = np.empty((P, P))
    for j in range(P):
        e = np.zeros(P)
        e[j] = steps[j]
        H[:, j] = (grad(theta + e) - grad(theta - e)) / (2.0 * steps[j])
    return 0.5 * (H + H.T)


def gate_names_and_groups(moe, K, softmax):
    """The gate's and the experts' feature names, the gate's parameter names
    (logit contrasts of expert ``k`` against expert 0) and their table groups."""
    gate_feats = feature_names(moe, getattr(moe, "_gate_cols", None)) if softmax else []
    gate_feats = gate_feats + ["const"]
    expert_feats = feature_names(moe, getattr(moe, "_expert_cols", None)) + ["const"]
    q = len(gate_feats)
    names = [f"gate:{f}[{k}]" for k in range(1, K) for f in gate_feats]
    groups = [
        (f"Gate: log(g_{k} / g_0), expert {k} against expert 0", list(range((k - 1) * q, k * q)))
        for k in range(1, K)
    ]
    return gate_feats, expert_feats, names, groups


def fit_header(moe, n_rows, llf):
    """The header rows every mixture's summary ends with."""
    return {
        "Converged": bool(getattr(moe, "converged_", True)),
        "EM iterations": int(moe.n_iter_),
        "nobs": n_rows,
        "llf": llf,
        "n_params": int(moe._n_parameters()),
    }


def check_supported(moe):
    """Raise NotImplementedError unless ``moe`` has built-in linear experts and a softmax or constant gate."""
    gate = moe.gate_
    if not isinstance(moe._expert_set, _LinearGaussianSet):
        raise NotImplementedError(
            "standard_errors is implemented for the built-in linear-Gaussian experts only "
            "(experts=None or LinearExpert, m_step='weighted'); this model's experts are "
            f"{sorted({type(e).__name__ for e in moe.experts_})}. summary(X, y) covers every "
            "built-in expert family and gate; skmoe.inspection.bootstrap_params any of them."
        )
    if not isinstance(gate, (SoftmaxGate, ConstantGate)):
        raise NotImplementedError(
            "standard_errors is implemented for gate='softmax' and gate='constant' only; "
            f"this model's gate is {type(gate).__name__}. summary(X, y) covers every "
            "built-in gate."
        )


def flat_parameters(moe, X):
    """Designs, flat parameter vector and names of a fitted model, at validated X.

    Returns
    -------
    Zg, Ze : ndarrays
        Gate and expert designs (intercept column last).
    theta : ndarray of shape (n_params,)
    names : list of str
    alpha : float
    penalty_scale : ndarray or None
    """
    check_supported(moe)
    gate = moe.gate_
    experts = moe._expert_set
    K = experts.n_experts
    n = X.shape[0]
    Xg = moe._gx(X) if hasattr(moe, "_gx") else X
    Xe = moe._ex(X) if hasattr(moe, "_ex") else X
    ones = np.ones((n, 1))
    Ze = np.hstack([Xe, ones])
    gate_cols = getattr(moe, "_gate_cols", None)
    expert_cols = getattr(moe, "_expert_cols", None)
    if isinstance(gate, SoftmaxGate):
        Zg = np.hstack([Xg, ones])
        eta = np.vstack([gate.coef_, gate.intercept_[None, :]])  # (q, K)
        gate_feats = feature_names(moe, gate_cols) + ["intercept"]
        alpha, scale = float(gate.alpha), np.asarray(gate._scale, dtype=np.float64)
    else:
        Zg = ones
        eta = np.log(gate.weights_)[None, :]
        gate_feats = ["intercept"]
        alpha, scale = 0.0, None
    contrasts = (eta[:, 1:] - eta[:, :1]).T  # (K - 1, q)
    expert_params = np.column_stack(
        [experts.coef.T, experts.intercept, 0.5 * np.log(experts.variance)]
    )  # (K, p + 1)
    theta = np.concatenate([contrasts.ravel(), expert_params.ravel()])
    expert_feats = feature_names(moe, expert_cols) + ["intercept", "log_sigma"]
    names = [f"gate[{k} vs 0]:{f}" for k in range(1, K) for f in gate_feats]
    names += [f"expert{k}:{f}" for k in range(K) for f in expert_feats]
    return Zg, Ze, theta, names, alpha, scale


def _invert_information(info, rcond=1e-10):
    """Covariance from the information, and the parameters it cannot identify.

    The information is first scaled to unit diagonal (so features in any
    units compare), then inverted through its eigendecomposition.  Directions
    with eigenvalues below ``rcond`` times the largest are not identified;
    every parameter with a non-negligible loading on one of them gets NaN
    variances and covariances.
    """
    P = info.shape[0]
    d = np.diag(info)
    if P == 0:
        return np.zeros((0, 0)), np.zeros(0, dtype=bool)
    if not np.all(np.isfinite(info)) or np.any(d <= 0):
        bad = ~(d > 0)
        bad |= ~np.isfinite(info).all(axis=1)
        ok = ~bad
        cov = np.full((P, P), np.nan)
        if ok.any():
            sub, sub_bad = _invert_information(info[np.ix_(ok, ok)], rcond)
            idx = np.flatnonzero(ok)
            cov[np.ix_(idx, idx)] = sub
            bad[idx[sub_bad]] = True
        return cov, bad
    scale = 1.0 / np.sqrt(d)
    C = info * scale[:, None] * scale[None, :]
    evals, evecs = linalg.eigh(0.5 * (C + C.T))
    null = evals <= rcond * max(evals.max(), 0.0)
    bad = np.zeros(P, dtype=bool)
    if null.any():
        bad = np.any(np.abs(evecs[:, null]) > 1e-6, axis=1)
    keep = ~null
    cov = (evecs[:, keep] / evals[keep]) @ evecs[:, keep].T
    cov = cov * scale[:, None] * scale[None, :]
    cov[bad, :] = np.nan
    cov[:, bad] = np.nan
    return cov, bad


_NOT_DEFINITE_CAUSES = (
    "EM stopped early, an expert collapsed, or the model is not identifiable, "
    "e.g. collinear features"
)


def covariance_with_warnings(moe, info, names, causes=_NOT_DEFINITE_CAUSES):
    """:func:`_invert_information`, warning about what makes the result unreliable.

    A fit that did not converge may not be at a maximum; an information that
    is not positive definite leaves the named parameters' errors NaN.
    ``causes``: what typically makes it so for this model.
    """
    if not getattr(moe, "converged_", True):
        warn_user(
            "EM did not converge: the estimate may not be a maximum of the likelihood, "
            "and the standard errors are unreliable. Refit with a larger max_iter.",
            UserWarning,
        )
    cov, bad = _invert_information(info)
    if bad.any():
        warn_user(
            "The observed information is not positive definite: the estimate is not a "
            f"strict local maximum of the (penalised) likelihood ({causes}). "
            "Standard errors of the affected parameters are NaN: "
            f"{[n for n, b in zip(names, bad, strict=False) if b]}.",
            UserWarning,
        )
    return cov, bad


def _observed_covariance(moe, X, y, sample_weight, names=None):
    """Flat estimate, its names, covariance and information, with the warnings.

    ``X`` and ``y`` are already validated; ``names``, if given, replace the
    flat names in the warnings.  Returns ``theta, names, cov, info, grad,
    alpha``.
    """
    check_supported(moe)
    sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    Zg, Ze, theta, flat_names, alpha, scale = flat_parameters(moe, X)
    names = flat_names if names is None else names
    K = moe._expert_set.n_experts
    _, grad, hess = mixture_loglik_derivatives(theta, Zg, Ze, y, sw, K, alpha, scale)
    info = -hess
    cov, _ = covariance_with_warnings(moe, info, names)
    return theta, names, cov, info, grad, alpha


def standard_errors(moe, X, y, sample_weight=None):
    """Table of estimates and standard errors; see MixtureOfExpertsRegressor.standard_errors."""
    X, y = moe._check_Xy(X, y)
    theta, names, cov, info, grad, _ = _observed_covariance(moe, X, y, sample_weight)
    var = np.diag(cov)
    with np.errstate(invalid="ignore"):
        se = np.where(var > 0, np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
        z = theta / se
    is_log_sigma = np.array([n.endswith(":log_sigma") for n in names])
    z[is_log_sigma] = np.nan  # a test of log(sigma) = 0 means nothing
    p_value = 2.0 * ndtr(-np.abs(z))
    table = ResultTable(
        parameter=np.array(names, dtype=object),
        estimate=theta,
        std_error=se,
        z=z,
        p_value=p_value,
    )
    table.covariance = cov
    table.information = info
    table.gradient = grad
    return table


COV_TYPES = ("observed", "robust")


def check_cov_type(cov_type):
    """Raise a ValueError naming ``cov_type`` unless it is one of :data:`COV_TYPES`."""
    if not isinstance(cov_type, str) or cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {list(COV_TYPES)}; got {cov_type!r}.")
    return cov_type


def summary_weights(moe, X, sample_weight):
    """The frequency weights of a summary, checked against how the model was fitted.

    The covariance is that of the estimate that maximised the (weighted)
    objective: a model fitted with weights must be summarised with them.
    """
    if sample_weight is None and getattr(moe, "_fit_weighted", False):
        raise ValueError(
            "This model was fitted with sample_weight, so its estimate maximises the weighted "
            "likelihood; pass the same sample_weight to summary (the covariance treats them "
            "as frequency weights). Got sample_weight=None."
        )
    return check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


def _analytic_linear(moe):
    """True when the analytic Hessian of :func:`mixture_loglik_derivatives` applies."""
    return isinstance(moe._expert_set, _LinearGaussianSet) and isinstance(
        moe.gate_, (SoftmaxGate, ConstantGate)
    )


def _insert_fixed(names, params, cov, groups_idx, fixed, blocks, n_gate):
    """Insert NaN-variance rows for parameters held fixed (Student-t df), after their expert."""
    insert = []  # (position in the current arrays after which to insert, name, value)
    for k, (value, _) in sorted(fixed.items()):
        insert.append((n_gate + blocks[k][-1], f"df[{k}]", value))
    if not insert:
        return names, params, cov, groups_idx
    order, new_names, new_params = [], [], []
    for i, nm in enumerate(names):
        order.append(i)
        new_names.append(nm)
        new_params.append(params[i])
        for pos, nm_f, val in insert:
            if pos == i:
                order.append(None)
                new_names.append(nm_f)
                new_params.append(val)
    P = len(new_names)
    new_cov = np.full((P, P), np.nan)
    old = [j for j, o in enumerate(order) if o is not None]
    new_cov[np.ix_(old, old)] = cov
    mapping = {o: j for j, o in enumerate(order) if o is not None}
    new_groups = []
    for title, idx in groups_idx:
        new_idx = [mapping[i] for i in idx]
        if idx:
            last = new_idx[-1]
            while last + 1 < P and order[last + 1] is None:
                last += 1
                new_idx.append(last)
        new_groups.append((title, new_idx))
    return new_names, np.asarray(new_params), new_cov, new_groups


def mixture_summary_parts(moe, X, y, sample_weight=None, cov_type="observed"):
    """Keyword arguments of SummaryResults for a fitted mixture of built-in experts.

    The parameters, in this order: the gate's (logit contrasts of expert
    ``k`` against expert 0 as ``gate:<feature>[k]`` and ``gate:const[k]``
    for the softmax and constant gates; per node and branch for a
    hierarchical gate, ``gate<j>:<feature>[b]``; log-weight contrasts,
    means and covariances of x for a Gaussian gate), then each expert's
    slopes ``<feature>[k]`` and intercept ``const[k]`` and its family's
    further parameters: ``sigma2[k]`` (linear-Gaussian), ``scale[k]`` and
    ``df[k]`` (Student-t).  Scales and degrees of freedom are fitted on the
    log scale and carried over by the delta method (exact for the curvature
    at a maximum, where the score vanishes).

    The observed information is the analytic negative Hessian of
    :func:`mixture_loglik_derivatives` for linear-Gaussian experts with a
    softmax or constant gate, and otherwise central differences of the
    analytic gradient of :class:`skmoe._mixture_loglik.MixtureLikelihood`.
    ``cov_type="robust"`` gives the sandwich ``H^-1 J H^-1``, with ``J``
    the weighted sum of the rows' score outer products.

    Parameters
    ----------
    moe : MixtureOfExpertsRegressor
        Fitted, with built-in experts and gate.
    X : array-like of shape (n_samples, n_features)
        Training inputs.
    y : array-like of shape (n_samples,)
        Training targets.
    sample_weight : array-like of shape (n_samples,), default=None
        The fit's sample weights, taken as frequency weights.
    cov_type : {"observed", "robust"}, default="observed"
        Inverse observed information, or the sandwich.

    Returns
    -------
    parts : dict
        ``param_names``, ``params``, ``cov``, ``groups``, ``header``,
        ``no_test``, ``notes``, ``criteria`` and ``extra``.
    """
    from ._mixture_loglik import MixtureLikelihood

    check_cov_type(cov_type)
    Xv, yv = moe._check_Xy(X, y)
    sw = summary_weights(moe, Xv, sample_weight)
    weighted = not np.all(sw == 1.0)
    lik = MixtureLikelihood(moe, Xv, yv, sw)  # raises NotImplementedError if unsupported
    K = lik.K
    llf = float(sw @ moe.log_likelihood(X, y))
    criteria = {} if weighted else {"ICL": float(moe.icl(X, y))}
    names, params, jac = lik.report()
    theta = lik.theta
    analytic = _analytic_linear(moe)
    if analytic:
        Zg, Ze, theta_a, _, pen, scale = flat_parameters(moe, Xv)
        _, grad, hess = mixture_loglik_derivatives(theta_a, Zg, Ze, yv, sw, K, pen, scale)
    else:
        grad = lik.gradient(theta)
        hess = central_hessian(lik.gradient, theta, lik.steps(theta))
    info = -hess
    cov, _ = covariance_with_warnings(moe, info, names)
    if cov_type == "robust":
        J = lik.score_outer(theta)
        with np.errstate(invalid="ignore"):
            cov = cov @ J @ cov
    cov = cov * jac[:, None] * jac[None, :]  # NaN rows of unidentified parameters stay NaN
    n_gate = lik.n_gate
    groups = list(lik.gate.groups)
    groups += [
        (f"Expert {k} parameters", [n_gate + i for i in lik.experts.blocks[k]]) for k in range(K)
    ]
    fixed = lik.experts.fixed
    names, params, cov, groups = _insert_fixed(
        names, params, cov, groups, fixed, lik.experts.blocks, n_gate
    )
    gate = moe.gate_
    header = {"Gate": type(gate).__name__, "Experts": f"{K} {lik.experts.family}"}
    gate_pen = float(getattr(lik.gate, "alpha", 0.0)) if lik.gate.penalised else 0.0
    if gate_pen > 0:
        header["Gate penalty (alpha)"] = gate_pen
    if getattr(lik.experts, "penalised", False):
        header["Expert penalty (alpha)"] = ", ".join(
            f"{float(e.alpha):g}" for e in moe._expert_set.prototypes
        )
    if weighted:
        header["Sum of weights"] = float(sw.sum())
    header["Covariance type"] = cov_type
    header.update(fit_header(moe, Xv.shape[0], llf))
    how_h = "analytic Hessian" if analytic else "central differences of the analytic gradient"
    if lik.penalised:
        what = (
            "the log-likelihood penalised as the fit is (the gate's 0.5 * alpha * ||V||^2 on "
            "its standardised slopes"
            + (", the experts' ridge" if getattr(lik.experts, "penalised", False) else "")
            + ")"
        )
        lead = "Covariance of the penalised estimate"
    else:
        what = "the exact log-likelihood"
        lead = "Covariance"
    if isinstance(gate, GaussianGate):
        what += " of x and y jointly (the Gaussian gate models x; EM maximises the joint)"
    if cov_type == "robust":
        how = (
            f"{lead}: robust sandwich H^-1 J H^-1, H the observed information of {what}; "
            f"{how_h}; J the sum of the rows' score outer products."
        )
    else:
        how = f"{lead}: inverse observed information of {what}; {how_h}."
    notes = [how]
    if weighted:
        notes.append(
            "Sample weights are taken as frequency weights (a weight of 2 is a row seen twice)."
        )
    contrasts = {
        SoftmaxGate: "Gate coefficients are logit contrasts against expert 0.",
        ConstantGate: "Gate coefficients are logit contrasts against expert 0.",
        HierarchicalGate: "Gate coefficients are logit contrasts of each node's branches "
        "against its branch 0; node j's branches are nodes (or leaves) j * branching + 1 + b.",
        GaussianGate: "Gate: log mixing-weight contrasts against expert 0, means and "
        "covariances of x in its units; variances have no z test.",
    }
    if K > 1:  # one expert has no gate table to explain
        notes.append(contrasts.get(type(gate), ""))
    fam = lik.experts.family
    if fam == "linear-Gaussian":
        notes.append("sigma2: delta method from log sigma; no z test for variances.")
    elif fam == "Student-t":
        msg = "scale and df: delta method from their logs; no z test for them."
        for k, (value, why) in sorted(fixed.items()):
            msg += f" df[{k}] = {value:g} is {why}: not estimated here, no standard error."
        notes.append(msg)
    no_test = list(lik.gate.no_test) + [
        n for n in names if n.split("[")[0] in ("sigma2", "scale", "df")
    ]
    return dict(
        param_names=names,
        params=params,
        cov=cov,
        groups=groups,
        header=header,
        no_test=no_test,
        notes=[n for n in notes if n],
        criteria=criteria,
        extra=dict(
            score=grad / jac,
            information=info / jac[:, None] / jac[None, :],
            penalised=lik.penalised,
            cov_type=cov_type,
        ),
    )
