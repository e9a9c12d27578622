"""Tests of skmoe.inspection (Display objects) and of the ``verbose="progress"`` bar.

What is drawn is checked against the estimators' own outputs computed here
independently (predict_gate / predict_experts / responsibilities on a grid
built in the test, the Gaussian mixture density from scipy.stats.norm, the
EM histories), on matplotlib's Agg backend.
"""

import re
import subprocess
import sys
import textwrap
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba_array  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from scipy.stats import norm  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

import skmoe._progress as progress_mod  # noqa: E402
from skmoe import (  # noqa: E402
    MarkovSwitchingRegressor,
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
)
from skmoe.datasets import load_mcycle, make_moe_classification, make_moe_regression  # noqa: E402
from skmoe.experts import PoissonExpert  # noqa: E402
from skmoe.inspection import (  # noqa: E402
    ConvergenceDisplay,
    ExpertsDisplay,
    GateDisplay,
    PredictiveDistributionDisplay,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def mcycle():
    X, y = load_mcycle(return_X_y=True)
    moe = MixtureOfExpertsRegressor(n_experts=3, n_init=3, random_state=0).fit(X, y)
    return X, y, moe


@pytest.fixture(scope="module")
def data2d():
    return make_moe_regression(n_samples=200, n_features=2, n_experts=3, random_state=0)


@pytest.fixture(scope="module")
def reg2d(data2d):
    X, y = data2d[:2]
    return MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def clf2d():
    X, y = make_moe_classification(n_samples=200, n_features=2, n_classes=3, random_state=0)[:2]
    return X, y, MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, y)


def _no_check():
    """Silence warnings of short test fits (ConvergenceWarning and the like)."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore")
    return _Exit(ctx)


class _Exit:
    def __init__(self, ctx):
        self.ctx = ctx

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)


def _grid_design(X, col, n, reference=None):
    """The design the displays should use: a linspace over X[:, col], others at the median."""
    ref = np.median(X, axis=0) if reference is None else reference
    grid = np.linspace(X[:, col].min(), X[:, col].max(), n)
    Z = np.tile(ref, (n, 1))
    Z[:, col] = grid
    return grid, Z


# ---------------------------------------------------------------------- #
# GateDisplay
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("gate", ["softmax", "constant", "gaussian", "hierarchical"])
def test_gate_display_curves_equal_predict_gate(data2d, gate):
    X, y = data2d[:2]
    moe = MixtureOfExpertsRegressor(n_experts=3, gate=gate, max_iter=30, random_state=0)
    with _no_check():
        moe.fit(X, y)
    disp = GateDisplay.from_estimator(moe, X, features=1, grid_resolution=37)
    grid, Z = _grid_design(X, 1, 37)
    expected = moe.predict_gate(Z)
    assert len(disp.lines_) == moe.n_experts_ == expected.shape[1]
    for k, line in enumerate(disp.lines_):
        assert_allclose(line.get_xdata(), grid)
        assert_allclose(line.get_ydata(), expected[:, k], rtol=1e-12, atol=1e-14)
        assert line.get_label() == f"expert {k}"
    assert disp.ax_.get_xlabel() == "x1"
    assert disp.ax_.get_ylabel() == "gate probability"
    assert disp.figure_ is disp.ax_.figure
    assert disp.surface_ is None and disp.contours_ is None
    # Hard regions over the same grid: the mesh's array is argmax of the gate.
    disp = GateDisplay.from_estimator(moe, X, features=[1], kind="regions", grid_resolution=37)
    assert_array_equal(np.asarray(disp.surface_.get_array()).ravel(), np.argmax(expected, axis=1))
    assert [t.get_text() for t in disp.legend_.get_texts()] == [
        f"expert {k}" for k in range(moe.n_experts_)
    ]


def test_gate_display_reference_value(data2d, reg2d):
    X = data2d[0]
    ref = np.array([0.7, -1.3])
    disp = GateDisplay.from_estimator(reg2d, X, features=0, reference=ref, grid_resolution=11)
    _, Z = _grid_design(X, 0, 11, reference=ref)
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), reg2d.predict_gate(Z))
    disp = GateDisplay.from_estimator(reg2d, X, features=0, reference="mean", grid_resolution=11)
    _, Z = _grid_design(X, 0, 11, reference=X.mean(axis=0))
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), reg2d.predict_gate(Z))


def test_gate_display_two_features(data2d, reg2d):
    X = data2d[0]
    disp = GateDisplay.from_estimator(reg2d, X, features=(0, 1), kind="regions", grid_resolution=25)
    g0 = np.linspace(X[:, 0].min(), X[:, 0].max(), 25)
    g1 = np.linspace(X[:, 1].min(), X[:, 1].max(), 25)
    xx, yy = np.meshgrid(g0, g1)
    gate = reg2d.predict_gate(np.column_stack([xx.ravel(), yy.ravel()]))
    hard = np.asarray(disp.surface_.get_array()).reshape(xx.shape)
    assert_array_equal(hard, np.argmax(gate, axis=1).reshape(xx.shape))
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("x0", "x1")

    # Contour lines at g_k = 0.5: the gate evaluated on their vertices is 0.5
    # (up to the linear interpolation of a 60-point grid).
    disp = GateDisplay.from_estimator(reg2d, X, features=(0, 1), grid_resolution=60)
    assert len(disp.contours_) == 3
    n_checked = 0
    for k, cs in enumerate(disp.contours_):
        assert_allclose(cs.levels, [0.5])
        for path in cs.get_paths():
            if len(path.vertices):
                g = reg2d.predict_gate(path.vertices)[:, k]
                assert_allclose(g, 0.5, atol=0.03)
                n_checked += len(g)
    assert n_checked > 20


def test_gate_display_classifier_and_feature_names(clf2d):
    pd = pytest.importorskip("pandas")
    X, y, clf = clf2d
    disp = GateDisplay.from_estimator(clf, X, features=-1, grid_resolution=15)
    _, Z = _grid_design(X, 1, 15)
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), clf.predict_gate(Z))
    df = pd.DataFrame(X, columns=["speed", "angle"])
    clf_df = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(df, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names"
        disp = GateDisplay.from_estimator(clf_df, df, features="angle", grid_resolution=15)
    assert disp.ax_.get_xlabel() == "angle"
    expected = clf_df.predict_gate(pd.DataFrame(Z, columns=["speed", "angle"]))
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), expected)


def test_gate_display_expert_names_from_heterogeneous_list(data2d):
    from skmoe.experts import LinearExpert

    X, y = data2d[:2]
    moe = MixtureOfExpertsRegressor(
        [("left", LinearExpert()), ("mid", LinearExpert()), ("right", LinearExpert(alpha=1.0))],
        max_iter=20,
        random_state=0,
    )
    with _no_check():
        moe.fit(X, y)
    disp = GateDisplay.from_estimator(moe, X, grid_resolution=5)
    assert [ln.get_label() for ln in disp.lines_] == ["left", "mid", "right"]


def test_gate_display_reuses_ax(mcycle):
    X, _, moe = mcycle
    fig, (ax0, ax1) = plt.subplots(1, 2)
    disp = GateDisplay.from_estimator(moe, X, ax=ax1)
    assert disp.ax_ is ax1 and disp.figure_ is fig
    assert len(ax1.get_lines()) == 3 and len(ax0.get_lines()) == 0
    # plot() again on the stored data, onto another axes.
    disp.plot(ax=ax0, kind="regions")
    assert disp.ax_ is ax0 and disp.surface_ in ax0.collections


def test_gate_display_bad_input(mcycle, data2d, reg2d):
    X, _, moe = mcycle
    with pytest.raises(ValueError, match="feature index 1 is out of range; X has 1 feature"):
        GateDisplay.from_estimator(moe, X, features=1)
    with pytest.raises(ValueError, match="feature index -3 is out of range"):
        GateDisplay.from_estimator(reg2d, data2d[0], features=-3)
    with pytest.raises(ValueError, match="1 or 2 columns; got 3"):
        GateDisplay.from_estimator(reg2d, data2d[0], features=[0, 1, 0])
    with pytest.raises(ValueError, match="the same column"):
        GateDisplay.from_estimator(reg2d, data2d[0], features=[1, -1])
    with pytest.raises(ValueError, match="kind must be one of"):
        GateDisplay.from_estimator(moe, X, kind="hard")
    with pytest.raises(
        ValueError, match="X has 2 features, but MixtureOfExpertsRegressor was fitted with 1"
    ):
        GateDisplay.from_estimator(moe, data2d[0])
    with pytest.raises(ValueError, match="reference must be"):
        GateDisplay.from_estimator(moe, X, reference=[0.0, 1.0])
    with pytest.raises(ValueError, match="grid_resolution must be an integer >= 2"):
        GateDisplay.from_estimator(moe, X, grid_resolution=1)
    with pytest.raises(ValueError, match="is a name but"):
        GateDisplay.from_estimator(moe, X, features="time")
    with pytest.raises(NotFittedError):
        GateDisplay.from_estimator(MixtureOfExpertsRegressor(), X)


def test_gate_display_refuses_markov_switching():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 1)
    y = np.where((np.arange(120) // 30) % 2 == 0, 2 * X[:, 0], -X[:, 0] + 3) + 0.3 * rng.randn(120)
    ms = MarkovSwitchingRegressor(n_regimes=2, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="has no predict_gate.*observed history"):
        GateDisplay.from_estimator(ms, X)
    # The regimes are experts: ExpertsDisplay draws them, shaded by the
    # smoothed regime probabilities.
    disp = ExpertsDisplay.from_estimator(ms, X, y, grid_resolution=9)
    grid, Z = _grid_design(X, 0, 9)
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), ms.predict_regimes(Z))
    expected = ms.smoothed_regime_proba(X, y) @ to_rgba_array(["C0", "C1"])
    assert_allclose(disp.scatter_.get_facecolors(), np.clip(expected, 0, 1))
    # And the convergence history of every start (2: n_screen="auto"),
    # the selected one among them.
    disp = ConvergenceDisplay.from_estimator(ms)
    assert len(disp.lines_) == len(ms.lower_bounds_all_) == 2
    assert any(np.array_equal(ln.get_ydata(), ms.lower_bounds_) for ln in disp.lines_)


# ---------------------------------------------------------------------- #
# ExpertsDisplay
# ---------------------------------------------------------------------- #
def test_experts_display_regressor(mcycle):
    X, y, moe = mcycle
    disp = ExpertsDisplay.from_estimator(moe, X, y, grid_resolution=50, min_gate=None)
    grid, Z = _grid_design(X, 0, 50)
    means = moe.predict_experts(Z)
    for k, line in enumerate(disp.lines_):
        assert_allclose(line.get_xdata(), grid)
        assert_allclose(line.get_ydata(), means[:, k])
    assert_allclose(disp.scatter_.get_offsets(), np.column_stack([X[:, 0], y]))
    resp = moe.responsibilities(X, y)
    assert_allclose(
        disp.scatter_.get_facecolors(), np.clip(resp @ to_rgba_array(["C0", "C1", "C2"]), 0, 1)
    )
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("x0", "y")

    # min_gate hides an expert's curve where the gate does not use it.
    disp = ExpertsDisplay.from_estimator(moe, X, y, grid_resolution=50, min_gate=0.3)
    gate = moe.predict_gate(Z)
    for k, line in enumerate(disp.lines_):
        yk = np.asarray(line.get_ydata(), dtype=float)
        assert_array_equal(np.isnan(yk), gate[:, k] < 0.3)
        assert_allclose(yk[gate[:, k] >= 0.3], means[gate[:, k] >= 0.3, k])

    # Without y: curves only.
    disp = ExpertsDisplay.from_estimator(moe, X, colors=["r", "g", "b"])
    assert disp.scatter_ is None
    assert [ln.get_color() for ln in disp.lines_] == ["r", "g", "b"]


def test_experts_display_default_hides_unused_experts(mcycle):
    # Default min_gate="auto": 0.05 with the gate; everywhere without it.
    X, y, moe = mcycle
    grid, Z = _grid_design(X, 0, 50)
    gate = moe.predict_gate(Z)
    disp = ExpertsDisplay.from_estimator(moe, X, y, grid_resolution=50)
    for k, line in enumerate(disp.lines_):
        assert_array_equal(np.isnan(np.asarray(line.get_ydata(), dtype=float)), gate[:, k] < 0.05)
    bare = ExpertsDisplay(grid, moe.predict_experts(Z), feature_name="x0").plot()
    assert not any(np.isnan(ln.get_ydata()).any() for ln in bare.lines_)
    with pytest.raises(ValueError, match="min_gate must be"):
        bare.plot(min_gate="all")
    with pytest.raises(ValueError, match="ylim must be"):
        bare.plot(ylim="curves")
    # ylim=None gives matplotlib's limits, a pair is used as is.
    disp = ExpertsDisplay.from_estimator(moe, X, y, min_gate=None, ylim=None)
    assert disp.ax_.get_ylim()[0] < y.min() - 100
    disp = ExpertsDisplay.from_estimator(moe, X, y, ylim=(-10, 10))
    assert disp.ax_.get_ylim() == (-10, 10)


def test_experts_display_classifier(clf2d):
    X, y, clf = clf2d
    with pytest.raises(ValueError, match="3 classes.*target="):
        ExpertsDisplay.from_estimator(clf, X, y)
    with pytest.raises(ValueError, match="target=7 is not one of the classes"):
        ExpertsDisplay.from_estimator(clf, X, y, target=7)
    disp = ExpertsDisplay.from_estimator(clf, X, y, feature=1, target=2, grid_resolution=20)
    _, Z = _grid_design(X, 1, 20)
    proba = clf.predict_experts(Z)[:, :, 2]
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), proba)
    assert_allclose(disp.scatter_.get_offsets(), np.column_stack([X[:, 1], (y == 2).astype(float)]))
    assert disp.ax_.get_ylabel() == "P(y = 2 | x)"


def test_experts_display_bad_input(mcycle):
    X, y, moe = mcycle
    with pytest.raises(ValueError, match="feature index 2 is out of range"):
        ExpertsDisplay.from_estimator(moe, X, y, feature=2)
    with pytest.raises(ValueError, match="target= is for classifiers only"):
        ExpertsDisplay.from_estimator(moe, X, y, target=1)
    with pytest.raises(ValueError, match=r"y must have shape \(133,\)"):
        ExpertsDisplay.from_estimator(moe, X, y[:-1])
    with pytest.raises(NotFittedError):
        ExpertsDisplay.from_estimator(MixtureOfExpertsRegressor(), X, y)


# ---------------------------------------------------------------------- #
# PredictiveDistributionDisplay
# ---------------------------------------------------------------------- #
def test_predictive_density_equals_gaussian_mixture(mcycle):
    X, y, moe = mcycle
    disp = PredictiveDistributionDisplay.from_estimator(
        moe, X, y, grid_resolution=30, y_resolution=40, y_range=(-150, 100)
    )
    xs, Z = _grid_design(X, 0, 30)
    ys = np.linspace(-150, 100, 40)
    gate, means, sd = moe.predict_gate(Z), moe.predict_experts(Z), np.sqrt(moe.noise_variance_)
    expected = np.einsum("xk,yxk->yx", gate, norm.pdf(ys[:, None, None], means[None], sd))
    assert disp.density.shape == (40, 30)
    assert_allclose(disp.density, expected, rtol=1e-9, atol=1e-300)
    assert_allclose(np.asarray(disp.surface_.get_array()).reshape(40, 30), expected, rtol=1e-9)
    assert_allclose(disp.x_values, xs)
    assert_allclose(disp.y_values, ys)
    assert_allclose(disp.scatter_.get_offsets(), np.column_stack([X[:, 0], y]))
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("x0", "y")
    assert disp.colorbar_ is not None


def test_predictive_density_student_t_experts(mcycle):
    from scipy.stats import t

    from skmoe.experts import StudentTExpert

    X, y, _ = mcycle
    moe = MixtureOfExpertsRegressor(StudentTExpert(), n_experts=3, max_iter=30, random_state=0)
    with _no_check():
        moe.fit(X, y)
    disp = PredictiveDistributionDisplay.from_estimator(
        moe, X, y, grid_resolution=10, y_resolution=50, y_range=(-150, 100)
    )
    Z = disp.x_values[:, None]
    df = np.array([e.df_ for e in moe.experts_])
    scale = np.array([e.scale_ for e in moe.experts_])
    pdf = t.pdf(disp.y_values[:, None, None], df, loc=moe.predict_experts(Z)[None], scale=scale)
    expected = np.einsum("xk,yxk->yx", moe.predict_gate(Z), pdf)
    assert_allclose(disp.density, expected, rtol=1e-9, atol=1e-300)


def test_predictive_density_integrates_to_one(mcycle):
    X, y, moe = mcycle
    # Fine y grid over a wide range: every column is a probability density.
    sd = np.sqrt(moe.noise_variance_)
    lo, hi = y.min() - 8 * sd.max(), y.max() + 8 * sd.max()
    disp = PredictiveDistributionDisplay.from_estimator(
        moe, X, grid_resolution=12, y_resolution=3000, y_range=(lo, hi), colorbar=False
    )
    assert_allclose(np.trapezoid(disp.density, disp.y_values, axis=0), 1.0, atol=1e-4)
    assert disp.scatter_ is None and disp.colorbar_ is None
    # Default y range: the 0.1%-99.9% predictive quantiles (and the data),
    # so at least ~99.8% of each column's mass is on the map.
    disp = PredictiveDistributionDisplay.from_estimator(
        moe, X, y, grid_resolution=12, y_resolution=1500
    )
    mass = np.trapezoid(disp.density, disp.y_values, axis=0)
    assert np.all(mass > 0.997) and np.all(mass < 1.0 + 1e-4)
    assert disp.y_values[0] <= y.min() and disp.y_values[-1] >= y.max()


def test_predictive_display_bad_input(mcycle, clf2d):
    X, y, moe = mcycle
    Xc, yc, clf = clf2d
    with pytest.raises(ValueError, match="regressors only.*MixtureOfExpertsClassifier"):
        PredictiveDistributionDisplay.from_estimator(clf, Xc, yc)
    with pytest.raises(ValueError, match="feature index 1 is out of range"):
        PredictiveDistributionDisplay.from_estimator(moe, X, y, feature=1)
    with pytest.raises(ValueError, match="y_range must be two finite numbers"):
        PredictiveDistributionDisplay.from_estimator(moe, X, y, y_range=(3, 1))
    with pytest.raises(NotFittedError):
        PredictiveDistributionDisplay.from_estimator(MixtureOfExpertsRegressor(), X, y)
    rng = np.random.RandomState(0)
    counts = rng.poisson(np.exp(0.5 + 0.02 * X[:, 0]))
    pois = MixtureOfExpertsRegressor(PoissonExpert(), n_experts=2, max_iter=10, random_state=0)
    with _no_check():
        pois.fit(X, counts)
    with pytest.raises(ValueError, match="discrete law"):
        PredictiveDistributionDisplay.from_estimator(pois, X, counts)


# ---------------------------------------------------------------------- #
# ConvergenceDisplay and lower_bounds_all_
# ---------------------------------------------------------------------- #
def test_convergence_display_lines_are_the_restarts(mcycle):
    X, y, moe = mcycle
    # Every start: 2 * n_init screened, n_init of them resumed to convergence.
    n = len(moe.lower_bounds_all_)
    assert n == 6
    best = max(range(n), key=lambda i: (moe.lower_bounds_all_[i][-1], -i))
    assert_array_equal(moe.lower_bounds_all_[best], moe.lower_bounds_)
    assert moe.lower_bounds_all_[best][-1] == moe.lower_bound_
    fig, ax = plt.subplots()
    disp = ConvergenceDisplay.from_estimator(moe, ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig
    assert len(disp.lines_) == n
    for i, line in enumerate(disp.lines_):
        assert_allclose(line.get_ydata(), moe.lower_bounds_all_[i])
        assert_array_equal(line.get_xdata(), np.arange(1, len(moe.lower_bounds_all_[i]) + 1))
    assert disp.lines_[best].get_label() == f"restart {best} (selected)"
    assert disp.lines_[best].get_linewidth() > disp.lines_[(best + 1) % n].get_linewidth()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("EM iteration", "mean log-likelihood")


def test_lower_bounds_all_same_for_any_n_jobs_and_warm_start():
    X, y = load_mcycle(return_X_y=True)
    a = MixtureOfExpertsRegressor(n_experts=2, n_init=3, random_state=1).fit(X, y)
    b = MixtureOfExpertsRegressor(n_experts=2, n_init=3, random_state=1, n_jobs=2).fit(X, y)
    assert len(a.lower_bounds_all_) == len(b.lower_bounds_all_) == 6
    for ca, cb in zip(a.lower_bounds_all_, b.lower_bounds_all_, strict=True):
        assert_array_equal(ca, cb)
    a.set_params(warm_start=True, max_iter=5).fit(X, y)
    assert len(a.lower_bounds_all_) == 1
    assert_array_equal(a.lower_bounds_all_[0], a.lower_bounds_)


def test_convergence_display_after_partial_fit():
    # partial_fit records lower_bounds_ only: the display must not show the
    # restarts of the earlier fit as if they were current.
    X, y = load_mcycle(return_X_y=True)
    moe = MixtureOfExpertsRegressor(n_experts=2, n_init=2, random_state=0).fit(X, y)
    moe.partial_fit(X[:60], y[:60])
    disp = ConvergenceDisplay.from_estimator(moe)
    assert len(disp.lines_) == 1
    assert_allclose(disp.lines_[0].get_ydata(), moe.lower_bounds_)


def test_convergence_display_bad_input():
    with pytest.raises(NotFittedError):
        ConvergenceDisplay.from_estimator(MixtureOfExpertsRegressor())

    from sklearn.linear_model import LinearRegression

    X, y = load_mcycle(return_X_y=True)
    with pytest.raises(TypeError, match="LinearRegression has none"):
        ConvergenceDisplay.from_estimator(LinearRegression().fit(X, y))


# ---------------------------------------------------------------------- #
# Neural estimators: gate and loss curves
# ---------------------------------------------------------------------- #
def test_displays_with_sparse_moe(data2d):
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoERegressor

    X, y = data2d[:2]
    net = SparseMoERegressor(
        (8,), n_experts=3, top_k=2, max_epochs=4, batch_size=64, device="cpu", random_state=0
    )
    with _no_check():
        net.fit(X, y)
    disp = ConvergenceDisplay.from_estimator(net)
    assert_allclose(disp.lines_[0].get_ydata(), net.loss_curve_)
    assert_allclose(disp.validation_line_.get_ydata(), net.validation_loss_curve_)
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("epoch", "loss")
    disp = GateDisplay.from_estimator(net, X, features=0, grid_resolution=10)
    _, Z = _grid_design(X, 0, 10)
    assert_allclose(np.column_stack([ln.get_ydata() for ln in disp.lines_]), net.predict_gate(Z))
    with pytest.raises(TypeError, match="per-expert predictions"):
        ExpertsDisplay.from_estimator(net, X, y)
    with pytest.raises(TypeError, match="has no log_likelihood"):
        PredictiveDistributionDisplay.from_estimator(net, X, y)


# ---------------------------------------------------------------------- #
# matplotlib is optional
# ---------------------------------------------------------------------- #
def test_import_and_error_without_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # import matplotlib -> ImportError
        import numpy as np
        import skmoe.inspection
        from skmoe.inspection import ConvergenceDisplay, GateDisplay
        assert "matplotlib.pyplot" not in sys.modules
        for disp in (ConvergenceDisplay([np.arange(3.0)]),
                     GateDisplay([np.arange(3.0)], np.ones((3, 1)), feature_names=["x0"])):
            try:
                disp.plot()
            except ImportError as exc:
                assert "pip install matplotlib" in str(exc), exc
            else:
                raise AssertionError("no ImportError")
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------------- #
# verbose="progress": an optional tqdm bar
# ---------------------------------------------------------------------- #
def test_em_progress_bar(fake_tqdm, capsys):
    X, y = load_mcycle(return_X_y=True)
    capsys.readouterr()
    moe = MixtureOfExpertsRegressor(n_experts=2, n_init=2, random_state=0, verbose="progress").fit(
        X, y
    )
    assert capsys.readouterr().out == ""  # the bar replaces the lines
    bars = fake_tqdm.instances
    # A bar per start (2 * n_init screened; the screened-out ones stop early).
    assert [b.desc for b in bars] == [f"MixtureOfExpertsRegressor restart {i}" for i in range(4)]
    statuses = []
    for bar, history in zip(bars, moe.lower_bounds_all_, strict=True):
        # Stopped short of max_iter (converged or screened out): the bar is
        # complete, its total the iterations run (not a red, short bar).
        assert len(history) < moe.max_iter
        assert bar.closed and bar.n == bar.total == len(history)
        *steps, final = bar.postfixes
        assert [p["loglik"] for p in steps] == [f"{v:.6g}" for v in history]
        # The postfix shows the change of the log-likelihood.
        changes = np.diff(history)
        assert [float(p["change"]) for p in steps[1:]] == [float(f"{c:.2g}") for c in changes]
        assert steps[0]["change"] == "inf"
        assert final == {**steps[-1], "status": final["status"]}
        statuses.append(final["status"])
    # n_init of the starts ran to convergence, the others were screened out.
    assert sorted(statuses) == ["converged"] * 2 + ["screened out"] * 2


def test_progress_bar_at_max_iter_is_full(fake_tqdm):
    X, y = load_mcycle(return_X_y=True)
    with _no_check():
        MixtureOfExpertsRegressor(
            n_experts=2, n_screen=0, max_iter=4, random_state=0, verbose="progress"
        ).fit(X, y)
    (bar,) = fake_tqdm.instances
    assert bar.n == bar.total == 4 and bar.postfixes[-1]["status"] == "max_iter reached"


def test_em_progress_bar_reports_reseeds(fake_tqdm, monkeypatch):
    # Force one collapse: the first reseed check finds expert 1 dead.
    from skmoe._base import BaseMixtureOfExperts

    original = BaseMixtureOfExperts._reseed
    calls = []

    def reseed(self, X, resp, ll, sw, rng, mass=None):
        calls.append(1)
        if len(calls) == 1:
            resp = resp.copy()
            resp[:, 1] = 0.0
            resp[:, 0] = 1.0
        # (The E-step's masses are dropped: the original recomputes them from
        # the modified responsibilities.)
        return original(self, X, resp, ll, sw, rng)

    monkeypatch.setattr(BaseMixtureOfExperts, "_reseed", reseed)
    X, y = load_mcycle(return_X_y=True)
    with _no_check():
        MixtureOfExpertsRegressor(n_experts=2, n_screen=0, random_state=0, verbose="progress").fit(
            X, y
        )
    (bar,) = fake_tqdm.instances
    assert len(bar.written) == 1 and "re-seeded collapsed expert(s) [1]" in bar.written[0]


def test_progress_without_tqdm_prints_every_nth_iteration(monkeypatch, capsys):
    X, y = load_mcycle(return_X_y=True)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setattr(progress_mod, "_NOTED", [])
    assert progress_mod._import_tqdm() is None
    capsys.readouterr()
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning per fit
        for _ in range(2):
            est = MixtureOfExpertsRegressor(
                n_experts=2, n_screen=0, tol=1e-8, random_state=0, verbose="progress"
            )
            fits.append((est.fit(X, y), capsys.readouterr().out.splitlines()))
    every = progress_mod.FALLBACK_EVERY
    for i, (est, lines) in enumerate(fits):
        if i == 0:  # the note on how to get the bar, once per process
            note, *lines = lines
            assert "tqdm, which is not installed" in note and "skmoe[progress]" in note
        assert est.n_iter_ > 2 * every
        *iterations, summary = lines
        numbers = [int(re.search(r"iteration (\d+):", ln)[1]) for ln in iterations]
        assert numbers == list(range(every, est.n_iter_ + 1, every))
        assert summary.startswith("[MixtureOfExpertsRegressor] restart 0: converged after")


def test_progress_uses_tqdm_auto(monkeypatch):
    import types

    from .conftest import FakeTqdm

    module = types.ModuleType("tqdm.auto")
    module.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", module)
    FakeTqdm.instances = []
    with progress_mod.progress("progress", total=5, desc="d") as rep:
        rep.step("line", a="1")
        rep.step("line")
        rep.done("summary", "converged")
    (bar,) = FakeTqdm.instances
    assert (bar.total, bar.desc, bar.n, bar.postfixes, bar.closed) == (
        2,
        "d",
        2,
        [{"a": "1"}, {"a": "1", "status": "converged"}],
        True,
    )


def test_verbose_string_is_validated():
    X, y = load_mcycle(return_X_y=True)
    with pytest.raises(InvalidParameterError, match="verbose"):
        MixtureOfExpertsRegressor(verbose="bar").fit(X, y)


def test_neural_progress_bar(fake_tqdm, capsys, data2d):
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoERegressor

    X, y = data2d[:2]
    capsys.readouterr()
    net = SparseMoERegressor(
        (8,),
        n_experts=2,
        top_k=1,
        max_epochs=3,
        batch_size=64,
        device="cpu",
        random_state=0,
        verbose="progress",
    )
    with _no_check():
        net.fit(X, y)
    assert capsys.readouterr().out == ""
    (bar,) = fake_tqdm.instances
    assert bar.total == 3 and bar.n == net.n_iter_ == 3 and bar.closed
    *steps, final = bar.postfixes
    assert [p["loss"] for p in steps] == [f"{v:.4g}" for v in net.loss_curve_]
    assert [p["val_loss"] for p in steps] == [f"{v:.4g}" for v in net.validation_loss_curve_]
    assert final["status"] == "max_epochs reached"
    with pytest.raises(InvalidParameterError, match="verbose"):
        SparseMoERegressor(verbose="bars", device="cpu").fit(X, y)


# ---------------------------------------------------------------------- #
# Default figures, rendered to PNG (issue 15: readable without overrides)
# ---------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def mcycle4():
    # The gallery's motorcycle model: with 4 experts, extrapolated lines
    # reach about -800 and 400 for targets within -134 and 75.
    X, y = load_mcycle(return_X_y=True)
    with _no_check():
        moe = MixtureOfExpertsRegressor(n_experts=4, n_init=4, max_iter=300, random_state=0).fit(
            X, y
        )
    return X, y, moe


def _render(disp, tmp_path, name):
    """Save the display's figure as a PNG on Agg; its (height, width) in pixels."""
    path = tmp_path / f"{name}.png"
    disp.figure_.savefig(path, dpi=50)
    img = plt.imread(path)
    assert img.ndim == 3 and np.isfinite(img).all()
    # Not blank: the figure holds more than the background colour.
    assert np.ptp(img[..., :3]) > 0.5
    return img.shape[:2]


def _within_data(lim, values, margin=0.15):
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = margin * (hi - lo)
    assert np.isfinite(lim).all()
    return lo - pad <= lim[0] < lim[1] <= hi + pad


@pytest.mark.parametrize("fixture", ["mcycle", "mcycle4"])
def test_experts_display_default_figure(fixture, request, tmp_path):
    X, y, moe = request.getfixturevalue(fixture)
    disp = ExpertsDisplay.from_estimator(moe, X, y)
    assert _render(disp, tmp_path, "experts") == (240, 320)  # 6.4 x 4.8 in at 50 dpi
    ylim = disp.ax_.get_ylim()
    assert _within_data(ylim, y)
    assert ylim[0] <= y.min() and ylim[1] >= y.max()  # every point is seen
    assert _within_data(disp.ax_.get_xlim(), X[:, 0], margin=0.1)
    # Without the limits the experts' lines would span far beyond the data.
    full = ExpertsDisplay.from_estimator(moe, X, y, min_gate=None, ylim=None)
    if fixture == "mcycle4":
        assert not _within_data(full.ax_.get_ylim(), y)
        assert full.ax_.get_ylim()[0] < -500


def test_experts_display_default_figure_classifier(clf2d, tmp_path):
    X, y, clf = clf2d
    disp = ExpertsDisplay.from_estimator(clf, X, y, target=2)
    _render(disp, tmp_path, "experts_clf")
    assert disp.ax_.get_ylim() == pytest.approx((-0.1, 1.1))


def test_predictive_display_default_scale_not_saturated(mcycle4, tmp_path):
    X, y, moe = mcycle4
    disp = PredictiveDistributionDisplay.from_estimator(moe, X, y)
    assert _render(disp, tmp_path, "predictive")[1] == 320
    assert _within_data(disp.ax_.get_xlim(), X[:, 0], margin=0.1)
    ylim = disp.ax_.get_ylim()
    assert np.isfinite(ylim).all() and ylim[0] <= y.min() and ylim[1] >= y.max()
    # The map's y range is the 0.1%-99.9% predictive quantiles (each column
    # holds 99.8% of its mass, see test_predictive_density_integrates_to_one):
    # past the data by the noise's tails, here 53% and 66% of their range.
    assert _within_data(ylim, y, margin=0.75)
    # The density at the data points, on the colour scale drawn.
    iy = np.clip(np.searchsorted(disp.y_values, y), 0, disp.y_values.size - 1)
    ix = np.clip(np.searchsorted(disp.x_values, X[:, 0]), 0, disp.x_values.size - 1)
    at_points = disp.density[iy, ix]
    norm = disp.surface_.norm
    scaled = np.asarray(norm(at_points))
    # A linear scale up to the maximum (the narrow mode before the impact)
    # puts most points in its bottom tenth; the default scale does not.
    linear = at_points / disp.density.max()
    assert np.median(linear) < 0.1
    assert np.median(scaled) > 0.5
    assert norm.vmax == pytest.approx(np.percentile(disp.density, 99))
    assert disp.colorbar_.extend == "max"
    # An explicit norm (or vmin/vmax) replaces the default; norm=None is linear.
    disp = PredictiveDistributionDisplay.from_estimator(moe, X, y, norm=None)
    assert disp.surface_.norm.vmax == pytest.approx(disp.density.max())
    assert disp.colorbar_.extend == "neither"


@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_gate_display_two_features_default_figure(estimator, data2d, reg2d, clf2d, tmp_path):
    if estimator == "regressor":
        X, model = data2d[0], reg2d
    else:
        X, model = clf2d[0], clf2d[2]
    disp = GateDisplay.from_estimator(model, X, features=[0, 1])
    _render(disp, tmp_path, f"gate_{estimator}")
    for lim, col in ((disp.ax_.get_xlim(), 0), (disp.ax_.get_ylim(), 1)):
        assert _within_data(lim, X[:, col], margin=0.1)
    # Each expert's 0.5 contour carries its level as a label.
    labels = [t.get_text() for texts in disp.contour_labels_ for t in texts]
    assert labels and set(labels) == {"0.5"}
    assert all(t in disp.ax_.texts for texts in disp.contour_labels_ for t in texts)
    disp = GateDisplay.from_estimator(model, X, features=[0, 1], levels=(0.25, 0.75))
    labels = {t.get_text() for texts in disp.contour_labels_ for t in texts}
    assert labels <= {"0.25", "0.75"} and labels
    disp = GateDisplay.from_estimator(model, X, features=[0, 1], clabel=False)
    assert disp.contour_labels_ is None and not disp.ax_.texts


def test_gate_display_constant_gate_contours_have_no_labels(data2d):
    X, y = data2d[:2]
    moe = MixtureOfExpertsRegressor(n_experts=2, gate="constant", random_state=0).fit(X, y)
    disp = GateDisplay.from_estimator(moe, X, features=[0, 1])
    assert disp.contour_labels_ == [[], []]
