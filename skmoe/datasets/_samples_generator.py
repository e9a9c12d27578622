"""Synthetic data drawn from known mixtures of experts."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params


def _gate_probs(X, gate, n_experts, rng, gate_scale):
    if gate == "constant":
        pi = rng.dirichlet(np.full(n_experts, 5.0))
        return np.broadcast_to(pi, (X.shape[0], n_experts)).copy(), None, None, pi
    W = gate_scale * rng.standard_normal((X.shape[1], n_experts))
    b = 0.5 * rng.standard_normal(n_experts)
    logits = X @ W + b
    logits -= logits.max(axis=1, keepdims=True)
    G = np.exp(logits)
    G /= G.sum(axis=1, keepdims=True)
    return G, W, b, None


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "gate": [StrOptions({"softmax", "constant"})],
        "noise": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "gate_scale": [Interval(Real, 0, None, closed="left")],
        "coef_scale": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_moe_regression(
    n_samples=1000,
    n_features=2,
    n_experts=3,
    *,
    gate="softmax",
    noise=0.5,
    gate_scale=3.0,
    coef_scale=2.0,
    random_state=None,
):
    """Draw regression data from a gated mixture of linear-Gaussian experts.

    ``x ~ N(0, I)``, ``z | x ~ Categorical(g(x))``,
    ``y | x, z=k ~ N(x . coef_k + intercept_k, noise_k^2)`` with a softmax
    gate ``g(x) = softmax(x W + b)`` or constant proportions.

    Parameters
    ----------
    n_samples, n_features, n_experts : int
        Number of rows.
    gate : {"softmax", "constant"}, default="softmax"
    noise : float or array-like of shape (n_experts,), default=0.5
        Noise standard deviation of each expert.
    gate_scale : float, default=3.0
        Scale of the gate weights: larger is sharper routing.
    coef_scale : float, default=2.0
        Scale of the experts' coefficients and intercepts.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws; pass an int for reproducible fits.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Generated features.
    y : ndarray of shape (n_samples,)
        Generated targets.
    params : Bunch
        The true ``coef`` (n_experts, n_features), ``intercept``,
        ``noise_std``, ``gate_coef`` and ``gate_intercept`` (softmax gate) or
        ``weights`` (constant gate), and the latent ``labels``.
    """
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_samples, n_features))
    G, W, b, pi = _gate_probs(X, gate, n_experts, rng, gate_scale)
    coef = coef_scale * rng.standard_normal((n_experts, n_features))
    intercept = coef_scale * rng.standard_normal(n_experts)
    noise_std = np.broadcast_to(np.asarray(noise, dtype=np.float64), (n_experts,)).copy()
    u = rng.uniform(size=(n_samples, 1))
    z = (u > np.cumsum(G, axis=1)[:, :-1]).sum(axis=1)
    y = (
        np.einsum("nd,nd->n", X, coef[z])
        + intercept[z]
        + noise_std[z] * rng.standard_normal(n_samples)
    )
    params = Bunch(
        coef=coef,
        intercept=intercept,
        noise_std=noise_std,
        gate_coef=W,
        gate_intercept=b,
        weights=pi,
        labels=z,
    )
    return X, y, params


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "gate": [StrOptions({"softmax", "constant"})],
        "gate_scale": [Interval(Real, 0, None, closed="left")],
        "coef_scale": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_moe_classification(
    n_samples=1000,
    n_features=2,
    n_experts=2,
    n_classes=2,
    *,
    gate="softmax",
    gate_scale=3.0,
    coef_scale=3.0,
    random_state=None,
):
    """Draw labels from a gated mixture of multinomial logistic experts.

    Parameters
    ----------
    n_samples, n_features, n_experts, n_classes : int
        Number of rows.
    gate : {"softmax", "constant"}, default="softmax"
    gate_scale, coef_scale : float
        Scales of the gate's and the experts' weights.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws; pass an int for reproducible fits.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Generated features.
    y : ndarray of shape (n_samples,), int
        Generated class labels.
    params : Bunch
        True expert ``coef`` (n_experts, n_features, n_classes) and
        ``intercept`` (n_experts, n_classes), the gate's parameters and the
        latent ``labels``.
    """
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_samples, n_features))
    G, W, b, pi = _gate_probs(X, gate, n_experts, rng, gate_scale)
    coef = coef_scale * rng.standard_normal((n_experts, n_features, n_classes))
    intercept = rng.standard_normal((n_experts, n_classes))
    u = rng.uniform(size=(n_samples, 1))
    z = (u > np.cumsum(G, axis=1)[:, :-1]).sum(axis=1)
    logits = np.einsum("nd,ndc->nc", X, coef[z]) + intercept[z]
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    P /= P.sum(axis=1, keepdims=True)
    v = rng.uniform(size=(n_samples, 1))
    y = (v > np.cumsum(P, axis=1)[:, :-1]).sum(axis=1)
    params = Bunch(
        coef=coef, intercept=intercept, gate_coef=W, gate_intercept=b, weights=pi, labels=z
    )
    return X, y, params
