"""Invariants of the EM driver (BaseMixtureOfExperts.fit).

In the spirit of scikit-learn's ``sklearn/mixture/tests``: the monitored
objective never decreases when both M-steps are exact, the iteration cap and
ConvergenceWarning behave, results depend on random_state only (not on
n_jobs, not on how many times fit is called), warm starts continue, verbose
prints the trace, collapsed experts are re-seeded (and repeated re-seeding
warns), noise variances respect their floor and predictions are never NaN.
"""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skmoe import ConstantGate, MixtureOfExpertsClassifier, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import make_moe_classification, make_moe_regression
from skmoe.exceptions import DegenerateExpertWarning
from skmoe.experts import LogisticExpert

N_SEEDS = 20
# Slack for "never decreases": EM stops at changes below tol=1e-9, so at
# convergence successive values differ by rounding only.
MONOTONE_SLACK = 1e-10


def _exact_gate():
    return SoftmaxGate(alpha=1e-2, tol=1e-10, max_iter=1000)


def _reseed_iterations(out):
    """Iterations after which the driver re-seeded (from the verbose trace)."""
    return {int(m) for m in re.findall(r"iteration (\d+): re-seeded", out)}


def _assert_monotone(moe, out, seed):
    lbs = moe.lower_bounds_
    assert lbs.shape == (moe.n_iter_,)
    assert np.all(np.isfinite(lbs))
    reseeded = _reseed_iterations(out)
    assert len(reseeded) <= moe.n_reseeds_
    for i in range(1, lbs.size):
        if i in reseeded:  # lbs[i-1] at iteration i; re-seeding may drop the objective
            continue
        assert lbs[i] >= lbs[i - 1] - MONOTONE_SLACK, (
            f"seed {seed}: objective decreased at EM iteration {i + 1}: "
            f"{lbs[i - 1]!r} -> {lbs[i]!r} (change {lbs[i] - lbs[i - 1]:.3e})"
        )
    assert moe.lower_bound_ == lbs[-1]


@pytest.mark.parametrize("gate", ["softmax", "constant"])
def test_lower_bound_never_decreases(gate, capsys):
    """Exact M-steps (closed-form linear-Gaussian experts; a gate fitted to
    convergence, or the closed-form constant gate) make EM monotone, also with
    sample weights and either initialisation."""
    n_checked_steps = 0
    for seed in range(N_SEEDS):
        X, y, _ = make_moe_regression(
            n_samples=60, n_features=2, n_experts=3, gate=gate, random_state=seed
        )
        sw = np.random.RandomState(seed).uniform(0.2, 2.0, 60) if seed % 2 else None
        moe = MixtureOfExpertsRegressor(
            n_experts=3,
            gate=_exact_gate() if gate == "softmax" else ConstantGate(),
            max_iter=300,
            tol=1e-9,
            init_params="random" if seed % 3 == 0 else "kmeans",
            random_state=seed,
            verbose=1,
        )
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            moe.fit(X, y, sample_weight=sw)
        _assert_monotone(moe, capsys.readouterr().out, seed)
        n_checked_steps += moe.n_iter_ - 1
    assert n_checked_steps > 10 * N_SEEDS  # the check was not vacuous


def test_lower_bound_never_decreases_heavy_gate_penalty(capsys):
    """A strong gate penalty: the penalised objective is what EM ascends."""
    for seed in range(5):
        X, y, _ = make_moe_regression(n_samples=80, n_features=3, n_experts=2, random_state=seed)
        moe = MixtureOfExpertsRegressor(
            n_experts=2,
            gate=SoftmaxGate(alpha=20.0, tol=1e-10, max_iter=1000),
            max_iter=300,
            tol=1e-9,
            random_state=seed,
            verbose=1,
        )
        capsys.readouterr()
        moe.fit(X, y)
        _assert_monotone(moe, capsys.readouterr().out, seed)


@pytest.mark.parametrize("expert_alpha", [0.0, 1.0])
def test_classifier_lower_bound_never_decreases(capsys, expert_alpha):
    """Logistic experts fitted to convergence, with and without their own penalty.

    ``lower_bound_`` subtracts the experts' penalties as well as the gate's,
    and inside a mixture a LogisticExpert's standardisation is fixed once, so
    the penalised objective EM ascends is the one that is tracked.
    """
    for seed in range(8):
        X, y, _ = make_moe_classification(
            n_samples=120, n_experts=2, n_classes=3, random_state=seed
        )
        clf = MixtureOfExpertsClassifier(
            LogisticExpert(alpha=expert_alpha, tol=1e-8, max_iter=300),
            n_experts=2,
            gate=_exact_gate(),
            max_iter=60,
            tol=1e-9,
            random_state=seed,
            verbose=1,
        )
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        _assert_monotone(clf, capsys.readouterr().out, seed)


@pytest.mark.parametrize("gate", ["softmax", "constant"])
def test_lower_bound_is_the_final_objective(gate):
    """A final E-step: lower_bound_ is the weighted mean log-likelihood of the
    fitted model minus the gate penalty, so fit and log_likelihood agree."""
    X, y, _ = make_moe_regression(
        n_samples=120, n_features=2, n_experts=2, gate=gate, random_state=0
    )
    sw = np.random.RandomState(0).uniform(0.1, 3.0, 120)
    moe = MixtureOfExpertsRegressor(n_experts=2, gate=gate, random_state=0).fit(
        X, y, sample_weight=sw
    )
    ll = moe.log_likelihood(X, y)
    expected = (sw @ ll - moe.gate_._penalty()) / sw.sum()
    assert_allclose(moe.lower_bound_, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- #
# Iteration cap and convergence flag
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_init", [1, 3])
def test_capped_run_warns_and_uses_max_iter(n_init):
    X, y, _ = make_moe_regression(n_samples=200, n_experts=3, random_state=1)
    moe = MixtureOfExpertsRegressor(n_experts=3, max_iter=3, tol=0.0, n_init=n_init, random_state=0)
    with pytest.warns(ConvergenceWarning) as record:
        moe.fit(X, y)
    conv = [w for w in record if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 1  # one warning after all restarts, not one per restart
    assert moe.n_iter_ == 3
    assert moe.converged_ is False
    assert moe.lower_bounds_.shape == (3,)


@pytest.mark.parametrize("gate", ["softmax", "constant"])
def test_converged_run_does_not_warn(gate):
    X, y, _ = make_moe_regression(n_samples=200, n_experts=2, gate=gate, random_state=2)
    moe = MixtureOfExpertsRegressor(n_experts=2, gate=gate, max_iter=500, tol=1e-6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", DegenerateExpertWarning)
        moe.fit(X, y)
    assert moe.converged_ is True
    assert moe.n_iter_ < 500
    assert abs(moe.lower_bounds_[-1] - moe.lower_bounds_[-2]) < 1e-6


# --------------------------------------------------------------------------- #
# Determinism: random_state alone decides, not n_jobs, not repetition
# --------------------------------------------------------------------------- #
def _regression_data():
    X, y, _ = make_moe_regression(n_samples=150, n_features=2, n_experts=3, random_state=3)
    return X, y


def _assert_same_fit(a, b, X, y):
    assert a.lower_bound_ == b.lower_bound_
    assert_array_equal(a.lower_bounds_, b.lower_bounds_)
    assert a.n_iter_ == b.n_iter_
    assert_array_equal(a.predict_gate(X), b.predict_gate(X))
    if hasattr(a, "noise_variance_"):
        assert_array_equal(a.predict(X), b.predict(X))
        assert_array_equal(a.noise_variance_, b.noise_variance_)
    else:
        assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert_array_equal(a.log_likelihood(X, y), b.log_likelihood(X, y))


REG_ESTIMATORS = {
    "linear-ninit3": dict(n_experts=3, n_init=3),
    "tree-ninit3": dict(
        experts=DecisionTreeRegressor(max_depth=3), n_experts=3, n_init=3, max_iter=20
    ),
    "tree-ninit1": dict(
        experts=DecisionTreeRegressor(max_depth=3), n_experts=3, n_init=1, max_iter=20
    ),
    "tree-stochastic": dict(
        experts=DecisionTreeRegressor(max_depth=3),
        n_experts=2,
        n_init=2,
        m_step="stochastic",
        max_iter=15,
    ),
}


@pytest.mark.parametrize("params", REG_ESTIMATORS.values(), ids=REG_ESTIMATORS.keys())
def test_n_jobs_does_not_change_the_result(params):
    X, y = _regression_data()
    fits = []
    for n_jobs in (1, 2):
        moe = MixtureOfExpertsRegressor(random_state=7, n_jobs=n_jobs, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(moe.fit(X, y))
    _assert_same_fit(*fits, X, y)


def test_n_jobs_does_not_change_the_classifier():
    X, y, _ = make_moe_classification(n_samples=150, n_experts=2, random_state=0)
    fits = []
    for n_jobs in (1, 2):
        clf = MixtureOfExpertsClassifier(
            DecisionTreeClassifier(max_depth=2),
            n_experts=2,
            n_init=2,
            max_iter=10,
            random_state=3,
            n_jobs=n_jobs,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(clf.fit(X, y))
    _assert_same_fit(*fits, X, y)


@pytest.mark.parametrize("params", REG_ESTIMATORS.values(), ids=REG_ESTIMATORS.keys())
def test_fit_twice_gives_the_same_result(params):
    X, y = _regression_data()
    moe = MixtureOfExpertsRegressor(random_state=11, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = clone(moe).fit(X, y)
        moe.fit(X, y)
        lb, pred = moe.lower_bound_, moe.predict(X)
        moe.fit(X, y)  # refit the same object
    assert moe.lower_bound_ == lb == first.lower_bound_
    assert_array_equal(moe.predict(X), pred)
    assert_array_equal(first.predict(X), pred)


def test_random_state_instance_is_consumed_not_reset():
    """A RandomState instance advances between fits (scikit-learn convention),
    while an int seed reproduces."""
    X, y = _regression_data()
    rs = np.random.RandomState(0)
    moe = MixtureOfExpertsRegressor(n_experts=3, init_params="random", random_state=rs, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = moe.fit(X, y).lower_bounds_.copy()
        b = moe.fit(X, y).lower_bounds_.copy()
    assert not np.array_equal(a, b)


# --------------------------------------------------------------------------- #
# Warm start
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("gate", ["softmax", "constant"])
def test_warm_start_continues_from_previous_solution(gate):
    X, y, _ = make_moe_regression(
        n_samples=300, n_features=2, n_experts=3, gate=gate, random_state=5
    )
    g = _exact_gate() if gate == "softmax" else "constant"
    kw = dict(n_experts=3, gate=g, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold = MixtureOfExpertsRegressor(max_iter=10, **kw).fit(X, y)
        warm = MixtureOfExpertsRegressor(max_iter=5, warm_start=True, **kw).fit(X, y)
        first_lb = warm.lower_bound_
        assert_allclose(warm.lower_bounds_, cold.lower_bounds_[:5], rtol=1e-12)
        warm.set_params(max_iter=6).fit(X, y)
    assert warm.n_reseeds_ == 0 and cold.n_reseeds_ == 0
    # The continuation starts where the first fit stopped (same parameters,
    # hence the same objective), never goes down ...
    assert_allclose(warm.lower_bounds_[0], first_lb, rtol=1e-12)
    assert np.all(np.diff(warm.lower_bounds_) >= -MONOTONE_SLACK)
    assert warm.lower_bound_ >= first_lb
    # ... and 5 + 6 warm iterations (the first of the second fit re-evaluates
    # the point where the first stopped) are the 10 iterations of a cold fit.
    assert_allclose(warm.lower_bounds_, cold.lower_bounds_[4:], rtol=1e-10)
    assert_allclose(warm.predict(X), cold.predict(X), rtol=1e-8, atol=1e-10)


def test_warm_start_without_previous_fit_is_a_cold_fit():
    X, y = _regression_data()
    a = MixtureOfExpertsRegressor(n_experts=3, warm_start=True, random_state=0).fit(X, y)
    b = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    assert a.lower_bound_ == b.lower_bound_


def test_warm_start_with_different_n_experts_raises():
    X, y = _regression_data()
    moe = MixtureOfExpertsRegressor(n_experts=3, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="same number of experts"):
        moe.set_params(n_experts=2).fit(X, y)


# --------------------------------------------------------------------------- #
# Verbose
# --------------------------------------------------------------------------- #
def test_verbose_2_prints_every_iteration(capsys):
    X, y = _regression_data()
    capsys.readouterr()
    # One start (no screening runs): every line is the kept run's.
    moe = MixtureOfExpertsRegressor(n_experts=3, n_screen=0, random_state=0, verbose=2)
    moe.fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    values = [float(re.search(r"mean log-likelihood (\S+) \(change", ln)[1]) for ln in lines[:-1]]
    assert len(values) == moe.n_iter_
    assert_allclose(values, moe.lower_bounds_, rtol=1e-7)
    assert all(
        ln.startswith("[MixtureOfExpertsRegressor] restart 0 iteration") for ln in lines[:-1]
    )
    # ... and the summary line of verbose=1 last.
    assert lines[-1] == (
        f"[MixtureOfExpertsRegressor] restart 0: converged after {moe.n_iter_} iterations, "
        f"mean log-likelihood {moe.lower_bound_:.8g}"
    )


def test_verbose_1_prints_a_summary_per_restart(capsys):
    X, y = _regression_data()
    capsys.readouterr()
    moe = MixtureOfExpertsRegressor(n_experts=3, n_init=2, random_state=0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    # No iteration lines: a summary line per start (2 * n_init: two screened
    # out, two resumed), and events (re-seeds).
    assert not any("(change" in ln for ln in lines)
    summaries = [ln for ln in lines if "re-seeded" not in ln]
    assert len(summaries) == 4
    pattern = r"\[MixtureOfExpertsRegressor\] restart (\d+): "
    found = {int(re.match(pattern, ln)[1]): ln for ln in summaries}
    assert sorted(found) == [0, 1, 2, 3]
    screened = [i for i, ln in found.items() if "screened out after 10 iterations" in ln]
    finished = [i for i, ln in found.items() if "converged after" in ln]
    assert len(screened) == 2 and len(finished) == 2
    for i in finished:
        n = len(moe.lower_bounds_all_[i])
        assert f"converged after {n} iterations" in found[i]
        assert f"mean log-likelihood {moe.lower_bounds_all_[i][-1]:.8g}" in found[i]


def test_verbose_1_says_when_max_iter_stops_a_run(capsys):
    X, y = _regression_data()
    capsys.readouterr()
    with pytest.warns(ConvergenceWarning):
        MixtureOfExpertsRegressor(
            n_experts=3, n_screen=0, max_iter=3, random_state=0, verbose=1
        ).fit(X, y)
    (line,) = capsys.readouterr().out.splitlines()
    assert "restart 0: stopped at max_iter=3 without converging (last change" in line


def test_verbose_zero_is_silent(capsys):
    X, y = _regression_data()
    capsys.readouterr()
    MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_verbose_prints_every_restart(capsys):
    X, y = _regression_data()
    capsys.readouterr()
    moe = MixtureOfExpertsRegressor(n_experts=2, n_init=3, random_state=0, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    # Every start reports, the screened ones included (2 * n_init by default).
    assert len(moe.lower_bounds_all_) == 6
    assert {int(r) for r in re.findall(r"restart (\d+): ", out)} == set(range(6))


# --------------------------------------------------------------------------- #
# Collapsed experts
# --------------------------------------------------------------------------- #
def test_collapsed_expert_is_reseeded(monkeypatch, capsys):
    """Start one expert with no responsibility at all: EM must give it data
    back (re-seed it with the worst-explained rows) and end with two live
    experts that fit as well as an ordinary start."""
    X, y, truth = make_moe_regression(n_samples=300, n_features=1, n_experts=2, random_state=0)
    normal = MixtureOfExpertsRegressor(n_experts=2, random_state=0, tol=1e-8, max_iter=500).fit(
        X, y
    )

    def dead_start(self, X, y, sw, n_experts, rng, strategy=None, perturb=False):
        resp = np.zeros((X.shape[0], n_experts))
        resp[:, 0] = 1.0
        return resp

    monkeypatch.setattr(MixtureOfExpertsRegressor, "_initial_resp", dead_start)
    capsys.readouterr()
    moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0, tol=1e-8, max_iter=500, verbose=1)
    moe.fit(X, y)
    out = capsys.readouterr().out
    assert moe.n_reseeds_ >= 1
    assert "re-seeded collapsed expert(s) [1]" in out
    mass = moe.responsibilities(X, y).sum(axis=0)
    assert np.all(mass > 0.1 * X.shape[0])
    assert moe.lower_bound_ > normal.lower_bound_ - 1e-3
    assert np.all(np.isfinite(moe.predict(X)))


@pytest.mark.parametrize(
    "experts", [None, DecisionTreeRegressor(max_depth=2)], ids=["linear", "tree"]
)
def test_too_many_experts_warns_degenerate(experts, capsys):
    """Far more experts than the data support: experts keep collapsing,
    are re-seeded, and the user is told; the fit still ends usable."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, (12, 1))
    y = 2 * X[:, 0] + 0.1 * rng.randn(12)
    # One start: screening would keep the start that collapses least, and
    # this test is about the re-seed and its warning.
    moe = MixtureOfExpertsRegressor(
        experts, n_experts=6, max_iter=50, n_screen=0, random_state=0, verbose=1
    )
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(DegenerateExpertWarning, match="re-seeded"):
            moe.fit(X, y)
    assert moe.n_reseeds_ > 3
    assert len(_reseed_iterations(capsys.readouterr().out)) >= 1
    _assert_usable(moe, X, y)


def test_no_degenerate_warning_on_a_healthy_fit():
    X, y, _ = make_moe_regression(n_samples=400, n_experts=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExpertWarning)
        moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    assert moe.n_reseeds_ <= 3


# --------------------------------------------------------------------------- #
# Variance floor, no NaN
# --------------------------------------------------------------------------- #
def _assert_usable(moe, X, y):
    floor = moe.variance_floor * np.var(y)
    assert np.all(moe.noise_variance_ >= floor * (1 - 1e-12))
    assert np.all(moe.noise_variance_ > 0)
    mean, std = moe.predict(X, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
    assert np.all(np.isfinite(moe.log_likelihood(X, y)))
    assert np.all(np.isfinite(moe.lower_bounds_))
    resp = moe.responsibilities(X, y)
    assert not np.isnan(resp).any()
    assert_allclose(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize("variance_floor", [1e-6, 1e-3])
@pytest.mark.parametrize(
    "experts", [None, DecisionTreeRegressor()], ids=["linear", "unlimited-tree"]
)
def test_noise_variance_never_below_floor(experts, variance_floor):
    """Noiseless piecewise-linear data (or a tree that interpolates): the
    noise variance MLE is 0, the fit must stop at the floor."""
    x = np.linspace(-1, 1, 80)
    y = np.where(x < 0, 2 * x + 1, -x + 3)
    X = x[:, None]
    moe = MixtureOfExpertsRegressor(
        experts, n_experts=2, max_iter=100, variance_floor=variance_floor, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe.fit(X, y)
    _assert_usable(moe, X, y)
    floor = variance_floor * np.var(y)
    # At least one expert interpolates its rows exactly: it sits on the floor.
    assert_allclose(moe.noise_variance_.min(), floor, rtol=1e-6)


def test_constant_target_has_no_nan():
    X = np.random.RandomState(0).randn(40, 2)
    y = np.full(40, 3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe = MixtureOfExpertsRegressor(n_experts=2, max_iter=30, random_state=0).fit(X, y)
    assert np.all(moe.noise_variance_ > 0)
    assert_allclose(moe.predict(X), 3.0)
    assert np.all(np.isfinite(moe.log_likelihood(X, y)))


def test_predictions_finite_far_outside_the_training_range():
    X, y, _ = make_moe_regression(n_samples=200, n_experts=3, random_state=0)
    moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    X_far = np.array([[1e6, -1e6], [-1e8, 0.0], [0.0, 1e10], [1e15, 1e15]])
    mean, std = moe.predict(X_far, return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
    gate = moe.predict_gate(X_far)
    assert not np.isnan(gate).any()
    assert_allclose(gate.sum(axis=1), 1.0)
    assert np.all(np.isfinite(moe.log_likelihood(X_far, np.zeros(4))))


def test_target_far_from_zero_gives_the_same_experts():
    """A target mean of 1e7 changes nothing but the intercepts (the noise
    variances were once floored at 1e-12 * mean**2 = 100), also when a warm
    start brings the shifted data (the linear experts centre y with a shift
    computed once per EM run)."""
    X, y, _ = make_moe_regression(2000, 2, 3, random_state=3)
    kw = dict(n_experts=3, random_state=0, tol=1e-8, max_iter=200)
    base = MixtureOfExpertsRegressor(**kw).fit(X, y)
    far = MixtureOfExpertsRegressor(**kw).fit(X, y + 1e7)
    assert_allclose(far.lower_bound_, base.lower_bound_, rtol=1e-9)
    for e_far, e in zip(far.experts_, base.experts_, strict=False):
        assert_allclose(e_far.coef_, e.coef_, rtol=1e-6, atol=1e-8)
        assert_allclose(e_far.intercept_ - 1e7, e.intercept_, atol=1e-6)
    assert_allclose(far.noise_variance_, base.noise_variance_, rtol=1e-6)
    warm = MixtureOfExpertsRegressor(warm_start=True, **kw).fit(X, y)
    warm.fit(X, y + 1e7)
    # From a start whose intercepts are 1e7 off EM stops (tol=1e-8 on the
    # change) within ~1e-9 of the same optimum.
    assert_allclose(warm.lower_bound_, base.lower_bound_, rtol=1e-8)
    assert_allclose(warm.noise_variance_, base.noise_variance_, rtol=1e-4)


def test_screened_runs_hold_no_per_row_arrays():
    # Screening pauses 2 * n_init runs and keeps the finished ones until the
    # best is chosen: none of them may keep its (n, K) responsibilities, or a
    # fit's memory grows with n_init (it was 3.6x X at n_init=5, 1.6x at 1).
    import tracemalloc

    from skmoe.datasets import make_moe_regression

    X, y, _ = make_moe_regression(100000, 4, 8, random_state=0)
    # On all rows (subsample=None): the screened runs are then paused on all
    # rows (a subsampled fit pauses runs on its subsample only).
    kw = dict(n_experts=8, max_iter=8, random_state=0, subsample=None)
    MixtureOfExpertsRegressor(**kw).fit(X[:500], y[:500])  # compile outside the trace
    peaks = {}
    for n_init in (1, 5):
        tracemalloc.start()
        try:
            MixtureOfExpertsRegressor(**kw, n_init=n_init).fit(X, y)
            peaks[n_init] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peaks[5] < 1.25 * peaks[1], peaks


def test_prediction_e_step_takes_the_fused_pass_bit_for_bit(monkeypatch):
    # log_likelihood, responsibilities and the criteria of a softmax gate with
    # linear-Gaussian experts run the fused E-step (one kernel the fit has
    # compiled already): the numbers of the three separate passes, bit for
    # bit, over several thread blocks and on a strided X.
    import skmoe._base as base
    from skmoe._threading import blockwise_posterior

    X, y, _ = make_moe_regression(70_000, 3, 4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MixtureOfExpertsRegressor(n_experts=4, random_state=0, max_iter=5).fit(X, y)
    calls = []
    fused = base.fused_e_step
    monkeypatch.setattr(base, "fused_e_step", lambda *a: calls.append(1) or fused(*a))
    for Xp, yp in [(X, y), (np.asfortranarray(X)[::3], y[::3])]:
        resp, ll = blockwise_posterior(
            est.gate_._log_proba(Xp), est._expert_set.log_prob(np.ascontiguousarray(Xp), yp)
        )
        assert_array_equal(est.log_likelihood(Xp, yp), ll)
        assert_array_equal(est.responsibilities(Xp, yp), resp)
    assert len(calls) == 4
