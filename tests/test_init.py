"""Initialisation: the strategies, the portfolio and short-run screening (issue 12).

Oracles: the strategies' own definitions (a partition hashed from the row
index is the same however the rows are blocked; a line through d + 1 rows
passes through them), an uninterrupted EM run (a screened run that pauses
and resumes is the same run, bit for bit), and the fits themselves on data
whose best optimum is known.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe._init import (
    NEEDS_MATRIX,
    STRATEGIES,
    fit_lines,
    hashed_labels,
    portfolio,
    repeats_strategy,
)
from skmoe.datasets import make_moe_classification, make_moe_regression

REGRESSOR_STRATEGIES = [s for s in STRATEGIES if s != "classes"]
CLASSIFIER_STRATEGIES = [s for s in STRATEGIES if s not in NEEDS_MATRIX]


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


# --------------------------------------------------------------------------- #
# The building blocks
# --------------------------------------------------------------------------- #
def test_hashed_labels_do_not_depend_on_blocking():
    whole = hashed_labels(12345, 0, 10_000, 7)
    blocks = np.concatenate(
        [hashed_labels(12345, a, min(a + 999, 10_000), 7) for a in range(0, 10_000, 999)]
    )
    assert_array_equal(whole, blocks)
    # Uniform over the experts (a chi-square far inside its 1e-6 tail), and
    # another seed gives another partition.
    counts = np.bincount(whole, minlength=7)
    chi2 = float(((counts - 10_000 / 7) ** 2 / (10_000 / 7)).sum())
    assert chi2 < 40.0
    assert np.mean(hashed_labels(54321, 0, 10_000, 7) == whole) < 0.3


def test_lines_pass_through_their_rows():
    rng = np.random.RandomState(0)
    Z = rng.standard_normal((3, 2))
    u = rng.standard_normal(3)
    (line,) = fit_lines([(Z, u)])
    assert np.allclose(Z @ line[:-1] + line[-1], u, atol=1e-12)


def test_portfolio_cycles_its_strategies_and_restart_zero_is_kmeans():
    X, y, _ = make_moe_regression(n_samples=200, n_experts=2, random_state=0)
    moe = _quiet_fit(
        MixtureOfExpertsRegressor(n_experts=2, n_init=3, max_iter=20, random_state=0), X, y
    )
    strategies = portfolio(is_classifier=False, lines_possible=True)
    assert strategies[0] == "kmeans"
    assert moe.init_strategies_ == [strategies[i % len(strategies)] for i in range(6)]
    assert len(moe.lower_bounds_all_) == 6


# --------------------------------------------------------------------------- #
# Every strategy fits, deterministically; bad choices fail before any work
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("strategy", REGRESSOR_STRATEGIES)
def test_every_regressor_strategy_fits_deterministically(strategy):
    X, y, _ = make_moe_regression(n_samples=300, n_experts=3, random_state=1)
    kw = dict(n_experts=3, init_params=strategy, n_init=2, max_iter=30, random_state=3)
    one = _quiet_fit(MixtureOfExpertsRegressor(**kw, n_jobs=1), X, y)
    two = _quiet_fit(MixtureOfExpertsRegressor(**kw, n_jobs=2), X, y)
    assert one.init_strategies_ == [strategy] * 4
    assert_array_equal(one.predict(X), two.predict(X))
    assert one.lower_bound_ == two.lower_bound_
    assert one.score(X, y) > 0.5


@pytest.mark.parametrize("strategy", CLASSIFIER_STRATEGIES)
def test_every_classifier_strategy_fits_deterministically(strategy):
    X, y, _ = make_moe_classification(n_samples=300, n_experts=2, random_state=1)
    kw = dict(n_experts=2, init_params=strategy, n_init=2, max_iter=30, random_state=3)
    one = _quiet_fit(MixtureOfExpertsClassifier(**kw, n_jobs=1), X, y)
    two = _quiet_fit(MixtureOfExpertsClassifier(**kw, n_jobs=2), X, y)
    assert_array_equal(one.predict_proba(X), two.predict_proba(X))
    assert one.score(X, y) > 0.6


def test_strategies_start_in_different_places():
    # The point of a portfolio: unlike starts.  The initial objective of
    # each strategy's first EM iteration differs.
    X, y, _ = make_moe_regression(n_samples=300, n_experts=3, random_state=2)
    firsts = {}
    for strategy in REGRESSOR_STRATEGIES:
        moe = _quiet_fit(
            MixtureOfExpertsRegressor(
                n_experts=3, init_params=strategy, n_screen=0, max_iter=1, random_state=0
            ),
            X,
            y,
        )
        firsts[strategy] = moe.lower_bounds_[0]
    assert len(set(np.round(list(firsts.values()), 10))) == len(firsts)


@pytest.mark.parametrize(
    "est, match",
    [
        (MixtureOfExpertsClassifier(init_params="random_lines"), "random_lines"),
        (MixtureOfExpertsRegressor(init_params="classes"), "MixtureOfExpertsClassifier"),
    ],
)
def test_a_strategy_the_model_cannot_use_is_refused(est, match):
    X, y, _ = make_moe_classification(n_samples=60, n_experts=2, random_state=0)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


# --------------------------------------------------------------------------- #
# Screening: a paused and resumed run is the uninterrupted run
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("strategy", ["kmeans", "random_lines", "random_partition"])
def test_paused_and_resumed_run_is_the_uninterrupted_run(strategy):
    X, y, _ = make_moe_regression(n_samples=300, n_experts=3, random_state=4)
    est = MixtureOfExpertsRegressor(n_experts=3, max_iter=60, tol=1e-10, random_state=0)
    X_, y_, sw = est._validate_fit_data(X, y, None)
    named = est._named_experts()

    def run():
        return est._run_em(X_, y_, sw, named, 7, 0, None, warm=False, strategy=strategy)

    whole = run().advance(est.max_iter).result()
    paused = run().advance(3)
    assert len(paused.history) == 3 and not paused.stopped
    resumed = paused.advance(est.max_iter).result()
    assert_array_equal(resumed["lower_bounds"], whole["lower_bounds"])
    assert resumed["n_iter"] == whole["n_iter"]


def test_screening_keeps_the_best_screened_starts():
    X, y, _ = make_moe_regression(n_samples=400, n_experts=3, random_state=5)
    moe = _quiet_fit(
        MixtureOfExpertsRegressor(
            n_experts=3, n_init=2, n_screen=6, screen_iter=4, max_iter=200, random_state=0
        ),
        X,
        y,
    )
    histories = moe.lower_bounds_all_
    assert len(histories) == 6
    # Two resumed runs went on past the screening; the others stopped at it.
    resumed = [i for i, h in enumerate(histories) if len(h) > 4]
    assert len(resumed) == 2
    at_screen = [h[min(3, len(h) - 1)] for h in histories]
    others = [at_screen[i] for i in range(6) if i not in resumed]
    assert min(at_screen[i] for i in resumed) >= max(others)
    # The kept model is the better of the two resumed runs, or the earlier
    # one when they end within tol of each other (one optimum reached from
    # two sides).
    top = max(histories[i][-1] for i in resumed)
    first = min(i for i in resumed if histories[i][-1] >= top - moe.tol)
    assert moe.lower_bound_ == histories[first][-1]


# --------------------------------------------------------------------------- #
# Hard cases: where k-means alone misses the optimum and the portfolio finds it
# --------------------------------------------------------------------------- #
def _concomitant_data(seed=2, n=400):
    """Regimes set by a gate-only variable z; the experts (y = +-2 x) see x alone.

    Three noise columns dilute k-means on the standardised (X, y), so its
    clusters need not follow z; k-means on the gate's feature does.
    """
    rng = np.random.RandomState(seed)
    z = rng.standard_normal(n)
    x = rng.uniform(-3, 3, n)
    regime = rng.uniform(size=n) < 1 / (1 + np.exp(-3 * z))
    y = np.where(regime, 2 * x, -2 * x) + 0.5 * rng.standard_normal(n)
    return np.column_stack([x, z, rng.standard_normal((n, 3))]), y


def test_concomitant_gate_variable_is_found_by_the_portfolio():
    X, y = _concomitant_data()
    kw = dict(n_experts=2, gate_features=[1], expert_features=[0], max_iter=300, tol=1e-8)

    def loglik(**params):
        moe = MixtureOfExpertsRegressor(**kw, **params).fit(X, y)
        return moe.log_likelihood(X, y).sum(), moe

    kmeans = [loglik(init_params="kmeans", n_screen=0, random_state=rs)[0] for rs in range(5)]
    default = [loglik(random_state=rs) for rs in range(5)]
    best = max(ll for ll, _ in default)
    # The optimum is the generating model: slopes +2 and -2 on x.
    slopes = sorted(float(e.coef_[0]) for e in max(default, key=lambda t: t[0])[1].experts_)
    assert np.allclose(slopes, [-2.0, 2.0], atol=0.1)
    # k-means on (X, y) alone lands in a far poorer optimum for some seeds...
    assert min(kmeans) < best - 100
    # ...the default (portfolio, screened) reaches the optimum for every seed.
    assert all(abs(ll - best) <= 1e-3 * abs(best) for ll, _ in default)


# --------------------------------------------------------------------------- #
# Hidden Markov model classifiers and Markov switching: the same portfolio
# --------------------------------------------------------------------------- #
def _variance_regimes(rng, n_seq=20, T=40):
    """A 3-state HMM whose first two states share their mean and differ in
    spread (0.3 vs 3): k-means on the frames splits by position instead."""
    A = np.array([[0.95, 0.05, 0.0], [0.05, 0.9, 0.05], [0.0, 0.1, 0.9]])
    mu = np.array([[0.0, 0.0], [0.0, 0.0], [2.5, 0.0]])
    sd = np.array([0.3, 3.0, 0.5])
    X = []
    for _ in range(n_seq):
        s, xs = rng.randint(3), []
        for _ in range(T):
            xs.append(mu[s] + sd[s] * rng.randn(2))
            s = rng.choice(3, p=A[s])
        X.append(np.array(xs))
    return X


@pytest.mark.parametrize("strategy", ["kmeans", "mixture", "random"])
def test_hmm_start_strategies(strategy):
    from skmoe.sequence._hmm_baum_welch import GaussianEmission, concatenate, initial_params

    rng = np.random.RandomState(0)
    X, bounds = concatenate(_variance_regimes(rng))
    w = np.ones(len(bounds) - 1)
    p = initial_params(
        GaussianEmission("diag"), X, bounds, w, 3, np.random.RandomState(1), strategy
    )
    q = initial_params(
        GaussianEmission("diag"), X, bounds, w, 3, np.random.RandomState(1), strategy
    )
    for key in p:
        assert_array_equal(p[key], q[key])  # deterministic under its random stream
    assert np.allclose(p["transmat"].sum(axis=1), 1.0) and np.isclose(p["startprob"].sum(), 1.0)
    assert np.all(p["covars"] > 0) and np.all(np.isfinite(p["means"]))
    if strategy == "mixture":
        # The time-ignoring mixture tells the spreads apart (from most random
        # starts: 3 of these 4), and its posteriors along time give
        # persistent transitions.
        found = 0
        for seed in range(4):
            q = initial_params(
                GaussianEmission("diag"), X, bounds, w, 3, np.random.RandomState(seed), strategy
            )
            spread = np.sort(np.sqrt(q["covars"]).max(axis=1))
            if spread[0] < 0.6 and spread[-1] > 2.0:
                found += 1
                assert np.all(np.diag(q["transmat"]) > 0.6)
        assert found >= 3
    # Scaling every weight scales every statistic: the start does not move.
    r = initial_params(
        GaussianEmission("diag"), X, bounds, 7.0 * w, 3, np.random.RandomState(1), strategy
    )
    for key in p:
        np.testing.assert_allclose(r[key], p[key], rtol=1e-9, atol=1e-12)


def test_hmm_portfolio_finds_states_that_kmeans_merges():
    from skmoe.sequence import GaussianHMMClassifier

    rng = np.random.RandomState(0)
    X = _variance_regimes(rng)
    y = np.repeat([0, 1], 10)
    kw = dict(n_states=3, max_iter=500, tol=1e-6)
    old = [
        GaussianHMMClassifier(**kw, n_init=3, init_params="kmeans", n_screen=0, random_state=s)
        .fit(X, y)
        .lower_bound_
        for s in range(3)
    ]
    new = [GaussianHMMClassifier(**kw, n_init=3, random_state=s).fit(X, y) for s in range(3)]
    best = max(m.lower_bound_[0] for m in new)
    # k-means on frames starts every restart splitting by position and ends
    # 0.67 per frame lower; the portfolio's mixture and random starts find
    # the spread states in every seed.
    assert all(lb[0] < best - 0.5 for lb in old)
    assert all(m.lower_bound_[0] > best - 1e-6 for m in new)
    m = new[0]
    assert m.init_strategies_ == ["kmeans", "mixture", "random"] * 2
    assert len(m.lower_bounds_all_) == 2 and all(len(v) == 6 for v in m.lower_bounds_all_)
    # Same random_state, same fit.
    again = GaussianHMMClassifier(**kw, n_init=3, random_state=0).fit(X, y)
    assert_array_equal(again.means_, m.means_)


@pytest.mark.parametrize("strategy", ["frequencies", "mixture", "random", "portfolio"])
def test_categorical_hmm_strategies(strategy):
    from skmoe.sequence import CategoricalHMMClassifier

    rng = np.random.RandomState(3)
    X = [
        rng.choice(4, size=30, p=[0.7, 0.1, 0.1, 0.1] if i % 2 else [0.1, 0.1, 0.1, 0.7])
        for i in range(12)
    ]
    y = np.arange(12) % 2
    a = CategoricalHMMClassifier(init_params=strategy, n_init=2, random_state=0).fit(X, y)
    b = CategoricalHMMClassifier(init_params=strategy, n_init=2, random_state=0).fit(X, y)
    assert_array_equal(a.emissionprob_, b.emissionprob_)
    assert np.allclose(a.emissionprob_.sum(axis=2), 1.0)
    assert a.score(X, y) == 1.0
    with pytest.raises(ValueError, match="init_params"):
        CategoricalHMMClassifier(init_params="kmeans").fit(X, y)


@pytest.mark.parametrize("strategy", ["kmeans", "mixture", "random", "portfolio"])
def test_markov_switching_strategies(strategy):
    from skmoe import MarkovSwitchingRegressor

    rng = np.random.RandomState(0)
    regime = np.repeat([0, 1, 0, 1], 60)
    x = rng.randn(240)
    y = np.where(regime == 0, 1.0 + 2.0 * x, -1.0 - 0.5 * x) + 0.3 * rng.randn(240)
    X = x[:, None]
    a = MarkovSwitchingRegressor(init_params=strategy, random_state=0).fit(X, y)
    b = MarkovSwitchingRegressor(init_params=strategy, random_state=0).fit(X, y)
    assert_array_equal(a.transition_matrix_, b.transition_matrix_)
    slopes = np.sort([e.coef_[0] for e in a.experts_])
    np.testing.assert_allclose(slopes, [-0.5, 2.0], atol=0.15)
    assert np.all(np.diag(a.transition_matrix_) > 0.9)
    n_starts = 2  # n_init=1, n_screen="auto"
    assert len(a.init_strategies_) == len(a.lower_bounds_all_) == n_starts


def test_markov_switching_classifier_without_expert_features():
    # Documented (expert_features=[]: each regime is its class frequencies),
    # it crashed in k-means before (issue 13).
    from skmoe import MarkovSwitchingClassifier

    rng = np.random.RandomState(0)
    X = rng.randn(400, 2)
    y = (rng.rand(400) < np.repeat([0.1, 0.9, 0.1, 0.9], 100)).astype(int)
    fits = [
        MarkovSwitchingClassifier(expert_features=[], n_init=2, random_state=0).fit(X, y),
        MarkovSwitchingClassifier(
            expert_features=[], init_params="kmeans", n_screen=0, random_state=0
        ).fit(X, y),
    ]
    for m in fits:
        freq = np.sort(m.predict_regimes_proba(X[:1])[0, :, 1])
        np.testing.assert_allclose(freq, [0.1, 0.9], atol=0.06)
        assert np.all(np.diag(m.transition_matrix_) > 0.95)
        # Per regime one free class probability; 2 transition rows; the start.
        assert m._n_parameters() == 2 + 2 + 1
        assert np.all(np.isfinite(m.predict_proba(X)))


# --------------------------------------------------------------------------- #
# partial_fit: parallel chains on the first chunks
# --------------------------------------------------------------------------- #
def _stream(est, X, y, size=200):
    for a in range(0, X.shape[0], size):
        est.partial_fit(X[a : a + size], y[a : a + size])
    return est


def test_partial_fit_chains_keep_the_best_start():
    X, y, _ = make_moe_regression(6000, n_features=2, n_experts=3, random_state=2)
    batch = MixtureOfExpertsRegressor(n_experts=3, n_init=5, random_state=0).fit(X, y)
    one = _stream(
        MixtureOfExpertsRegressor(n_experts=3, init_params="kmeans", n_screen=0, random_state=1),
        X,
        y,
    )
    chains = _stream(MixtureOfExpertsRegressor(n_experts=3, n_init=3, random_state=1), X, y)
    # One k-means chain stays in a poorer optimum (R^2 0.70); six chains from
    # the portfolio (2 * n_init) on the first 2 * screen_iter chunks keep one
    # that reaches the batch fit's (0.77).
    assert one.score(X, y) < batch.score(X, y) - 0.05
    assert chains.score(X, y) > batch.score(X, y) - 0.005
    assert chains.init_strategies_ == list(portfolio(False, True)[:6])
    assert len(chains.lower_bounds_all_) == 6
    # The kept chain has the best mean score over chunks screen_iter + 1 to
    # 2 * screen_iter (the first screen_iter are a burn-in).
    m = chains.screen_iter
    assert all(h.shape == (2 * m,) for h in chains.lower_bounds_all_)
    screened = [h[m:].mean() for h in chains.lower_bounds_all_]
    assert chains.lower_bounds_[m : 2 * m].mean() == max(screened)
    # After screening a single chain goes on: every chunk counted once.
    assert chains.n_iter_ == 30 and chains.lower_bounds_.shape == (30,)
    again = _stream(MixtureOfExpertsRegressor(n_experts=3, n_init=3, random_state=1), X, y)
    assert_array_equal(again.predict(X), chains.predict(X))


def _tight_component(seed, n=300):
    """8% of the rows on a flat, tight line (y = 5, sd 0.02) across a wide one
    (y = 1 + 0.8 x, sd 2): the best optimum gives the few rows their own expert."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(0, 10, n)
    small = rng.uniform(size=n) < 0.08
    y = np.where(small, 5 + 0.02 * rng.standard_normal(n), 1 + 0.8 * x + 2 * rng.standard_normal(n))
    return x[:, None], y


def test_consensus_lines_find_a_small_tight_component():
    X, y = _tight_component(0)
    kw = dict(n_experts=2, gate="constant", tol=1e-8, max_iter=500)

    def ll(**params):
        return [
            _quiet_fit(MixtureOfExpertsRegressor(**kw, **params, random_state=s), X, y)
            .log_likelihood(X, y)
            .sum()
            for s in range(3)
        ]

    kmeans = ll(init_params="kmeans", n_screen=0, n_init=5)
    consensus = ll(init_params="consensus_lines", n_screen=0)
    default = ll(n_init=5)
    # k-means merges the 24 tight rows into the wide line in every restart
    # (-617.1); a single consensus start finds them (-565.9) in 2 of these 3
    # seeds, and the default portfolio with n_init=5 in all.
    best = max(consensus + default)
    assert all(v < best - 40 for v in kmeans)
    assert sum(v > best - 1e-6 for v in consensus) >= 2
    assert all(v > best - 1e-6 for v in default)
    moe = _quiet_fit(MixtureOfExpertsRegressor(**kw, n_init=5, random_state=0), X, y)
    sd = np.sqrt(moe.noise_variance_)
    assert sd.min() < 0.05 and abs(moe.experts_[int(np.argmin(sd))].intercept_ - 5) < 0.05


def test_segments_start_a_tree_gate_on_the_motorcycle_data():
    from skmoe.datasets import load_mcycle
    from skmoe.gating import HierarchicalGate

    X, y = load_mcycle(return_X_y=True)
    kw = dict(n_experts=4, tol=1e-6, max_iter=1000)

    def ll(**params):
        gate = HierarchicalGate(depth=2, branching=2, alpha=0.0)
        return [
            _quiet_fit(MixtureOfExpertsRegressor(gate=gate, **kw, **params, random_state=s), X, y)
            .log_likelihood(X, y)
            .sum()
            for s in range(2)
        ]

    # The runs along time (the quiet first 14 ms its own expert) start the
    # tree where 5 k-means restarts do not reach (-552.0, -564.7): the best
    # optimum known (-550.69; scipy from 200 random starts: -550.24 with an
    # even sharper gate).
    seg = ll(init_params="segments", n_screen=0)
    kmeans = ll(init_params="kmeans", n_screen=0, n_init=5)
    assert all(v > -550.8 for v in seg)
    assert all(v < -551.5 for v in kmeans)


def test_split_merge_moves_leave_a_local_optimum():
    # The motorcycle data, 3 experts, softmax gate: seed 1's fit ends at
    # -580.52 (the quiet first 14 ms its own expert, the rest split at the
    # wrong place); a pair move re-splits two experts' rows and reaches the
    # best optimum known (-577.63; scipy from 200 starts: -577.625).
    from skmoe.datasets import load_mcycle
    from skmoe.gating import SoftmaxGate

    X, y = load_mcycle(return_X_y=True)
    kw = dict(n_experts=3, gate=SoftmaxGate(alpha=0.0), tol=1e-6, max_iter=1000, random_state=1)
    plain = _quiet_fit(MixtureOfExpertsRegressor(**kw), X, y)
    moved = _quiet_fit(MixtureOfExpertsRegressor(**kw, split_merge=True), X, y)
    assert plain.log_likelihood(X, y).sum() < -580.0
    assert moved.log_likelihood(X, y).sum() > -577.7
    assert moved.n_split_merge_ >= 1
    assert moved.init_strategies_[-moved.n_split_merge_ :] == ["split_merge"] * moved.n_split_merge_
    assert moved.lower_bound_ == moved.lower_bounds_all_[-1][-1]
    again = _quiet_fit(MixtureOfExpertsRegressor(**kw, split_merge=True), X, y)
    assert_array_equal(again.predict(X), moved.predict(X))


def test_split_merge_classifier_and_dask_refusal():
    X, y, _ = make_moe_classification(n_samples=300, n_experts=3, random_state=0)
    kw = dict(n_experts=3, max_iter=50, random_state=0)
    plain = _quiet_fit(MixtureOfExpertsClassifier(**kw), X, y)
    moved = _quiet_fit(MixtureOfExpertsClassifier(**kw, split_merge=True), X, y)
    # A move is kept only when it raises the objective by more than tol.
    assert moved.lower_bound_ >= plain.lower_bound_
    assert moved.n_split_merge_ >= 0
    import dask.array as da

    with pytest.raises(ValueError, match="split_merge=True is not available for Dask"):
        MixtureOfExpertsRegressor(split_merge=True).fit(
            da.from_array(X, chunks=(100, X.shape[1])), da.from_array(y.astype(float), chunks=100)
        )


def _repeated_targets():
    """A line with noise, and 12 of its 120 rows at exactly y = 3: an expert on
    those rows alone has zero variance -- a spike of the likelihood."""
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 10, 120)
    y = 1 + 0.5 * x + rng.standard_normal(120)
    y[:12] = 3.0
    return x[:, None], y


def test_runs_on_a_likelihood_spike_are_told_and_not_preferred():
    from skmoe.exceptions import DegenerateExpertWarning

    X, y = _repeated_targets()
    kw = dict(n_experts=2, gate="constant")
    # Both screened starts of seed 1 end on the spike (a variance on its
    # floor, log-likelihood -122.9): kept, and the user is told.
    with pytest.warns(DegenerateExpertWarning, match=r"collapsed onto its floor"):
        spike = MixtureOfExpertsRegressor(**kw, random_state=1).fit(X, y)
    assert np.isclose(spike.noise_variance_.min(), spike._var_floor)
    # With more starts a proper maximum exists and is kept, although the
    # spike's log-likelihood is higher.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExpertWarning)
        proper = MixtureOfExpertsRegressor(**kw, n_init=3, random_state=1).fit(X, y)
    assert proper.noise_variance_.min() > 100 * proper._var_floor
    assert proper.log_likelihood(X, y).sum() < spike.log_likelihood(X, y).sum()
    # A pair move leaves the spike (the consensus start finds it: the 12
    # rows are a perfect line), whatever the objective, and no warning.
    start = dict(**kw, init_params="consensus_lines", n_screen=0, random_state=0)
    with pytest.warns(DegenerateExpertWarning):
        MixtureOfExpertsRegressor(**start).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExpertWarning)
        moved = MixtureOfExpertsRegressor(**start, split_merge=True).fit(X, y)
    assert moved.noise_variance_.min() > 100 * moved._var_floor and moved.n_split_merge_ >= 1


def test_repeated_segments_restarts_try_other_breakpoints():
    # The first segments restart cuts the rows exactly (what n_init=1 does);
    # the repeats cut Bayesian-bootstrap reweighted copies, so they start
    # elsewhere instead of repeating one run.
    from skmoe.datasets import load_mcycle

    X, y = load_mcycle(return_X_y=True)
    kw = dict(n_experts=3, init_params="segments", n_screen=0, max_iter=5, random_state=0)
    one = _quiet_fit(MixtureOfExpertsRegressor(**kw, n_init=1), X, y)
    four = _quiet_fit(MixtureOfExpertsRegressor(**kw, n_init=4), X, y)
    histories = four.lower_bounds_all_
    np.testing.assert_array_equal(histories[0], one.lower_bounds_all_[0])
    firsts = {round(float(h[0]), 10) for h in histories}
    assert len(firsts) == 4
    assert repeats_strategy(["segments"] * 4, 0) is False
    assert repeats_strategy(["kmeans", "segments", "kmeans"], 2)
    assert not repeats_strategy(["kmeans", "segments", "kmeans"], 1)


@pytest.mark.parametrize("seed", range(5))
def test_two_segments_cut_is_the_exhaustive_best_single_cut(seed):
    # The K = 2 shortcut (runs from the first row or to the last only)
    # against an exhaustive search: every cut, each side's weighted
    # least-squares line with its own variance, deviance sum w log(RSS / w).
    from skmoe._init import SEGMENT_SLACK, segment_thresholds

    rng = np.random.RandomState(seed)
    m = 60
    t = np.sort(rng.randn(m))
    Z = rng.randn(m, 2)
    u = np.where(t > 0.3, 2 * Z[:, 0], -Z[:, 1]) + rng.randn(m) * np.where(t > 0.3, 0.1, 1.0)
    w = rng.exponential(size=m)
    A = np.column_stack([Z, np.ones(m)])
    min_len = A.shape[1] + SEGMENT_SLACK

    def deviance(rows):
        sw = np.sqrt(w[rows])
        coef = np.linalg.lstsq(A[rows] * sw[:, None], u[rows] * sw, rcond=None)[0]
        rss = np.sum(w[rows] * (u[rows] - A[rows] @ coef) ** 2)
        return w[rows].sum() * np.log(rss / w[rows].sum())

    costs = {
        c: deviance(slice(0, c)) + deviance(slice(c, m)) for c in range(min_len, m - min_len + 1)
    }
    best = min(costs, key=costs.get)
    (threshold,) = segment_thresholds(t, Z, u, w, 2)
    assert threshold == 0.5 * (t[best - 1] + t[best])


# --------------------------------------------------------------------------- #
# Memory of the k-means starts (issue 16: peak memory of a fit)
# --------------------------------------------------------------------------- #
def _stacked_view_resp(X, y, sw, n_experts, rng, strategy):
    """The k-means-view starts as they were: one standardised copy of the view."""
    from skmoe._base import _KMEANS_MAX_ROWS, _standardize
    from skmoe._em import resp_from_labels
    from skmoe._init import nearest_centre
    from skmoe._lazy import KMeans
    from skmoe._threading import blas_single_threaded

    Z = np.array(X, dtype=np.float64) if strategy == "kmeans_gate" else np.column_stack([X, y])
    Z = _standardize(Z, sw)
    if strategy == "random":
        centres = Z[rng.choice(X.shape[0], size=n_experts, replace=False)]
        return resp_from_labels(nearest_centre(Z, centres), n_experts)
    km = KMeans(n_experts, n_init=1, random_state=rng.randint(np.iinfo(np.int32).max))
    with warnings.catch_warnings(), blas_single_threaded():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if Z.shape[0] <= _KMEANS_MAX_ROWS:
            return resp_from_labels(km.fit(Z, sample_weight=sw).labels_, n_experts)
        rows = np.flatnonzero(sw > 0)
        if rows.size > _KMEANS_MAX_ROWS:
            rows = np.sort(rng.choice(rows, size=_KMEANS_MAX_ROWS, replace=False))
        km.fit(Z[rows], sample_weight=sw[rows])
        return resp_from_labels(km.predict(Z), n_experts)


@pytest.mark.parametrize("strategy", ["kmeans", "kmeans_gate", "random"])
@pytest.mark.parametrize("n", [5000, 70001])
def test_kmeans_view_starts_equal_the_stacked_copy(strategy, n):
    # The k-means views are standardised block by block (no copy of X), and
    # at large n every row is assigned in blocks of a multiple of
    # scikit-learn's 256-row chunks: the partition of the one stacked copy,
    # bit for bit (weighted rows, some of weight 0, an F-ordered X).
    X, y, _ = make_moe_regression(n, 3, 4, random_state=0)
    X = np.asfortranarray(X)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, n)
    sw[::7] = 0.0
    est = MixtureOfExpertsRegressor(n_experts=4)
    got = est._initial_resp(X, y, sw, 4, np.random.RandomState(2), strategy)
    want = _stacked_view_resp(X, y, sw, 4, np.random.RandomState(2), strategy)
    assert_array_equal(got, want)


def test_kmeans_start_holds_no_copy_of_X():
    # The start's peak is its (n, K) responsibilities (0.4 x X here; 0.54 x X
    # measured), not a standardised copy of X next to them (1.58 x X before).
    import tracemalloc

    X, y, _ = make_moe_regression(200_000, 20, 8, random_state=0)
    sw = np.ones(X.shape[0])
    est = MixtureOfExpertsRegressor(n_experts=8)
    est._initial_resp(X[:3000], y[:3000], sw[:3000], 8, np.random.RandomState(0), "kmeans")
    tracemalloc.start()
    try:
        est._initial_resp(X, y, sw, 8, np.random.RandomState(0), "kmeans")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.8 * X.nbytes, peak / X.nbytes
