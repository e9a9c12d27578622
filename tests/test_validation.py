"""Bad input gets a clear error before any work is done."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.exceptions import ExpertFitError


class RecordingRegressor(RegressorMixin, BaseEstimator):
    """Counts fits (to prove no work happened) and can fail on a given call."""

    calls = 0

    def __init__(self, fail_on_call=None):
        self.fail_on_call = fail_on_call

    def fit(self, X, y, sample_weight=None):
        RecordingRegressor.calls += 1
        if self.fail_on_call is not None and RecordingRegressor.calls >= self.fail_on_call:
            raise ArithmeticError("boom inside the expert")
        self.mean_ = float(np.average(y, weights=sample_weight))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def data(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2)
    return X, X[:, 0] + 0.1 * rng.randn(n)


@pytest.fixture(autouse=True)
def reset_counter():
    RecordingRegressor.calls = 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "y"])
def test_non_finite_input(bad, where):
    X, y = data()
    if where == "X":
        X[3, 1] = bad
    else:
        y[5] = bad
    est = MixtureOfExpertsRegressor(RecordingRegressor())
    with pytest.raises(ValueError, match=f"Input {where} contains (NaN|infinity)"):
        est.fit(X, y)
    assert RecordingRegressor.calls == 0


def test_wrong_shapes():
    X, y = data()
    est = MixtureOfExpertsRegressor(RecordingRegressor())
    with pytest.raises(ValueError, match="Expected 2D array"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    with pytest.raises(ValueError, match="y should be a 1d array"):
        est.fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="sample_weight.shape"):
        est.fit(X, y, sample_weight=np.ones(3))
    assert RecordingRegressor.calls == 0
    est = MixtureOfExpertsRegressor(max_iter=5).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but MixtureOfExpertsRegressor is expecting 2"
    ):
        est.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"y must have shape \(40,\)"):
        est.log_likelihood(X, y[:10])


def test_fewer_samples_than_experts():
    X, y = data(3)
    with pytest.raises(ValueError, match="n_samples >= n_experts, got n_samples=3 and n_experts=4"):
        MixtureOfExpertsRegressor(RecordingRegressor(), n_experts=4).fit(X, y)
    assert RecordingRegressor.calls == 0


def test_one_class_only():
    X, _ = data()
    with pytest.raises(ValueError, match="at least 2 classes in y; got one class only"):
        MixtureOfExpertsClassifier().fit(X, np.zeros(len(X)))
    y = np.arange(len(X)) % 2
    with pytest.raises(ValueError, match="2 classes with positive sample_weight"):
        MixtureOfExpertsClassifier().fit(X, y, sample_weight=(y == 1).astype(float))


def test_classifier_rejects_continuous_target():
    X, y = data()
    with pytest.raises(ValueError, match="Unknown label type"):
        MixtureOfExpertsClassifier().fit(X, y)


def test_regressor_rejects_non_numeric_target():
    X, _ = data()
    y = np.array(["a", "b"] * 20)
    with pytest.raises(ValueError, match="needs a numeric target y.*MixtureOfExpertsClassifier"):
        MixtureOfExpertsRegressor(RecordingRegressor()).fit(X, y)
    with pytest.raises(ValueError, match="numeric target"):
        MixtureOfExpertsRegressor().fit(X, y.astype(object))
    assert RecordingRegressor.calls == 0


def test_sample_weight_errors():
    X, y = data()
    est = MixtureOfExpertsRegressor(RecordingRegressor())
    with pytest.raises(ValueError, match="(?i)sample weights? .*(zero|sum)"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="(?i)negative"):
        est.fit(X, y, sample_weight=-np.ones(len(y)))
    assert RecordingRegressor.calls == 0


def test_expert_that_raises_is_named_with_the_iteration():
    X, y = data()
    # Call 1 and 2: initial M-step for the two experts; 3rd call fails (EM iteration 1).
    est = MixtureOfExpertsRegressor(
        [("steady", LinearRegression()), ("flaky", RecordingRegressor(fail_on_call=2))], max_iter=5
    )
    with pytest.raises(
        ExpertFitError, match=r"Expert 1 \('flaky', RecordingRegressor\).*EM iteration 1.*boom"
    ) as info:
        est.fit(X, y)
    assert isinstance(info.value.__cause__, ArithmeticError)
    RecordingRegressor.calls = 0
    est = MixtureOfExpertsRegressor(RecordingRegressor(fail_on_call=1), max_iter=5)
    with pytest.raises(ExpertFitError, match="initial M-step"):
        est.fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_experts": 0}, "n_experts"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"n_init": 0}, "n_init"),
        ({"init_params": "spectral"}, "init_params"),
        ({"gate": "spherical"}, "gate"),
        ({"m_step": "hard"}, "m_step"),
        ({"variance_floor": 0.0}, "variance_floor"),
        ({"experts": "ridge"}, "experts"),
    ],
)
def test_invalid_parameters(params, match):
    X, y = data()
    with pytest.raises(InvalidParameterError, match=match):
        MixtureOfExpertsRegressor(**params).fit(X, y)


def test_invalid_gate_parameter():
    X, y = data()
    with pytest.raises(InvalidParameterError, match="alpha"):
        MixtureOfExpertsRegressor(gate=SoftmaxGate(alpha=-1.0)).fit(X, y)


def test_malformed_expert_lists():
    X, y = data()
    with pytest.raises(ValueError, match="list of \\(name, estimator\\) tuples"):
        MixtureOfExpertsRegressor([LinearRegression(), LinearRegression()]).fit(X, y)
    with pytest.raises(ValueError, match="unique"):
        MixtureOfExpertsRegressor([("a", LinearRegression()), ("a", LinearRegression())]).fit(X, y)
    with pytest.raises(ValueError, match="empty"):
        MixtureOfExpertsRegressor([]).fit(X, y)
    with pytest.raises(ValueError, match="'__'"):
        MixtureOfExpertsRegressor([("a__b", LinearRegression())]).fit(X, y)
    with pytest.raises(ValueError, match="is a classifier"):
        MixtureOfExpertsRegressor(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="predict_proba"):
        MixtureOfExpertsClassifier(LinearRegression()).fit(X, (y > 0).astype(int))


def test_bad_arguments_of_predictive_methods():
    X, y = data()
    est = MixtureOfExpertsRegressor(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="quantiles must be"):
        est.predict_quantiles(X, [0.5, 1.5])
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        est.sample_y(X, n_samples=0)


def test_unfitted():
    from sklearn.exceptions import NotFittedError

    X, y = data()
    for method in ("predict", "predict_gate", "predict_experts"):
        with pytest.raises(NotFittedError):
            getattr(MixtureOfExpertsRegressor(), method)(X)
    with pytest.raises(NotFittedError):
        MixtureOfExpertsRegressor().log_likelihood(X, y)
