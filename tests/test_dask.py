"""Exact data-parallel EM on Dask arrays, and joblib's dask backend.

Oracle: the in-memory fit on the same data with the same ``random_state``.
The Dask fit maps every pass over the rows over the blocks of X and adds the
block results, so the two fits agree up to the rounding of sums taken in
another order: 1e-8 is asked, far above rounding and far below any
difference a wrong statistic, a wrong initial draw or a missed re-seed would
make.  Everything runs on one loopback ``LocalCluster`` per module.
"""

import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score  # noqa: E402
from sklearn.tree import DecisionTreeRegressor  # noqa: E402

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor  # noqa: E402
from skmoe.exceptions import DegenerateExpertWarning  # noqa: E402
from skmoe.experts import BinomialExpert, LogisticExpert, PoissonExpert  # noqa: E402
from skmoe.gating import GaussianGate, HierarchicalGate, SoftmaxGate  # noqa: E402

RTOL = 1e-8


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _switching_data(n=600, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = np.where(X[:, 0] > 0, 2.0 * X[:, 1] + 1.0, -X[:, 2] - 1.0) + 0.1 * rng.randn(n)
    return X, y


def _fit_both(est, X, y, sample_weight=None, chunks=250, **kw):
    """The same estimator fitted in memory and on a Dask array with uneven row blocks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateExpertWarning)
        ref = clone(est).fit(X, y, sample_weight=sample_weight)
        Xd = da.from_array(X, chunks=(chunks, X.shape[1]))
        yd = da.from_array(y, chunks=chunks) if kw.get("dask_y", True) else y
        sw = sample_weight
        if sw is not None and kw.get("dask_sw", True):
            sw = da.from_array(sw, chunks=chunks)
        got = clone(est).fit(Xd, yd, sample_weight=sw)
    return ref, got


def _assert_same_fit(ref, got, X):
    assert got.n_iter_ == ref.n_iter_
    assert got.converged_ == ref.converged_
    assert got.n_reseeds_ == ref.n_reseeds_
    assert_allclose(got.lower_bounds_, ref.lower_bounds_, rtol=RTOL, atol=RTOL)
    assert got.n_features_in_ == ref.n_features_in_
    for name in ("coef_", "intercept_", "weights_", "means_", "covariances_"):
        if hasattr(ref.gate_, name):
            assert_allclose(
                getattr(got.gate_, name), getattr(ref.gate_, name), rtol=RTOL, atol=RTOL
            )
    for e_ref, e_got in zip(ref.experts_, got.experts_, strict=True):
        assert_allclose(e_got.coef_, e_ref.coef_, rtol=RTOL, atol=RTOL)
        assert_allclose(e_got.intercept_, e_ref.intercept_, rtol=RTOL, atol=RTOL)
    # A normal fitted estimator: NumPy parameters, predicts on NumPy arrays.
    assert isinstance(got.predict_gate(X), np.ndarray)
    if hasattr(ref, "predict_proba"):
        assert_allclose(got.predict_proba(X), ref.predict_proba(X), rtol=RTOL, atol=RTOL)
    else:
        assert_allclose(got.predict(X), ref.predict(X), rtol=RTOL, atol=RTOL)
        if hasattr(ref, "noise_variance_"):
            assert_allclose(got.noise_variance_, ref.noise_variance_, rtol=RTOL)


@pytest.mark.parametrize(
    "gate, init_params",
    [
        (SoftmaxGate(), "kmeans"),
        ("constant", "random"),
        (GaussianGate(covariance_type="tied"), "random"),
        (GaussianGate(covariance_type="diag"), "kmeans"),
        # The line starts' soft responsibilities and the segments' cuts come
        # from a sample of rows gathered from the blocks (600 rows: the
        # segments draw 400 of them).
        ("constant", "random_lines"),
        (SoftmaxGate(), "consensus_lines"),
        (SoftmaxGate(), "segments"),
    ],
    ids=[
        "softmax-kmeans",
        "constant-random",
        "gaussian_tied",
        "gaussian_diag",
        "constant-random_lines",
        "softmax-consensus_lines",
        "softmax-segments",
    ],
)
def test_linear_experts_equal_in_memory_fit(client, gate, init_params):
    X, y = _switching_data()
    sw = np.random.RandomState(1).uniform(0.2, 3.0, size=y.shape[0])
    est = MixtureOfExpertsRegressor(
        n_experts=3, gate=gate, init_params=init_params, random_state=0, max_iter=10
    )
    ref, got = _fit_both(est, X, y, sample_weight=sw)
    assert ref.n_iter_ > 3
    _assert_same_fit(ref, got, X)


@pytest.mark.parametrize("gate", ["softmax", "gaussian"])
def test_subsampled_starts_equal_in_memory_fit(client, gate):
    # subsample: the same rows and weights drawn from the gathered sample
    # weights, the starts run in memory with their frames fixed on the
    # blocks, the kept one continued on the blocks.
    X, y = _switching_data(n=1500)
    sw = np.random.RandomState(1).uniform(0.2, 3.0, size=y.shape[0])
    est = MixtureOfExpertsRegressor(
        n_experts=3, gate=gate, subsample=400, n_init=2, random_state=0, max_iter=30
    )
    ref, got = _fit_both(est, X, y, sample_weight=sw)
    assert ref.n_subsample_ == got.n_subsample_ == 400
    _assert_same_fit(ref, got, X)
    for h_ref, h_got in zip(ref.lower_bounds_all_, got.lower_bounds_all_, strict=True):
        assert_allclose(h_got, h_ref, rtol=RTOL, atol=RTOL)


def test_subsample_draw_brings_no_rows_to_the_client(client, monkeypatch):
    # The draw needs per-block counts and weight totals only: gathering a
    # per-row array (the sample weights, the labels) on the client would
    # make its memory grow with n.
    import skmoe._dask as skdask

    def refuse(self, handles):
        raise AssertionError("a per-row array was gathered on the client")

    monkeypatch.setattr(skdask._BlockData, "gather", refuse)
    X, y = _switching_data(n=1500)
    est = MixtureOfExpertsRegressor(n_experts=2, subsample=400, random_state=0, max_iter=20)
    got = est.fit(da.from_array(X, chunks=(250, 3)), da.from_array(y, chunks=250))
    assert got.n_subsample_ == 400 and got.n_reseeds_ == 0


def test_subsampled_classifier_equals_in_memory_fit(client):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(1200, 2))
    labels = np.where(X[:, 0] > 0, X[:, 1] > 0.3, (X[:, 1] < -0.5) + 2 * (X[:, 1] > 1))
    est = MixtureOfExpertsClassifier(
        LogisticExpert(max_iter=3), n_experts=2, subsample=300, random_state=0, max_iter=6
    )
    ref, got = _fit_both(est, X, labels.astype(int), chunks=250)
    assert ref.n_subsample_ == got.n_subsample_ > 0
    _assert_same_fit(ref, got, X)


def test_hierarchical_gate_equals_in_memory_fit(client):
    # The HME gate runs on Dask through the component protocol alone: its
    # nodes' problems and the initial leaf arrangement are sums over rows.
    X, y = _switching_data()
    sw = np.random.RandomState(1).uniform(0.2, 3.0, size=y.shape[0])
    est = MixtureOfExpertsRegressor(
        n_experts=4, gate=HierarchicalGate(depth=2, branching=2), random_state=0, max_iter=10
    )
    ref, got = _fit_both(est, X, y, sample_weight=sw)
    assert ref.n_iter_ > 3
    assert got.n_iter_ == ref.n_iter_ and got.n_reseeds_ == ref.n_reseeds_
    # The objective agrees to rounding.  The parameters agree to 1e-6: each
    # start is 20 flat-gate iterations (the tree's pre-fit) and 10 tree ones,
    # and the nodes' problems are nearly separable (standardised slopes near
    # 5.5), where a node solver's stopping point moves with the rounding of
    # the sums (measured 4e-8 relative apart, 2.8e-7 in one coefficient).
    assert_allclose(got.lower_bounds_, ref.lower_bounds_, rtol=1e-9, atol=1e-9)
    assert_allclose(got.predict_gate(X), ref.predict_gate(X), rtol=0, atol=1e-6)
    assert_allclose(got.predict(X), ref.predict(X), rtol=1e-6, atol=1e-6 * np.std(y))
    assert_allclose(got.gate_.coef_, ref.gate_.coef_, rtol=1e-6, atol=1e-6)


def test_feature_subsets_numpy_y_and_weights(client):
    # y and sample_weight given as NumPy arrays; gate and experts see
    # different columns; a restart (n_init=2) picks the same winner.
    X, y = _switching_data(n=500, seed=3)
    sw = np.random.RandomState(2).randint(0, 3, size=y.shape[0]).astype(float)
    est = MixtureOfExpertsRegressor(
        n_experts=2,
        gate_features=[0],
        expert_features=[1, 2],
        n_init=2,
        random_state=1,
        max_iter=6,
    )
    ref, got = _fit_both(est, X, y, sample_weight=sw, chunks=170, dask_y=False, dask_sw=False)
    _assert_same_fit(ref, got, X)
    # The fitted estimator travels to the workers: predicting block by block
    # (the user guide's idiom) gives the row-wise in-memory predictions.
    Xd = da.from_array(X, chunks=(170, 3))
    blockwise = Xd.map_blocks(got.predict, drop_axis=1, dtype=np.float64).compute()
    assert_allclose(blockwise, got.predict(X), rtol=1e-12)


def test_reseeding_is_reproduced(client):
    # Random initial centres on this data leave an expert without data: the
    # re-seed ranks all rows by log-likelihood; the Dask fit must re-seed
    # the same rows at the same iterations.
    X, y = _switching_data(n=1500)
    est = MixtureOfExpertsRegressor(
        n_experts=3, gate="constant", init_params="random", n_screen=0, random_state=0, max_iter=8
    )
    ref, got = _fit_both(est, X, y, chunks=400)
    assert ref.n_reseeds_ > 0
    _assert_same_fit(ref, got, X)


def test_kmeans_subsample_initialisation(client):
    # Above 20 000 rows k-means runs on a subsample of the positive-weight
    # rows drawn from the RandomState stream: same rows in both fits.
    rng = np.random.RandomState(0)
    n = 20_300
    X = rng.uniform(-2, 2, size=(n, 2))
    y = np.where(X[:, 0] > 0, X[:, 1], -X[:, 1]) + 0.2 * rng.randn(n)
    sw = np.ones(n)
    sw[rng.choice(n, 500, replace=False)] = 0.0
    est = MixtureOfExpertsRegressor(n_experts=2, gate="constant", random_state=0, max_iter=3)
    ref, got = _fit_both(est, X, y, sample_weight=sw, chunks=6000)
    _assert_same_fit(ref, got, X)


def test_logistic_experts_classifier(client):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(400, 2))
    labels = np.where(X[:, 0] > 0, X[:, 1] > 0.3, (X[:, 1] < -0.5) + 2 * (X[:, 1] > 1))
    y = np.array(["a", "b", "c"])[labels.astype(int)]
    est = MixtureOfExpertsClassifier(
        LogisticExpert(max_iter=3),
        n_experts=2,
        gate=SoftmaxGate(max_iter=2),
        random_state=0,
        max_iter=4,
    )
    ref, got = _fit_both(est, X, y, chunks=150, dask_y=False)
    np.testing.assert_array_equal(got.classes_, ref.classes_)
    _assert_same_fit(ref, got, X)


@pytest.mark.parametrize(
    "expert",
    [PoissonExpert(max_iter=3), BinomialExpert(n_trials=4, max_iter=3)],
    ids=["poisson", "binomial"],
)
def test_glm_experts(client, expert):
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(400, 2))
    eta = np.where(X[:, 0] > 0, 1.0 + 0.5 * X[:, 1], 0.2 - 0.8 * X[:, 1])
    if isinstance(expert, PoissonExpert):
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = rng.binomial(4, 1.0 / (1.0 + np.exp(-eta))) / 4.0
    est = MixtureOfExpertsRegressor(
        expert, n_experts=2, gate="constant", random_state=0, max_iter=5
    )
    ref, got = _fit_both(est, X, y, chunks=150)
    _assert_same_fit(ref, got, X)


def test_without_distributed_client_local_scheduler(client, monkeypatch):
    # No distributed Client: the blocks go through dask's local scheduler
    # (dask.delayed / persist) instead of the futures API; same result.
    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "default_client", no_client)
    X, y = _switching_data(n=300, seed=5)
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0, max_iter=4)
    with distributed.get_task_stream(client) as ts, dask.config.set(scheduler="threads"):
        ref, got = _fit_both(est, X, y, chunks=150)
    # No E-step ran on the cluster (the stream may show stragglers of the
    # previous test's asynchronous tasks, hence the filter).
    assert not [t for t in ts.data if str(t["key"]).startswith("_e_step")]
    _assert_same_fit(ref, got, X)


def test_warm_start_continues_like_in_memory(client):
    X, y = _switching_data(n=400)
    Xd = da.from_array(X, chunks=(150, 3))
    kw = dict(n_experts=2, gate="constant", random_state=0, max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = MixtureOfExpertsRegressor(**kw).fit(X, y).fit(X, y)
        got = MixtureOfExpertsRegressor(**kw).fit(Xd, y).fit(Xd, y)
    _assert_same_fit(ref, got, X)


# ---------------------------------------------------------------------- #
# What is refused, and bad input
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(experts=DecisionTreeRegressor()), "partial_fit"),
        (dict(experts=[("a", Ridge()), ("b", DecisionTreeRegressor())]), "component protocol"),
        (dict(m_step="stochastic"), "partial_fit"),
    ],
)
def test_unsupported_models_point_to_partial_fit(client, kwargs, match):
    X, y = _switching_data(n=100)
    est = MixtureOfExpertsRegressor(random_state=0, **kwargs)
    with pytest.raises(NotImplementedError, match=match) as info:
        est.fit(da.from_array(X, chunks=(50, 3)), y)
    assert "partial_fit" in str(info.value)
    assert not hasattr(est, "gate_")


def test_bad_input_is_refused_before_fitting(client):
    X, y = _switching_data(n=100)
    est = MixtureOfExpertsRegressor(random_state=0)
    Xnan = X.copy()
    Xnan[37, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(da.from_array(Xnan, chunks=(50, 3)), y)
    with pytest.raises(ValueError, match=r"y must have shape \(100,\)"):
        est.fit(da.from_array(X, chunks=(50, 3)), y[:90])
    with pytest.raises(ValueError, match="Negative"):
        est.fit(da.from_array(X, chunks=(50, 3)), y, sample_weight=-np.ones(100))
    with pytest.raises(ValueError, match="2-D"):
        est.fit(da.from_array(y, chunks=50), y)
    assert not hasattr(est, "gate_")


def test_missing_dask_gives_install_command(monkeypatch):
    from skmoe import _dask

    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r'pip install "skmoe\[dask\]"'):
        _dask._import_dask()


# ---------------------------------------------------------------------- #
# joblib's dask backend: restarts, expert refits, cross-validation
# ---------------------------------------------------------------------- #
def _ran_on_dask(client, func):
    with distributed.get_task_stream(client) as ts:
        with joblib.parallel_config(backend="dask"):
            out = func()
    assert len(ts.data) > 0, "nothing ran on the Dask workers"
    return out


def test_joblib_dask_backend_restarts(client):
    X, y = _switching_data(n=300)
    kw = dict(n_experts=3, n_init=3, random_state=0)
    seq = MixtureOfExpertsRegressor(**kw).fit(X, y)
    par = _ran_on_dask(client, lambda: MixtureOfExpertsRegressor(n_jobs=2, **kw).fit(X, y))
    assert par.lower_bound_ == seq.lower_bound_
    np.testing.assert_array_equal(par.lower_bounds_, seq.lower_bounds_)
    np.testing.assert_array_equal(par.predict(X), seq.predict(X))


def test_joblib_dask_backend_heterogeneous_experts(client):
    X, y = _switching_data(n=300)
    experts = [
        ("tree", DecisionTreeRegressor(max_depth=3)),
        ("ridge", Ridge()),
        ("rand_tree", DecisionTreeRegressor(max_depth=2, splitter="random")),
    ]
    kw = dict(random_state=0, max_iter=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seq = MixtureOfExpertsRegressor(experts, **kw).fit(X, y)
        par = _ran_on_dask(
            client, lambda: MixtureOfExpertsRegressor(experts, n_jobs=2, **kw).fit(X, y)
        )
    np.testing.assert_array_equal(par.lower_bounds_, seq.lower_bounds_)
    np.testing.assert_array_equal(par.predict(X), seq.predict(X))


def test_joblib_dask_backend_cross_val_score(client):
    X, y = _switching_data(n=300)
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0)
    cv = KFold(3, shuffle=True, random_state=0)
    seq = cross_val_score(est, X, y, cv=cv)
    par = _ran_on_dask(client, lambda: cross_val_score(est, X, y, cv=cv, n_jobs=2))
    np.testing.assert_array_equal(par, seq)


def test_dask_fit_reports_progress_like_the_in_memory_fit(client, fake_tqdm, capsys):
    """verbose="progress": one bar per restart, stepped once per EM iteration
    with the objective; integer verbose: the in-memory fit's lines."""
    X, y = _switching_data(n=400)
    Xd, yd = da.from_array(X, chunks=(150, 3)), da.from_array(y, chunks=150)
    capsys.readouterr()
    est = MixtureOfExpertsRegressor(n_experts=2, n_init=2, random_state=0, verbose="progress")
    est.fit(Xd, yd)
    assert capsys.readouterr().out == ""
    bars = fake_tqdm.instances
    # A bar per start: 2 * n_init screened, n_init of them resumed.
    assert [b.desc for b in bars] == [f"MixtureOfExpertsRegressor restart {i}" for i in range(4)]
    for bar, history in zip(bars, est.lower_bounds_all_, strict=True):
        assert bar.closed and bar.total == bar.n == len(history) < est.max_iter
        assert [p["loglik"] for p in bar.postfixes[:-1]] == [f"{v:.6g}" for v in history]
        assert bar.postfixes[-1]["status"] in ("converged", "screened out")

    lines = {}
    for name, data in (("memory", (X, y)), ("dask", (Xd, yd))):
        MixtureOfExpertsRegressor(n_experts=2, random_state=0, verbose=2).fit(*data)
        lines[name] = [ln for ln in capsys.readouterr().out.splitlines() if "iteration" in ln]
    assert len(lines["dask"]) == len(lines["memory"]) > 1
    assert [ln.split(":")[0] for ln in lines["dask"]] == [
        ln.split(":")[0] for ln in lines["memory"]
    ]


@pytest.mark.parametrize("which", ["X", "y"])
def test_values_whose_squares_overflow_are_named_on_dask(client, which):
    # As in memory (issue 13): X or y beyond 1e150 is a ValueError naming it.
    X, y = _switching_data(n=300)
    if which == "X":
        X = X * 1e200
    else:
        y = y * 1e200
    Xd = da.from_array(X, chunks=(100, X.shape[1]))
    yd = da.from_array(y, chunks=100)
    with pytest.raises(ValueError, match=rf"^{which} has values of magnitude up to .*Rescale"):
        MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(Xd, yd)
