"""The gate's solver and the parallel row-block passes of the built-in EM.

* ``fit_multinomial`` (warm-started L-BFGS with curvature memory) reaches the
  optimum that scipy's L-BFGS-B reaches, and a partial solve (generalised EM)
  never increases the objective.
* The row-block passes (gate loss/gradient, experts' statistics, E-step
  pieces) give the same result whatever the number of threads, and the same
  as one serial kernel call up to rounding.
* ``blas_single_threaded`` always restores the BLAS thread count.
"""

import threading

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize

import skmoe._threading as skthreading
from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe._kernels import (
    gaussian_log_density,
    log_softmax,
    posterior_from_logs,
    softmax_regression_loss_grad,
)
from skmoe._multinomial import (
    MultinomialSolverState,
    feature_moments,
    fit_multinomial,
    loss_grad_blocks,
    softmax_log_proba,
)
from skmoe.datasets import make_moe_regression
from skmoe.experts._linear import linear_gaussian_log_prob, linear_predict, weighted_linear_stats


def _problem(n=3000, d=4, K=3, seed=0):
    r = np.random.RandomState(seed)
    X = r.randn(n, d) * np.array([1.0, 10.0, 0.1, 3.0])[:d] + np.array([5.0, -2.0, 0.0, 1.0])[:d]
    W_true = r.randn(d, K)
    logits = (X - X.mean(0)) / X.std(0) @ W_true
    P = np.exp(logits - logits.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    T = 0.7 * P + 0.3 * r.dirichlet(np.ones(K), size=n)  # soft targets, rows sum to 1
    w = r.uniform(0.2, 2.0, n)
    return X, T, w


def _objective(X, T, w, alpha, mean, scale, V, c):
    coef = V / scale[:, None]
    b = c - mean @ coef
    loss = softmax_regression_loss_grad(X, coef, b, T, w)[0]
    return loss + 0.5 * alpha * np.sum(V * V)


def _scipy_fit(X, T, w, alpha, mean, scale):
    d, K = X.shape[1], T.shape[1]
    wsum = w.sum()

    def fun(theta):
        V, c = theta[: d * K].reshape(d, K), theta[d * K :]
        coef = V / scale[:, None]
        b = c - mean @ coef
        loss, gW, gb = softmax_regression_loss_grad(X, coef, b, T, w)
        gV = (gW - np.outer(mean, gb)) / scale[:, None] + alpha * V
        return (loss + 0.5 * alpha * np.sum(V * V)) / wsum, np.concatenate([gV.ravel(), gb]) / wsum

    res = minimize(
        fun,
        np.zeros(d * K + K),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-15},
    )
    return res.fun * wsum


@pytest.mark.parametrize("alpha", [1e-2, 10.0])
def test_exact_fit_reaches_the_scipy_optimum(alpha):
    X, T, w = _problem()
    mean, scale = feature_moments(X, w)
    d, K = X.shape[1], T.shape[1]
    V, c, obj, n_iter = fit_multinomial(
        X,
        T,
        w,
        alpha=alpha,
        mean=mean,
        scale=scale,
        V0=np.zeros((d, K)),
        c0=np.zeros(K),
        max_iter=1000,
        tol=1e-10,
    )
    ref = _scipy_fit(X, T, w, alpha, mean, scale)
    assert obj <= ref * (1 + 1e-10)
    assert_allclose(obj, ref, rtol=1e-9)
    assert_allclose(obj, _objective(X, T, w, alpha, mean, scale, V, c), rtol=1e-12)
    assert abs(c.sum()) < 1e-10  # intercepts centred
    assert 0 < n_iter < 1000


def test_partial_steps_never_increase_the_objective_and_memory_helps():
    X, T, w = _problem(seed=1)
    mean, scale = feature_moments(X, w)
    d, K = X.shape[1], T.shape[1]
    r = np.random.RandomState(2)
    V, c = np.zeros((d, K)), np.zeros(K)
    state = MultinomialSolverState()
    for step in range(15):
        # Targets drift, as responsibilities do from one EM iteration to the next.
        T_step = 0.9 * T + 0.1 * r.dirichlet(np.ones(K), size=X.shape[0])
        before = _objective(X, T_step, w, 1e-2, mean, scale, V, c)
        V, c, obj, _ = fit_multinomial(
            X,
            T_step,
            w,
            alpha=1e-2,
            mean=mean,
            scale=scale,
            V0=V,
            c0=c,
            max_iter=1,
            tol=1e-8,
            state=state,
        )
        assert obj <= before * (1 + 1e-14), step
    assert len(state.pairs) > 0
    # A warm start with memory converges in fewer steps than one without.
    kw = dict(alpha=1e-2, mean=mean, scale=scale, max_iter=1000, tol=1e-9)
    T_new = 0.95 * T + 0.05 * r.dirichlet(np.ones(K), size=X.shape[0])
    V_a, c_a, obj_a, it_a = fit_multinomial(X, T_new, w, V0=V, c0=c, state=state, **kw)
    V_b, c_b, obj_b, it_b = fit_multinomial(X, T_new, w, V0=V, c0=c, **kw)
    assert_allclose(obj_a, obj_b, rtol=1e-10)
    assert it_a <= it_b


def test_zero_total_weight_returns_the_start():
    X, T, w = _problem(n=50)
    mean, scale = feature_moments(X, np.ones(50))
    V0 = np.ones((X.shape[1], T.shape[1]))
    V, c, _, n_iter = fit_multinomial(
        X,
        T,
        np.zeros(50),
        alpha=1.0,
        mean=mean,
        scale=scale,
        V0=V0,
        c0=np.zeros(3),
        max_iter=10,
        tol=1e-6,
    )
    assert n_iter == 0
    assert_array_equal(V, V0)


@pytest.fixture
def one_cpu(monkeypatch):
    """Make the row-block helpers run serially, as on a one-CPU machine."""
    monkeypatch.setattr(skthreading, "available_cpus", lambda: 1)


def _big(n=40_000, d=5, K=4, seed=3):
    r = np.random.RandomState(seed)
    X = r.randn(n, d)
    T = r.dirichlet(np.ones(K), size=n)
    w = r.uniform(0, 2, n)
    return X, r.randn(d, K), r.randn(K), T, w, r.randn(n)


def _run_all_passes(X, W, b, T, w, y):
    out = {}
    out["loss_grad"] = loss_grad_blocks(X, W, b, T, w)
    out["stats"] = weighted_linear_stats(X, y, T * w[:, None])
    out["log_proba"] = softmax_log_proba(X, W, b)
    out["predict"] = linear_predict(X, W, b)
    var = np.linspace(0.5, 2.0, W.shape[1])
    out["gauss"] = linear_gaussian_log_prob(X, y, W, b, var)
    lg = softmax_log_proba(X, W, b)
    out["posterior"] = skthreading.blockwise_posterior(lg, out["gauss"])
    return out


def test_row_block_passes_do_not_depend_on_the_number_of_threads(monkeypatch):
    args = _big()
    parallel = _run_all_passes(*args)
    monkeypatch.setattr(skthreading, "available_cpus", lambda: 1)
    serial = _run_all_passes(*args)
    for key in parallel:
        for a, s in zip(
            np.atleast_1d(parallel[key]) if not isinstance(parallel[key], tuple) else parallel[key],
            np.atleast_1d(serial[key]) if not isinstance(serial[key], tuple) else serial[key],
            strict=False,
        ):
            assert_array_equal(a, s, err_msg=key)


def test_row_block_passes_match_single_kernel_calls():
    X, W, b, T, w, y = _big()
    out = _run_all_passes(X, W, b, T, w, y)
    ref = softmax_regression_loss_grad(X, W, b, T, w)
    for a, e in zip(out["loss_grad"], ref, strict=False):
        assert_allclose(a, e, rtol=1e-10)
    assert_allclose(out["log_proba"], log_softmax(X @ W + b), rtol=1e-12, atol=1e-12)
    assert_allclose(out["predict"], X @ W + b, rtol=1e-12, atol=1e-12)
    var = np.linspace(0.5, 2.0, W.shape[1])
    gauss = gaussian_log_density(y, X @ W + b, var)
    assert_allclose(out["gauss"], gauss, rtol=1e-12, atol=1e-12)
    resp, log_norm = posterior_from_logs(log_softmax(X @ W + b), gauss)
    assert_allclose(out["posterior"][0], resp, rtol=1e-10, atol=1e-14)
    assert_allclose(out["posterior"][1], log_norm, rtol=1e-12)
    X1 = np.column_stack([X, np.ones(len(X))])
    Wk = T * w[:, None]
    A = np.einsum("ik,ia,ib->kab", Wk, X1, X1)
    assert_allclose(out["stats"][0], A, rtol=1e-10)


def test_fit_does_not_depend_on_the_number_of_threads(monkeypatch):
    X, y, _ = make_moe_regression(30_000, 3, 3, random_state=0)
    kw = dict(n_experts=3, random_state=0, max_iter=15)
    a = MixtureOfExpertsRegressor(**kw).fit(X, y)
    monkeypatch.setattr(skthreading, "available_cpus", lambda: 1)
    b = MixtureOfExpertsRegressor(**kw).fit(X, y)
    assert_array_equal(a.lower_bounds_, b.lower_bounds_)
    assert_array_equal(a.gate_.coef_, b.gate_.coef_)


def test_default_gate_is_generalised_em_and_still_monotone():
    X, y, _ = make_moe_regression(5000, 3, 3, random_state=1)
    moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0, tol=1e-8, max_iter=60).fit(X, y)
    assert moe.gate_.max_iter == 2 and moe.gate_.n_iter_ <= 2
    lb = moe.lower_bounds_
    assert np.all(np.diff(lb) >= -1e-12 * np.abs(lb[1:]))
    # Exact M-steps reach the same optimum.
    exact = MixtureOfExpertsRegressor(
        n_experts=3,
        random_state=0,
        tol=1e-8,
        max_iter=60,
        gate=SoftmaxGate(max_iter=1000, tol=1e-10),
    ).fit(X, y)
    assert_allclose(moe.lower_bound_, exact.lower_bound_, atol=1e-5)


def test_blas_single_threaded_is_reentrant_and_restores_the_limits():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    original = blas_threads()
    with skthreading.blas_single_threaded():
        assert all(n == 1 for n in blas_threads())
        with skthreading.blas_single_threaded():
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == original

    # From other threads (e.g. restarts in joblib threads) it is a no-op
    # that never changes the process-wide settings.
    barrier = threading.Barrier(3)

    def worker():
        with skthreading.blas_single_threaded():
            barrier.wait()
            barrier.wait()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert blas_threads() == original
    assert skthreading._limit_depth == 0


def test_solver_far_out_is_silent():
    # A start (or a trial point of the line search) far out overflows the
    # penalty V * V (issue 13's hostile-input campaign: "overflow encountered
    # in multiply" with huge sample weights on separable data): the point is
    # refused and the solver goes on from zero, without a RuntimeWarning.
    import warnings

    from skmoe._multinomial import fit_multinomial

    rng = np.random.RandomState(0)
    X = rng.randn(40, 2)
    t = (X[:, 0] > 0).astype(np.intp)
    Y = np.zeros((40, 2))
    Y[np.arange(40), t] = 1
    kw = dict(
        alpha=1.0, mean=np.zeros(2), scale=np.ones(2), c0=np.zeros(2), max_iter=200, tol=1e-10
    )
    ref = fit_multinomial(X, Y, np.ones(40), V0=np.zeros((2, 2)), **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        far = fit_multinomial(X, Y, np.ones(40), V0=np.full((2, 2), 1e160), **kw)
    assert np.all(np.isfinite(far[0])) and np.all(np.isfinite(far[1]))
    np.testing.assert_allclose(far[0], ref[0], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "x, labels",
    [(-1e10, ["c2", "c1", "c0"]), (20567605.88424101, [2, 1, 0])],
    ids=["-1e10", "2e7"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_gradient_change_that_underflows_is_no_curvature(x, labels, seed):
    """Three rows of one constant feature far from zero, three classes (found
    by the hostile-input campaign, seed 20261208): a logistic expert's
    gradient changed by ~1e-175, whose squared norm underflows to 0, and the
    L-BFGS scaling ``s.y / y.H0.y`` divided by zero (ZeroDivisionError inside
    EM). Such a pair carries no curvature and is skipped; the fit is the
    exact optimum, a third for each class."""
    import warnings

    from skmoe import MixtureOfExpertsClassifier

    X = np.full((3, 1), x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MixtureOfExpertsClassifier(n_experts=3, max_iter=15, n_init=1, random_state=seed)
        est.fit(X, np.array(labels))
    assert_allclose(est.predict_proba(X), 1.0 / 3.0, rtol=1e-5)
