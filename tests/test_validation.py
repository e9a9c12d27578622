"""Bad input gets a clear error before any work is done; the shared validation rules.

The rules written once for every estimator: label encoding
(``skmoe._validation``) and what a constant column is (``skmoe._frame``).
"""

import re

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


# --------------------------------------------------------------------------- #
# Label encoding (skmoe._validation.fit_labels / encode_labels), written once
# for every classifier.
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "y, classes",
    [
        (["bee", "ant", "cat", "bee", "ant"], ["ant", "bee", "cat"]),
        ([3, 1, 2, 1, 3], [1, 2, 3]),
        ([-1.0, 2.0, -1.0], [-1.0, 2.0]),
        (np.array(["b", "a", "b"], dtype=object), ["a", "b"]),
        ([True, False, True], [False, True]),
    ],
)
def test_fit_labels_round_trips(y, classes):
    from skmoe._validation import encode_labels, fit_labels

    got, codes = fit_labels(y)
    np.testing.assert_array_equal(got, classes)  # sorted, as LabelEncoder
    assert codes.dtype == np.intp
    np.testing.assert_array_equal(got[codes], np.asarray(y))
    np.testing.assert_array_equal(encode_labels(y, got), codes)
    np.testing.assert_array_equal(encode_labels(np.asarray(y)[::-1], got), codes[::-1])


def test_fit_labels_errors():
    from skmoe._validation import fit_labels

    with pytest.raises(ValueError, match="Unknown label type"):
        fit_labels([0.5, 1.5, 2.25])
    with pytest.raises(ValueError, match=r"labels of one kind .*\['int', 'str'\]"):
        fit_labels(np.array(["a", 1, "b"], dtype=object))
    assert fit_labels(["a", "a"])[0].tolist() == ["a"]  # no estimator: no minimum
    with pytest.raises(
        ValueError, match=r"^Est needs at least 2 classes in y; got one class only \('a'\)"
    ):
        fit_labels(["a", "a"], estimator="Est")


@pytest.mark.parametrize(
    "classes, y, shown",
    [
        (["ant", "bee", "cat"], ["ant", "dog", "emu", "dog"], r"\['dog', 'emu'\]"),
        ([0, 1, 2], [0, 7, 2], r"\[7\]"),
        ([0, 1, 2], ["a", 1], r"\['1', 'a'\]"),  # numpy makes the list strings
        (np.array(["a", "b"], dtype=object), np.array(["a", 3], dtype=object), r"\[3\]"),
    ],
)
def test_encode_labels_names_unseen_labels_and_classes(classes, y, shown):
    from skmoe._validation import encode_labels

    known = re.escape(str(np.asarray(classes).tolist()))
    with pytest.raises(
        ValueError, match=rf"^y contains labels {shown} that are not in classes {known} "
    ) as info:
        encode_labels(y, np.asarray(classes))
    assert str(info.value).endswith("(not seen in fit).")
    with pytest.raises(ValueError, match=r"\(not seen in the first chunk\)\.$"):
        encode_labels(y, np.asarray(classes), where="in the first chunk")


def test_encode_labels_cuts_a_long_list():
    from skmoe._validation import encode_labels

    with pytest.raises(ValueError, match=r"\[10, 11, .*, 19\] and 5 more that are not in"):
        encode_labels(np.arange(25), np.arange(10))


UNSEEN = (
    r"^y contains labels \['dog'\] that are not in classes \['ant', 'bee'\] \(not seen in fit\)\.$"
)


def _labelled_rows(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2)
    y = np.where(X[:, 0] + 0.3 * rng.randn(n) > 0, "bee", "ant")
    return X, y


def test_mixture_classifier_rejects_unseen_labels():
    X, y = _labelled_rows()
    clf = MixtureOfExpertsClassifier(max_iter=5, random_state=0).fit(X, y)
    bad = y.copy()
    bad[3] = "dog"
    for method in ("log_likelihood", "responsibilities"):
        with pytest.raises(ValueError, match=UNSEEN):
            getattr(clf, method)(X, bad)
    # score is accuracy (ClassifierMixin): an unseen label is a wrong prediction.
    assert clf.score(X, bad) == np.mean(clf.predict(X) == bad)


def test_markov_switching_classifier_rejects_unseen_labels():
    from skmoe.sequence import MarkovSwitchingClassifier

    X, y = _labelled_rows()
    clf = MarkovSwitchingClassifier(max_iter=5, random_state=0).fit(X, y)
    bad = y.copy()
    bad[3] = "dog"
    with pytest.raises(ValueError, match=UNSEEN):
        clf.log_likelihood(X, bad)
    assert clf.score(X, bad) == np.mean(clf.predict(X) == bad)


def test_hmm_classifier_labels():
    from skmoe.sequence import GaussianHMMClassifier

    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(5, 9), 2) + (i % 2) for i in range(20)]
    y = np.array(["ant", "bee"] * 10)
    clf = GaussianHMMClassifier(2, max_iter=5, random_state=0).fit(X, y)
    assert clf.classes_.tolist() == ["ant", "bee"]
    bad = y.copy()
    bad[3] = "dog"
    # No likelihood of y to score: score is accuracy, an unseen label is wrong.
    assert clf.score(X, bad) == np.mean(clf.predict(X) == bad)
    with pytest.raises(ValueError, match="at least 2 classes in y; got one class only"):
        GaussianHMMClassifier(2).fit(X, np.full(20, "ant"))


def test_sparse_moe_classifier_labels():
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoEClassifier

    X, y = _labelled_rows()
    params = dict(hidden_layer_sizes=(8,), n_experts=2, max_epochs=3, random_state=0)
    clf = SparseMoEClassifier(**params).fit(X, y)
    assert clf.classes_.tolist() == ["ant", "bee"]
    bad = y.copy()
    bad[3] = "dog"
    assert clf.score(X, bad) == np.mean(clf.predict(X) == bad)
    # Rows of weight zero are dropped first: one class left is an error.
    with pytest.raises(
        ValueError, match="positive sample_weight; got one class only.*only one class"
    ):
        SparseMoEClassifier(**params).fit(X, y, sample_weight=(y == "ant").astype(float))


# --------------------------------------------------------------------------- #
# Constant columns: relative to the column (skmoe._frame), never absolute.
# --------------------------------------------------------------------------- #
def _two_lines(n=200, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.where(X[:, 0] > 0, 3 * X[:, 1], -2 * X[:, 1] + 1) + 0.05 * rng.randn(n)
    return X, y


def test_kmeans_initialisation_ignores_the_units_of_X():
    # A feature in units of 1e-13 is a feature, not a constant column: the
    # standardised points k-means sees, and so the initial partition, are
    # those of the unscaled data (an absolute floor std <= 1e-12 used to
    # leave such a column unscaled, and k-means then clustered on y alone).
    from skmoe._base import _standardize

    X, y = _two_lines()
    sw = np.ones(len(y))
    Z = np.column_stack([X, y])
    Z_small = np.column_stack([X * 1e-13, y])
    np.testing.assert_allclose(
        _standardize(Z_small.copy(), sw), _standardize(Z.copy(), sw), atol=1e-12
    )
    est = MixtureOfExpertsRegressor(n_experts=3, random_state=0)
    r = est._initial_resp(X, y, sw, 3, np.random.RandomState(0))
    r_small = est._initial_resp(X * 1e-13, y, sw, 3, np.random.RandomState(0))
    np.testing.assert_allclose(r_small, r, atol=1e-12)


def test_fit_unchanged_when_X_is_in_units_of_1e13():
    X, y = _two_lines()
    ref = MixtureOfExpertsRegressor(n_experts=2, random_state=0, tol=1e-10, max_iter=500)
    small = MixtureOfExpertsRegressor(n_experts=2, random_state=0, tol=1e-10, max_iter=500)
    ref.fit(X, y)
    small.fit(X * 1e-13, y)
    assert small.n_iter_ == ref.n_iter_  # the same EM path (3e-6 apart before the fix)
    np.testing.assert_allclose(small.predict(X * 1e-13), ref.predict(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        small.log_likelihood(X * 1e-13, y), ref.log_likelihood(X, y), rtol=1e-9, atol=1e-9
    )


def test_constant_column_is_a_column_constant_to_its_own_precision():
    from skmoe._frame import frame_inverse_scale, frame_scale, is_constant

    mean = np.array([1.7e9, 0.0, 5.0, 0.0])
    std = np.array([1e-7, 0.0, 1e-300, 1e-300])  # rounding, zero, tiny but real
    np.testing.assert_array_equal(is_constant(mean, std), [True, True, True, False])
    np.testing.assert_array_equal(frame_scale(mean, std), [1.0, 1.0, 1.0, 1e-300])
    np.testing.assert_allclose(frame_inverse_scale(mean, std), [0.0, 0.0, 0.0, 1e300], rtol=1e-15)


def test_linear_expert_units_and_constant_columns():
    from sklearn.linear_model import LinearRegression as OLS

    from skmoe.experts import LinearExpert

    X, y = _two_lines()
    ref = LinearExpert().fit(X, y)
    # A feature in units of 1e-7 (variance 1e-14) is not floored to a
    # coarser scale: the fit is the same one, mapped.
    small = LinearExpert().fit(X * 1e-7, y)
    np.testing.assert_allclose(small.coef_ * 1e-7, ref.coef_, rtol=1e-9)
    np.testing.assert_allclose(small.intercept_, ref.intercept_, rtol=1e-9)
    # A column constant to its own precision (1e9 plus rounding) gets slope
    # exactly 0; the rest is the fit without it.
    Xc = np.column_stack([X, 1e9 + 1e-7 * (np.arange(len(y)) % 2)])
    fit = LinearExpert().fit(Xc, y)
    assert fit.coef_[2] == 0.0
    np.testing.assert_allclose(fit.coef_[:2], OLS().fit(X, y).coef_, rtol=1e-8)
