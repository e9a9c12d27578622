"""EM against an independent optimiser of the exact likelihood (scipy), on data
drawn from known mixtures of experts.

For data simulated by ``make_moe_regression`` (2 and 3 softmax-gated
linear-Gaussian experts, and a constant-gate mixture of regressions) we

1. fit ``MixtureOfExpertsRegressor`` by EM (built-in linear experts, tight
   EM and gate tolerances, a few restarts);
2. maximise the very same objective with ``scipy.optimize.minimize``
   (L-BFGS-B, analytic gradient written here from scratch with
   ``scipy.special`` only, started from the TRUE parameters);
3. require that EM reached scipy's optimum (per-sample objective equal to
   1e-4), that our own evaluation of the objective at EM's parameters equals
   ``lower_bound_`` (so the library computes the quantity it claims), that
   EM's solution is a stationary point of our objective, and that the true
   parameters are recovered up to a permutation of experts within a joint
   Wald (chi-square) bound from the observed information.

The objective and the choice of penalty
---------------------------------------
``SoftmaxGate(alpha)`` penalises ``0.5 * alpha * ||V||^2`` where ``V`` are the
gate coefficients acting on standardised features ``(x - mean) / std`` (mean
and population std over the training X, weighted by sample_weight; the fits
here have none); the driver monitors
``mean_i log p(y_i|x_i) - penalty / n``.  Rather than making alpha so small
that it "does not matter" (with no penalty the softmax gate has an exactly
flat direction -- adding the same vector to every column of V -- and the
optimum is a ridge, not a point) the oracle parameterises the gate in the
same standardised coordinates and includes the same penalty, so both
optimisers target the same function and the comparison can be tight.
alpha = 1e-3 on n >= 1500 rows is still far too weak to bias the estimates
at the statistical tolerances used below.

The built-in linear expert adds a ridge of 1e-8 (on standardised slopes)
that is not part of the monitored objective; its effect on the per-sample
objective is O(1e-8), four orders below the 1e-4 tolerance, so the oracle
leaves it out.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import linear_sum_assignment, minimize
from scipy.special import log_softmax, logsumexp, softmax
from scipy.stats import chi2
from sklearn.exceptions import ConvergenceWarning

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import make_moe_classification, make_moe_regression
from skmoe.exceptions import DegenerateExpertWarning
from skmoe.experts import LogisticExpert

GATE_ALPHA = 1e-3
LOGLIK_GAP = 1e-4  # per-sample objective: EM vs scipy from the truth
# Joint Wald test of all identifiable parameters at a false-alarm rate of
# 1e-6 (data are seeded, so this is about choosing seeds honestly, not luck).
WALD_LEVEL = 1 - 1e-6


# --------------------------------------------------------------------------- #
# The oracle: exact penalised mixture log-likelihood of a linear-Gaussian MoE
# --------------------------------------------------------------------------- #
class RegressionOracle:
    """``f(theta) = mean_i log sum_k g_k(x_i) N(y_i; x1_i beta_k, s_k^2) - pen / n``.

    theta = (beta (K, d+1) [slopes then intercept], log s (K,), V (d, K), c (K,))
    for a softmax gate ``g = softmax(z V + c)`` with ``z = (x - mean) / std``;
    for a constant gate theta has no V and ``g = softmax(c)``.
    """

    def __init__(self, X, y, K, gate, alpha):
        self.X, self.y, self.K, self.gate, self.alpha = X, y, K, gate, alpha
        self.n, self.d = X.shape
        self.mean = X.mean(axis=0)
        self.std = X.std(axis=0)
        self.Z = (X - self.mean) / self.std
        self.X1 = np.column_stack([X, np.ones(self.n)])

    # parameters ------------------------------------------------------------
    def pack(self, beta, log_s, V, c):
        parts = [beta.ravel(), log_s]
        if self.gate == "softmax":
            parts.append(V.ravel())
        parts.append(c)
        return np.concatenate(parts)

    def unpack(self, theta):
        K, d = self.K, self.d
        i = K * (d + 1)
        beta = theta[:i].reshape(K, d + 1)
        log_s = theta[i : i + K]
        i += K
        if self.gate == "softmax":
            V = theta[i : i + d * K].reshape(d, K)
            i += d * K
        else:
            V = np.zeros((d, K))
        c = theta[i : i + K]
        return beta, log_s, V, c

    def from_raw(
        self, coef, intercept, noise_std, gate_coef=None, gate_intercept=None, weights=None
    ):
        """Parameters in the oracle's coordinates from raw-feature ones."""
        beta = np.column_stack([coef, intercept])
        if self.gate == "softmax":
            V = gate_coef * self.std[:, None]
            c = gate_intercept + self.mean @ gate_coef
        else:
            V, c = None, np.log(weights)
        return self.pack(beta, np.log(noise_std), V, c)

    # objective ---------------------------------------------------------------
    def _parts(self, theta):
        beta, log_s, V, c = self.unpack(theta)
        logits = self.Z @ V + c if self.gate == "softmax" else np.broadcast_to(c, (self.n, self.K))
        log_g = log_softmax(logits, axis=1)
        resid = self.y[:, None] - self.X1 @ beta.T
        inv_var = np.exp(-2 * log_s)
        log_p = -0.5 * np.log(2 * np.pi) - log_s - 0.5 * resid**2 * inv_var
        joint = log_g + log_p
        ll = logsumexp(joint, axis=1)
        return beta, log_s, V, c, log_g, resid, inv_var, joint, ll

    def value(self, theta):
        *_, V, c, _, _, _, _, ll = self._parts(theta)
        return ll.mean() - 0.5 * self.alpha * np.sum(V * V) / self.n

    def value_and_grad(self, theta):
        beta, log_s, V, c, log_g, resid, inv_var, joint, ll = self._parts(theta)
        n = self.n
        f = ll.mean() - 0.5 * self.alpha * np.sum(V * V) / n
        r = np.exp(joint - ll[:, None])  # responsibilities
        g_beta = ((r * resid * inv_var).T @ self.X1) / n
        g_logs = np.sum(r * (resid**2 * inv_var - 1.0), axis=0) / n
        D = r - np.exp(log_g)
        g_c = D.sum(axis=0) / n
        grads = [g_beta.ravel(), g_logs]
        if self.gate == "softmax":
            grads.append(((self.Z.T @ D) - self.alpha * V).ravel() / n)
        grads.append(g_c)
        return f, np.concatenate(grads)

    def maximise(self, theta0):
        def neg(theta):
            f, g = self.value_and_grad(theta)
            return -f, -g

        res = minimize(
            neg,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=20000, maxcor=30, gtol=1e-11, ftol=1e-15),
        )
        return res.x, -res.fun

    # inference -----------------------------------------------------------------
    def gauge(self, theta):
        """Fix the softmax gauge: expert K-1's gate column and intercept are zero."""
        beta, log_s, V, c = self.unpack(theta)
        return self.pack(beta, log_s, V - V[:, -1:], c - c[-1])

    def _reduced_index(self):
        """Indices of theta left free once the gauge is fixed."""
        K, d = self.K, self.d
        p = K * (d + 2)
        keep = list(range(p))
        if self.gate == "softmax":
            keep += [p + j * K + k for j in range(d) for k in range(K - 1)]
            p += d * K
        keep += [p + k for k in range(K - 1)]
        return np.array(keep)

    def information(self, theta):
        """Observed information (total, not per sample) of the unpenalised
        likelihood in the gauge-fixed parameters, by central differences of
        the analytic gradient."""
        theta = self.gauge(theta)
        idx = self._reduced_index()
        alpha, self.alpha = self.alpha, 0.0
        try:
            H = np.empty((idx.size, idx.size))
            for a, j in enumerate(idx):
                h = 1e-5 * max(1.0, abs(theta[j]))
                tp, tm = theta.copy(), theta.copy()
                tp[j] += h
                tm[j] -= h
                H[:, a] = (self.value_and_grad(tp)[1][idx] - self.value_and_grad(tm)[1][idx]) / (
                    2 * h
                )
        finally:
            self.alpha = alpha
        H = -0.5 * (H + H.T) * self.n
        return H, idx


def _fitted_theta(oracle, moe):
    coef = np.array([e.coef_ for e in moe.experts_])
    intercept = np.array([e.intercept_ for e in moe.experts_])
    noise_std = np.sqrt(moe.noise_variance_)
    if oracle.gate == "softmax":
        return oracle.from_raw(coef, intercept, noise_std, moe.gate_.coef_, moe.gate_.intercept_)
    return oracle.from_raw(coef, intercept, noise_std, weights=moe.gate_.weights_)


def _best_permutation(est_vectors, true_vectors):
    """perm[k] = index of the fitted expert matched to true expert k."""
    cost = ((true_vectors[:, None, :] - est_vectors[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(len(rows), dtype=int)
    perm[rows] = cols
    return perm


def _permute(oracle, theta, perm):
    beta, log_s, V, c = oracle.unpack(theta)
    return oracle.pack(beta[perm], log_s[perm], V[:, perm], c[perm])


REGRESSION_CASES = [
    # (id, n_experts, gate, n_samples, noise, seed)
    ("softmax-2", 2, "softmax", 1500, [0.3, 0.6], 0),
    ("softmax-3", 3, "softmax", 3000, [0.3, 0.6, 0.45], 1),
    ("constant-2", 2, "constant", 1500, [0.3, 0.6], 2),
    ("constant-3", 3, "constant", 3000, [0.3, 0.6, 0.45], 3),
]


@pytest.mark.parametrize(
    "K, gate, n, noise, seed",
    [c[1:] for c in REGRESSION_CASES],
    ids=[c[0] for c in REGRESSION_CASES],
)
def test_regressor_matches_scipy_and_recovers_truth(K, gate, n, noise, seed):
    X, y, truth = make_moe_regression(
        n_samples=n, n_features=2, n_experts=K, gate=gate, noise=noise, random_state=seed
    )
    gate_obj = (
        SoftmaxGate(alpha=GATE_ALPHA, max_iter=2000, tol=1e-10) if gate == "softmax" else "constant"
    )
    moe = MixtureOfExpertsRegressor(
        n_experts=K, gate=gate_obj, max_iter=3000, tol=1e-10, n_init=3, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", DegenerateExpertWarning)
        moe.fit(X, y)
    assert moe.converged_

    alpha = GATE_ALPHA if gate == "softmax" else 0.0
    oracle = RegressionOracle(X, y, K, gate, alpha)
    theta_fit = _fitted_theta(oracle, moe)

    # (a) the library computes the objective it reports: our evaluation at
    # EM's parameters equals lower_bound_ (and the per-sample log_likelihood).
    assert_allclose(oracle.value(theta_fit), moe.lower_bound_, rtol=0, atol=1e-9)
    *_, ll_ours = oracle._parts(theta_fit)
    assert_allclose(moe.log_likelihood(X, y), ll_ours, rtol=0, atol=1e-9)

    # (b) EM reached the optimum scipy finds from the true parameters.
    theta_true = oracle.from_raw(
        truth.coef,
        truth.intercept,
        truth.noise_std,
        truth.gate_coef,
        truth.gate_intercept,
        truth.weights,
    )
    theta_opt, f_opt = oracle.maximise(theta_true)
    gap = moe.lower_bound_ - f_opt
    assert abs(gap) < LOGLIK_GAP, (
        f"EM objective {moe.lower_bound_} vs scipy {f_opt} (gap {gap:.2e})"
    )

    # (c) EM's solution is a stationary point of the exact objective.
    _, grad = oracle.value_and_grad(theta_fit)
    assert np.max(np.abs(grad)) < 1e-4, f"max |grad| at EM solution {np.max(np.abs(grad)):.2e}"

    # (d) the truth is recovered up to a permutation of experts.
    beta_fit = np.column_stack(
        [[e.coef_ for e in moe.experts_], [e.intercept_ for e in moe.experts_]]
    )
    beta_true = np.column_stack([truth.coef, truth.intercept])
    perm = _best_permutation(beta_fit, beta_true)
    assert sorted(perm) == list(range(K))
    theta_fit_p = _permute(oracle, theta_fit, perm)
    info, idx = oracle.information(theta_fit_p)
    diff = (oracle.gauge(theta_fit_p) - oracle.gauge(theta_true))[idx]
    wald = float(diff @ info @ diff)
    bound = chi2.ppf(WALD_LEVEL, idx.size)
    assert wald < bound, f"Wald statistic {wald:.1f} >= chi2 bound {bound:.1f} ({idx.size} dof)"

    # Per-parameter checks, readable when they fail (5 standard errors each).
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    z = diff / se
    assert np.max(np.abs(z)) < 5.5, f"max |z| = {np.max(np.abs(z)):.2f}"

    # Gate-implied probabilities, matched by the same permutation.
    g_fit = moe.predict_gate(X)[:, perm]
    if gate == "softmax":
        g_true = softmax(X @ truth.gate_coef + truth.gate_intercept, axis=1)
    else:
        g_true = np.broadcast_to(truth.weights, (n, K))
    # Noise std: relative standard error about 1 / sqrt(2 n_k).
    n_k = g_true.sum(axis=0)
    rel_err = np.abs(np.sqrt(moe.noise_variance_[perm]) / truth.noise_std - 1.0)
    assert np.all(rel_err < 5.0 / np.sqrt(2.0 * n_k)), rel_err
    # The Wald test above is the sharp check; these are loose, readable ones:
    # the average routing error, and each expert's overall share to within
    # 5 binomial standard errors (0.5 / sqrt(n) bounds one).
    assert np.mean(np.abs(g_fit - g_true)) < 0.06
    assert np.max(np.abs(g_fit.mean(axis=0) - g_true.mean(axis=0))) < 2.5 / np.sqrt(n)


# --------------------------------------------------------------------------- #
# Classifier: mixture of logistic experts vs scipy
# --------------------------------------------------------------------------- #
class ClassificationOracle:
    """``mean_i log sum_k g_k(x_i) softmax(z_i A_k + a_k)[y_i] - penalties / n``.

    Experts (``LogisticExpert(alpha=ea)``) and gate (``SoftmaxGate(alpha=ga)``)
    are both parameterised on ``z = (x - mean) / std`` with their own L2
    penalties ``0.5 * alpha * ||A_k||^2`` and ``0.5 * ga * ||V||^2``.
    """

    def __init__(self, X, y, K, C, expert_alpha, gate_alpha):
        self.n, self.d = X.shape
        self.K, self.C = K, C
        self.mean, self.std = X.mean(axis=0), X.std(axis=0)
        self.Z = (X - self.mean) / self.std
        self.Y = np.eye(C)[y]
        self.ea, self.ga = expert_alpha, gate_alpha

    def unpack(self, theta):
        K, C, d = self.K, self.C, self.d
        i = 0
        A = theta[i : i + K * d * C].reshape(K, d, C)
        i += K * d * C
        a = theta[i : i + K * C].reshape(K, C)
        i += K * C
        V = theta[i : i + d * K].reshape(d, K)
        i += d * K
        return A, a, V, theta[i : i + K]

    def pack(self, A, a, V, c):
        return np.concatenate([A.ravel(), a.ravel(), V.ravel(), c])

    def from_raw(self, coef, intercept, gate_coef, gate_intercept):
        A = coef * self.std[None, :, None]
        a = intercept + np.einsum("d,kdc->kc", self.mean, coef)
        V = gate_coef * self.std[:, None]
        c = gate_intercept + self.mean @ gate_coef
        return self.pack(A, a, V, c)

    def _parts(self, theta):
        A, a, V, c = self.unpack(theta)
        log_g = log_softmax(self.Z @ V + c, axis=1)
        log_pk = log_softmax(np.einsum("nd,kdc->nkc", self.Z, A) + a, axis=2)  # (n, K, C)
        log_py = np.einsum("nkc,nc->nk", log_pk, self.Y)
        joint = log_g + log_py
        ll = logsumexp(joint, axis=1)
        pen = 0.5 * self.ga * np.sum(V * V) + 0.5 * self.ea * np.sum(A * A)
        return A, a, V, c, log_g, log_pk, joint, ll, pen

    def value_and_grad(self, theta):
        A, a, V, c, log_g, log_pk, joint, ll, pen = self._parts(theta)
        n = self.n
        r = np.exp(joint - ll[:, None])
        # d ll / d expert logits_kc = r_k (y_c - p_kc)
        E = r[:, :, None] * (self.Y[:, None, :] - np.exp(log_pk))
        gA = (np.einsum("nd,nkc->kdc", self.Z, E) - self.ea * A) / n
        ga = E.sum(axis=0) / n
        D = r - np.exp(log_g)
        gV = (self.Z.T @ D - self.ga * V) / n
        gc = D.sum(axis=0) / n
        return ll.mean() - pen / n, np.concatenate([gA.ravel(), ga.ravel(), gV.ravel(), gc])

    def maximise(self, theta0):
        def neg(theta):
            f, g = self.value_and_grad(theta)
            return -f, -g

        res = minimize(
            neg,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=20000, maxcor=30, gtol=1e-11, ftol=1e-15),
        )
        return res.x, -res.fun


def test_classifier_matches_scipy():
    """Mixture of 2 logistic experts, 3 classes, softmax gate.

    The EM M-steps penalise the gate and the logistic experts
    (``LogisticExpert.alpha`` on coefficients standardised once by the
    sample-weighted X); the oracle maximises that fully penalised objective,
    and ``lower_bound_`` is checked to be exactly it.

    Mixtures of logistic experts are much less well identified than
    linear-Gaussian ones (EM takes hundreds of iterations and has competing
    local optima on many draws); the data use a sharp gate (gate_scale=4) so
    that the experts are distinguishable, and the parameter check is on the
    routing rather than on every class slope.
    """
    K, C, n, seed = 2, 3, 2000, 2
    X, y, truth = make_moe_classification(
        n_samples=n,
        n_features=2,
        n_experts=K,
        n_classes=C,
        gate_scale=4.0,
        coef_scale=3.0,
        random_state=seed,
    )
    ea, ga = 1e-3, GATE_ALPHA
    clf = MixtureOfExpertsClassifier(
        LogisticExpert(alpha=ea, max_iter=2000, tol=1e-8),
        n_experts=K,
        gate=SoftmaxGate(alpha=ga, max_iter=2000, tol=1e-8),
        max_iter=3000,
        tol=1e-9,
        n_init=2,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", DegenerateExpertWarning)
        clf.fit(X, y)
    assert clf.converged_

    oracle = ClassificationOracle(X, y, K, C, ea, ga)
    coef = np.array([e.coef_ for e in clf.experts_])
    intercept = np.array([e.intercept_ for e in clf.experts_])
    theta_fit = oracle.from_raw(coef, intercept, clf.gate_.coef_, clf.gate_.intercept_)
    *_, ll_fit, pen_fit = oracle._parts(theta_fit)

    # The library's per-sample log-likelihood and lower_bound_ are what we
    # compute: lower_bound_ subtracts the gate's and the experts' penalties.
    assert_allclose(clf.log_likelihood(X, y), ll_fit, rtol=0, atol=1e-9)
    assert_allclose(clf.lower_bound_, ll_fit.mean() - pen_fit / n, rtol=0, atol=1e-9)

    # EM reached the optimum scipy finds from the truth, its solution is a
    # stationary point, and scipy started from it cannot improve it.
    f_fit, grad = oracle.value_and_grad(theta_fit)
    theta_true = oracle.from_raw(truth.coef, truth.intercept, truth.gate_coef, truth.gate_intercept)
    _, f_opt = oracle.maximise(theta_true)
    gap = f_fit - f_opt
    assert abs(gap) < LOGLIK_GAP, f"EM penalised objective {f_fit} vs scipy {f_opt} (gap {gap:.2e})"
    assert np.max(np.abs(grad)) < 1e-4, f"max |grad| at EM solution {np.max(np.abs(grad)):.2e}"
    _, f_polished = oracle.maximise(theta_fit)
    assert f_polished - f_fit < LOGLIK_GAP

    # The gate's routing is recovered, up to swapping the two experts.
    g_fit = clf.predict_gate(X)
    g_true = softmax(X @ truth.gate_coef + truth.gate_intercept, axis=1)
    best = min(np.mean(np.abs(g_fit[:, list(p)] - g_true)) for p in ([0, 1], [1, 0]))
    assert best < 0.05
