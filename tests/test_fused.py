"""The fused E-step (skmoe._fused): the separate passes' numbers, bit for bit.

The kernel itself is compared with its NumPy twin in ``test_kernels.py``;
here the engine's driver is compared with the passes it replaces (gate
log-probabilities, expert log-densities, posterior, the gate's first
loss/gradient evaluation, the re-seed masses) on row counts of one row,
fewer than a tile, and several thread blocks with a partial last one, with
one and two threads; and whole fits with and without it.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import skmoe._base as skbase
import skmoe._fused as skfused
import skmoe._threading as skthreading
from skmoe import MixtureOfExpertsRegressor
from skmoe._fused import fused_e_step
from skmoe._kernels import weighted_column_sums
from skmoe._kernels._config import THREAD_BLOCK_ROWS
from skmoe._multinomial import RowsMultinomialProblem, select_gate
from skmoe._rows import ThreadRows
from skmoe.datasets import make_moe_regression
from skmoe.experts._sets import _LinearGaussianSet
from skmoe.gating import SoftmaxGate


@pytest.fixture(autouse=True)
def _fused_at_any_size(monkeypatch):
    """The fused pass on any number of rows: these tests check it on few rows
    too (fits take it from ``FUSED_MIN_ROWS`` rows on)."""
    monkeypatch.setattr(skfused, "FUSED_MIN_ROWS", 0)


def test_few_rows_take_the_separate_passes(monkeypatch):
    """Below FUSED_MIN_ROWS rows no fused pass (its first compile would cost more
    than it saves), and a fit there is the fit of the separate passes."""
    monkeypatch.setattr(skfused, "FUSED_MIN_ROWS", 1000)
    gate, experts, gx, X, y, sw = _components(999, 2, 3, 6)
    assert fused_e_step(gate, experts, gx, X, y, sw) is None
    assert fused_e_step(*_components(1000, 2, 3, 6)) is not None
    X, y, _ = make_moe_regression(999, 2, 3, random_state=3)
    kw = dict(n_experts=3, random_state=0, max_iter=30, tol=1e-8)
    small = MixtureOfExpertsRegressor(**kw).fit(X, y)
    monkeypatch.setattr(skbase, "fused_e_step", lambda *args: None)
    plain = MixtureOfExpertsRegressor(**kw).fit(X, y)
    assert_array_equal(small.lower_bounds_, plain.lower_bounds_)
    assert_array_equal(small.gate_.coef_, plain.gate_.coef_)


def _components(n, d, K, seed, sw=None, gate_cols=None):
    r = np.random.RandomState(seed)
    X = r.randn(n, d) * np.resize([1.0, 1e3, 1e-2], d) + np.resize([0.0, 5e4, 1.0], d)
    y = r.randn(n)
    sw = np.ones(n) if sw is None else sw
    gx = X if gate_cols is None else np.ascontiguousarray(X[:, gate_cols])
    gate = SoftmaxGate()
    gate._initialize(gx, K, sample_weight=sw)
    gate._V = r.randn(gx.shape[1], K)
    gate._c = r.randn(K)
    gate._sync()
    experts = _LinearGaussianSet(K, 1e-6, 1e-6)
    experts.coef = r.randn(d, K)
    experts.intercept_c = r.randn(K)
    experts.variance = r.uniform(0.3, 2.0, K)
    experts.shift = X.mean(axis=0)
    return gate, experts, gx, X, y, sw


def _separate(gate, experts, gx, X, y, sw):
    log_gate = gate._log_proba(gx)
    log_lik = experts.log_prob(X, y)
    resp, log_norm = skthreading.blockwise_posterior(log_gate, log_lik)
    W, b, shift = gate._linear_logits()
    problem = RowsMultinomialProblem(
        ThreadRows(gx=gx, resp=resp, sw=sw), select_gate, (), gx.shape[1], W.shape[1]
    )
    loss, gW, gb = problem.loss_grad(W, b, shift=shift)
    return resp, log_norm, loss, gW, gb, weighted_column_sums(sw, resp)


@pytest.mark.parametrize(
    "n",
    [1, 37, 256, 2 * THREAD_BLOCK_ROWS + 37],
    ids=["one_row", "under_a_tile", "one_tile", "blocks"],
)
@pytest.mark.parametrize("weights", ["unit", "zeros_and_reals"])
@pytest.mark.parametrize("d, K", [(3, 4), (6, 5)], ids=["narrow", "wide"])
def test_fused_e_step_is_the_separate_passes_bit_for_bit(n, weights, d, K):
    # (6, 5): blocks of WIDE_MIN_ROWS rows or more take the wide kernels (four
    # by four, with edges), the last block of 37 rows the plain ones.
    sw = None
    if weights != "unit":
        sw = np.random.RandomState(1).uniform(0.0, 3.0, n)
        sw[1::5] = 0.0
    gate, experts, gx, X, y, sw = _components(n, d, K, 0, sw)
    resp, log_norm, (W, b, shift, loss, gW, gb), mass = fused_e_step(gate, experts, gx, X, y, sw)
    ref = _separate(gate, experts, gx, X, y, sw)
    assert_array_equal(resp, ref[0])
    assert_array_equal(log_norm, ref[1])
    assert loss == ref[2]
    assert_array_equal(gW, ref[3])
    assert_array_equal(gb, ref[4])
    # The masses are summed tile by tile (the reference: row by row).
    assert_allclose(mass, ref[5], rtol=1e-12)
    for a, e in zip((W, b, shift), gate._linear_logits(), strict=True):
        assert_array_equal(a, e)


def test_fused_e_step_with_other_gate_columns():
    gate, experts, gx, X, y, sw = _components(THREAD_BLOCK_ROWS + 99, 3, 3, 2, gate_cols=[2, 0])
    fused = fused_e_step(gate, experts, gx, X, y, sw)
    ref = _separate(gate, experts, gx, X, y, sw)
    assert_array_equal(fused[0], ref[0])
    assert_array_equal(fused[1], ref[1])
    assert fused[2][3] == ref[2]
    assert_array_equal(fused[2][4], ref[3])


def test_fused_e_step_does_not_depend_on_the_number_of_threads(monkeypatch):
    args = _components(3 * THREAD_BLOCK_ROWS + 5, 2, 3, 3)
    parallel = fused_e_step(*args)
    monkeypatch.setattr(skthreading, "available_cpus", lambda: 1)
    serial = fused_e_step(*args)
    for a, s in zip(
        parallel[:2] + parallel[2][3:] + (parallel[3],),
        serial[:2] + serial[2][3:] + (serial[3],),
        strict=True,
    ):
        assert_array_equal(a, s)


def test_no_fused_e_step_for_other_components():
    gate, experts, gx, X, y, sw = _components(50, 2, 3, 4)

    class OtherGate(SoftmaxGate):
        def _log_proba(self, X):
            return super()._log_proba(X)

    other = OtherGate()
    other.__dict__.update(gate.__dict__)
    assert fused_e_step(other, experts, gx, X, y, sw) is None
    assert fused_e_step(gate, object(), gx, X, y, sw) is None


def test_given_evaluation_is_used_only_at_its_own_arguments():
    gate, experts, gx, X, y, sw = _components(500, 2, 3, 5)
    resp, _, (W, b, shift, loss, gW, gb), _ = fused_e_step(gate, experts, gx, X, y, sw)
    problem = RowsMultinomialProblem(ThreadRows(gx=gx, resp=resp, sw=sw), select_gate, (), 2, 3)
    problem.give(W, b, shift, 123.0, gW, gb)
    # Other coefficients: a real evaluation.
    assert problem.loss_grad(W + 1e-9, b, shift=shift)[0] != 123.0
    # Its own: the given one, once.
    assert problem.loss_grad(W.copy(), b.copy(), shift=shift.copy())[0] == 123.0
    assert problem.loss_grad(W, b, shift=shift)[0] == loss


@pytest.mark.parametrize("weighted", [False, True])
def test_fits_with_and_without_the_fused_e_step_are_the_same(monkeypatch, weighted):
    from skmoe._fused import Lookahead

    X, y, _ = make_moe_regression(2 * THREAD_BLOCK_ROWS + 300, 2, 3, random_state=3)
    sw = np.random.RandomState(0).uniform(0.2, 2.0, len(y)) if weighted else None
    kw = dict(n_experts=3, random_state=0, max_iter=30, tol=1e-8)
    fused = MixtureOfExpertsRegressor(**kw).fit(X, y, sample_weight=sw)
    # Without the look-ahead's E-step (the solver evaluates the same points
    # itself, the E-steps are passes of their own): bit for bit the same.
    with monkeypatch.context() as m:
        m.setattr(Lookahead, "evaluate", lambda self, W, b, shift: None)
        no_ahead = MixtureOfExpertsRegressor(**kw).fit(X, y, sample_weight=sw)
    assert_array_equal(fused.lower_bounds_, no_ahead.lower_bounds_)
    assert_array_equal(fused.gate_.coef_, no_ahead.gate_.coef_)
    assert_array_equal(fused.noise_variance_, no_ahead.noise_variance_)
    # Without the fused path at all (the separate E-step passes; the solver's
    # last trial evaluated at its own intercepts, not the centred ones): the
    # same fit to rounding.
    monkeypatch.setattr(skbase, "fused_e_step", lambda *args: None)
    plain = MixtureOfExpertsRegressor(**kw).fit(X, y, sample_weight=sw)
    assert_allclose(fused.lower_bounds_, plain.lower_bounds_, rtol=1e-12)
    assert_allclose(fused.gate_.coef_, plain.gate_.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(fused.noise_variance_, plain.noise_variance_, rtol=1e-9)
    assert fused.n_iter_ == plain.n_iter_


@pytest.mark.parametrize(
    "n", [1, 300, 2 * THREAD_BLOCK_ROWS + 37], ids=["one_row", "tiles", "blocks"]
)
@pytest.mark.parametrize("d, K", [(2, 3), (5, 6)], ids=["narrow", "wide"])
def test_ahead_pass_is_old_targets_loss_and_next_e_step_bit_for_bit(n, d, K):
    # The kernel with ahead=True: the old targets' loss and gradient (as the
    # loss kernel gives them) and the new E-step written over the targets.
    from skmoe._kernels import softmax_regression_loss_grad
    from skmoe._kernels._fused import _softmax_gaussian_estep_into

    sw = np.random.RandomState(2).uniform(0.0, 2.0, n)
    sw[1::4] = 0.0
    gate, experts, gx, X, y, sw = _components(n, d, K, 6, sw)
    old = np.random.RandomState(3).dirichlet(np.ones(K), n)
    W, b, shift = gate._linear_logits()
    e_params = experts._linear_gaussian()
    plain = np.empty((n, K)), np.empty(n)
    ref = _softmax_gaussian_estep_into(gx, X, y, sw, W, b, shift, *e_params, *plain)
    resp, log_norm = old.copy(), np.empty(n)
    out = _softmax_gaussian_estep_into(gx, X, y, sw, W, b, shift, *e_params, resp, log_norm, True)
    assert_array_equal(resp, plain[0])
    assert_array_equal(log_norm, plain[1])
    for a, e in zip(out[:4], ref, strict=True):
        assert_array_equal(a, e)
    loss, gW, gb = softmax_regression_loss_grad(gx, W, b, old, sw, shift)
    assert out[4] == loss
    assert_array_equal(out[5], gW)
    assert_array_equal(out[6], gb)


def test_lookahead_keeps_the_targets_and_knows_its_gate():
    from skmoe._fused import Lookahead

    gate, experts, gx, X, y, sw = _components(2 * THREAD_BLOCK_ROWS + 11, 2, 3, 7)
    resp = fused_e_step(gate, experts, gx, X, y, sw)[0]
    before = resp.copy()
    look = Lookahead(gx, X, y, sw, resp, gate, experts)
    W, b, shift = gate._linear_logits()
    problem = RowsMultinomialProblem(ThreadRows(gx=gx, resp=resp, sw=sw), select_gate, (), 2, 3)
    expected = problem.loss_grad(W + 0.1, b, shift=shift)
    problem.look_ahead(look)
    # The trial's old-target evaluation is the plain one, bit for bit ...
    got = problem.loss_grad_ahead(W + 0.1, b, shift=shift)
    assert got[0] == expected[0]
    assert_array_equal(got[1], expected[1])
    assert_array_equal(resp, before)  # the targets are not touched
    # ... the next E-step is offered only at the evaluated gate ...
    assert look.next_e_step(gate) is None
    # ... a plain evaluation in between reads the same targets ...
    again = problem.loss_grad(W, b, shift=shift)
    assert again[0] == problem.loss_grad(W, b, shift=shift)[0]
    # ... and a second trial (the line search's) is a look-ahead too, whose
    # E-step is the one kept: at the gate's own coefficients, the fresh one.
    second = problem.loss_grad_ahead(W, b, shift=shift)
    assert second[0] == again[0]
    assert_array_equal(second[1], again[1])
    assert_array_equal(resp, before)
    ahead = look.next_e_step(gate)
    assert ahead is not None and ahead[0] is not resp
    fresh = fused_e_step(gate, experts, gx, X, y, sw)
    for a, e in zip(
        ahead[:2] + ahead[2][3:] + (ahead[3],), fresh[:2] + fresh[2][3:] + (fresh[3],), strict=True
    ):
        assert_array_equal(a, e)


def test_ahead_pass_with_separate_targets_is_the_in_place_one():
    # targets= (the look-ahead's): the same sums and E-step as the pass that
    # reads its targets from resp and writes over them; the targets untouched.
    from skmoe._kernels._fused import _softmax_gaussian_estep_into

    n, K = 2 * THREAD_BLOCK_ROWS + 37, 5
    gate, experts, gx, X, y, sw = _components(n, 6, K, 9)
    old = np.random.RandomState(4).dirichlet(np.ones(K), n)
    args = (gx, X, y, sw, *gate._linear_logits(), *experts._linear_gaussian())
    in_place, ln1 = old.copy(), np.empty(n)
    a = _softmax_gaussian_estep_into(*args, in_place, ln1, True)
    targets, out, ln2 = old.copy(), np.empty((n, K)), np.empty(n)
    b = _softmax_gaussian_estep_into(*args, out, ln2, True, targets)
    assert_array_equal(targets, old)
    assert_array_equal(out, in_place)
    assert_array_equal(ln2, ln1)
    for u, v in zip(a, b, strict=True):
        assert_array_equal(u, v)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_m_step_hands_over_the_next_e_step():
    X, y, _ = make_moe_regression(3000, 2, 3, random_state=5)
    est = MixtureOfExpertsRegressor(n_experts=3, random_state=0, max_iter=5).fit(X, y)
    gate, experts = est.gate_, est._expert_set
    sw = np.ones(len(y))
    resp, ll, gate_eval, mass = est._em_e_step(X, y, sw, gate, experts)
    ahead = est._m_step(X, y, sw, resp, gate, experts, 6, 0, None, gate_eval=gate_eval)
    assert ahead is not None
    fresh = est._em_e_step(X, y, sw, gate, experts)
    for a, e in zip(
        ahead[:2] + ahead[2][3:] + (ahead[3],), fresh[:2] + fresh[2][3:] + (fresh[3],), strict=True
    ):
        assert_array_equal(a, e)


def test_fused_kernel_outputs_of_any_layout():
    # The compiled kernel is typed for C-contiguous rows; inputs and outputs
    # of other layouts (an F-ordered X, strided outputs; with ahead=True the
    # old targets are read from them) go to the plain dispatcher: the same
    # numbers.
    from skmoe._kernels._fused import _softmax_gaussian_estep_into

    n, d, K = 700, 2, 3
    gate, experts, gx, X, y, sw = _components(n, d, K, 4)
    W, b, shift = gate._linear_logits()
    e_params = experts._linear_gaussian()
    old = np.random.RandomState(5).dirichlet(np.ones(K), n)
    resp, log_norm = old.copy(), np.empty(n)
    ref = _softmax_gaussian_estep_into(gx, X, y, sw, W, b, shift, *e_params, resp, log_norm, True)
    wide_resp = np.zeros((n, 2 * K))
    wide_resp[:, ::2] = old
    wide_norm = np.zeros(2 * n)
    Xf = np.asfortranarray(X)
    got = _softmax_gaussian_estep_into(
        Xf, Xf, y, sw, W, b, shift, *e_params, wide_resp[:, ::2], wide_norm[::2], True
    )
    assert_array_equal(wide_resp[:, ::2], resp)
    assert_array_equal(wide_resp[:, 1::2], 0.0)
    assert_array_equal(wide_norm[::2], log_norm)
    for a, e in zip(got, ref, strict=True):
        assert_array_equal(a, e)


@pytest.mark.parametrize("d, K", [(2, 3), (6, 5)], ids=["narrow", "wide"])
@pytest.mark.parametrize("n", [300, 4096 + 37], ids=["plain", "wide_rows"])
def test_shared_tile_of_gate_and_experts_is_bit_for_bit(n, d, K):
    # Gate and experts on the same rows about the same centres (the default
    # model) share one copy of each tile; on a copy of X, or about other
    # centres, each forms its own: the same numbers either way.
    from skmoe._kernels._fused import _same_view, _softmax_gaussian_estep_into

    gate, experts, gx, X, y, sw = _components(n, d, K, 8)
    W, b, shift = gate._linear_logits()
    coef, intercept, var, _ = experts._linear_gaussian()
    old = np.random.RandomState(9).dirichlet(np.ones(K), n)
    results = []
    for Xe in (X, X.copy()):
        assert _same_view(X, Xe) == (Xe is X)
        resp, log_norm = old.copy(), np.empty(n)
        out = _softmax_gaussian_estep_into(
            X, Xe, y, sw, W, b, shift, coef, intercept, var, shift.copy(), resp, log_norm, True
        )
        results.append((resp, log_norm, *out))
    for a, e in zip(*results, strict=True):
        assert_array_equal(a, e)
    assert not _same_view(X, X[1:]) and not _same_view(X[:, :1], X[:, 1:])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_run_alternates_two_arrays_and_fits_the_same(monkeypatch):
    # The EM run hands each look-ahead the previous M-step's targets to write
    # into: the fit is bit for bit the one with a new array per look-ahead,
    # and from the second look-ahead on no new (n, K) array is taken.
    from skmoe._fused import Lookahead

    X, y, _ = make_moe_regression(2 * THREAD_BLOCK_ROWS + 300, 2, 3, random_state=4)
    kw = dict(n_experts=3, random_state=0, max_iter=12, tol=1e-10, subsample=None)
    given = []
    init = Lookahead.__init__

    def spy(self, *args, out=None):
        init(self, *args, out=out)
        given.append(self._out is not None)

    with monkeypatch.context() as m:
        m.setattr(Lookahead, "__init__", spy)
        reused = MixtureOfExpertsRegressor(**kw).fit(X, y)
    assert sum(given) >= 5  # spares were handed over and taken
    with monkeypatch.context() as m:
        m.setattr(Lookahead, "__init__", lambda self, *a, out=None: init(self, *a))
        fresh = MixtureOfExpertsRegressor(**kw).fit(X, y)
    assert_array_equal(reused.lower_bounds_, fresh.lower_bounds_)
    assert_array_equal(reused.gate_.coef_, fresh.gate_.coef_)
    assert_array_equal(reused.noise_variance_, fresh.noise_variance_)
    # A spare that is the targets themselves, or of another shape, is not used.
    gate, experts, gx, X2, y2, sw = _components(THREAD_BLOCK_ROWS + 5, 2, 3, 8)
    resp = fused_e_step(gate, experts, gx, X2, y2, sw)[0]
    assert Lookahead(gx, X2, y2, sw, resp, gate, experts, out=resp)._out is None
    assert Lookahead(gx, X2, y2, sw, resp, gate, experts, out=resp[:-1].copy())._out is None
    spare = np.empty_like(resp)
    assert Lookahead(gx, X2, y2, sw, resp, gate, experts, out=spare)._out is spare


def test_a_starts_first_m_step_runs_its_first_e_step(monkeypatch):
    # A start's first M-step (on k-means' responsibilities) evaluates its
    # gate's last trial as the first E-step: no E-step of its own, fewer of
    # the gate's loss passes, and the same fit to rounding.
    import skmoe._multinomial as skmultinomial

    X, y, _ = make_moe_regression(THREAD_BLOCK_ROWS + 300, 2, 3, random_state=5)
    kw = dict(n_experts=3, random_state=0, tol=0.0, subsample=None, n_init=1)

    def count(looks_ahead, max_iter):
        calls = {"e_step": 0, "loss": 0}
        e_step, loss = skbase.BaseMixtureOfExperts._em_e_step, skmultinomial._rows_loss_grad

        def spy_e_step(*a, **k):
            calls["e_step"] += 1
            return e_step(*a, **k)

        def spy_loss(*a, **k):
            calls["loss"] += 1
            return loss(*a, **k)

        with monkeypatch.context() as m:
            m.setattr(skbase.BaseMixtureOfExperts, "_em_e_step", spy_e_step)
            m.setattr(skmultinomial, "_rows_loss_grad", spy_loss)
            if not looks_ahead:
                m.setattr(skbase, "can_look_ahead", lambda *a: False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit = MixtureOfExpertsRegressor(max_iter=max_iter, **kw).fit(X, y)
        return calls, fit

    ahead, _ = count(True, 1)
    plain, _ = count(False, 1)
    # (Every start of the portfolio: each would run one E-step of its own.)
    assert ahead["e_step"] == 0 < plain["e_step"]
    assert ahead["loss"] < plain["loss"]
    ahead_fit, plain_fit = count(True, 15)[1], count(False, 15)[1]
    assert_allclose(ahead_fit.lower_bounds_, plain_fit.lower_bounds_, rtol=1e-10)
    assert_allclose(ahead_fit.gate_.coef_, plain_fit.gate_.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(ahead_fit.noise_variance_, plain_fit.noise_variance_, rtol=1e-8)


def test_the_first_look_ahead_needs_fused_rows_and_kernel_targets(monkeypatch):
    monkeypatch.setattr(skfused, "FUSED_MIN_ROWS", 1000)
    gate, experts, gx, X, y, sw = _components(1005, 2, 3, 9)
    resp = np.ascontiguousarray(fused_e_step(gate, experts, gx, X, y, sw)[0])
    assert skfused.can_look_ahead(gate, experts, gx, resp)
    assert not skfused.can_look_ahead(gate, experts, gx, np.asfortranarray(resp))
    assert not skfused.can_look_ahead(gate, experts, gx, resp.astype(np.float32))
    assert not skfused.can_look_ahead(gate, experts, gx, resp[:-1])
    small = _components(999, 2, 3, 9)
    small_resp = np.full((small[2].shape[0], 3), 1.0 / 3.0)
    assert not skfused.can_look_ahead(small[0], small[1], small[2], small_resp)
    assert not skfused.can_look_ahead(gate, object(), gx, resp)
