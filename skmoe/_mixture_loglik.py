"""The exact observed-data log-likelihood of a fitted mixture, as a function of a flat vector.

One generic path for the regressor's summary, whatever the built-in expert
family (linear-Gaussian, Student-t, Poisson, binomial) and gate (constant,
softmax, hierarchical, Gaussian):

``f(theta) = sum_i w_i log sum_k exp(A_ik + L_ik) - penalty(theta)``

with ``A_ik`` the gate's log-weight of expert k at row i (``log g_k(x_i)``
for the conditional gates; ``log pi_k + log N(x_i; mu_k, Sigma_k)`` for the
Gaussian gate, whose EM maximises the *joint* likelihood of x and y, so that
is the objective whose curvature gives the covariance) and ``L_ik = log
p_k(y_i | x_i)``.  Each component (gate, expert set) gives its log terms and
the derivative of the row's log-likelihood in its own parameters, ``sum_k
r_ik dA_ik / dtheta`` or ``r_ik dL_ik / dtheta`` with ``r_ik`` the
responsibilities: the per-row scores are analytic, their weighted sum is the
gradient, and the Hessian is the central difference of that gradient
(:func:`skmoe._inference.central_hessian`), with the steps of
:meth:`MixtureLikelihood.steps`: 1e-4 of each parameter's standard error
estimated from the scores (unit-free: a feature in any units gets the same
relative accuracy).

Parameters are in the users' units (features and target as given), on an
unconstrained scale where one exists: logit contrasts against the first
expert (or branch) for the gates, ``log sigma`` / ``log s`` / ``log df`` for
scales and degrees of freedom (reported as ``sigma2``, ``scale`` and ``df``
by the delta method, exact for the curvature at a maximum).  The penalties
EM maximises with are part of ``f``: the softmax and hierarchical gates'
``0.5 * alpha * ||V||^2`` on their standardised slopes (written with the
common shift of a softmax profiled out, as in :mod:`skmoe._inference`) and
the GLM experts' ridge; the Gaussian and Student-t experts' tiny
least-squares ridge is numerical insurance, not part of their model, and is
left out.  The Gaussian gate's ``reg_covar`` (a 1e-6 relative floor on its
covariances) is left out too: the estimate is then a maximum to that
relative accuracy.
"""

import numpy as np
from scipy.special import gammaln, log_softmax, logsumexp, psi

from ._kernels._tree import tree_downward, tree_upward
from ._validation import feature_names
from .experts._glm import _BinomialSet, _PoissonSet
from .experts._sets import _LinearGaussianSet
from .experts._student import DF_MAX, DF_MIN, _StudentTSet
from .gating import ConstantGate, GaussianGate, HierarchicalGate, SoftmaxGate

_LOG_2PI = np.log(2.0 * np.pi)
# Rows per block of the scores (a block's scores are (rows, n_params) floats).
_CHUNK_ROWS = 16384


def _profiled_penalty(B, alpha, scale):
    """``0.5 alpha sum_j ||s (b_j - mean b)||^2`` over the rows of ``B`` (plus ``b_0 = 0``), and its gradient.

    ``B`` holds the slopes of the contrasts against the reference (one row
    per non-reference softmax column).  At the fitted estimate the slopes
    sum to zero over the softmax's columns, and this equals the fitted
    penalty ``0.5 alpha ||V||^2``.
    """
    full = np.vstack([np.zeros(B.shape[1]), B]) * scale
    centred = full - full.mean(axis=0)
    return 0.5 * alpha * float(np.sum(centred * centred)), alpha * centred[1:] * scale


# --------------------------------------------------------------------------- #
# Gates
# --------------------------------------------------------------------------- #
class _SoftmaxTerm:
    """Softmax gate (or constant gate: a design of ones) in logit contrasts against expert 0."""

    def __init__(self, moe, X, K):
        gate = moe.gate_
        n = X.shape[0]
        self.K = K
        self.softmax = isinstance(gate, SoftmaxGate)
        if self.softmax:
            self.Zg = np.hstack([moe._gx(X), np.ones((n, 1))])
            eta = np.vstack([gate.coef_, gate.intercept_[None, :]])
            self.alpha, self.scale = float(gate.alpha), np.asarray(gate._scale, dtype=np.float64)
        else:
            self.Zg = np.ones((n, 1))
            eta = np.log(gate.weights_)[None, :]
            self.alpha, self.scale = 0.0, None
        self.q = self.Zg.shape[1]
        self.theta = (eta[:, 1:] - eta[:, :1]).T.ravel()
        feats = feature_names(moe, getattr(moe, "_gate_cols", None)) if self.softmax else []
        feats = feats + ["const"]
        self.names = [f"gate:{f}[{k}]" for k in range(1, K) for f in feats]
        self.groups = [
            (
                f"Gate: log(g_{k} / g_0), expert {k} against expert 0",
                list(range((k - 1) * self.q, k * self.q)),
            )
            for k in range(1, K)
        ]
        self.no_test = []
        self.penalised = self.softmax and self.alpha > 0 and K > 1 and self.q > 1

    def log_weights(self, theta):
        n = self.Zg.shape[0]
        C = theta.reshape(self.K - 1, self.q)
        return log_softmax(np.hstack([np.zeros((n, 1)), self.Zg @ C.T]), axis=1)

    def score(self, theta, A, R):
        D = (R - np.exp(A))[:, 1:]  # (n, K - 1)
        return (D[:, :, None] * self.Zg[:, None, :]).reshape(D.shape[0], -1)

    def penalty(self, theta):
        grad = np.zeros_like(theta)
        if not self.penalised:
            return 0.0, grad
        C = theta.reshape(self.K - 1, self.q)
        val, g = _profiled_penalty(C[:, :-1], self.alpha, self.scale)
        grad.reshape(self.K - 1, self.q)[:, :-1] = g
        return val, grad


class _HierarchicalTerm:
    """A tree of softmax nodes, each in logit contrasts of its branches against branch 0."""

    def __init__(self, moe, X, K):
        gate = moe.gate_
        n = X.shape[0]
        self.K = K
        self.B, self.depth, self.N = int(gate.branching), int(gate.depth), int(gate.n_nodes_)
        self.Zg = np.hstack([moe._gx(X), np.ones((n, 1))])
        self.q = self.Zg.shape[1]
        self.alpha, self.scale = float(gate.alpha), np.asarray(gate._scale, dtype=np.float64)
        eta = np.concatenate([gate.coef_, gate.intercept_[:, None, :]], axis=1)  # (N, q, B)
        self.theta = (eta[:, :, 1:] - eta[:, :, :1]).transpose(0, 2, 1).ravel()
        feats = feature_names(moe, getattr(moe, "_gate_cols", None)) + ["const"]
        m = (self.B - 1) * self.q
        self.names = [
            f"gate{j}:{f}[{b}]" for j in range(self.N) for b in range(1, self.B) for f in feats
        ]
        self.groups = [
            (
                f"Gate node {j}: log(g_{b} / g_0), branch {b} against branch 0",
                list(range(j * m + (b - 1) * self.q, j * m + b * self.q)),
            )
            for j in range(self.N)
            for b in range(1, self.B)
        ]
        self.no_test = []
        self.penalised = self.alpha > 0 and self.q > 1

    def _node_log_proba(self, theta):
        n = self.Zg.shape[0]
        C = theta.reshape(self.N, self.B - 1, self.q)
        logits = np.concatenate(
            [np.zeros((n, self.N, 1)), np.einsum("na,jba->njb", self.Zg, C)], axis=2
        )
        return log_softmax(logits, axis=2)

    def log_weights(self, theta):
        return tree_downward(np.ascontiguousarray(self._node_log_proba(theta)), self.B, self.depth)

    def score(self, theta, A, R):
        # Posterior mass through each branch of each node, minus the node's
        # prior share of the mass reaching it.
        P = np.exp(self._node_log_proba(theta))
        M = tree_upward(np.ascontiguousarray(R), self.B, self.depth)  # (n, N, B)
        reach = M.sum(axis=2, keepdims=True)
        D = (M - reach * P)[:, :, 1:]  # (n, N, B - 1)
        return (D[:, :, :, None] * self.Zg[:, None, None, :]).reshape(D.shape[0], -1)

    def penalty(self, theta):
        grad = np.zeros_like(theta)
        if not self.penalised:
            return 0.0, grad
        C = theta.reshape(self.N, self.B - 1, self.q)
        G = grad.reshape(self.N, self.B - 1, self.q)
        total = 0.0
        for j in range(self.N):
            val, g = _profiled_penalty(C[j, :, :-1], self.alpha, self.scale)
            total += val
            G[j, :, :-1] = g
        return total, grad


class _GaussianGateTerm:
    """The Gaussian gate: ``log pi_k + log N(x; mu_k, Sigma_k)``, in the units of the features.

    Parameters: the log-weight contrasts ``log(pi_k / pi_0)``, then every
    expert's mean, then the covariances' free entries (upper triangle of each
    matrix for "full", of the shared one for "tied"; variances for "diag";
    one variance per expert for "spherical").
    """

    def __init__(self, moe, X, K):
        gate = moe.gate_
        self.K = K
        self.X = np.asarray(moe._gx(X), dtype=np.float64)
        self.d = d = self.X.shape[1]
        self.ct = gate.covariance_type
        w = np.asarray(gate.weights_, dtype=np.float64)
        cov = np.asarray(gate.covariances_, dtype=np.float64)
        self.iu = np.triu_indices(d)
        if self.ct == "full":
            cov_flat = cov[:, self.iu[0], self.iu[1]].ravel()
        elif self.ct == "tied":
            cov_flat = cov[self.iu]
        else:
            cov_flat = cov.ravel()
        self.theta = np.concatenate([np.log(w[1:] / w[0]), gate.means_.ravel(), cov_flat])
        feats = feature_names(moe, getattr(moe, "_gate_cols", None))
        names = [f"gate:log_pi[{k}]" for k in range(1, K)]
        names += [f"gate:mean_{f}[{k}]" for k in range(K) for f in feats]
        pairs = [
            f"var_{feats[a]}" if a == b else f"cov_{feats[a]}_{feats[b]}"
            for a, b in zip(*self.iu, strict=True)
        ]
        if self.ct == "full":
            cov_names = [f"gate:{p}[{k}]" for k in range(K) for p in pairs]
        elif self.ct == "tied":
            cov_names = [f"gate:{p}" for p in pairs]
        elif self.ct == "diag":
            cov_names = [f"gate:var_{f}[{k}]" for k in range(K) for f in feats]
        else:
            cov_names = [f"gate:var[{k}]" for k in range(K)]
        self.names = names + cov_names
        n_w = K - 1
        groups = [("Gate: log(pi_k / pi_0), mixing weights against expert 0", list(range(n_w)))]
        groups.append(("Gate: means of x", list(range(n_w, n_w + K * d))))
        groups.append(("Gate: covariances of x", list(range(n_w + K * d, len(self.names)))))
        self.groups = groups if K > 1 else groups[1:]
        self.no_test = [nm for nm in cov_names if ":var" in nm]
        self.penalised = False

    def _unpack(self, theta):
        K, d = self.K, self.d
        log_w = np.concatenate([[0.0], theta[: K - 1]])
        means = theta[K - 1 : K - 1 + K * d].reshape(K, d)
        c = theta[K - 1 + K * d :]
        if self.ct == "full":
            cov = np.zeros((K, d, d))
            cov[:, self.iu[0], self.iu[1]] = c.reshape(K, -1)
            cov = cov + np.triu(cov, 1).transpose(0, 2, 1)
        elif self.ct == "tied":
            S = np.zeros((d, d))
            S[self.iu] = c
            S = S + np.triu(S, 1).T
            cov = np.broadcast_to(S, (K, d, d))
        elif self.ct == "diag":
            cov = np.stack([np.diag(v) for v in c.reshape(K, d)])
        else:
            cov = c[:, None, None] * np.eye(d)[None]
        return log_softmax(log_w), means, cov

    def _parts(self, theta):
        log_pi, means, cov = self._unpack(theta)
        n = self.X.shape[0]
        A = np.empty((n, self.K))
        Pe, Prec = [], []
        for k in range(self.K):
            e = self.X - means[k]
            try:
                L = np.linalg.cholesky(cov[k])
            except np.linalg.LinAlgError:
                A[:, k] = -np.inf
                Pe.append(np.zeros_like(e))
                Prec.append(np.zeros((self.d, self.d)))
                continue
            Linv = np.linalg.inv(L)
            P = Linv.T @ Linv
            u = e @ Linv.T
            A[:, k] = (
                log_pi[k]
                - 0.5 * self.d * _LOG_2PI
                - np.log(np.diag(L)).sum()
                - 0.5 * np.einsum("na,na->n", u, u)
            )
            Pe.append(e @ P)
            Prec.append(P)
        return A, np.stack(Pe, axis=1), np.stack(Prec)

    def log_weights(self, theta):
        return self._parts(theta)[0]

    def score(self, theta, A, R):
        K, d = self.K, self.d
        _, Pe, Prec = self._parts(theta)  # Pe: (n, K, d)
        pi = np.exp(self._unpack(theta)[0])
        n = R.shape[0]
        s_w = R[:, 1:] - pi[1:]
        s_mu = (R[:, :, None] * Pe).reshape(n, K * d)
        # d log N / d Sigma = 0.5 (P e e^T P - P); an off-diagonal free entry
        # moves both (a, b) and (b, a).
        if self.ct in ("full", "tied"):
            a, b = self.iu
            mult = np.where(a == b, 1.0, 2.0)
            G = 0.5 * (Pe[:, :, a] * Pe[:, :, b] - Prec[:, a, b][None]) * mult  # (n, K, m)
            G = R[:, :, None] * G
            s_c = G.reshape(n, -1) if self.ct == "full" else G.sum(axis=1)
        else:
            diagP = np.einsum("kaa->ka", Prec)
            G = 0.5 * (Pe * Pe - diagP[None])  # (n, K, d)
            if self.ct == "spherical":
                G = G.sum(axis=2, keepdims=True)
            s_c = (R[:, :, None] * G).reshape(n, -1)
        return np.hstack([s_w, s_mu, s_c])

    def penalty(self, theta):
        return 0.0, np.zeros_like(theta)


def gate_term(moe, X, K):
    """The gate's term of the log-likelihood, or NotImplementedError for another gate."""
    gate = moe.gate_
    if isinstance(gate, (SoftmaxGate, ConstantGate)):
        return _SoftmaxTerm(moe, X, K)
    if isinstance(gate, HierarchicalGate):
        return _HierarchicalTerm(moe, X, K)
    if isinstance(gate, GaussianGate):
        return _GaussianGateTerm(moe, X, K)
    raise NotImplementedError(
        "summary is implemented for the built-in gates ('softmax', 'constant', 'gaussian', "
        f"HierarchicalGate); this model's gate is {type(gate).__name__}."
    )


# --------------------------------------------------------------------------- #
# Experts
# --------------------------------------------------------------------------- #
class _ExpertTerm:
    """Shared layout: per expert, slopes then intercept, then the family's extra parameters."""

    def _layout(self, moe, extra_names):
        """``extra_names[k]``: the family's further parameter names of expert k (fit scale)."""
        feats = feature_names(moe, getattr(moe, "_expert_cols", None)) + ["const"]
        self.blocks, self.names = [], []
        start = 0
        for k in range(self.K):
            size = self.p + len(extra_names[k])
            self.blocks.append(list(range(start, start + size)))
            self.names += [f"{f}[{k}]" for f in feats] + [f"{e}[{k}]" for e in extra_names[k]]
            start += size

    def _linear(self, theta):
        """Per-expert linear predictors (n, K) and the coefficient blocks."""
        B = np.stack([theta[b[: self.p]] for b in self.blocks])  # (K, p)
        return self.Ze @ B.T, B

    def penalty(self, theta):
        return 0.0, np.zeros_like(theta)


class _GaussianExpertTerm(_ExpertTerm):
    family = "linear-Gaussian"

    def __init__(self, moe, X, y, K):
        es = moe._expert_set
        self.K, self.y = K, y
        self.Ze = np.hstack([moe._ex(X), np.ones((X.shape[0], 1))])
        self.p = self.Ze.shape[1]
        self._layout(moe, [["log_sigma"]] * K)
        self.theta = np.column_stack([es.coef.T, es.intercept, 0.5 * np.log(es.variance)]).ravel()
        self.report = {self.blocks[k][-1]: ("sigma2", 2.0) for k in range(K)}
        self.fixed = {}

    def log_prob(self, theta):
        mu, _ = self._linear(theta)
        ls = theta[[b[-1] for b in self.blocks]]
        e = self.y[:, None] - mu
        return -0.5 * _LOG_2PI - ls - 0.5 * e * e * np.exp(-2.0 * ls)

    def score(self, theta, R):
        mu, _ = self._linear(theta)
        ls = theta[[b[-1] for b in self.blocks]]
        e = self.y[:, None] - mu
        inv = np.exp(-2.0 * ls)
        out = []
        for k in range(self.K):
            out.append(R[:, k : k + 1] * (e[:, k : k + 1] * inv[k]) * self.Ze)
            out.append((R[:, k] * (e[:, k] ** 2 * inv[k] - 1.0))[:, None])
        return np.hstack(out)


class _StudentTExpertTerm(_ExpertTerm):
    family = "Student-t"

    def __init__(self, moe, X, y, K):
        es = moe._expert_set
        self.K, self.y = K, y
        self.Ze = np.hstack([moe._ex(X), np.ones((X.shape[0], 1))])
        self.p = self.Ze.shape[1]
        df = np.asarray(es.df, dtype=np.float64)
        # Degrees of freedom enter the parameters only where they were
        # estimated and lie inside (DF_MIN, DF_MAX): at a bound the maximum is
        # not a stationary point (DF_MAX: the data as light-tailed as a
        # Gaussian, the likelihood flat in df), so df is held there.
        at_bound = (df <= DF_MIN * (1 + 1e-9)) | (df >= DF_MAX * (1 - 1e-9))
        self.free_df = np.asarray(es.estimate_df, dtype=bool) & ~at_bound
        self.df = df
        self.fixed = {}
        for k in range(K):
            if not self.free_df[k]:
                why = "at its bound" if es.estimate_df[k] else "fixed"
                self.fixed[k] = (float(df[k]), why)
        extra = [["log_scale", "log_df"] if self.free_df[k] else ["log_scale"] for k in range(K)]
        self._layout(moe, extra)
        parts = []
        for k in range(K):
            parts += [es.coef[:, k], [es.intercept[k], 0.5 * np.log(es.scale2[k])]]
            if self.free_df[k]:
                parts.append([np.log(df[k])])
        self.theta = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in parts])
        self.report = {}
        for k in range(K):
            self.report[self.blocks[k][self.p]] = ("scale", 1.0)
            if self.free_df[k]:
                self.report[self.blocks[k][self.p + 1]] = ("df", 1.0)

    def _params(self, theta):
        mu, _ = self._linear(theta)
        log_s = theta[[b[self.p] for b in self.blocks]]
        v = np.array(
            [
                np.exp(theta[b[self.p + 1]]) if self.free_df[k] else self.df[k]
                for k, b in enumerate(self.blocks)
            ]
        )
        e = self.y[:, None] - mu
        delta = e * e * np.exp(-2.0 * log_s)
        return e, log_s, v, delta

    def log_prob(self, theta):
        e, log_s, v, delta = self._params(theta)
        return (
            gammaln(0.5 * (v + 1.0))
            - gammaln(0.5 * v)
            - 0.5 * np.log(v * np.pi)
            - log_s
            - 0.5 * (v + 1.0) * np.log1p(delta / v)
        )

    def score(self, theta, R):
        e, log_s, v, delta = self._params(theta)
        u = (v + 1.0) / (v + delta)  # the E-step's latent weights
        out = []
        for k in range(self.K):
            r = R[:, k]
            out.append((r * u[:, k] * e[:, k] * np.exp(-2.0 * log_s[k]))[:, None] * self.Ze)
            out.append((r * (u[:, k] * delta[:, k] - 1.0))[:, None])
            if self.free_df[k]:
                vk, dk = v[k], delta[:, k]
                d_v = 0.5 * (
                    psi(0.5 * (vk + 1.0))
                    - psi(0.5 * vk)
                    - 1.0 / vk
                    - np.log1p(dk / vk)
                    + (vk + 1.0) * dk / (vk * (vk + dk))
                )
                out.append((r * vk * d_v)[:, None])  # chain rule for log df
        return np.hstack(out)


class _GLMExpertTerm(_ExpertTerm):
    """Poisson (log link) and binomial (logit link) experts, with their ridge."""

    def __init__(self, moe, X, y, K):
        es = moe._expert_set
        self.K = K
        self.poisson = isinstance(es, _PoissonSet)
        self.family = "Poisson" if self.poisson else f"binomial (n_trials={es.n_trials})"
        self.Ze = np.hstack([moe._ex(X), np.ones((X.shape[0], 1))])
        self.p = self.Ze.shape[1]
        self._layout(moe, [[]] * K)
        self.theta = np.column_stack([es.coef.T, es.intercept]).ravel()
        if self.poisson:
            self.t = y
            self.const = -gammaln(y + 1.0)
        else:
            self.m = float(es.n_trials)
            self.t = np.rint(y * self.m)
            self.const = gammaln(self.m + 1) - gammaln(self.t + 1) - gammaln(self.m - self.t + 1)
        ridge = np.asarray(getattr(es, "_ridge", np.zeros(K)), dtype=np.float64)
        scale = getattr(es, "_scale", None)
        self.ridge = ridge if scale is not None else np.zeros(K)
        self.scale = np.ones(self.p - 1) if scale is None else np.asarray(scale, dtype=np.float64)
        self.penalised = bool(np.any(self.ridge > 0) and self.p > 1)
        self.report, self.fixed = {}, {}

    def _mean(self, eta):
        if self.poisson:
            return np.exp(eta)
        return self.m / (1.0 + np.exp(-eta))

    def log_prob(self, theta):
        eta, _ = self._linear(theta)
        if self.poisson:
            b = np.exp(eta)
        else:
            b = self.m * np.logaddexp(0.0, eta)
        return self.t[:, None] * eta - b + self.const[:, None]

    def score(self, theta, R):
        eta, _ = self._linear(theta)
        resid = R * (self.t[:, None] - self._mean(eta))
        return np.hstack([resid[:, k : k + 1] * self.Ze for k in range(self.K)])

    def penalty(self, theta):
        grad = np.zeros_like(theta)
        if not self.penalised:
            return 0.0, grad
        val = 0.0
        for k, b in enumerate(self.blocks):
            slopes = theta[b[: self.p - 1]]
            val += 0.5 * self.ridge[k] * float(np.sum((slopes * self.scale) ** 2))
            grad[b[: self.p - 1]] = self.ridge[k] * self.scale**2 * slopes
        return val, grad


def expert_term(moe, X, y, K):
    """The experts' term of the log-likelihood, or NotImplementedError for other experts."""
    es = moe._expert_set
    if isinstance(es, _LinearGaussianSet):
        return _GaussianExpertTerm(moe, X, y, K)
    if type(es) is _StudentTSet:
        return _StudentTExpertTerm(moe, X, y, K)
    if isinstance(es, (_PoissonSet, _BinomialSet)):
        return _GLMExpertTerm(moe, X, y, K)
    raise NotImplementedError(
        "summary is implemented for the built-in experts only (LinearExpert, StudentTExpert, "
        "PoissonExpert, BinomialExpert, with m_step='weighted'); this model's experts are "
        f"{sorted({type(e).__name__ for e in moe.experts_})}. Use skmoe.inspection."
        "bootstrap_params for other experts' uncertainty, or refit on resampled rows."
    )


# --------------------------------------------------------------------------- #
# The mixture
# --------------------------------------------------------------------------- #
class MixtureLikelihood:
    """The penalised observed-data log-likelihood of a fitted regressor, in flat parameters.

    Parameters
    ----------
    moe : MixtureOfExpertsRegressor
        Fitted, with built-in experts and gate.
    X : ndarray of shape (n_samples, n_features)
        Validated inputs.
    y : ndarray of shape (n_samples,)
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,)
        Frequency weights of the rows.
    """

    def __init__(self, moe, X, y, sample_weight, chunk_rows=_CHUNK_ROWS):
        K = moe._expert_set.n_experts
        self.K = K
        n = X.shape[0]
        # One gate and one expert term per block of rows: the scores of a
        # block are (rows, n_params), so memory stays bounded whatever n.
        self._chunks = []
        for a in range(0, max(n, 1), chunk_rows):
            z = min(a + chunk_rows, n)
            self._chunks.append(
                (gate_term(moe, X[a:z], K), expert_term(moe, X[a:z], y[a:z], K), a, z)
            )
        self.gate, self.experts = self._chunks[0][:2]
        self.sw = sample_weight
        self.n_gate = self.gate.theta.size
        self.theta = np.concatenate([self.gate.theta, self.experts.theta])
        self.penalised = bool(self.gate.penalised or getattr(self.experts, "penalised", False))

    def _split(self, theta):
        return theta[: self.n_gate], theta[self.n_gate :]

    def _block_terms(self, theta, gate, experts):
        tg, te = self._split(theta)
        A = gate.log_weights(tg)
        L = experts.log_prob(te)
        J = A + L
        ll = logsumexp(J, axis=1)
        with np.errstate(invalid="ignore"):
            R = np.exp(J - ll[:, None])
        R = np.where(np.isfinite(R), R, 0.0)
        S = np.hstack([gate.score(tg, A, R), experts.score(te, R)])
        return ll, S

    def _blocks(self, theta):
        """``(ll, S, w)`` of every block of rows, in order."""
        for gate, experts, a, z in self._chunks:
            ll, S = self._block_terms(theta, gate, experts)
            yield ll, S, self.sw[a:z]

    def row_terms(self, theta):
        """Per-row log-likelihood ``(n,)`` and scores ``(n, n_params)`` (unweighted, unpenalised)."""
        parts = list(self._blocks(theta))
        return np.concatenate([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    def penalty(self, theta):
        tg, te = self._split(theta)
        vg, gg = self.gate.penalty(tg)
        ve, ge = self.experts.penalty(te)
        return vg + ve, np.concatenate([gg, ge])

    def objective(self, theta):
        """``sum_i w_i log p_i - penalty``."""
        total = sum(float(w @ ll) for ll, _, w in self._blocks(theta))
        return total - self.penalty(theta)[0]

    def gradient(self, theta):
        """Analytic gradient of :meth:`objective`."""
        grad = sum(w @ S for _, S, w in self._blocks(theta))
        return grad - self.penalty(theta)[1]

    def score_outer(self, theta):
        """``J = sum_i w_i s_i s_i^T``, the weighted sum of the rows' score outer products."""
        return sum((S * w[:, None]).T @ S for _, S, w in self._blocks(theta))

    def steps(self, theta):
        """Difference steps: 1e-4 of each parameter's score-based standard error."""
        opg = sum(w @ (S * S) for _, S, w in self._blocks(theta))
        with np.errstate(divide="ignore"):
            steps = 1e-4 / np.sqrt(opg)
        fallback = 1e-4 * np.maximum(np.abs(theta), 1.0)
        return np.where(np.isfinite(steps) & (opg > 0), steps, fallback)

    def report(self):
        """Names, report-scale estimates and the diagonal Jacobian of the report transform."""
        names = list(self.gate.names) + list(self.experts.names)
        params = self.theta.copy()
        jac = np.ones_like(params)
        for i, (_, power) in self.experts.report.items():
            j = self.n_gate + i
            params[j] = np.exp(power * self.theta[j])
            jac[j] = power * params[j]
        # Report names: log_sigma -> sigma2, log_scale -> scale, log_df -> df.
        rename = {"log_sigma": "sigma2", "log_scale": "scale", "log_df": "df"}
        out = []
        for nm in names:
            base, _, rest = nm.partition("[")
            out.append(f"{rename.get(base, base)}[{rest}" if rest else rename.get(base, base))
        return out, params, jac
