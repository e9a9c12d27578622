"""Every Numba kernel against its slow NumPy twin in ``tests/naive.py``.

The cases are a registry: one entry per exported kernel, each a list of
named input builders ``f(dtype) -> args``.  A kernel added to
``skmoe._kernels.__all__`` without a twin in ``naive.py`` *and* cases here makes
``test_every_kernel_has_a_twin_and_cases`` fail, so coverage cannot silently
lapse.

Each case is compared in float64 and in float32 (the float32 inputs are the
float64 ones rounded; the twin then works in float64 on the rounded values),
and is re-run with read-only and with Fortran-ordered / strided inputs: the
kernels must not write their inputs (scikit-learn's checks pass read-only
memmaps) and must not depend on memory layout.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import skmoe._kernels as kernels
from skmoe._kernels._config import GATE_FLOOR, PROBA_FLOOR

from . import naive

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


CASES = {
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
    "log_proba_of_labels": [
        ("random", _lpl_random),
        ("floor_and_nan", _lpl_floor_and_nan),
        ("other_floor", _lpl_other_floor),
    ],
}

ALL_CASES = [
    pytest.param(name, builder, id=f"{name}-{case_id}")
    for name, cases in CASES.items()
    for case_id, builder in cases
]


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _assert_close(actual, expected, dtype, what):
    actual, expected = _as_tuple(actual), _as_tuple(expected)
    assert len(actual) == len(expected), what
    rtol = RTOL[dtype]
    for j, (a, e) in enumerate(zip(actual, expected)):
        a = np.asarray(a)
        e = np.asarray(e, dtype=np.float64)
        assert a.shape == e.shape, f"{what}, output {j}: shape {a.shape} != {e.shape}"
        assert np.issubdtype(a.dtype, np.floating), f"{what}, output {j}: dtype {a.dtype}"
        finite = e[np.isfinite(e)]
        scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
        # Same -inf / +inf / NaN pattern, and close elsewhere.
        assert_allclose(
            a.astype(np.float64), e, rtol=rtol, atol=rtol * scale, equal_nan=True,
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
    """2-D arrays in Fortran order, 1-D arrays as strided views."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.ndim == 2:
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
    exported = set(kernels.__all__)
    assert exported, "skmoe._kernels exports no kernels"
    missing_twin = sorted(n for n in exported if not callable(getattr(naive, n, None)))
    missing_cases = sorted(exported - set(CASES))
    assert not missing_twin, f"kernels without a NumPy twin in tests/naive.py: {missing_twin}"
    assert not missing_cases, f"kernels without cases in tests/test_kernels.py: {missing_cases}"
    for name in exported:
        assert callable(getattr(kernels, name)), name


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name, builder", ALL_CASES)
def test_kernel_matches_naive(name, builder, dtype):
    args = builder(dtype)
    expected = getattr(naive, name)(*args)
    actual = getattr(kernels, name)(*args)
    _assert_close(actual, expected, dtype, f"{name} ({np.dtype(dtype).name})")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name, builder", ALL_CASES)
def test_kernel_does_not_write_its_inputs(name, builder, dtype):
    kernel = getattr(kernels, name)
    args = builder(dtype)
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    reference = _as_tuple(kernel(*args))
    # Writeable inputs come back untouched ...
    for a, b in zip(args, before):
        if isinstance(a, np.ndarray):
            assert_array_equal(a, b, err_msg=f"{name} modified an input")
    # ... and read-only inputs are accepted and give the very same result.
    ro = _readonly(args)
    result = _as_tuple(kernel(*ro))
    for r, e in zip(result, reference):
        assert_array_equal(r, e, err_msg=f"{name}: read-only inputs changed the result")
    for a, b in zip(ro, before):
        if isinstance(a, np.ndarray):
            assert_array_equal(a, b)


@pytest.mark.parametrize("name, builder", ALL_CASES)
def test_kernel_independent_of_memory_layout(name, builder):
    kernel = getattr(kernels, name)
    args = builder(np.float64)
    reference = _as_tuple(kernel(*args))
    result = _as_tuple(kernel(*_fortran_or_strided(args)))
    for r, e in zip(result, reference):
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
