"""Every Numba kernel against its slow NumPy twin in ``tests/naive.py``.

The cases are a registry: one entry per exported kernel, each a list of
named input builders ``f(dtype) -> args``.  A kernel (any public
``@njit`` function of a ``skmoe._kernels`` module, exported or not) without a twin in ``naive.py`` *and* cases here makes
``test_every_kernel_has_a_twin_and_cases`` fail, so coverage cannot silently
lapse.

Each case is compared in float64 and in float32 (the float32 inputs are the
float64 ones rounded; the twin then works in float64 on the rounded values),
and is re-run with read-only and with Fortran-ordered / strided inputs: the
kernels must not write their inputs (scikit-learn's checks pass read-only
memmaps) and must not depend on memory layout.
"""

import importlib
import pkgutil

import numpy as np
import pytest
from numba.core.registry import CPUDispatcher
from numpy.testing import assert_allclose, assert_array_equal

import skmoe._kernels as kernels
from skmoe._kernels._config import GATE_FLOOR, PROBA_FLOOR

from . import naive


def _discover_kernels():
    """Every public ``@njit`` function defined in a module of ``skmoe._kernels``,
    exported or not (a kernel on its way in is covered before it is wired)."""
    found = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if (
                isinstance(obj, CPUDispatcher)
                and not name.startswith("_")
                and obj.py_func.__module__ == module.__name__
            ):
                found[name] = obj
    for name in kernels.__all__:
        found[name] = getattr(kernels, name)
    return found


KERNELS = _discover_kernels()
DTYPES = [np.float64, np.float32]
# rtol for the comparison with the float64 twin; atol is rtol times the
# largest finite magnitude of the reference (so that a huge-logit case is
# judged relative to its own scale).
RTOL = {np.float64: 1e-11, np.float32: 2e-5}


def _rng(seed):
    return np.random.RandomState(seed)


def _normalised_log(a):
    a = a - a.max(axis=1, keepdims=True)
    return a - np.log(np.exp(a).sum(axis=1, keepdims=True))


def _grid(a, step=1.0 / 64):
    """Round to a coarse binary grid so that sums stay exact in float32 too."""
    return np.round(a / step) * step


# --------------------------------------------------------------------------- #
# Cases: name -> [(case_id, builder(dtype) -> tuple of args)]
# --------------------------------------------------------------------------- #
def _posterior_random(dt):
    r = _rng(0)
    return (_normalised_log(r.randn(50, 3)).astype(dt), (5 * r.randn(50, 3)).astype(dt))


def _posterior_one_expert(dt):
    r = _rng(1)
    return (np.zeros((7, 1), dt), r.randn(7, 1).astype(dt))


def _posterior_neg_inf_rows(dt):
    r = _rng(2)
    log_gate = _normalised_log(r.randn(6, 4))
    log_lik = r.randn(6, 4)
    log_lik[1] = -np.inf  # every expert gives zero density
    log_gate[2, 0] = -np.inf  # gate gives expert 0 zero probability
    log_gate[3, :2] = -np.inf
    log_lik[3, 2:] = -np.inf  # gate and experts disagree: joint is all -inf
    log_gate[4, 1] = np.log(GATE_FLOOR)  # the floored gate probability
    return (log_gate.astype(dt), log_lik.astype(dt))


def _posterior_huge(dt):
    r = _rng(3)
    log_gate = _grid(_normalised_log(r.randn(20, 3)))
    log_lik = _grid(r.randn(20, 3))
    log_lik[:5] -= 1e4  # deep in the tail for every expert
    log_lik[5:10] += 3e3  # tiny variance: huge densities
    log_lik[10:15, 0] -= 5e3  # one expert hopeless
    log_lik[15:, :] = -2e3  # exact ties
    return (log_gate.astype(dt), log_lik.astype(dt))


def _log_softmax_random(dt):
    return ((3 * _rng(4).randn(40, 5)).astype(dt),)


def _log_softmax_one_column(dt):
    return (_rng(5).randn(6, 1).astype(dt),)


def _log_softmax_huge(dt):
    z = _grid(_rng(6).randn(8, 3))
    z[0] = [1e30, 0.0, -1e30]
    z[1] = [1e4, 1e4, -1e4]
    z[2] = [-1e4, -1e4 - 1.0, -1e4 - 2.0]  # all very negative
    z[3] = [3e38 if dt == np.float32 else 1e300, 1.0, 2.0]  # near overflow
    z[4, 1] = -np.inf  # one class impossible (not the whole row)
    z[5] = 7.0  # all equal
    return (z.astype(dt),)


def _gauss_random(dt):
    r = _rng(7)
    return (r.randn(30).astype(dt), r.randn(30, 3).astype(dt), r.uniform(0.1, 3.0, 3).astype(dt))


def _gauss_extreme(dt):
    r = _rng(8)
    y = r.randn(12)
    mean = r.randn(12, 4)
    mean[:3, 0] = y[:3]  # exact fit: residual zero
    var = np.array([1e-20, 1e30, 1.0, 1e-6])  # tiny and huge variances
    y[5] = 1e6  # outlier (r^2 / var stays below the float32 overflow)
    return (y.astype(dt), mean.astype(dt), var.astype(dt))


def _gauss_one_expert(dt):
    r = _rng(9)
    return (r.randn(5).astype(dt), r.randn(5, 1).astype(dt), np.array([0.5], dt))


def _soft_targets(r, n, K):
    t = r.dirichlet(np.ones(K), size=n)
    t[::5] = np.eye(K)[r.randint(K, size=len(t[::5]))]  # some one-hot rows
    return t


def _sce_random(dt):
    r = _rng(10)
    w = r.uniform(0, 2, 40)
    w[::7] = 0.0
    return ((2 * r.randn(40, 3)).astype(dt), _soft_targets(r, 40, 3).astype(dt), w.astype(dt))


def _sce_unnormalised_targets(dt):
    r = _rng(11)
    t = r.uniform(0, 1, (15, 4))
    t[0] = 0.0  # a row without target mass
    t[1] *= 10.0
    return (r.randn(15, 4).astype(dt), t.astype(dt), r.uniform(0.5, 1.5, 15).astype(dt))


def _sce_huge_logits(dt):
    r = _rng(12)
    z = _grid(r.randn(10, 3))
    z[0] = [1e4, -1e4, 0.0]
    z[1] = [-1e4, -1e4, -1e4 + 1.0]
    z[2] = [1e20, 0.0, -1e20]
    z[3] = [50.0, -50.0, 0.0]
    t = _soft_targets(r, 10, 3)
    t[0] = [0.0, 1.0, 0.0]  # all the target mass on the impossible class
    t[2] = [0.25, 0.5, 0.25]
    return (z.astype(dt), t.astype(dt), r.uniform(0.5, 1.5, 10).astype(dt))


def _sce_zero_weights(dt):
    r = _rng(13)
    return (r.randn(6, 2).astype(dt), _soft_targets(r, 6, 2).astype(dt), np.zeros(6, dt))


def _srl_random(dt):
    r = _rng(14)
    w = r.uniform(0, 2, 40)
    w[::6] = 0.0
    return (
        r.randn(40, 3).astype(dt),
        r.randn(3, 4).astype(dt),
        r.randn(4).astype(dt),
        _soft_targets(r, 40, 4).astype(dt),
        w.astype(dt),
    )


def _srl_huge_logits(dt):
    r = _rng(15)
    X = _grid(r.randn(25, 2))
    W = 1e3 * np.array([[1.0, -1.0, 0.0], [0.5, 0.0, -0.5]])
    return (
        X.astype(dt),
        W.astype(dt),
        np.array([0.0, 1.0, -1.0], dt),
        _soft_targets(r, 25, 3).astype(dt),
        r.uniform(0.5, 1.5, 25).astype(dt),
    )


def _srl_zero_weight_rows(dt):
    r = _rng(16)
    X = r.randn(12, 2)
    w = r.uniform(0.5, 1.5, 12)
    X[3] = [1e30, -1e30]  # wild rows that carry no weight
    w[3] = 0.0
    w[7] = 0.0
    return (
        X.astype(dt),
        r.randn(2, 2).astype(dt),
        r.randn(2).astype(dt),
        _soft_targets(r, 12, 2).astype(dt),
        w.astype(dt),
    )


def _srl_all_zero_weights(dt):
    r = _rng(17)
    return (
        r.randn(5, 3).astype(dt),
        r.randn(3, 2).astype(dt),
        r.randn(2).astype(dt),
        _soft_targets(r, 5, 2).astype(dt),
        np.zeros(5, dt),
    )


def _lpl_random(dt):
    r = _rng(18)
    p = r.dirichlet(np.ones(4), size=30)
    return (p.astype(dt), r.randint(4, size=30).astype(np.intp), PROBA_FLOOR)


def _lpl_floor_and_nan(dt):
    p = np.full((8, 3), 1.0 / 3)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype=np.int64)
    p[0, 0] = 0.0  # impossible label: floored, not -inf
    p[1, 1] = 1e-12  # below the floor
    p[2, 2] = np.nan  # misbehaving expert
    p[3, 0] = 1.0
    p[4, 1] = -0.1  # negative probability: floored
    p[5, 2] = 1e-3
    p[6, 0] = np.nan
    p[6, 1] = 1.0  # NaN elsewhere in the row must not matter unless it is the label
    p[7, 1] = np.inf  # garbage in: the kernel does not clip from above
    return (p.astype(dt), y, PROBA_FLOOR)


def _lpl_other_floor(dt):
    r = _rng(19)
    p = r.uniform(0, 0.2, (20, 2))
    return (p.astype(dt), r.randint(2, size=20).astype(np.int32), 0.05)


def _wsums_random(dt):
    r = _rng(31)
    return (r.uniform(0, 3, 70).astype(dt), r.randn(70, 4).astype(dt))


def _wsums_zero_weights(dt):
    r = _rng(32)
    w = r.uniform(0, 1, 9)
    w[::2] = 0.0
    return (w.astype(dt), (1e8 + r.randn(9, 3)).astype(dt))


def _wsq_random(dt):
    r = _rng(33)
    A = (5.0 + r.randn(50, 3)).astype(dt)
    return (r.uniform(0, 2, 50).astype(dt), A, A.mean(axis=0).astype(dt))


def _node_log_proba(r, n, branching, depth):
    n_nodes = (branching**depth - 1) // (branching - 1)
    return _normalised_log(r.randn(n * n_nodes, branching)).reshape(n, n_nodes, branching)


def _tree_down_binary(dt):
    return (_node_log_proba(_rng(20), 7, 2, 3).astype(dt), 2, 3)


def _tree_down_ternary(dt):
    return (_node_log_proba(_rng(21), 5, 3, 2).astype(dt), 3, 2)


def _tree_down_one_level(dt):
    return (_node_log_proba(_rng(22), 4, 4, 1).astype(dt), 4, 1)


def _tree_down_impossible_branch(dt):
    lp = _node_log_proba(_rng(23), 6, 2, 2)
    lp[0, 0, 1] = -np.inf  # root never goes right for sample 0
    lp[1, 2, :] = [0.0, -np.inf]
    lp[2, 1, 0] = np.log(GATE_FLOOR)
    return (lp.astype(dt), 2, 2)


def _tree_up_binary(dt):
    r = _rng(24)
    return (r.dirichlet(np.ones(8), size=9).astype(dt), 2, 3)


def _tree_up_ternary(dt):
    r = _rng(25)
    resp = r.dirichlet(np.ones(9), size=6)
    resp[0] = np.eye(9)[4]  # all mass on one leaf
    resp[1] = 0.0  # a zero-weight row
    return (resp.astype(dt), 3, 2)


def _t_random(dt):
    r = _rng(26)
    return (
        r.randn(25).astype(dt),
        r.randn(25, 3).astype(dt),
        r.uniform(0.2, 2.0, 3).astype(dt),
        np.array([1.0, 4.0, 30.0], dt),
    )


def _t_extreme(dt):
    r = _rng(27)
    y = r.randn(10)
    y[0] = 1e6  # gross outlier
    loc = r.randn(10, 4)
    loc[1] = y[1]  # exact fit
    scale2 = np.array([1e-12, 1e6, 1.0, 0.5])
    df = np.array([0.5, 1e6, 1.0, 2.5])  # heavy tails ... nearly Gaussian
    return (y.astype(dt), loc.astype(dt), scale2.astype(dt), df.astype(dt))


def _poisson_random(dt):
    r = _rng(28)
    return (r.poisson(3.0, 30).astype(dt), r.uniform(-2, 3, (30, 3)).astype(dt))


def _poisson_extreme(dt):
    r = _rng(29)
    y = np.array([0, 0, 1, 5, 1000, 0, 40, 2], dtype=float)
    eta = r.uniform(-1, 1, (8, 3))
    eta[0] = [-30.0, 0.0, 30.0]
    eta[4] = [np.log(1000.0), -5.0, 20.0]
    eta[5] = -1e3  # mean ~ 0, y = 0: log-density ~ 0
    return (y.astype(dt), eta.astype(dt))


def _binomial_random(dt):
    r = _rng(30)
    m = r.randint(1, 20, 30).astype(float)
    s = np.floor(r.uniform(0, 1, 30) * (m + 1))
    return (s.astype(dt), m.astype(dt), (2 * r.randn(30, 3)).astype(dt))


def _binomial_extreme(dt):
    m = np.array([1, 1, 10, 10, 10, 500, 1, 3], dtype=float)
    s = np.array([0, 1, 0, 10, 5, 250, 1, 0], dtype=float)
    eta = np.zeros((8, 3))
    eta[:, 0] = 1e3  # p -> 1
    eta[:, 1] = -1e3  # p -> 0
    eta[:, 2] = [0.0, 0.5, -40.0, 40.0, 1.0, 0.01, -800.0, 800.0]
    return (s.astype(dt), m.astype(dt), eta.astype(dt))


CASES = {
    "weighted_column_sums": [("random", _wsums_random), ("zero_weights", _wsums_zero_weights)],
    "weighted_centred_squares": [("random", _wsq_random)],
    "posterior_from_logs": [
        ("random", _posterior_random),
        ("one_expert", _posterior_one_expert),
        ("neg_inf_rows", _posterior_neg_inf_rows),
        ("huge", _posterior_huge),
    ],
    "log_softmax": [
        ("random", _log_softmax_random),
        ("one_column", _log_softmax_one_column),
        ("huge", _log_softmax_huge),
    ],
    "gaussian_log_density": [
        ("random", _gauss_random),
        ("extreme", _gauss_extreme),
        ("one_expert", _gauss_one_expert),
    ],
    "softmax_cross_entropy": [
        ("random", _sce_random),
        ("unnormalised_targets", _sce_unnormalised_targets),
        ("huge_logits", _sce_huge_logits),
        ("zero_weights", _sce_zero_weights),
    ],
    "softmax_regression_loss_grad": [
        ("random", _srl_random),
        ("huge_logits", _srl_huge_logits),
        ("zero_weight_rows", _srl_zero_weight_rows),
        ("all_zero_weights", _srl_all_zero_weights),
    ],
    "tree_downward": [
        ("binary_depth3", _tree_down_binary),
        ("ternary_depth2", _tree_down_ternary),
        ("one_level", _tree_down_one_level),
        ("impossible_branch", _tree_down_impossible_branch),
    ],
    "tree_upward": [
        ("binary_depth3", _tree_up_binary),
        ("ternary_depth2", _tree_up_ternary),
    ],
    "student_t_log_density": [("random", _t_random), ("extreme", _t_extreme)],
    "student_t_weights": [("random", _t_random), ("extreme", _t_extreme)],
    "poisson_log_density": [("random", _poisson_random), ("extreme", _poisson_extreme)],
    "binomial_log_density": [("random", _binomial_random), ("extreme", _binomial_extreme)],
    "log_proba_of_labels": [
        ("random", _lpl_random),
        ("floor_and_nan", _lpl_floor_and_nan),
        ("other_floor", _lpl_other_floor),
    ],
}

ALL_CASES = [
    pytest.param(name, builder, id=f"{name}-{case_id}")
    for name, cases in CASES.items()
    if name in KERNELS  # cases for a kernel that was removed are ignored
    for case_id, builder in cases
]


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _assert_close(actual, expected, dtype, what):
    actual, expected = _as_tuple(actual), _as_tuple(expected)
    assert len(actual) == len(expected), what
    rtol = RTOL[dtype]
    for j, (a, e) in enumerate(zip(actual, expected, strict=False)):
        a = np.asarray(a)
        e = np.asarray(e, dtype=np.float64)
        assert a.shape == e.shape, f"{what}, output {j}: shape {a.shape} != {e.shape}"
        assert np.issubdtype(a.dtype, np.floating), f"{what}, output {j}: dtype {a.dtype}"
        finite = e[np.isfinite(e)]
        scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
        # Same -inf / +inf / NaN pattern, and close elsewhere.
        assert_allclose(
            a.astype(np.float64),
            e,
            rtol=rtol,
            atol=rtol * scale,
            equal_nan=True,
            err_msg=f"{what}, output {j}",
        )


def _readonly(args):
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            a = a.copy()
            a.flags.writeable = False
        out.append(a)
    return tuple(out)


def _fortran_or_strided(args):
    """2-D and 3-D arrays in Fortran order, 1-D arrays as strided views."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim >= 2:
            a = np.asfortranarray(a)
        elif isinstance(a, np.ndarray) and a.ndim == 1:
            big = np.empty(2 * a.shape[0], dtype=a.dtype)
            big[::2] = a
            a = big[::2]
        out.append(a)
    return tuple(out)


# --------------------------------------------------------------------------- #
# Tests
# --------------------------------------------------------------------------- #
def test_every_kernel_has_a_twin_and_cases():
    assert set(kernels.__all__) <= set(KERNELS)
    assert KERNELS, "skmoe._kernels defines no kernels"
    missing_twin = sorted(n for n in KERNELS if not callable(getattr(naive, n, None)))
    missing_cases = sorted(set(KERNELS) - set(CASES))
    assert not missing_twin, f"kernels without a NumPy twin in tests/naive.py: {missing_twin}"
    assert not missing_cases, f"kernels without cases in tests/test_kernels.py: {missing_cases}"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name, builder", ALL_CASES)
def test_kernel_matches_naive(name, builder, dtype):
    args = builder(dtype)
    expected = getattr(naive, name)(*args)
    actual = KERNELS[name](*args)
    _assert_close(actual, expected, dtype, f"{name} ({np.dtype(dtype).name})")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name, builder", ALL_CASES)
def test_kernel_does_not_write_its_inputs(name, builder, dtype):
    kernel = KERNELS[name]
    args = builder(dtype)
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    reference = _as_tuple(kernel(*args))
    # Writeable inputs come back untouched ...
    for a, b in zip(args, before, strict=False):
        if isinstance(a, np.ndarray):
            assert_array_equal(a, b, err_msg=f"{name} modified an input")
    # ... and read-only inputs are accepted and give the very same result.
    ro = _readonly(args)
    result = _as_tuple(kernel(*ro))
    for r, e in zip(result, reference, strict=False):
        assert_array_equal(r, e, err_msg=f"{name}: read-only inputs changed the result")
    for a, b in zip(ro, before, strict=False):
        if isinstance(a, np.ndarray):
            assert_array_equal(a, b)


@pytest.mark.parametrize("name, builder", ALL_CASES)
def test_kernel_independent_of_memory_layout(name, builder):
    kernel = KERNELS[name]
    args = builder(np.float64)
    reference = _as_tuple(kernel(*args))
    result = _as_tuple(kernel(*_fortran_or_strided(args)))
    for r, e in zip(result, reference, strict=False):
        # Same arithmetic in the same order: equal up to the last bit, except
        # that BLAS-free loops over a different layout may not reassociate.
        assert_allclose(r, e, rtol=1e-13, atol=0, equal_nan=True, err_msg=name)


# --------------------------------------------------------------------------- #
# Contract details worth stating on their own
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_posterior_all_neg_inf_row_is_uniform_not_nan(dtype):
    log_gate = np.log(np.array([[0.5, 0.5], [0.2, 0.8]], dtype))
    log_lik = np.array([[-np.inf, -np.inf], [0.0, -1.0]], dtype)
    resp, log_norm = kernels.posterior_from_logs(log_gate, log_lik)
    assert not np.isnan(resp).any()
    assert_allclose(resp[0], [0.5, 0.5])
    assert log_norm[0] == -np.inf
    assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_posterior_flushes_subnormal_responsibilities_to_zero(dtype):
    # exp(-720) is subnormal: such a responsibility is exactly 0 (arithmetic
    # on subnormals slowed the experts' M-step 2.5-3.4x); normal ones stay.
    log_gate = np.log(np.full((3, 2), 0.5, dtype))
    log_lik = np.array([[0.0, -720.0], [0.0, -700.0], [-745.0, 0.0]], dtype)
    resp, _ = kernels.posterior_from_logs(log_gate, log_lik)
    tiny = np.finfo(np.float64).tiny
    assert resp[0, 1] == 0.0 and resp[2, 0] == 0.0
    assert resp[1, 1] >= tiny  # exp(-700) ~ 1e-304 is normal: kept
    assert not np.any((resp > 0) & (resp < tiny))
    assert_allclose(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_log_proba_of_labels_never_below_floor(dtype):
    p = np.array([[0.0, 1.0], [np.nan, 0.0], [1e-30, 1.0]], dtype)
    out = kernels.log_proba_of_labels(p, np.array([0, 0, 0]), PROBA_FLOOR)
    assert np.all(np.isfinite(out))
    assert_allclose(out, np.log(PROBA_FLOOR), rtol=1e-6)


def test_softmax_regression_grad_is_the_gradient_of_the_loss():
    """Finite differences on the fused kernel: the twin could share a sign error."""
    X, W, b, t, w = _srl_random(np.float64)
    loss, gW, gb = kernels.softmax_regression_loss_grad(X, W, b, t, w)
    eps = 1e-6
    num_W = np.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        num_W[idx] = (
            kernels.softmax_regression_loss_grad(X, Wp, b, t, w)[0]
            - kernels.softmax_regression_loss_grad(X, Wm, b, t, w)[0]
        ) / (2 * eps)
    num_b = np.zeros_like(b)
    for k in range(b.size):
        bp, bm = b.copy(), b.copy()
        bp[k] += eps
        bm[k] -= eps
        num_b[k] = (
            kernels.softmax_regression_loss_grad(X, W, bp, t, w)[0]
            - kernels.softmax_regression_loss_grad(X, W, bm, t, w)[0]
        ) / (2 * eps)
    assert_allclose(gW, num_W, rtol=1e-6, atol=1e-7)
    assert_allclose(gb, num_b, rtol=1e-6, atol=1e-7)


def test_softmax_cross_entropy_grad_is_the_gradient_of_the_loss():
    z, t, w = _sce_unnormalised_targets(np.float64)
    _, grad = kernels.softmax_cross_entropy(z, t, w)
    eps = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += eps
        zm[idx] -= eps
        num[idx] = (
            kernels.softmax_cross_entropy(zp, t, w)[0] - kernels.softmax_cross_entropy(zm, t, w)[0]
        ) / (2 * eps)
    assert_allclose(grad, num, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- #
# Tree passes of the hierarchical gate (tree_downward / tree_upward)
# --------------------------------------------------------------------------- #
# The registry above runs both tree kernels through the generic float64 /
# float32, read-only and layout comparisons; here: shapes it does not cover
# and the identities the HME relies on.
def _hme_tree_args(kind, branching, depth, seed, dt):
    r = _rng(seed)
    if kind == "downward":
        n_nodes = (branching**depth - 1) // (branching - 1)
        z = 3 * r.randn(10 * n_nodes, branching)
        return (_normalised_log(z).reshape(10, n_nodes, branching).astype(dt), branching, depth)
    t = r.uniform(0, 3, (10, branching**depth))  # unnormalised soft targets
    t[0] = 0.0  # a row without mass
    t[1, : branching ** (depth - 1)] = 0.0  # a whole subtree without mass
    return (t.astype(dt), branching, depth)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("branching, depth", [(2, 1), (5, 1), (2, 4), (3, 3), (16, 2)])
@pytest.mark.parametrize("kind", ["downward", "upward"])
def test_tree_kernels_match_naive_more_shapes(kind, branching, depth, dtype):
    args = _hme_tree_args(kind, branching, depth, 50 + depth, dtype)
    name = f"tree_{kind}"
    expected = getattr(naive, name)(*args)
    actual = getattr(kernels, name)(*args)
    assert actual.dtype == dtype
    _assert_close(actual, expected, dtype, f"{name} B={branching} D={depth}")


@pytest.mark.parametrize("branching, depth", [(2, 1), (2, 2), (3, 2), (2, 3)])
def test_tree_passes_are_the_hme_probabilities(branching, depth):
    """Downward: leaf probabilities of softmax nodes sum to one. Upward: the
    mass through a node's branches sums to the mass reaching the node, which
    is the mass of its parent's branch (the root carries everything)."""
    r = _rng(40 + depth)
    lp = _hme_tree_args("downward", branching, depth, 40 + depth, np.float64)[0]
    leaf_lp = kernels.tree_downward(lp, branching, depth)
    assert_allclose(np.exp(leaf_lp).sum(axis=1), 1.0, rtol=1e-12)
    resp = r.dirichlet(np.ones(branching**depth), size=15)
    mass = kernels.tree_upward(resp, branching, depth)
    reaching = mass.sum(axis=2)
    assert_allclose(reaching[:, 0], 1.0, rtol=1e-12)
    for node in range(1, mass.shape[1]):
        parent, branch = (node - 1) // branching, (node - 1) % branching
        assert_allclose(reaching[:, node], mass[:, parent, branch], rtol=1e-12)


# --------------------------------------------------------------------------- #
# forward_backward (log-space HMM forward-backward, skmoe._kernels._hmm)
# --------------------------------------------------------------------------- #
# Registered here, at the end of the file: the parametrize lists above hold a
# reference to ``ALL_CASES``, which pytest reads at collection time, after the
# module has run to the end.
def _fb_args(r, T, S, time_varying, scale=1.0):
    log_start = np.log(r.dirichlet(np.ones(S)))
    n_mats = T - 1 if time_varying else 1
    log_trans = np.log(r.dirichlet(np.ones(S), size=(n_mats, S)))
    log_emit = scale * r.randn(T, S) - 1.0
    return log_start, log_trans, log_emit


def _fb_homogeneous(dt):
    return tuple(a.astype(dt) for a in _fb_args(_rng(60), 40, 3, False))


def _fb_time_varying(dt):
    return tuple(a.astype(dt) for a in _fb_args(_rng(61), 30, 2, True, scale=3.0))


def _fb_single_step(dt):
    return tuple(a.astype(dt) for a in _fb_args(_rng(62), 1, 4, False))


def _fb_single_step_no_matrix(dt):
    ls, lt, le = _fb_args(_rng(63), 1, 3, False)
    return (ls.astype(dt), np.zeros((0, 3, 3), dt), le.astype(dt))


def _fb_two_steps(dt):
    return tuple(a.astype(dt) for a in _fb_args(_rng(64), 2, 3, True))


def _fb_one_state(dt):
    return tuple(a.astype(dt) for a in _fb_args(_rng(65), 12, 1, False))


def _fb_forbidden_and_extreme(dt):
    ls, lt, le = _fb_args(_rng(66), 25, 3, False)
    lt[0, 0, 2] = -np.inf  # forbidden move
    lt[0, 2, 1] = -800.0  # exp underflows: the exact log-sum-exp path
    lt[0] = lt[0] - np.logaddexp.reduce(lt[0], axis=1, keepdims=True)
    ls[1] = -np.inf  # never starts in state 1
    le[3] -= 1e4  # far in the tail for every state
    le[5, 0] += 3e3
    le[8] = [-np.inf, -900.0, -np.inf]  # only the underflowing route remains
    le[9] = [-np.inf, -np.inf, 0.0]
    le[10:12] = _grid(le[10:12])
    return (ls.astype(dt), lt.astype(dt), le.astype(dt))


def _fb_impossible(dt):
    ls, lt, le = _fb_args(_rng(67), 10, 2, True)
    le[4] = -np.inf  # no state can emit obs_4: log-likelihood -inf, no NaN
    return (ls.astype(dt), lt.astype(dt), le.astype(dt))


def _fb_tv_underflow(dt):
    ls, lt, le = _fb_args(_rng(68), 15, 4, True, scale=20.0)
    lt[3:6, :, 0] = -760.0
    lt[3:6, 1, :] = [-1.0, -750.0, -790.0, -0.5]
    lt = lt - np.logaddexp.reduce(lt, axis=2, keepdims=True)
    return (ls.astype(dt), lt.astype(dt), le.astype(dt))


CASES["forward_backward"] = [
    ("homogeneous", _fb_homogeneous),
    ("time_varying", _fb_time_varying),
    ("single_step", _fb_single_step),
    ("single_step_no_matrix", _fb_single_step_no_matrix),
    ("two_steps", _fb_two_steps),
    ("one_state", _fb_one_state),
    ("forbidden_and_extreme", _fb_forbidden_and_extreme),
    ("impossible", _fb_impossible),
    ("tv_underflow", _fb_tv_underflow),
]
if "forward_backward" in KERNELS:
    ALL_CASES.extend(
        pytest.param("forward_backward", builder, id=f"forward_backward-{case_id}")
        for case_id, builder in CASES["forward_backward"]
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("time_varying", [False, True])
def test_forward_backward_identities(time_varying, dtype):
    """gamma rows sum to one; xi marginalises to gamma; the likelihood is the
    sum over all state paths (brute force on a short chain)."""
    import itertools

    r = _rng(70 + time_varying)
    T, S = 6, 3
    ls, lt, le = (a.astype(dtype) for a in _fb_args(r, T, S, time_varying))
    ll, log_alpha, gamma, xi = kernels.forward_backward(ls, lt, le)
    assert log_alpha.dtype == dtype and gamma.dtype == dtype and xi.dtype == dtype
    assert xi.shape == ((T - 1, S, S) if time_varying else (1, S, S))
    rtol = RTOL[dtype] * 10
    assert_allclose(gamma.sum(axis=1), 1.0, rtol=rtol)
    if time_varying:
        assert_allclose(xi.sum(axis=2), gamma[:-1], rtol=rtol, atol=rtol)
        assert_allclose(xi.sum(axis=1), gamma[1:], rtol=rtol, atol=rtol)
    else:
        assert_allclose(xi[0].sum(axis=1), gamma[:-1].sum(axis=0), rtol=rtol, atol=rtol)
        assert_allclose(xi[0].sum(axis=0), gamma[1:].sum(axis=0), rtol=rtol, atol=rtol)
    ls64, lt64, le64 = (np.asarray(a, np.float64) for a in (ls, lt, le))
    paths = []
    for path in itertools.product(range(S), repeat=T):
        v = ls64[path[0]] + le64[0, path[0]]
        for t in range(1, T):
            v += lt64[t - 1 if time_varying else 0, path[t - 1], path[t]] + le64[t, path[t]]
        paths.append(v)
    assert_allclose(ll, np.logaddexp.reduce(paths), rtol=rtol)
    assert_allclose(np.logaddexp.reduce(log_alpha[-1].astype(np.float64)), ll, rtol=rtol)


def test_forward_backward_matches_hmmlearn():
    """The kernel against hmmlearn's own (scaled) forward-backward on a
    categorical HMM: log-likelihood, posteriors and summed transition counts."""
    hmm = pytest.importorskip("hmmlearn.hmm")
    r = _rng(80)
    S, M, T = 3, 4, 200
    model = hmm.CategoricalHMM(n_components=S, n_features=M, implementation="log")
    model.startprob_ = r.dirichlet(np.ones(S))
    model.transmat_ = r.dirichlet(np.ones(S), size=S)
    model.emissionprob_ = r.dirichlet(np.ones(M), size=S)
    obs = r.randint(M, size=(T, 1))
    log_emit = np.log(model.emissionprob_[:, obs[:, 0]].T)
    ll, log_alpha, gamma, xi = kernels.forward_backward(
        np.log(model.startprob_), np.log(model.transmat_)[None], log_emit
    )
    ref_ll, ref_post = model.score_samples(obs)
    assert_allclose(ll, ref_ll, rtol=1e-10)
    assert_allclose(gamma, ref_post, rtol=1e-8, atol=1e-12)
    # hmmlearn's compiled log-space passes (private module, stable since 0.3)
    _hmmc = pytest.importorskip("hmmlearn._hmmc")
    ref_ll2, fwd = _hmmc.forward_log(model.startprob_, model.transmat_, log_emit)
    bwd = _hmmc.backward_log(model.startprob_, model.transmat_, log_emit)
    assert_allclose(ll, ref_ll2, rtol=1e-10)
    assert_allclose(log_alpha, fwd, rtol=1e-10, atol=1e-10)
    log_xi_sum = _hmmc.compute_log_xi_sum(fwd, model.transmat_, bwd, log_emit)
    assert_allclose(xi[0], np.exp(log_xi_sum), rtol=1e-8, atol=1e-12)


# --------------------------------------------------------------------------- #
# linear_sufficient_stats (the built-in linear experts' M-step statistics)
# --------------------------------------------------------------------------- #
def _lss_random(dt):
    r = _rng(80)
    W = r.dirichlet(np.ones(3), size=37)
    W[::5, 1] = 0.0  # some zero weights
    return (r.randn(37, 4).astype(dt), r.randn(37).astype(dt), W.astype(dt))


def _lss_rows_not_multiple_of_four(dt):
    # 1, 2, 3 and 6 rows exercise the kernel's four-row grouping remainder.
    r = _rng(81)
    return (r.randn(6, 2).astype(dt), r.randn(6).astype(dt), r.uniform(0, 2, (6, 5)).astype(dt))


def _lss_one_row_one_feature(dt):
    return (np.array([[3.0]], dt), np.array([-2.0], dt), np.array([[0.5, 2.0]], dt))


def _lss_offset_features(dt):
    # Features far from zero: the statistics are raw sums (the solver
    # centres); compared relative to their own scale.
    r = _rng(82)
    X = _grid(r.randn(20, 3)) + np.array([1e3, -50.0, 0.0])
    return (X.astype(dt), _grid(r.randn(20)).astype(dt), _grid(r.uniform(0, 1, (20, 2))).astype(dt))


CASES["linear_sufficient_stats"] = [
    ("random", _lss_random),
    ("rows_not_multiple_of_four", _lss_rows_not_multiple_of_four),
    ("one_row_one_feature", _lss_one_row_one_feature),
    ("offset_features", _lss_offset_features),
]
if "linear_sufficient_stats" in KERNELS:
    ALL_CASES.extend(
        pytest.param("linear_sufficient_stats", builder, id=f"linear_sufficient_stats-{case_id}")
        for case_id, builder in CASES["linear_sufficient_stats"]
    )


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 9])
def test_linear_sufficient_stats_any_row_count_and_blocks_add_up(n):
    """Remainders of the four-row grouping, and statistics that add over row blocks."""
    r = _rng(83)
    X, y, W = r.randn(n, 3), r.randn(n), r.uniform(0, 1, (n, 2))
    expected = naive.linear_sufficient_stats(X, y, W)
    for a, e in zip(kernels.linear_sufficient_stats(X, y, W), expected, strict=False):
        assert_allclose(a, e, rtol=1e-12, atol=1e-12)
    if n > 1:
        cut = n // 2
        halves = [
            kernels.linear_sufficient_stats(X[s], y[s], W[s])
            for s in (slice(0, cut), slice(cut, n))
        ]
        for j, e in enumerate(expected):
            assert_allclose(halves[0][j] + halves[1][j], e, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- #
# The tiled kernels: inputs of several tiles (ROW_TILE rows each) and a
# partial last tile, so that the tile loops and their remainders are run.
# --------------------------------------------------------------------------- #
_MULTI = 2 * 256 + 37  # two full tiles and a partial one (ROW_TILE = 256)
_WIDE = 4096 + 2 * 256 + 37  # WIDE_MIN_ROWS and more, a partial tile


def _posterior_multi_tile(dt):
    r = _rng(90)
    lg = np.log(r.dirichlet(np.ones(4), size=_MULTI))
    ll = 3.0 * r.randn(_MULTI, 4)
    ll[300] = -np.inf  # a row with no support in the second tile
    return (lg.astype(dt), ll.astype(dt))


def _log_softmax_multi_tile(dt):
    return ((5.0 * _rng(91).randn(_MULTI, 3)).astype(dt),)


def _srl_nan_in_zero_weight_rows(seed, n, d, K, dt):
    r = _rng(seed)
    w = r.uniform(0, 2, n)
    w[::7] = 0.0
    X = r.randn(n, d)
    X[::7] = np.nan  # zero-weight rows may hold anything
    return (
        X.astype(dt),
        r.randn(d, K).astype(dt),
        r.randn(K).astype(dt),
        _soft_targets(r, n, K).astype(dt),
        w.astype(dt),
    )


def _srl_multi_tile(dt):
    return _srl_nan_in_zero_weight_rows(92, _MULTI, 5, 3, dt)


def _lss_multi_tile(dt):
    r = _rng(93)
    return (
        r.randn(_MULTI, 3).astype(dt),
        r.randn(_MULTI).astype(dt),
        r.uniform(0, 1, (_MULTI, 4)).astype(dt),
    )


def _lls_random(dt):
    r = _rng(94)
    return (r.randn(40, 3).astype(dt), r.randn(3, 4).astype(dt), r.randn(4).astype(dt))


def _lls_multi_tile_huge(dt):
    r = _rng(95)
    W = 30.0 * r.randn(2, 5)
    return (r.randn(_MULTI, 2).astype(dt), W.astype(dt), r.randn(5).astype(dt))


def _lls_wide(dt):
    # The wide variant (four by four logits, the same bits): edges both ways.
    r = _rng(98)
    return (r.randn(_WIDE, 9).astype(dt), r.randn(9, 6).astype(dt), r.randn(6).astype(dt))


def _lgd_wide(dt):
    r = _rng(99)
    return (
        r.randn(_WIDE, 5).astype(dt),
        r.randn(_WIDE).astype(dt),
        r.randn(5, 7).astype(dt),
        r.randn(7).astype(dt),
        r.uniform(0.1, 3.0, 7).astype(dt),
    )


def _lgd_random(dt):
    r = _rng(96)
    return (
        r.randn(30, 2).astype(dt),
        r.randn(30).astype(dt),
        r.randn(2, 3).astype(dt),
        r.randn(3).astype(dt),
        r.uniform(0.1, 3.0, 3).astype(dt),
    )


def _lgd_multi_tile_extreme(dt):
    r = _rng(97)
    y = r.randn(_MULTI)
    y[5] = 1e6  # far in the tail of every expert
    return (
        r.randn(_MULTI, 4).astype(dt),
        y.astype(dt),
        r.randn(4, 2).astype(dt),
        r.randn(2).astype(dt),
        np.array([1e-6, 50.0]).astype(dt),
    )


def _wm_random(dt):
    r = _rng(98)
    return ((r.randn(_MULTI) + 100.0).astype(dt), r.dirichlet(np.ones(3), size=_MULTI).astype(dt))


def _wm_zero_weights(dt):
    return (np.array([1.0, 2.0], dt), np.zeros((2, 3), dt))


def _sge_args(r, n, d, de, K, dt, same_x=False):
    Xg = r.randn(n, d)
    Xe = Xg if same_x else r.randn(n, de)
    return tuple(
        np.asarray(a).astype(dt)
        for a in (
            Xg,
            Xe,
            r.randn(n),
            r.uniform(0.5, 2.0, n),
            r.randn(Xg.shape[1], K),
            r.randn(K),
            r.randn(Xg.shape[1]),
            r.randn(Xe.shape[1], K),
            r.randn(K),
            r.uniform(0.2, 3.0, K),
            r.randn(Xe.shape[1]),
        )
    )


def _sge_random(dt):
    return _sge_args(_rng(100), 50, 2, 2, 3, dt, same_x=True)


def _sge_multi_tile(dt):
    # Several tiles and a partial one; the experts see other columns than the
    # gate; zero-weight rows; a row no expert can explain (its posterior is
    # uniform, its log-likelihood -inf) and a row far in one expert's tail.
    args = list(_sge_args(_rng(101), _MULTI, 3, 2, 4, np.float64))
    args[3][::7] = 0.0
    args[2][300] = np.inf
    args[2][301] = 40.0
    return tuple(np.asarray(a).astype(dt) for a in args)


def _sge_wide(dt):
    # The wide variant (skmoe._kernels._estep.use_wide): enough rows, features
    # and experts, none a multiple of four (edges), tiles that do not divide n.
    args = list(_sge_args(_rng(104), _WIDE, 6, 5, 5, np.float64))
    args[3][::7] = 0.0
    return tuple(np.asarray(a).astype(dt) for a in args)


def _srl_wide(dt):
    # The wide variant: enough rows, features and classes, edges both ways.
    return _srl_nan_in_zero_weight_rows(94, _WIDE, 7, 9, dt)


def _sge_one_row(dt):
    return _sge_args(_rng(102), 1, 2, 2, 3, dt, same_x=True)


def _sge_one_expert(dt):
    return _sge_args(_rng(103), 30, 1, 3, 1, dt)


def _exp_args(x):
    return lambda dt: (dt(x),)


def _dot_random(dt):
    r = _rng(99)
    return (r.randn(300).astype(dt), r.randn(300).astype(dt), 297)


def _dot_short(dt):
    return (np.array([1.0, 2.0, 3.0], dt), np.array([4.0, 5.0, 6.0], dt), 2)


def _sum_random(dt):
    return ((_rng(100).randn(300) + 1.0).astype(dt), 261)


CASES["posterior_from_logs"].append(("multi_tile", _posterior_multi_tile))
CASES["log_softmax"].append(("multi_tile", _log_softmax_multi_tile))
CASES["softmax_regression_loss_grad"].append(
    ("multi_tile_nan_in_zero_weight_rows", _srl_multi_tile)
)
CASES["softmax_regression_loss_grad"].append(("wide_nan_in_zero_weight_rows", _srl_wide))
CASES["linear_sufficient_stats"].append(("multi_tile", _lss_multi_tile))
_NEW_CASES = {
    "linear_log_softmax": [
        ("random", _lls_random),
        ("multi_tile_huge", _lls_multi_tile_huge),
        ("wide", _lls_wide),
    ],
    "linear_gaussian_log_density": [
        ("random", _lgd_random),
        ("multi_tile_extreme", _lgd_multi_tile_extreme),
        ("wide", _lgd_wide),
    ],
    "weighted_mean": [("random", _wm_random), ("zero_weights", _wm_zero_weights)],
    "fast_exp": [(f"x={x}", _exp_args(x)) for x in (0.0, 1.0, -1.0, 0.5, -20.0, -700.0, 88.0)],
    "fast_log": [(f"x={x}", _exp_args(x)) for x in (1.0, 2.0, 3.0, 0.75, 1e-30, 1e30, 1.4142135)],
    "tile_dot": [("random", _dot_random), ("short", _dot_short)],
    "tile_sum": [("random", _sum_random)],
    "softmax_gaussian_estep": [
        ("random", _sge_random),
        ("multi_tile_zero_weights_extreme", _sge_multi_tile),
        ("one_row", _sge_one_row),
        ("one_expert", _sge_one_expert),
        ("wide", _sge_wide),
    ],
}
CASES.update(_NEW_CASES)
ALL_CASES.extend(
    pytest.param(name, builder, id=f"{name}-{case_id}")
    for name, builder_list in [
        ("posterior_from_logs", [CASES["posterior_from_logs"][-1]]),
        ("log_softmax", [CASES["log_softmax"][-1]]),
        ("softmax_regression_loss_grad", CASES["softmax_regression_loss_grad"][-2:]),
        ("linear_sufficient_stats", [CASES["linear_sufficient_stats"][-1]]),
        *_NEW_CASES.items(),
    ]
    if name in KERNELS
    for case_id, builder in builder_list
)


def _ulp_error(actual, expected):
    return np.abs(actual - expected) / np.spacing(np.abs(expected))


def test_fast_exp_and_log_within_one_ulp_of_numpy():
    """The vectorisable exp and log against the C library on 10^6 points each."""
    from numba import njit

    from skmoe._kernels._vector import fast_exp, fast_log

    @njit
    def vexp(x, out):
        for i in range(x.size):
            out[i] = fast_exp(x[i])

    @njit
    def vlog(x, out):
        for i in range(x.size):
            out[i] = fast_log(x[i])

    r = _rng(101)
    x = np.concatenate([r.uniform(-745.0, 709.7, 500_000), r.uniform(-2.0, 2.0, 500_000)])
    out = np.empty_like(x)
    vexp(x, out)
    normal = np.exp(x) > np.finfo(float).tiny
    assert _ulp_error(out[normal], np.exp(x[normal])).max() <= 1.0
    # Subnormal results: off by at most one subnormal step.
    assert np.abs(out[~normal] - np.exp(x[~normal])).max() <= np.finfo(float).smallest_subnormal
    special = np.array([-np.inf, -1e300, -745.3, 709.79, 710.0, np.inf, np.nan, 0.0, -0.0])
    out = np.empty_like(special)
    vexp(special, out)
    with np.errstate(over="ignore"):
        assert_array_equal(out, np.exp(special))

    x = np.concatenate([np.exp(r.uniform(-700.0, 700.0, 500_000)), r.uniform(1.0, 64.0, 500_000)])
    x = np.concatenate(
        [x, [1.0, 2.0, np.finfo(float).tiny, np.finfo(float).max, np.sqrt(2.0), 0.7071067811865476]]
    )
    out = np.empty_like(x)
    vlog(x, out)
    ref = np.log(x)
    nonzero = ref != 0
    assert _ulp_error(out[nonzero], ref[nonzero]).max() <= 1.0
    assert_array_equal(out[~nonzero], 0.0)


# --------------------------------------------------------------------------- #
# Kernels that take a frame (column shift, inverse scale): against the twins
# with the frame applied explicitly, on features far from zero.
# --------------------------------------------------------------------------- #
def _far_from_zero(n=300, d=3, seed=7):
    r = _rng(seed)
    spread = np.array([1.0, 1e-6, 1e3])[:d]
    centre = np.array([1.7e9, -1e4, 5e11])[:d]
    return r, r.randn(n, d) * spread + centre, spread, centre


@pytest.mark.parametrize("n", [1, 7, 300, 1000, 1027, 1538])
def test_framed_linear_sufficient_stats_against_twin(n):
    r, X, spread, centre = _far_from_zero(n)
    y = 1e-7 * r.randn(n) + 3e5
    W = r.dirichlet(np.ones(2), size=n)
    args = (X, y, W, centre, 1.0 / spread, 3e5, 1e7)
    for a, e in zip(
        kernels.linear_sufficient_stats(*args), naive.linear_sufficient_stats(*args), strict=True
    ):
        assert_allclose(a, e, rtol=1e-10, atol=1e-10 * np.abs(e).max())
    # Without the frame the same call is the raw statistics.
    raw = kernels.linear_sufficient_stats(X[:5], y[:5], W[:5])
    for a, e in zip(raw, naive.linear_sufficient_stats(X[:5], y[:5], W[:5]), strict=True):
        assert_allclose(a, e, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("d", [1, 2, 3, 5, 6, 11])
def test_linear_sufficient_stats_blocks_and_gram_tiles(d, dtype):
    """The Gram kernel's 4 x 4 blocks (feature counts whose ``d + 2`` columns
    leave 1, 2, 3 or no padding rows) over two full Gram tiles and a partial
    one, against the NumPy twin; the mirrored lower triangle is exact."""
    from skmoe._kernels._linear import GRAM_TILE

    n = 2 * GRAM_TILE + 37
    r = _rng(84 + d)
    X, y = r.randn(n, d).astype(dtype), r.randn(n).astype(dtype)
    W = r.uniform(0, 1, (n, 3)).astype(dtype)
    W[::7, 2] = 0.0
    A, b, syy = kernels.linear_sufficient_stats(X, y, W)
    for a, e in zip((A, b, syy), naive.linear_sufficient_stats(X, y, W), strict=True):
        assert_allclose(a, e, rtol=1e-11, atol=1e-11 * np.abs(e).max())
    assert_array_equal(A, np.swapaxes(A, 1, 2))


def test_linear_sufficient_stats_both_kernels_agree():
    """Calls on fewer than GRAM_MIN_ROWS rows take the dot-product kernel, longer
    ones the blocked kernel; on the same rows (each half of a long call) the two
    agree to rounding, and the statistics add over the halves."""
    from skmoe._kernels._linear import GRAM_MIN_ROWS

    n = 2 * GRAM_MIN_ROWS - 2
    r = _rng(99)
    X, y, W = 1e3 + r.randn(n, 7), r.randn(n), r.uniform(0, 1, (n, 4))
    whole = kernels.linear_sufficient_stats(X, y, W, X.mean(axis=0), 1.0 / X.std(axis=0))
    cut = GRAM_MIN_ROWS - 1  # both halves short: the dot-product kernel
    halves = [
        kernels.linear_sufficient_stats(X[s], y[s], W[s], X.mean(axis=0), 1.0 / X.std(axis=0))
        for s in (slice(0, cut), slice(cut, n))
    ]
    for j in range(3):
        assert_allclose(halves[0][j] + halves[1][j], whole[j], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [3, 300, 1000])
def test_shifted_logit_kernels_against_twins(n):
    r, X, spread, centre = _far_from_zero(n)
    coef = r.randn(3, 4) / spread[:, None]
    b = r.randn(4)
    assert_allclose(
        kernels.linear_log_softmax(X, coef, b, centre),
        naive.linear_log_softmax(X, coef, b, centre),
        rtol=1e-10,
        atol=1e-10,
    )
    y = r.randn(n)
    var = np.array([0.5, 1.0, 2.0, 1e-3])
    assert_allclose(
        kernels.linear_gaussian_log_density(X, y, coef, b, var, centre),
        naive.linear_gaussian_log_density(X, y, coef, b, var, centre),
        rtol=1e-10,
    )
    T = r.dirichlet(np.ones(4), size=n)
    w = r.uniform(0, 2, n)
    for a, e in zip(
        kernels.softmax_regression_loss_grad(X, coef, b, T, w, centre),
        naive.softmax_regression_loss_grad(X, coef, b, T, w, centre),
        strict=True,
    ):
        assert_allclose(a, e, rtol=1e-9, atol=1e-9 * np.abs(e).max())


@pytest.mark.parametrize("d, K", [(4, 4), (6, 5), (9, 12)])
def test_wide_logits_are_the_plain_logits_bit_for_bit(d, K):
    # The wide kernels' logits (four by four) add the same terms in the same
    # order as the plain ones: the log-softmax and the Gaussian log-densities
    # of a large call equal those of its rows taken in small calls.
    from skmoe._kernels._estep import WIDE_MIN_ROWS, use_wide

    r = _rng(7 + d)
    n = WIDE_MIN_ROWS + 300
    X = r.randn(n, d) * 10.0 ** r.uniform(-3, 3, d)
    W, b, shift = r.randn(d, K), r.randn(K), X.mean(axis=0)
    y, var = r.randn(n), r.uniform(0.1, 3.0, K)
    assert use_wide(n, d, K) and not use_wide(300, d, K)
    wide = kernels.linear_log_softmax(X, W, b, shift)
    plain = np.vstack(
        [kernels.linear_log_softmax(X[a : a + 300], W, b, shift) for a in range(0, n, 300)]
    )
    assert_array_equal(wide, plain)
    wide = kernels.linear_gaussian_log_density(X, y, W, b, var, shift)
    plain = np.vstack(
        [
            kernels.linear_gaussian_log_density(X[a : a + 300], y[a : a + 300], W, b, var, shift)
            for a in range(0, n, 300)
        ]
    )
    assert_array_equal(wide, plain)
