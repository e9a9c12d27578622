"""Standard errors of a fitted mixture of logistic experts (the classifier's summary).

Parameters, in this order (K experts, C classes, gate design ``Zg`` with q
columns, expert design ``Ze`` with p columns, both ending with the intercept
column of ones):

1. Gate, for ``k = 1, ..., K - 1``: the logit contrast of expert k against
   expert 0 (a softmax gate's slopes then its intercept; a constant gate's
   ``log(pi_k / pi_0)`` alone), as in :mod:`skmoe._inference`.
2. Experts, for ``k = 0, ..., K - 1`` and classes ``c = 1, ..., C - 1``: the
   logit contrast of class c against class 0 in expert k, slopes then
   intercept, in the units of the features.

Both softmaxes are invariant to a common shift, so fixing the reference
column identifies them.  The gate's and the experts' L2 penalties on
standardised slopes are part of the objective EM maximises; written with
the common shift profiled out, ``0.5 * alpha * sum_j ||s * (b_j - mean b)||^2``
(``b_0 = 0``), they equal the fitted penalties at the estimate (fitted
slopes sum to zero over the softmax's columns).  The observed information is
minus the Hessian of that penalised log-likelihood, computed by central
differences of its analytic gradient.
"""

import numpy as np
from scipy.special import log_softmax, logsumexp

from ._inference import (
    central_hessian,
    check_cov_type,
    covariance_with_warnings,
    fit_header,
    gate_names_and_groups,
    summary_weights,
)
from .experts._sets import _LogisticSet
from .gating import ConstantGate, SoftmaxGate


def check_supported(moe):
    """Raise NotImplementedError unless built-in logistic experts and a softmax or constant gate."""
    if type(moe._expert_set) is not _LogisticSet:
        raise NotImplementedError(
            "summary is implemented for the built-in logistic experts only (experts=None or "
            "LogisticExpert, m_step='weighted'); this model's experts are "
            f"{sorted({type(e).__name__ for e in moe.experts_})}."
        )
    if not isinstance(moe.gate_, (SoftmaxGate, ConstantGate)):
        raise NotImplementedError(
            "summary is implemented for gate='softmax' and gate='constant' only; "
            f"this model's gate is {type(moe.gate_).__name__}."
        )


def _contrasts(W):
    """Columns 1.. of ``W`` (rows: coefficients, columns: softmax entries) minus column 0."""
    return (W[:, 1:] - W[:, :1]).T  # (m - 1, rows)


def _profiled_penalty_grad(B, alpha, scale):
    """Gradient of ``0.5 alpha sum_j ||s (b_j - mean b)||^2`` in the contrasts ``B`` (b_0 = 0)."""
    full = np.vstack([np.zeros(B.shape[1]), B])
    centred = full - full.mean(axis=0)
    return alpha * scale**2 * centred[1:]


class _Problem:
    """The penalised log-likelihood's gradient in the flat parameters."""

    def __init__(self, moe, X, y_idx, sample_weight=None):
        gate = moe.gate_
        self.sw = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        experts = moe._expert_set.ests
        self.K, self.C = len(experts), len(moe.classes_)
        n = X.shape[0]
        ones = np.ones((n, 1))
        Xg = moe._gx(X) if isinstance(gate, SoftmaxGate) else np.zeros((n, 0))
        self.Zg = np.hstack([Xg, ones])
        self.Ze = np.hstack([moe._ex(X), ones])
        self.Y = np.zeros((n, self.C))
        self.Y[np.arange(n), y_idx] = 1.0
        if isinstance(gate, SoftmaxGate):
            eta = np.vstack([gate.coef_, gate.intercept_[None, :]])
            self.gate_alpha = float(gate.alpha)
            self.gate_scale = np.asarray(gate._scale, dtype=np.float64)
        else:
            eta = np.log(gate.weights_)[None, :]
            self.gate_alpha, self.gate_scale = 0.0, None
        self.expert_alpha = np.array([float(e.alpha) for e in experts])
        self.expert_scale = [np.asarray(e._scale, dtype=np.float64) for e in experts]
        blocks = [_contrasts(eta).ravel()]
        for e in experts:
            W = np.vstack([e.coef_, e.intercept_[None, :]])  # (p, C)
            blocks.append(_contrasts(W).ravel())
        self.theta = np.concatenate(blocks)
        self.q, self.p = self.Zg.shape[1], self.Ze.shape[1]

    def _unpack(self, theta):
        K, C, q, p = self.K, self.C, self.q, self.p
        m = (K - 1) * q
        G = theta[:m].reshape(K - 1, q)
        E = theta[m:].reshape(K, C - 1, p)
        return G, E

    def loglik(self, theta):
        """Unpenalised log-likelihood ``sum_i log sum_k g_k(x_i) p_k(y_i | x_i)``."""
        return float(self.sw @ logsumexp(self._log_joint(theta)[0], axis=1))

    def _log_joint(self, theta):
        G, E = self._unpack(theta)
        log_g = log_softmax(np.hstack([np.zeros((len(self.Y), 1)), self.Zg @ G.T]), axis=1)
        log_p = []
        for k in range(self.K):
            logits = np.hstack([np.zeros((len(self.Y), 1)), self.Ze @ E[k].T])
            log_p.append(log_softmax(logits, axis=1))
        log_p = np.stack(log_p, axis=1)  # (n, K, C)
        a = log_g + np.einsum("nkc,nc->nk", log_p, self.Y)
        return a, log_g, log_p

    def row_scores(self, theta):
        """Per-row scores of the unpenalised log-likelihood, shape (n, n_params)."""
        a, log_g, log_p = self._log_joint(theta)
        r = np.exp(a - logsumexp(a, axis=1, keepdims=True))  # responsibilities
        n = r.shape[0]
        D = (r - np.exp(log_g))[:, 1:]
        parts = [(D[:, :, None] * self.Zg[:, None, :]).reshape(n, -1)]
        for k in range(self.K):
            resid = (self.Y - np.exp(log_p[:, k]))[:, 1:] * r[:, k : k + 1]  # (n, C - 1)
            parts.append((resid[:, :, None] * self.Ze[:, None, :]).reshape(n, -1))
        return np.hstack(parts)

    def gradient(self, theta):
        """Analytic gradient of the (weighted) penalised log-likelihood."""
        G, E = self._unpack(theta)
        a, log_g, log_p = self._log_joint(theta)
        r = np.exp(a - logsumexp(a, axis=1, keepdims=True))  # responsibilities
        g = np.exp(log_g)
        w = self.sw[:, None]
        dG = ((r - g)[:, 1:] * w).T @ self.Zg  # (K - 1, q)
        if self.gate_alpha > 0 and self.q > 1:
            dG[:, :-1] -= _profiled_penalty_grad(G[:, :-1], self.gate_alpha, self.gate_scale)
        dE = np.empty_like(E)
        for k in range(self.K):
            resid = (self.Y - np.exp(log_p[:, k]))[:, 1:] * (r[:, k : k + 1] * w)  # (n, C - 1)
            dE[k] = resid.T @ self.Ze
            if self.expert_alpha[k] > 0 and self.p > 1:
                dE[k][:, :-1] -= _profiled_penalty_grad(
                    E[k][:, :-1], self.expert_alpha[k], self.expert_scale[k]
                )
        return np.concatenate([dG.ravel(), dE.ravel()])

    def hessian(self, theta, rel_step=1e-5):
        """Central differences of :meth:`gradient`, symmetrised."""
        return central_hessian(self.gradient, theta, rel_step * np.maximum(np.abs(theta), 1.0))


def classifier_summary_parts(moe, X, y, sample_weight=None, cov_type="observed"):
    """Keyword arguments of SummaryResults for a fitted mixture of logistic experts.

    Parameters
    ----------
    moe : MixtureOfExpertsClassifier
        Fitted, with built-in logistic experts and a softmax or constant gate.
    X : array-like of shape (n_samples, n_features)
        Training inputs.
    y : array-like of shape (n_samples,)
        Training labels.
    sample_weight : array-like of shape (n_samples,), default=None
        The fit's sample weights, taken as frequency weights.
    cov_type : {"observed", "robust"}, default="observed"
        Inverse observed information, or the sandwich ``H^-1 J H^-1``
        (``J`` the weighted sum of the rows' score outer products).

    Returns
    -------
    parts : dict
        ``param_names``, ``params``, ``cov``, ``groups``, ``header``,
        ``no_test``, ``notes``, ``criteria`` and ``extra``.
    """
    check_supported(moe)
    check_cov_type(cov_type)
    Xv, y_idx = moe._check_Xy(X, y)  # labels as indices into classes_
    sw = summary_weights(moe, Xv, sample_weight)
    weighted = not np.all(sw == 1.0)
    llf = float(sw @ moe.log_likelihood(X, y))
    criteria = {} if weighted else {"ICL": float(moe.icl(X, y))}
    X = Xv
    prob = _Problem(moe, X, y_idx, sw)
    K, C = prob.K, prob.C
    softmax = isinstance(moe.gate_, SoftmaxGate)
    _, expert_feats, names, groups = gate_names_and_groups(moe, K, softmax)
    classes = [str(c) for c in moe.classes_]
    names += [
        f"{f}[{k}, {classes[c]}]" for k in range(K) for c in range(1, C) for f in expert_feats
    ]
    theta = prob.theta
    grad = prob.gradient(theta)
    info = -prob.hessian(theta)
    cov, _ = covariance_with_warnings(
        moe,
        info,
        names,
        "EM stopped early, a class separated perfectly within an expert, or collinear features",
    )
    if cov_type == "robust":
        S = prob.row_scores(theta)
        with np.errstate(invalid="ignore"):
            cov = cov @ ((S * sw[:, None]).T @ S) @ cov
    q, p = prob.q, prob.p
    n_gate = (K - 1) * q
    for k in range(K):
        for c in range(1, C):
            start = n_gate + (k * (C - 1) + c - 1) * p
            groups.append(
                (
                    f"Expert {k}: log(p({classes[c]}) / p({classes[0]}))",
                    list(range(start, start + p)),
                )
            )
    gate_pen = prob.gate_alpha if (softmax and K > 1 and q > 1) else 0.0
    expert_pen = prob.expert_alpha if p > 1 else np.zeros(K)
    penalised = bool(gate_pen > 0 or np.any(expert_pen > 0))
    header = {"Gate": type(moe.gate_).__name__, "Experts": f"{K} logistic, {C} classes"}
    if gate_pen > 0:
        header["Gate penalty (alpha)"] = gate_pen
    if np.any(expert_pen > 0):
        header["Expert penalty (alpha)"] = ", ".join(f"{a:g}" for a in expert_pen)
    if weighted:
        header["Sum of weights"] = float(sw.sum())
    header["Covariance type"] = cov_type
    header.update(fit_header(moe, X.shape[0], llf))
    if penalised:
        how = (
            "Covariance of the penalised estimate: inverse observed information of the "
            "log-likelihood penalised by the gate's and the experts' 0.5 * alpha * ||V||^2 "
            "(V their standardised slopes); Hessian by central differences of the analytic "
            "gradient."
        )
    else:
        how = (
            "Covariance: inverse observed information of the exact log-likelihood; Hessian "
            "by central differences of the analytic gradient."
        )
    if cov_type == "robust":
        how = how.replace(
            "inverse observed information",
            "robust sandwich H^-1 J H^-1, H the observed information",
        )
        how += " J: the sum of the rows' score outer products."
    notes = [
        how,
        "Gate coefficients are logit contrasts against expert 0, the experts' against "
        f"class {classes[0]}.",
    ]
    if weighted:
        notes.append(
            "Sample weights are taken as frequency weights (a weight of 2 is a row seen twice)."
        )
    return dict(
        param_names=names,
        params=theta,
        cov=cov,
        groups=groups,
        header=header,
        notes=notes,
        criteria=criteria,
        extra=dict(score=grad, information=info, penalised=penalised, cov_type=cov_type),
    )
