"""Inputs that are not numbers: a ValueError naming the argument and the column.

scikit-learn's validation casts timestamps to counts of their unit (pandas:
nanoseconds or microseconds since 1970; NumPy: the array's own unit), so a
model fitted on one unit predicted silently wrong from another, and a
DataFrame mixing timestamps and numbers failed with NumPy's promotion error.
Every public estimator now refuses timestamps, durations, periods, complex
numbers, text and categories of text, in X (fit, predict, partial_fit), in
a regressor's y and in sample_weight, before any work; columns of numbers
in any representation (objects, numeric text, categories of numbers,
booleans, nullable integers) are accepted and fit as their float64 values.
"""

import datetime
import inspect
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError

from skmoe import MarkovSwitchingRegressor, MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe._validation import check_numeric
from skmoe.sequence import GaussianHMMClassifier

from ._hostile import ESTIMATORS

N = 40
_RNG = np.random.RandomState(0)
_NUM = _RNG.randn(N)
_STAMPS = pd.date_range("2020-01-01", periods=N, freq="h")

# Columns that are not numbers: (column, what the message calls them).
BAD_COLUMNS = {
    "datetime": (pd.Series(_STAMPS), "timestamps"),
    "datetime-tz": (pd.Series(_STAMPS.tz_localize("UTC")), "timestamps"),
    "timedelta": (pd.Series(pd.to_timedelta(np.arange(N), "s")), "durations"),
    "period": (pd.Series(pd.period_range("2020-01", periods=N, freq="M")), "timestamps"),
    "text": (pd.Series(["u", "v"] * (N // 2)), "text"),
    "category": (pd.Series(pd.Categorical(["u", "v"] * (N // 2))), "categories"),
    "mixed-objects": (pd.Series([1.0, "a"] * (N // 2), dtype=object), "text"),
    "datetime-objects": (
        pd.Series([datetime.datetime(2020, 1, 1 + i % 28) for i in range(N)], dtype=object),
        "timestamps",
    ),
    "complex": (pd.Series(_NUM + 1j), "complex numbers"),
}

# Arrays (no column names): the same kinds as NumPy holds them.
BAD_ARRAYS = {
    "datetime64": (np.arange(N).astype("datetime64[s]").reshape(-1, 1), "timestamps"),
    "timedelta64": (np.arange(N).astype("timedelta64[ms]").reshape(-1, 1), "durations"),
    "complex": ((_NUM + 1j).reshape(-1, 1), "complex numbers"),
    "text": (np.array([["a"], ["b"]] * (N // 2)), "text"),
    "list-of-datetimes": (
        [[datetime.datetime(2020, 1, 1 + i % 28)] for i in range(N)],
        "timestamps",
    ),
}


# The HMM classifiers see each row as a sequence of one step, which they
# refuse (they learn transitions) before they look at the values: their
# sequences are tested on their own.
FLAT = [n for n in sorted(ESTIMATORS) if "hmm" not in n]


def _targets(classifier):
    # Counts: a target every regressor takes (the Poisson expert's included).
    return (_NUM > 0).astype(int) if classifier else np.round(np.abs(_NUM) * 3)


def _fit(est, X, y, sw=None, sample_weight=None):
    sw = sample_weight if sample_weight is not None else sw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sw is not None:
            return est.fit(X, y, sample_weight=sw)
        return est.fit(X, y)


def _inner(est):
    """The estimator itself (the HMM classifiers and the partial_fit runs are wrapped)."""
    return getattr(est, "est", est)


def _assert_unfitted(est, name):
    rows = np.zeros((2, 2, 1)) if "hmm" in name else np.zeros((2, 1))  # HMMs: sequences
    with pytest.raises(NotFittedError):
        _inner(est).predict(rows)


@pytest.mark.parametrize("name", FLAT)
@pytest.mark.parametrize("bad", sorted(BAD_COLUMNS))
def test_fit_names_the_column_that_is_not_numbers(name, bad):
    """A DataFrame with a column of numbers and one that is not: fit raises
    before any work, naming the column and what it holds."""
    make, classifier = ESTIMATORS[name]
    column, what = BAD_COLUMNS[bad]
    X = pd.DataFrame({"num": _NUM, "when": column})
    est = make()
    with pytest.raises(ValueError, match="not numbers") as info:
        _fit(est, X, _targets(classifier))
    message = str(info.value)
    assert what in message
    assert "'when'" in message and "'num'" not in message
    assert type(_inner(est)).__name__ in message
    _assert_unfitted(est, name)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("bad", sorted(BAD_ARRAYS))
def test_fit_refuses_arrays_that_are_not_numbers(name, bad):
    make, classifier = ESTIMATORS[name]
    X, what = BAD_ARRAYS[bad]
    est = make()
    if "hmm" in name:
        X = np.asarray(X)
    where = "sequence 0" if "hmm" in name else "X"  # the HMMs: each row a sequence
    with pytest.raises(ValueError, match=f"{where} holds values that are not numbers \\(.*{what}"):
        _fit(est, X, _targets(classifier))
    _assert_unfitted(est, name)


@pytest.mark.parametrize("name", FLAT)
def test_predict_refuses_timestamps_after_a_numeric_fit(name):
    """The silent case of old: a model fitted on numbers, given timestamps of
    the same shape, predicted from their counts of nanoseconds."""
    make, classifier = ESTIMATORS[name]
    est = _fit(make(), _NUM.reshape(-1, 1), _targets(classifier))
    before = est.predict(_NUM.reshape(-1, 1))
    stamps = np.arange(N).astype("datetime64[s]").reshape(-1, 1)
    with pytest.raises(ValueError, match="timestamps"):
        est.predict(stamps)
    np.testing.assert_array_equal(est.predict(_NUM.reshape(-1, 1)), before)


@pytest.mark.parametrize("name", [n for n in FLAT if not ESTIMATORS[n][1]])
@pytest.mark.parametrize("kind", ["datetime64[ns]", "timedelta64[s]", "complex"])
def test_a_regressor_refuses_a_target_that_is_not_numbers(name, kind):
    make, _ = ESTIMATORS[name]
    y = (_NUM + 1j) if kind == "complex" else np.arange(N).astype(kind)
    est = make()
    with pytest.raises(ValueError, match="y holds values that are not numbers"):
        _fit(est, _NUM.reshape(-1, 1), y)
    _assert_unfitted(est, name)


@pytest.mark.parametrize("name", [n for n in FLAT if "markov" not in n])  # no weights there
def test_sample_weights_that_are_not_numbers_are_refused(name):
    make, classifier = ESTIMATORS[name]
    est = make()
    sw = np.arange(1, N + 1).astype("datetime64[s]")
    with pytest.raises(ValueError, match="sample_weight holds values that are not numbers"):
        _fit(est, _NUM.reshape(-1, 1), _targets(classifier), sw)
    _assert_unfitted(est, name)


def test_partial_fit_refuses_timestamps_and_keeps_the_model():
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0)
    X = pd.DataFrame({"x": _NUM})
    est.partial_fit(X, _NUM)
    coef = [e.coef_.copy() for e in est.experts_]
    with pytest.raises(ValueError, match="'x' .*timestamps"):
        est.partial_fit(pd.DataFrame({"x": _STAMPS}), _NUM)
    for e, c in zip(est.experts_, coef, strict=True):
        np.testing.assert_array_equal(e.coef_, c)


@pytest.mark.parametrize(
    "seq",
    [
        np.arange(5).astype("datetime64[s]").reshape(5, 1),
        np.array([[pd.Timestamp("2020-01-01")]] * 5, dtype=object),
        np.array([["a"]] * 5),
    ],
    ids=["datetime64", "timestamp-objects", "text"],
)
def test_hmm_sequences_that_are_not_numbers_are_refused(seq):
    est = GaussianHMMClassifier(n_states=2)
    with pytest.raises(ValueError, match="sequence 0 holds values that are not numbers"):
        est.fit([seq] * 4, [0, 1, 0, 1])
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("name", FLAT)
def test_a_fit_that_fails_after_validating_x_changes_nothing(name):
    """Negative weights are refused after X has been validated (which sets
    n_features_in_): a fresh estimator stays unfitted, a fitted one keeps its
    model and its feature count (the experts and the neural estimators were
    left half-updated)."""
    make, classifier = ESTIMATORS[name]
    est = make()
    X2, X3 = _NUM.reshape(-1, 2), np.c_[_NUM.reshape(-1, 2), _NUM[::2]]
    y = _targets(classifier)[: N // 2]
    fits_weights = "sample_weight" in inspect.signature(est.fit).parameters
    bad = {"sample_weight": -np.ones(N // 2)} if fits_weights else {}
    bad_y = y if fits_weights else y[:-1]  # no weights: a y of the wrong length
    with pytest.raises(ValueError):
        _fit(est, X3, bad_y, **bad)
    assert set(_inner(est).__dict__) == set(_inner(make()).__dict__)  # no attribute added
    _assert_unfitted(est, name)
    _fit(est, X2, y)
    before = est.predict(X2)
    with pytest.raises(ValueError):
        _fit(est, X3, bad_y, **bad)
    assert est.n_features_in_ == 2
    np.testing.assert_array_equal(est.predict(X2), before)


# Columns of numbers in representations other than float64: accepted, and
# the fit is the fit of their float64 values.
NUMERIC_FORMS = {
    "object": lambda v: pd.Series(v, dtype=object),
    "numeric-text": lambda v: pd.Series([str(float(x)) for x in v], dtype=object),
    "category-of-numbers": lambda v: pd.Series(pd.Categorical(v)),
    "nullable-float": lambda v: pd.Series(v, dtype="Float64"),
}


@settings(max_examples=8, deadline=None)
@given(
    form=st.sampled_from(sorted(NUMERIC_FORMS)),
    position=st.integers(0, 2),
    label=st.sampled_from(["a", "time", "0", "x y"]),
    classifier=st.booleans(),
)
def test_numbers_in_any_representation_fit_as_their_values(form, position, label, classifier):
    """Property: wherever a column of numbers held as objects, text, categories
    or a nullable dtype sits, the fit equals the fit on its float64 values."""
    rng = np.random.RandomState(position)
    values = np.round(rng.randn(N), 3)
    cols = {f"c{j}": rng.randn(N) for j in range(2)}
    items = list(cols.items())
    items.insert(position, (label, values))
    plain = pd.DataFrame(dict(items))
    other = plain.copy()
    other[label] = NUMERIC_FORMS[form](values)
    cls = MixtureOfExpertsClassifier if classifier else MixtureOfExpertsRegressor
    y = _targets(classifier)
    a = _fit(cls(n_experts=2, max_iter=10, n_init=1, random_state=0), plain, y)
    b = _fit(cls(n_experts=2, max_iter=10, n_init=1, random_state=0), other, y)
    assert_allclose(b.log_likelihood(other, y), a.log_likelihood(plain, y), rtol=1e-12)


def test_booleans_are_numbers():
    X = pd.DataFrame({"flag": _NUM > 0, "x": _NUM})
    est = _fit(MixtureOfExpertsRegressor(n_experts=2, random_state=0), X, _NUM)
    assert np.all(np.isfinite(est.predict(X)))


def test_the_message_gives_the_conversion():
    X = pd.DataFrame({"t": _STAMPS, "x": _NUM, "s": ["u", "v"] * (N // 2)})
    with pytest.raises(ValueError) as info:
        check_numeric(X, "X", "LinearExpert needs numeric features")
    message = str(info.value)
    assert message.startswith("X has columns that are not numbers: 't' (datetime64")
    assert "'s' (" in message and "'x'" not in message
    assert "total_seconds()" in message and "OneHotEncoder" in message


def test_columns_of_numbers_are_not_taken_out_of_a_wide_frame(monkeypatch):
    """Only columns that are not numeric dtypes are read (a frame of 2000
    float columns is judged by its dtypes alone)."""
    wide = pd.DataFrame(np.zeros((3, 2000)))
    taken = []
    real = pd.DataFrame.iloc.fget

    def spy(self):
        taken.append(1)
        return real(self)

    monkeypatch.setattr(pd.DataFrame, "iloc", property(spy))
    assert hasattr(wide, "iloc") and taken  # the spy sees every use
    taken.clear()
    check_numeric(wide, "X", "needs numbers")
    assert not taken


@pytest.mark.parametrize(
    "make, method",
    [
        (lambda: MixtureOfExpertsRegressor(n_experts=2, random_state=0), "log_likelihood"),
        (lambda: MixtureOfExpertsRegressor(n_experts=2, random_state=0), "responsibilities"),
        (lambda: MarkovSwitchingRegressor(max_iter=5, random_state=0), "log_likelihood"),
        (lambda: MarkovSwitchingRegressor(max_iter=5, random_state=0), "smoothed_regime_proba"),
    ],
    ids=["moe-log_likelihood", "moe-responsibilities", "markov-log_likelihood", "markov-smoothed"],
)
def test_methods_that_take_y_refuse_timestamps(make, method):
    X = _NUM.reshape(-1, 1)
    est = _fit(make(), X, _NUM)
    with pytest.raises(ValueError, match="y holds values that are not numbers.*timestamps"):
        getattr(est, method)(X, np.arange(N).astype("datetime64[s]"))


def test_markov_fit_on_y_alone_refuses_timestamps():
    est = MarkovSwitchingRegressor(max_iter=5)
    with pytest.raises(ValueError, match="y holds values that are not numbers"):
        est.fit(None, pd.Series(_STAMPS))
    assert not hasattr(est, "n_features_in_")


def test_other_objects_get_scikit_learns_type_error():
    """A dict in an object array is neither text nor a timestamp: the
    TypeError of the cast, as scikit-learn's estimators raise (its common
    check_dtype_object looks for it)."""
    X = _NUM.reshape(-1, 1).astype(object)
    X[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="argument must be .* string.* number"):
        MixtureOfExpertsRegressor(n_experts=2).fit(X, _NUM)
