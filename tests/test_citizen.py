"""skmoe as a citizen of scikit-learn and joblib (issue 15).

Nested parameters of the default gate and experts, cooperative threads,
warnings attributed to the user's line, and calibrated SVC experts.
"""

import os
import threading
import warnings
from contextlib import nullcontext

import numpy as np
import pytest
from joblib import Parallel, cpu_count, delayed
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor, config_context
from skmoe.datasets import make_moe_classification, make_moe_regression
from skmoe.exceptions import DegenerateExpertWarning
from skmoe.experts import LinearExpert, LogisticExpert
from skmoe.gating import SoftmaxGate


def _data(n_samples=200, seed=0):
    X, y, _ = make_moe_regression(n_samples=n_samples, n_experts=2, noise=0.3, random_state=seed)
    return X, y


# --------------------------------------------------------------------------- #
# Nested parameters of the default gate and experts
# --------------------------------------------------------------------------- #
def test_nested_parameters_of_the_default_gate_and_experts_are_settable():
    moe = MixtureOfExpertsRegressor(random_state=0)
    moe.set_params(gate__alpha=0.5, experts__alpha=2.0)
    assert isinstance(moe.gate, SoftmaxGate) and moe.gate.alpha == 0.5
    assert isinstance(moe.experts, LinearExpert) and moe.experts.alpha == 2.0
    # The other parameters are the defaults the string and None stood for.
    assert moe.gate.get_params() == {**SoftmaxGate().get_params(), "alpha": 0.5}
    clf = MixtureOfExpertsClassifier().set_params(experts__alpha=3.0)
    assert isinstance(clf.experts, LogisticExpert) and clf.experts.alpha == 3.0
    # A string gate given in the same call is the one resolved.
    moe = MixtureOfExpertsRegressor().set_params(gate="gaussian", gate__reg_covar=1e-3)
    assert type(moe.gate).__name__ == "GaussianGate" and moe.gate.reg_covar == 1e-3
    # get_params and clone keep the string and None until then.
    plain = MixtureOfExpertsRegressor()
    assert plain.get_params(deep=False)["gate"] == "softmax"
    assert clone(plain).get_params(deep=False)["experts"] is None
    # A parameter the gate does not have names the gate's parameters.
    with pytest.raises(ValueError, match=r"Invalid parameter 'nope' for estimator SoftmaxGate"):
        MixtureOfExpertsRegressor().set_params(gate__nope=1)


def test_resolving_the_defaults_does_not_change_the_fit():
    X, y = _data()
    ref = MixtureOfExpertsRegressor(random_state=0).fit(X, y)
    tuned = MixtureOfExpertsRegressor(random_state=0).set_params(
        gate__alpha=SoftmaxGate().alpha, experts__alpha=LinearExpert().alpha
    )
    tuned.fit(X, y)
    assert_array_equal(tuned.predict(X), ref.predict(X))
    assert tuned.lower_bound_ == ref.lower_bound_


def test_grid_search_over_gate_and_expert_parameters_of_the_defaults():
    X, y = _data(seed=1)
    grid = {"gate__alpha": [1e-3, 1e3], "experts__alpha": [0.0, 1e4]}
    search = GridSearchCV(
        MixtureOfExpertsRegressor(random_state=0),
        grid,
        cv=KFold(3, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(scores) == 4
    # The parameters reached the fits: huge penalties flatten gate and lines.
    assert search.best_params_ == {"experts__alpha": 0.0, "gate__alpha": 1e-3}
    assert scores.max() - scores.min() > 0.3
    best = search.best_estimator_
    assert best.gate.alpha == 1e-3 and best.experts.alpha == 0.0
    assert_allclose(best.experts_[0].alpha, 0.0)


# --------------------------------------------------------------------------- #
# Threads that cooperate with n_jobs, threadpool_limits and joblib
# --------------------------------------------------------------------------- #
@pytest.fixture
def pool_calls(monkeypatch):
    """Count the row-block tasks sent to skmoe's thread pool, on a 4-CPU view."""
    from skmoe import _threading

    calls = []
    real = _threading._get_pool()

    class Counting:
        def submit(self, fn, *args):
            calls.append(threading.current_thread().name)
            return real.submit(fn, *args)

    monkeypatch.setattr(_threading, "_get_pool", lambda: Counting())
    monkeypatch.setattr(_threading, "available_cpus", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("SKMOE_NUM_THREADS", raising=False)
    return calls


def _big():
    # Rows enough for several row blocks (THREAD_BLOCK_ROWS) per pass.
    return _data(n_samples=70000, seed=3)


def test_pool_is_used_when_threads_are_allowed(pool_calls):
    X, y = _big()
    with threadpool_limits(4):
        MixtureOfExpertsRegressor(max_iter=5, random_state=0).fit(X, y)
    assert len(pool_calls) > 0


@pytest.mark.parametrize(
    "context, n_jobs, exact",
    [
        # threadpool_limits(1) also makes BLAS single-threaded outside
        # skmoe's passes (k-means, predict), which changes the last bits.
        pytest.param(lambda: threadpool_limits(1), None, False, id="threadpool_limits(1)"),
        pytest.param(lambda: config_context(n_threads=1), None, True, id="config_context"),
        pytest.param(nullcontext, 1, True, id="n_jobs=1"),
    ],
)
def test_one_thread_budget_runs_every_pass_inline(pool_calls, context, n_jobs, exact):
    X, y = _big()
    with threadpool_limits(4), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with context():
            ref = MixtureOfExpertsRegressor(max_iter=5, random_state=0, n_jobs=n_jobs).fit(X, y)
        assert pool_calls == []
        other = MixtureOfExpertsRegressor(max_iter=5, random_state=0).fit(X, y)
    assert len(pool_calls) > 0
    # The thread count of skmoe's passes never changes a result.
    if exact:
        assert_array_equal(other.predict(X), ref.predict(X))
    else:
        assert_allclose(other.predict(X), ref.predict(X), rtol=1e-12, atol=1e-12)


def test_omp_num_threads_caps_the_pool(pool_calls, monkeypatch):
    from skmoe._threading import effective_n_threads

    with threadpool_limits(4):
        assert effective_n_threads() == 4
        assert effective_n_threads(n_jobs=2) == 2
        assert effective_n_threads(n_jobs=-1) == 4
        monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what loky sets in its workers
        assert effective_n_threads() == 1
        X, y = _big()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MixtureOfExpertsRegressor(max_iter=3, random_state=0).fit(X, y)
    assert pool_calls == []


def test_loky_workers_get_joblib_inner_thread_cap():
    from skmoe._threading import effective_n_threads

    n_jobs = 2
    caps = Parallel(n_jobs=n_jobs, backend="loky")(delayed(effective_n_threads)() for _ in range(2))
    assert all(c <= max(1, cpu_count() // n_jobs) for c in caps), caps


def test_set_config_and_environment_variable(monkeypatch):
    import skmoe
    from skmoe import _config

    assert skmoe.get_config() == {"n_threads": None} or "SKMOE_NUM_THREADS" in os.environ
    with config_context(n_threads=3):
        assert skmoe.get_config()["n_threads"] == 3
    skmoe.set_config(n_threads=2)
    try:
        assert skmoe.get_config()["n_threads"] == 2
    finally:
        skmoe.set_config(n_threads=None)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(
            ValueError, match=rf"n_threads must be a positive int or None; got {bad!r}"
        ):
            skmoe.set_config(n_threads=bad)
    monkeypatch.setenv("SKMOE_NUM_THREADS", "2")
    assert _config._from_env() == 2
    monkeypatch.setenv("SKMOE_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="environment variable SKMOE_NUM_THREADS='many'"):
        _config._from_env()


def test_neural_fit_scopes_torch_threads(monkeypatch):
    torch = pytest.importorskip("torch")
    from skmoe.neural import SparseMoERegressor

    X, y = _data(n_samples=64)
    seen = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (seen.append(n), real(n))[1])
    before = torch.get_num_threads()
    est = SparseMoERegressor(n_experts=2, max_epochs=2, batch_size=32, random_state=0)
    with warnings.catch_warnings(), config_context(n_threads=1):
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert torch.get_num_threads() == before
    if before > 1:
        assert seen == [1, before]  # set for the fit, then restored
    else:
        assert seen == []


# --------------------------------------------------------------------------- #
# Warnings point at the user's line
# --------------------------------------------------------------------------- #
def test_convergence_warning_points_at_the_callers_line():
    X, y = _data(seed=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MixtureOfExpertsRegressor(max_iter=2, random_state=0).fit(X, y)
    [w] = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert w.filename == __file__
    # Filtering by the caller's module (the module= argument) now reaches it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module=__name__)
        MixtureOfExpertsRegressor(max_iter=2, random_state=0).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_warning_inside_grid_search_points_at_the_search_call():
    X, y = _data(seed=4)
    search = GridSearchCV(MixtureOfExpertsRegressor(max_iter=2, random_state=0), {"tol": [0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    files = {w.filename for w in caught if issubclass(w.category, ConvergenceWarning)}
    assert files == {__file__}


def test_degenerate_expert_warning_points_at_the_callers_line():
    # Ten experts for two clusters of 30 rows: experts lose their data.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(-3, 0.1, (30, 1)), rng.normal(3, 0.1, (30, 1))]
    y = np.r_[np.zeros(30), np.ones(30)] + rng.normal(0, 0.01, 60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MixtureOfExpertsRegressor(n_experts=10, random_state=0).fit(X, y)
    degenerate = [w for w in caught if issubclass(w.category, DegenerateExpertWarning)]
    assert degenerate, [str(w.message) for w in caught]
    assert {w.filename for w in degenerate} == {__file__}


def test_neural_convergence_warning_points_at_the_callers_line():
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoERegressor

    X, y = _data(n_samples=64)
    est = SparseMoERegressor(n_experts=2, max_epochs=1, batch_size=32, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    [w] = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert w.filename == __file__


# --------------------------------------------------------------------------- #
# SVC experts: calibrated, not probability=True
# --------------------------------------------------------------------------- #
def test_calibrated_svc_works_as_an_expert_and_is_recommended():
    X, y, _ = make_moe_classification(n_samples=300, n_experts=2, random_state=0)
    expert = CalibratedClassifierCV(SVC(), ensemble=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated path on the way
        moe = MixtureOfExpertsClassifier(experts=expert, n_experts=2, random_state=0).fit(X, y)
    proba = moe.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert moe.score(X, y) > 0.8
    assert all(isinstance(e, CalibratedClassifierCV) for e in moe.experts_)
    with pytest.raises(
        ValueError,
        match=r"'expert0' \(SVC\) has no predict_proba.*"
        r"CalibratedClassifierCV\(SVC\(\), ensemble=False\)",
    ):
        MixtureOfExpertsClassifier(experts=SVC(), random_state=0).fit(X, y)
