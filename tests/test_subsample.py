"""Starts screened on a subsample of the rows (``subsample``, skmoe._subsample)."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe._rows import ThreadRows
from skmoe._subsample import (
    AUTO_MIN_ROWS,
    MIN_PER_STRATUM,
    MemoRows,
    subsample_rows,
    subsample_size,
)
from skmoe.datasets import make_moe_regression


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_moe_regression(6000, 2, 3, random_state=0)
    return X, y


def test_subsample_size_rules():
    # None: all rows; an integer: used when there are more rows than it.
    assert subsample_size(None, 10**7, 5, 3) == 0
    assert subsample_size(1000, 1000, 5, 3) == 0
    assert subsample_size(1000, 1001, 5, 3) == 1000
    # Too few rows for the model, when it would be used: a clear error.
    with pytest.raises(ValueError, match=r"subsample=20 is too small for 8 experts on 3"):
        subsample_size(20, 1000, 3, 8)
    assert subsample_size(20, 20, 3, 8) == 0  # not used: no error
    # "auto": at least AUTO_MIN_ROWS, more for wide models, and only when
    # there are four times as many rows.
    assert subsample_size("auto", 4 * AUTO_MIN_ROWS - 1, 2, 3) == 0
    assert subsample_size("auto", 4 * AUTO_MIN_ROWS, 2, 3) == AUTO_MIN_ROWS
    wide = 64 * 16 * 52
    assert subsample_size("auto", 4 * wide, 50, 16) == wide
    assert subsample_size("auto", 4 * wide - 1, 50, 16) == 0
    # A classifier's outputs count: 5 classes need four times the rows of 2.
    assert subsample_size("auto", 10**7, 50, 16, n_outputs=4) == 4 * wide


@given(
    n=st.integers(50, 3000),
    frac_zero=st.floats(0.0, 0.5),
    n_strata=st.integers(1, 4),
    m=st.integers(20, 800),
    seed=st.integers(0, 2**16),
)
def test_subsample_rows_keeps_each_stratums_weight(n, frac_zero, n_strata, m, seed):
    rng = np.random.RandomState(seed)
    sw = rng.gamma(2.0, size=n)
    sw[rng.rand(n) < frac_zero] = 0.0
    sw[0] = 1.0  # at least one row with weight
    # Strata of very unequal sizes: the last one rare.
    strata = rng.choice(n_strata, size=n, p=np.r_[np.ones(n_strata - 1), 0.05] / (n_strata - 0.95))
    est = SimpleNamespace(subsample=m, _is_classifier=n_strata > 1, classes_=np.arange(n_strata))
    drawn = subsample_rows(est, sw, strata, 1, 1, np.array([seed, 7]))
    if np.count_nonzero(sw) <= m:  # no more rows than the subsample: all rows
        assert drawn is None
        return
    rows, w = drawn
    assert np.all(np.diff(rows) > 0)  # sorted, no row twice
    assert np.all(sw[rows] > 0)  # rows without weight are never drawn
    assert np.all(w > 0)
    labels = strata if n_strata > 1 else np.zeros(n, dtype=int)
    for c in np.unique(labels[sw > 0]):
        mine = (labels == c) & (sw > 0)
        drawn_c = labels[rows] == c
        # Every stratum is there, with at least its minimum or all of its rows...
        assert drawn_c.sum() >= min(MIN_PER_STRATUM, mine.sum())
        # ...and its total weight.
        assert_allclose(w[drawn_c].sum(), sw[mine].sum(), rtol=1e-12)
        # The drawn rows keep their relative weights.
        assert_allclose(w[drawn_c] / sw[rows][drawn_c], w[drawn_c][0] / sw[rows][drawn_c][0])
    # The same seeds, the same draw.
    again = subsample_rows(est, sw, strata, 1, 1, np.array([seed, 7]))
    assert_array_equal(again[0], rows)


def test_memo_rows_sums_once_and_hands_out_copies():
    calls = []

    def total(block, c):
        calls.append(1)
        return (block.x.sum(axis=0) + c,)

    rows = MemoRows(ThreadRows(x=np.arange(10.0)[:, None]))
    (a,) = rows.sum(total, np.array(1.0))
    a += 100.0  # a caller adding to its result changes nothing kept
    (b,) = rows.sum(total, np.array(1.0))
    assert_array_equal(b, [46.0])
    assert len(calls) == 1
    rows.sum(total, np.array(2.0))  # other arguments: another sum
    assert len(calls) == 2


def test_subsampled_fit_ends_at_a_fixed_point_on_all_rows(data):
    X, y = data
    est = MixtureOfExpertsRegressor(n_experts=3, subsample=800, tol=1e-7, random_state=0)
    est.fit(X, y)
    assert est.n_subsample_ == 800
    assert est.converged_
    lower_bound = est.lower_bound_
    # EM continued on all rows: more EM steps on all rows do not move it.
    est.set_params(warm_start=True, tol=0.0, max_iter=3)
    with pytest.warns(ConvergenceWarning):  # max_iter reached, by construction
        est.fit(X, y)
    assert est.n_subsample_ == 0  # a warm start runs on all rows
    assert_allclose(est.lower_bounds_[0], lower_bound, rtol=0, atol=1e-12)
    assert abs(est.lower_bounds_[-1] - lower_bound) < 1e-6


def test_subsampled_fit_reaches_the_optimum_of_the_fit_on_all_rows(data):
    X, y = data
    full = MixtureOfExpertsRegressor(n_experts=3, subsample=None, tol=1e-8, random_state=0)
    sub = MixtureOfExpertsRegressor(n_experts=3, subsample=800, tol=1e-8, random_state=0)
    full.fit(X, y)
    sub.fit(X, y)
    assert full.n_subsample_ == 0 and sub.n_subsample_ == 800
    assert_allclose(sub.lower_bound_, full.lower_bound_, rtol=0, atol=1e-6)
    # The same fitted model (predictions do not depend on the experts' order).
    assert_allclose(sub.predict(X), full.predict(X), rtol=0, atol=1e-3 * y.std())
    # The starts fixed their frames on all rows: the same as the full fit's.
    assert_array_equal(sub.gate_._mean, full.gate_._mean)
    assert_array_equal(sub.gate_._scale, full.gate_._scale)
    assert sub._expert_set._frame[0].tobytes() == full._expert_set._frame[0].tobytes()


def test_subsampled_histories(data):
    X, y = data
    est = MixtureOfExpertsRegressor(n_experts=3, subsample=800, n_init=2, random_state=0)
    est.fit(X, y)
    assert len(est.lower_bounds_all_) == len(est.init_strategies_) == 4
    # The kept start's history is the one on all rows; the screening ran on
    # the subsample: the two screened-out starts stopped after screen_iter.
    kept = [np.array_equal(h, est.lower_bounds_) for h in est.lower_bounds_all_]
    assert sum(kept) == 1
    assert len(est.lower_bounds_) == est.n_iter_
    dropped = [len(h) for h, k in zip(est.lower_bounds_all_, kept, strict=True) if not k]
    assert len(dropped) == 3 and dropped.count(est.screen_iter) >= 2


def test_subsampled_fit_is_reproducible_with_any_n_jobs(data):
    X, y = data
    fits = [
        MixtureOfExpertsRegressor(
            n_experts=3, subsample=800, n_init=2, random_state=3, n_jobs=n_jobs
        ).fit(X, y)
        for n_jobs in (1, 2)
    ]
    assert_array_equal(fits[0].predict(X), fits[1].predict(X))
    assert fits[0].lower_bound_ == fits[1].lower_bound_


def test_classifier_subsample_keeps_a_rare_class():
    rng = np.random.RandomState(0)
    n = 5000
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    rare = np.argsort(X[:, 1])[-20:]  # 20 rows of a third class, far up in x2
    X[rare, 1] += 4.0
    y[rare] = 2
    est = MixtureOfExpertsClassifier(n_experts=2, subsample=300, random_state=0).fit(X, y)
    assert est.n_subsample_ >= 300
    proba = est.predict_proba(X[rare])
    assert np.all(np.isfinite(proba))
    assert proba[:, 2].mean() > 0.5  # the rare class was learned on all rows


@pytest.mark.parametrize("bad", [0, -5, 1.5, "all"])
def test_subsample_is_validated(data, bad):
    X, y = data
    with pytest.raises(InvalidParameterError, match="subsample"):
        MixtureOfExpertsRegressor(subsample=bad).fit(X, y)


def _families():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from skmoe.experts import LogisticExpert, PoissonExpert, StudentTExpert
    from skmoe.gating import GaussianGate, HierarchicalGate

    return [
        ("regressor", dict(n_experts=4, gate=HierarchicalGate(depth=2))),
        ("regressor", dict(n_experts=3, gate=GaussianGate())),
        ("regressor", dict(n_experts=3, gate="constant")),
        ("regressor", dict(n_experts=2, experts=StudentTExpert())),
        ("regressor", dict(n_experts=2, experts=LinearRegression())),
        ("counts", dict(n_experts=2, experts=PoissonExpert())),
        ("classifier", dict(n_experts=2, experts=LogisticExpert())),
        ("classifier", dict(n_experts=2, experts=LogisticRegression())),
    ]


@pytest.mark.parametrize("kind, kw", _families(), ids=lambda v: str(v)[:60])
def test_every_model_family_continues_on_all_rows(data, kind, kw):
    # Every gate and expert family runs its starts on the subsample (tree
    # gates and Student-t experts with their simpler neighbours first) and
    # continues on all rows: the kept fit is one of EM on all rows, which
    # more EM steps on all rows barely move.
    X, y = data
    if kind == "counts":
        y = np.random.RandomState(0).poisson(np.exp(0.3 * X[:, 0] + 0.5)).astype(float)
    elif kind == "classifier":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    cls = MixtureOfExpertsClassifier if kind == "classifier" else MixtureOfExpertsRegressor
    est = cls(**kw, subsample=700, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert est.n_subsample_ >= 700
    out = est.predict_proba(X) if kind == "classifier" else est.predict(X)
    assert np.all(np.isfinite(out))
    lower_bound = est.lower_bound_
    est.set_params(warm_start=True, max_iter=2, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    # The first E-step on all rows gives the kept fit's objective back, and
    # EM does not decrease it (beyond what a scikit-learn expert's own solver,
    # stopping at its tol, leaves: ~2e-7 for LogisticRegression here).
    assert_allclose(est.lower_bounds_[0], lower_bound, rtol=1e-10, atol=1e-10)
    assert est.lower_bounds_[-1] >= lower_bound - 1e-6


def test_progress_lines_name_the_subsample(data, capsys):
    X, y = data
    MixtureOfExpertsRegressor(n_experts=3, subsample=500, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    on_sub = [line for line in lines if "subsample of 500 rows" in line]
    on_all = [line for line in lines if line.startswith("[MixtureOfExpertsRegressor] ")]
    # Both starts on the subsample (one screened out, one converged there),
    # then the kept one on all rows.
    assert len(on_sub) == 2 and any("screened out" in line for line in on_sub)
    assert len(on_all) == 1 and "converged" in on_all[0]


def test_too_small_a_subsample_is_refused_before_any_work(data):
    X, y = data
    est = MixtureOfExpertsRegressor(n_experts=8, subsample=20, random_state=0)
    with pytest.raises(ValueError, match="subsample=20 is too small"):
        est.fit(X, y)
    assert not hasattr(est, "gate_")  # nothing fitted
