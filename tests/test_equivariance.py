"""Affine equivariance: units and offsets of the features and the target change nothing.

Fitting on ``(a * X + b, c * y + d)`` (per-feature ``a > 0`` and ``b``, regression
only for ``c > 0`` and ``d``) must give the same fit mapped back: predictions
``c * f(x) + d`` to a relative 1e-6, the same R^2 / accuracy, and a per-row
log-likelihood shifted by exactly ``-log c`` (the density of ``c * y + d`` is the
density of y divided by c).  See ``../shared/design.md`` section 2b and issue 11.

The data are well separated (two clusters in X, each with its own linear law, small
noise) and every fit uses ``n_init >= 2`` and a fixed ``random_state``, so both fits
reach the same optimum and the comparison is to rounding, not to the luck of EM.

How large an offset can be: a feature ``a * x + b`` is only representable in float64
while ``|b| / (a * spread(x)) < ~1e8`` (at a larger ratio the spread of the column
falls below ~1e-8 of its magnitude and most of its digits are gone before any
estimator sees it).  So an offset is drawn as ``b = a * spread * u`` with ``|u|``
up to 1e8 (and capped at ``|b| <= 1e10``), and the same for the target
(``d = c * spread(y) * u``).  The property test draws ``|u|`` up to 1e6; with both
X and y offset by 1e8 spreads the data keep ~8 digits and two EM fits of a
softmax-gated mixture on the two roundings were measured 1.0e-6 x std(y) apart,
at the edge of the tolerance, from the data's rounding, not the estimator's
arithmetic.  The explicit cases go further (a timestamp offset of 1.7e9
spreads).
"""

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.experts import (
    BinomialExpert,
    LinearExpert,
    LogisticExpert,
    PoissonExpert,
    StudentTExpert,
)
from skmoe.gating import HierarchicalGate, SoftmaxGate

N_ROWS = 300
RTOL = 1e-6
# Largest |u| of an offset b = a * spread * u (see the module docstring).
MAX_RELATIVE_OFFSET = 1e6
MAX_OFFSET = 1e10


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
def _regimes(n_regimes, seed):
    """Cluster centres in X for 2 regimes (on a line) or 4 (corners of a square)."""
    if n_regimes == 2:
        return np.array([[-2.5, 0.0], [2.5, 0.0]])
    return 2.5 * np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])


def make_regression(n_regimes=2, seed=0):
    """Well-separated clusters in X (2 features), each with its own line, small noise."""
    rng = np.random.RandomState(seed)
    centres = _regimes(n_regimes, seed)
    z = np.arange(N_ROWS) % n_regimes
    X = centres[z] + 0.6 * rng.standard_normal((N_ROWS, 2))
    coef = np.array([[2.0, -1.0], [-1.5, 2.5], [0.5, 3.0], [-3.0, -0.5]])[:n_regimes]
    intercept = np.array([3.0, -2.0, 1.0, -4.0])[:n_regimes]
    y = np.einsum("ij,ij->i", X, coef[z]) + intercept[z] + 0.1 * rng.standard_normal(N_ROWS)
    return X, y


def make_classification(seed=0):
    """Two clusters in X, each with its own linear class boundary (a little label noise)."""
    rng = np.random.RandomState(seed)
    centres = _regimes(2, seed)
    z = np.arange(N_ROWS) % 2
    X = centres[z] + 0.8 * rng.standard_normal((N_ROWS, 2))
    local = X - centres[z]
    logit = np.where(z == 0, 4.0 * local[:, 1], 4.0 * (local[:, 0] - local[:, 1]))
    y = (rng.uniform(size=N_ROWS) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return X, y


def _affine(X, a, u):
    """``a * X + b`` with ``b = a * spread(X) * u`` per feature, capped at 1e10 in magnitude."""
    a = np.asarray(a, dtype=np.float64)
    b = np.clip(a * X.std(axis=0) * np.asarray(u, dtype=np.float64), -MAX_OFFSET, MAX_OFFSET)
    return a * X + b, b


def _target_affine(y, c, u):
    d = float(np.clip(c * y.std() * u, -MAX_OFFSET, MAX_OFFSET))
    return c * y + d, d


# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #
# Every regressor with intercepts: the four gates with the built-in linear
# experts, and Student-t experts.
# The softmax gate takes a generalised-EM step by default (2 quasi-Newton
# steps per M-step; an HME node stops at a gradient of 1e-6): EM then stops (tol on the objective) in a flat valley
# where fits of data rounded differently stop ~1e-5 apart.  Fitted to
# convergence in every M-step, both fits reach the same optimum.
EXACT_SOFTMAX = SoftmaxGate(max_iter=100, tol=1e-10)
REGRESSORS = {
    "softmax": (dict(gate=EXACT_SOFTMAX), 2),
    "constant": (dict(gate="constant"), 2),
    "gaussian": (dict(gate="gaussian"), 2),
    "hierarchical": (
        dict(gate=HierarchicalGate(depth=2, branching=2, max_iter=100, tol=1e-10), n_experts=4),
        4,
    ),
    "student_t": (dict(experts=StudentTExpert(df=5.0), gate="softmax"), 2),
    # The starts on a subsample (its rows depend on the weights alone, its
    # frames are all the rows'), then all rows: the same equivariance.
    "softmax_subsample": (dict(gate=EXACT_SOFTMAX, subsample=100), 2),
}
CLASSIFIER_GATES = ["softmax", "constant", "gaussian"]


def _regressor(name):
    params, n_regimes = REGRESSORS[name]
    params = {"n_experts": 2, **params}
    return (
        # tol=1e-12: at 1e-8 EM stops ~5e-6 x std(y) short of the optimum
        # (contraction ~0.1 per iteration), and two fits on differently
        # rounded data stop up to ~6e-7 apart: the test would measure EM's
        # stopping rule, not the arithmetic.  At 1e-10 a start that begins
        # next to the optimum (a consensus-lines start converges in 9-10
        # iterations) still moved the per-row log-likelihood by 1.7e-5 in the
        # one iteration that one side took and the other did not.
        MixtureOfExpertsRegressor(n_init=2, max_iter=500, tol=1e-12, random_state=0, **params),
        n_regimes,
    )


def _classifier(gate):
    return MixtureOfExpertsClassifier(
        n_experts=2, gate=gate, n_init=2, max_iter=300, tol=1e-8, random_state=0
    )


_FITTED = {}


def _reference_regressor(name):
    """The fit on the original data (cached: the property test reuses it)."""
    key = ("reg", name)
    if key not in _FITTED:
        model, n_regimes = _regressor(name)
        X, y = make_regression(n_regimes)
        model.fit(X, y)
        _FITTED[key] = (
            X,
            y,
            model,
            model.predict(X),
            model.log_likelihood(X, y),
            model.score(X, y),
            _spread_and_quantiles(model, X),
        )
    return _FITTED[key]


def _spread_and_quantiles(model, X):
    """The predictive standard deviation and the 0.1, 0.5, 0.9 quantiles, per row."""
    return model.predict(X, return_std=True)[1], model.predict_quantiles(X, (0.1, 0.5, 0.9))


def _reference_classifier(gate):
    key = ("clf", gate)
    if key not in _FITTED:
        X, y = make_classification()
        model = _classifier(gate).fit(X, y)
        _FITTED[key] = (X, y, model, model.predict_proba(X), model.score(X, y))
    return _FITTED[key]


# --------------------------------------------------------------------------- #
# The checks
# --------------------------------------------------------------------------- #
# Above this relative offset |b| / (a * spread) the transformed data have lost
# measurably many digits (eps * 1e6 ~ 2e-10 of the spread); the reference is
# then the fit on the transformed data mapped back, which carries exactly the
# same information (``(a * x + b) - b`` is exact).
LOSSY_OFFSET = 1e6


def _lossy(X, a, b):
    return np.max(np.abs(b) / (np.asarray(a) * X.std(axis=0))) > LOSSY_OFFSET


def check_regressor_equivariance(name, a, u_b, c, u_d):
    X, y, _, pred, loglik, r2, (std, quant) = _reference_regressor(name)
    Xt, b = _affine(X, a, u_b)
    yt, d = _target_affine(y, c, u_d)
    if _lossy(X, a, b) or _lossy(y[:, None], c, d):
        X, y = (Xt - b) / a, (yt - d) / c
        ref = _regressor(name)[0].fit(X, y)
        pred, loglik, r2 = ref.predict(X), ref.log_likelihood(X, y), ref.score(X, y)
        std, quant = _spread_and_quantiles(ref, X)
    model = _regressor(name)[0].fit(Xt, yt)
    pred_back = (model.predict(Xt) - d) / c
    spread = y.std()
    err = np.max(np.abs(pred_back - pred)) / spread
    assert err <= RTOL, f"{name}: predictions mapped back differ by {err:.3g} x std(y)"
    # The predictive law maps back too: its spread scales by c (relative to
    # itself: it is the noise, far below std(y)), its quantiles as y.
    std_t, quant_t = _spread_and_quantiles(model, Xt)
    err_sd = np.max(np.abs(std_t / c - std) / std)
    assert err_sd <= 1e-4, f"{name}: predictive std mapped back is off by {err_sd:.3g} of itself"
    err_q = np.max(np.abs((quant_t - d) / c - quant)) / spread
    assert err_q <= 1e-5, f"{name}: quantiles mapped back differ by {err_q:.3g} x std(y)"
    assert_allclose(model.score(Xt, yt), r2, rtol=RTOL, atol=RTOL)
    # log p(c y + d | a x + b) = log p(y | x) - log c, row by row.
    loglik_t = model.log_likelihood(Xt, yt)
    err_ll = np.max(np.abs(loglik_t + np.log(c) - loglik))
    assert err_ll <= 1e-5, f"{name}: per-row log-likelihood shift off by {err_ll:.3g}"


def check_classifier_equivariance(gate, a, u_b):
    X, y, _, proba, acc = _reference_classifier(gate)
    Xt, b = _affine(X, a, u_b)
    if _lossy(X, a, b):
        ref = _classifier(gate).fit((Xt - b) / a, y)
        proba, acc = ref.predict_proba((Xt - b) / a), ref.score((Xt - b) / a, y)
    model = _classifier(gate).fit(Xt, y)
    err = np.max(np.abs(model.predict_proba(Xt) - proba))
    assert err <= RTOL, f"{gate}: probabilities differ by {err:.3g}"
    assert model.score(Xt, y) == acc


# Explicit cases: (a, u_b as b / (a * spread) or None, c, d / (c * spread) or None).
# The timestamps and prices cases give the offset itself (b = 1.7e9, 1e4).
UNIT_CASES = {
    "identity": dict(a=1.0, b=0.0, c=1.0, d=0.0),
    "timestamps": dict(a=1.0, b=1.7e9, c=1.0, d=0.0),
    "prices": dict(a=1.0, b=1e4, c=1.0, d=1e4),
    "micro": dict(a=1e-6, b=0.0, c=1e-6, d=0.0),
    "giga": dict(a=1e9, b=0.0, c=1e9, d=0.0),
    "giga_offset": dict(a=1e9, b=1e10, c=1e9, d=1e10),
    "mixed_units": dict(a=[1e-10, 1e10], b=[1e-3, 1e10], c=1e-10, d=-1e-5),
}


def _as_relative(X, a, b):
    """``u`` such that ``_affine(X, a, u)`` adds the absolute offset ``b``."""
    return np.asarray(b, dtype=np.float64) / (np.asarray(a, dtype=np.float64) * X.std(axis=0))


@pytest.mark.parametrize("case", list(UNIT_CASES))
@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_units_and_offsets(name, case):
    p = UNIT_CASES[case]
    X, y = _reference_regressor(name)[:2]
    u_b = _as_relative(X, p["a"], p["b"])
    u_d = p["d"] / (p["c"] * y.std())
    check_regressor_equivariance(name, p["a"], u_b, p["c"], u_d)


@pytest.mark.parametrize("case", list(UNIT_CASES))
@pytest.mark.parametrize("gate", CLASSIFIER_GATES)
def test_classifier_units_and_offsets(gate, case):
    p = UNIT_CASES[case]
    X = _reference_classifier(gate)[0]
    check_classifier_equivariance(gate, p["a"], _as_relative(X, p["a"], p["b"]))


# Bounded: few examples and no shrinking (a failing example is reported as
# drawn; shrinking would refit the mixtures dozens of times).
_PROPERTY = settings(max_examples=6, phases=[Phase.explicit, Phase.reuse, Phase.generate])
_log_unit = st.floats(-10.0, 10.0)
_rel_offset = st.floats(-MAX_RELATIVE_OFFSET, MAX_RELATIVE_OFFSET)


@pytest.mark.parametrize("name", list(REGRESSORS))
@_PROPERTY
@given(
    log_a=st.tuples(_log_unit, _log_unit),
    u_b=st.tuples(_rel_offset, _rel_offset),
    log_c=_log_unit,
    u_d=_rel_offset,
)
def test_regressor_affine_equivariance_property(name, log_a, u_b, log_c, u_d):
    a = 10.0 ** np.asarray(log_a)
    check_regressor_equivariance(name, a, u_b, 10.0**log_c, u_d)


@pytest.mark.parametrize("gate", CLASSIFIER_GATES)
@_PROPERTY
@given(log_a=st.tuples(_log_unit, _log_unit), u_b=st.tuples(_rel_offset, _rel_offset))
def test_classifier_affine_equivariance_property(gate, log_a, u_b):
    check_classifier_equivariance(gate, 10.0 ** np.asarray(log_a), u_b)


# --------------------------------------------------------------------------- #
# One expert: ordinary least squares / unpenalised logistic regression
# --------------------------------------------------------------------------- #
OFFSETS = [0.0, 1e4, 1.7e9]


@pytest.mark.parametrize("offset", OFFSETS)
def test_one_expert_regressor_is_linear_regression(offset):
    rng = np.random.RandomState(1)
    X = rng.standard_normal((N_ROWS, 3)) + offset
    y = (X - offset) @ np.array([1.0, -2.0, 0.5]) + 3.0 + 0.3 * rng.standard_normal(N_ROWS)
    # The reference sees the same (rounded) data, X + offset - offset being
    # exact: LinearRegression on the raw 1.7e9 columns is itself off by ~7e-7
    # x std(y) (its normal equations lose the digits the centring keeps).
    ref = LinearRegression().fit(X - offset, y).predict(X - offset)
    # The built-in linear expert without its ridge is ordinary least squares;
    # with its default tiny ridge (alpha=1e-10 on standardised slopes) it is
    # within ~1e-10 of it.  Relative to the spread of y (a prediction near
    # zero has no relative accuracy of its own).
    for alpha, rtol in [(0.0, 1e-8), (LinearExpert().alpha, 1e-8)]:
        moe = MixtureOfExpertsRegressor(
            LinearExpert(alpha=alpha), n_experts=1, tol=1e-10, random_state=0
        ).fit(X, y)
        err = np.max(np.abs(moe.predict(X) - ref)) / y.std()
        assert err <= rtol, f"offset {offset:g}, alpha {alpha:g}: difference {err:.3g} x std(y)"


@pytest.mark.parametrize("offset", OFFSETS)
def test_one_expert_classifier_is_logistic_regression(offset):
    rng = np.random.RandomState(2)
    X = rng.standard_normal((N_ROWS, 3))
    logit = X @ np.array([1.5, -1.0, 0.5]) + 0.3
    y = (rng.uniform(size=N_ROWS) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    X = X + offset
    # No penalty on either side (C=np.inf is scikit-learn's penalty=None, deprecated
    # in 1.8); the Newton solver of the reference converges to ~1e-13.
    expert = LogisticExpert(alpha=0.0, tol=1e-12, max_iter=1000)
    moe = MixtureOfExpertsClassifier(expert, n_experts=1, tol=1e-12, random_state=0).fit(X, y)
    lr = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    proba, ref = moe.predict_proba(X), lr.fit(X - offset, y).predict_proba(X - offset)
    err = np.max(np.abs(proba - ref) / ref)
    assert err <= 1e-8, f"offset {offset:g}: relative difference {err:.3g}"


@pytest.mark.parametrize("offset", OFFSETS)
def test_logistic_expert_is_logistic_regression(offset):
    rng = np.random.RandomState(3)
    X = rng.standard_normal((N_ROWS, 2))
    y = (rng.uniform(size=N_ROWS) < 1.0 / (1.0 + np.exp(-(2.0 * X[:, 0] - X[:, 1])))).astype(int)
    # The reference sees the same (rounded) data: X + offset - offset is exact.
    X = X + offset
    expert = LogisticExpert(alpha=0.0, tol=1e-12, max_iter=1000).fit(X, y)
    lr = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    ref = lr.fit(X - offset, y).predict_proba(X - offset)
    err = np.max(np.abs(expert.predict_proba(X) - ref) / ref)
    assert err <= 1e-8, f"offset {offset:g}: relative difference {err:.3g}"


# --------------------------------------------------------------------------- #
# Standalone experts (the target of a Poisson / binomial model cannot be rescaled)
# --------------------------------------------------------------------------- #
def _glm_data(kind, n_regimes=1, seed=4):
    """Counts / proportions; with 2 regimes, two clusters in X with their own laws."""
    rng = np.random.RandomState(seed)
    if n_regimes == 1:
        X = rng.standard_normal((N_ROWS, 2))
        eta = 0.5 + X @ np.array([0.8, -0.6])
    else:
        z = np.arange(N_ROWS) % 2
        X = _regimes(2, seed)[z] + 0.6 * rng.standard_normal((N_ROWS, 2))
        local = X - _regimes(2, seed)[z]
        coef = np.array([[0.8, -0.6], [-0.7, 0.9]])
        eta = np.array([1.5, -0.5])[z] + np.einsum("ij,ij->i", local, coef[z])
    if kind == "poisson":
        return X, rng.poisson(np.exp(eta)).astype(float), PoissonExpert()
    return X, rng.binomial(5, 1.0 / (1.0 + np.exp(-eta))) / 5.0, BinomialExpert(n_trials=5)


FEATURE_CASES = {
    "timestamps": (1.0, 1.7e9),
    "prices": (1.0, 1e4),
    "micro": (1e-6, 0.0),
    "giga": (1e9, 0.0),
    "giga_offset": (1e9, 1e10),
    "mixed": ([1e-10, 1e10], [1e-3, 1e10]),
}


@pytest.mark.parametrize("case", list(FEATURE_CASES))
@pytest.mark.parametrize("kind", ["poisson", "binomial"])
def test_glm_expert_feature_units_and_offsets(kind, case):
    X, y, expert = _glm_data(kind)
    a, b = FEATURE_CASES[case]
    Xt = np.asarray(a) * X + np.asarray(b)
    ref = expert.fit(X, y).predict(X)
    pred = expert.fit(Xt, y).predict(Xt)
    assert_allclose(pred, ref, rtol=RTOL)


@pytest.mark.parametrize("case", list(FEATURE_CASES))
@pytest.mark.parametrize("kind", ["poisson", "binomial"])
def test_glm_mixture_feature_units_and_offsets(kind, case):
    X, y, expert = _glm_data(kind, n_regimes=2)
    a, b = FEATURE_CASES[case]
    Xt = np.asarray(a) * X + np.asarray(b)
    moe = MixtureOfExpertsRegressor(
        expert, n_experts=2, gate="softmax", n_init=2, max_iter=300, tol=1e-8, random_state=0
    )
    ref = moe.fit(X, y).predict(X)
    ll = moe.log_likelihood(X, y)
    pred = moe.fit(Xt, y).predict(Xt)
    assert_allclose(pred, ref, rtol=RTOL)
    assert_allclose(moe.log_likelihood(Xt, y), ll, rtol=RTOL, atol=1e-6)


@pytest.mark.parametrize("case", list(UNIT_CASES))
def test_student_t_expert_units_and_offsets(case):
    p = UNIT_CASES[case]
    X, y = make_regression(2)
    X, y = X[:, :1], y + np.random.RandomState(5).standard_t(3, size=N_ROWS)
    # One feature: the first of each case's per-feature units and offsets.
    a, b, c = np.ravel(p["a"])[0], np.ravel(p["b"])[0], p["c"]
    ref = StudentTExpert().fit(X, y)
    est = StudentTExpert().fit(a * X + b, c * y + p["d"])
    pred_back = (est.predict(a * X + b) - p["d"]) / c
    assert np.max(np.abs(pred_back - ref.predict(X))) <= RTOL * y.std()
    assert_allclose(est.scale_, c * ref.scale_, rtol=RTOL)
    assert_allclose(est.df_, ref.df_, rtol=1e-4)


def test_student_t_scale_floor_is_relative():
    # A target in units of 1e-8: the floor must not be an absolute 1e-12.
    rng = np.random.RandomState(6)
    X = rng.standard_normal((200, 1))
    y = 1e-8 * (X[:, 0] + 0.01 * rng.standard_t(5, size=200))
    est = StudentTExpert().fit(X, y)
    ref = StudentTExpert().fit(X, 1e8 * y)
    assert_allclose(est.scale_, 1e-8 * ref.scale_, rtol=RTOL)
