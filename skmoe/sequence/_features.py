"""Sequence inputs: validation, per-sequence features, and the mixture's sequence mode.

Sequences are given as a list of ``(T_i, d)`` arrays (ragged).  A list (or a
1-D object array) passes through scikit-learn's cross-validation and
``GridSearchCV`` unchanged, since ``sklearn.utils._safe_indexing`` indexes it
row by row.  A 3-D array ``(n, T, d)`` is read as ``n`` sequences of equal
length, and hmmlearn's form, the concatenated ``(sum T_i, d)`` array with
``lengths``, is accepted by the estimators' methods that take ``lengths``.
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from .._docs import DocLinkMixin
from .._validation import check_numeric

__all__ = ["SequenceFeatures", "check_sequences"]


def _as_object_array(seqs):
    out = np.empty(len(seqs), dtype=object)
    for i, s in enumerate(seqs):
        out[i] = s
    return out


def check_sequences(
    X,
    lengths=None,
    *,
    dtype=np.float64,
    min_length=2,
    n_features=None,
    estimator=None,
    allow_nan=False,
):
    """Validate a collection of sequences and return them as a list of 2-D arrays.

    Parameters
    ----------
    X : list of array-like of shape (T_i, d) or (T_i,), 3-D array of shape (n, T, d), \
            or 2-D array of shape (sum T_i, d) with ``lengths``
        The sequences.  A 1-D sequence is one feature per time step.
    lengths : array-like of int, default=None
        For hmmlearn's form: ``X`` is the concatenation of ``len(lengths)``
        sequences of these lengths.
    dtype : numpy dtype or str, default=np.float64
        Target dtype.  ``"numeric"`` keeps any numeric dtype as it is
        (booleans become integers).  ``"integer"`` accepts integer arrays and
        floats with integral values, and returns ``np.intp`` arrays of
        non-negative symbols (discrete emissions).
    min_length : int, default=2
        Shortest sequence accepted.  A hidden Markov model learns its
        transitions from consecutive steps, so the HMM estimators refuse
        sequences with fewer than two steps.
    n_features : int, default=None
        Number of features per step the sequences must have (the one seen in
        ``fit``).
    estimator : estimator, default=None
        Named in the error messages.
    allow_nan : bool, default=False
        Whether NaN and infinite values are accepted in float sequences.

    Returns
    -------
    seqs : list of ndarray of shape (T_i, d)
        C-contiguous arrays (copies only where a conversion was needed).
    """
    who = f"{type(estimator).__name__}: " if estimator is not None else ""
    if lengths is not None:
        lengths = column_or_1d(np.asarray(lengths))
        if lengths.dtype.kind not in "iu" and not (
            lengths.dtype.kind == "f"
            and np.all(np.isfinite(lengths))
            and np.all(lengths == np.round(lengths))
        ):
            raise ValueError(f"{who}lengths must hold integers; got {lengths.dtype}.")
        lengths = lengths.astype(np.intp)
        Xc = np.asarray(X)
        if Xc.dtype == object or Xc.ndim not in (1, 2):
            raise ValueError(
                f"{who}with lengths, X must be the 2-D array of the concatenated sequences "
                f"(sum of lengths, n_features); got an array of shape {Xc.shape}."
            )
        if Xc.ndim == 1:
            Xc = Xc[:, None]
        if np.any(lengths < 0) or lengths.sum() != Xc.shape[0]:
            raise ValueError(
                f"{who}lengths must be non-negative and sum to the number of rows of X "
                f"({Xc.shape[0]}); they sum to {int(lengths.sum())}."
            )
        ends = np.cumsum(lengths)
        raw = [Xc[e - t : e] for t, e in zip(lengths, ends, strict=True)]
    elif isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim == 3:
            raw = list(X)
        else:
            raise ValueError(
                f"{who}expected a list of sequences (each an array of shape (T_i, n_features)), "
                f"a 3-D array of shape (n_sequences, T, n_features), or the concatenated 2-D "
                f"array with lengths; got a {X.ndim}-D array of shape {X.shape}."
            )
    elif hasattr(X, "__len__") and not isinstance(X, (str, bytes)) and not hasattr(X, "columns"):
        raw = list(X)
    else:
        raise ValueError(
            f"{who}expected a list of sequences (each an array of shape (T_i, n_features)); "
            f"got {type(X).__name__}."
        )
    if len(raw) == 0:
        raise ValueError(f"{who}got no sequence (an empty list); at least one is needed.")

    want_int = isinstance(dtype, str) and dtype == "integer"
    conv_dtype = "numeric" if want_int else dtype
    seqs = []
    d_ref = None
    for i, s in enumerate(raw):
        a = np.asarray(s)
        if a.dtype.kind not in "biuf":
            # Names what the values are; timestamps and durations would
            # otherwise cast to counts of their unit.
            check_numeric(a, f"{who}sequence {i}", "The sequences must hold numbers")
        if a.dtype == object:
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{who}sequence {i} is not a numeric array (dtype object, shape {a.shape})."
                ) from None
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(
                f"{who}sequence {i} must be 1-D or 2-D (time steps, features); got shape {a.shape}."
            )
        if a.shape[0] == 0:
            raise ValueError(f"{who}sequence {i} is empty (0 time steps).")
        if a.shape[0] < min_length:
            raise ValueError(
                f"{who}sequence {i} has {a.shape[0]} time step(s); at least {min_length} are "
                "needed (a hidden Markov model learns its transitions from consecutive steps)."
            )
        if a.shape[1] == 0:
            raise ValueError(f"{who}sequence {i} has 0 features.")
        if d_ref is None:
            d_ref = a.shape[1]
        elif a.shape[1] != d_ref:
            raise ValueError(
                f"{who}sequences must all have the same number of features; sequence {i} has "
                f"{a.shape[1]} but sequence 0 has {d_ref}."
            )
        # (check_array per sequence costs ~100x more than this on short sequences.)
        if a.dtype.kind not in "biuf":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{who}sequence {i} is not numeric (dtype {a.dtype}).") from None
        if not want_int and conv_dtype != "numeric":
            a = np.ascontiguousarray(a, dtype=conv_dtype)
        elif a.dtype.kind == "b":
            a = a.astype(np.intp)
        a = np.ascontiguousarray(a)
        if a.dtype.kind == "f" and not allow_nan and not np.isfinite(a).all():
            raise ValueError(f"{who}sequence {i} contains NaN or infinity.")
        if want_int:
            if a.dtype.kind == "f":
                if np.any(a != np.round(a)):
                    raise ValueError(
                        f"{who}sequence {i} holds non-integer values; discrete symbols must be "
                        "integers 0, 1, 2, ..."
                    )
            elif a.dtype.kind not in "iub":
                raise ValueError(f"{who}sequence {i} must hold integer symbols; got {a.dtype}.")
            if np.any(a < 0):
                raise ValueError(
                    f"{who}sequence {i} holds negative symbols; symbols must be 0, 1, 2, ..."
                )
            a = np.ascontiguousarray(a, dtype=np.intp)
        seqs.append(a)
    if n_features is not None and d_ref != n_features:
        raise ValueError(
            f"{who}the sequences have {d_ref} features per time step, but the estimator was "
            f"fitted with {n_features}."
        )
    return seqs


_FEATURES = ("mean", "std", "min", "max", "first", "last", "slope", "length", "log_length")


class SequenceFeatures(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Fixed-length features of variable-length sequences.

    Turns a list of ``(T_i, d)`` sequences into an ``(n_sequences,
    n_output_features)`` array, for a gate (in
    :class:`~skmoe.MixtureOfExpertsClassifier` with HMM experts) or any
    tabular model.

    Parameters
    ----------
    features : tuple of str, default=("mean", "std", "length")
        Which statistics, in this order.  Per feature of the sequence:
        ``"mean"``, ``"std"`` (population standard deviation), ``"min"``,
        ``"max"``, ``"first"``, ``"last"``, ``"slope"`` (least-squares trend per
        time step; 0 for a single step).  Per sequence: ``"length"`` (number of
        steps) and ``"log_length"``.

    Attributes
    ----------
    n_features_in_ : int
        Features per time step of the sequences seen in ``fit``.

    See Also
    --------
    GaussianHMMClassifier : An HMM-sequence classifier, usable as an expert.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.sequence import SequenceFeatures
    >>> seqs = [np.arange(6.0).reshape(3, 2), np.ones((5, 2))]
    >>> SequenceFeatures().fit_transform(seqs)
    array([[2.        , 3.        , 1.63299316, 1.63299316, 3.        ],
           [1.        , 1.        , 0.        , 0.        , 5.        ]])
    """

    _parameter_constraints = {"features": [tuple, list]}

    def __init__(self, features=("mean", "std", "length")):
        self.features = features

    def _check_features(self):
        feats = list(self.features)
        if not feats:
            raise ValueError("SequenceFeatures: features is empty; name at least one.")
        bad = [f for f in feats if f not in _FEATURES]
        if bad:
            raise ValueError(
                f"SequenceFeatures: unknown feature(s) {bad}; choose from {list(_FEATURES)}."
            )
        return feats

    def fit(self, X, y=None):
        """Check the sequences and record their number of features.

        Parameters
        ----------
        X : list of array-like of shape (T_i, d)
            The sequences.
        y : ignored
            Target values.

        Returns
        -------
        self : SequenceFeatures
            Fitted estimator.
        """
        self._validate_params()
        self._check_features()
        seqs = check_sequences(X, min_length=1, estimator=self)
        self.n_features_in_ = seqs[0].shape[1]
        return self

    def transform(self, X):
        """Per-sequence features.

        Parameters
        ----------
        X : list of array-like of shape (T_i, d)
            The sequences.

        Returns
        -------
        F : ndarray of shape (n_sequences, n_output_features)
            Features of each sequence.
        """
        check_is_fitted(self)
        seqs = check_sequences(X, min_length=1, n_features=self.n_features_in_, estimator=self)
        feats = self._check_features()
        rows = []
        for s in seqs:
            T = s.shape[0]
            parts = []
            for f in feats:
                if f == "mean":
                    parts.append(s.mean(axis=0))
                elif f == "std":
                    parts.append(s.std(axis=0))
                elif f == "min":
                    parts.append(s.min(axis=0))
                elif f == "max":
                    parts.append(s.max(axis=0))
                elif f == "first":
                    parts.append(s[0])
                elif f == "last":
                    parts.append(s[-1])
                elif f == "slope":
                    if T < 2:
                        parts.append(np.zeros(s.shape[1]))
                    else:
                        t = np.arange(T) - (T - 1) / 2.0
                        parts.append(t @ (s - s.mean(axis=0)) / (t @ t))
                elif f == "length":
                    parts.append([float(T)])
                else:  # log_length
                    parts.append([np.log(T)])
            rows.append(np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]))
        return np.vstack(rows)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns, e.g. ``mean_0``, ``std_0``, ``length``.

        A per-feature statistic is named ``<statistic>_<j>``, ``j`` being the
        index of the feature within a time step; a per-sequence one by its
        name alone.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Not used: the sequences have no column names, so the names use
            the feature indices.  Present for the scikit-learn API.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names, in the order of the columns of :meth:`transform`.
        """
        check_is_fitted(self)
        names = []
        for f in self._check_features():
            if f in ("length", "log_length"):
                names.append(f)
            else:
                names.extend(f"{f}_{j}" for j in range(self.n_features_in_))
        return np.asarray(names, dtype=object)


# ---------------------------------------------------------------------- #
# Sequence mode of the mixtures: X is a list of sequences, the gate sees
# per-sequence features (``gate_features``, a transformer; SequenceFeatures
# by default) and the experts receive the sequences themselves.
# ---------------------------------------------------------------------- #
class _SequenceInput:
    """What the EM driver passes around in sequence mode.

    ``gate_input`` is the ``(n, p)`` feature array the gate (and the k-means
    initialisation) sees; ``expert_input`` is a 1-D object array of the ``n``
    sequences, which the experts receive (an object array, so that row
    indexing and ``shape[0]`` work as for a 2-D X).
    """

    __slots__ = ("gate_input", "expert_input")

    def __init__(self, gate_input, expert_input):
        self.gate_input = gate_input
        self.expert_input = expert_input

    @property
    def shape(self):
        return self.gate_input.shape

    def __len__(self):
        return self.gate_input.shape[0]


def _expert_estimators(moe):
    experts = moe.experts
    if experts is None:
        return []
    if isinstance(experts, list):
        return [item[1] for item in experts if isinstance(item, tuple) and len(item) == 2]
    return [experts]


def _check_gate_features(moe, F, n):
    check_numeric(F, "gate_features' output", "The gate needs numeric features")
    F = check_array(F, dtype=np.float64, input_name="gate features")
    if F.shape[0] != n:
        raise ValueError(
            f"gate_features ({type(moe._seq_features).__name__}) returned {F.shape[0]} rows "
            f"for {n} sequences; it must return one row per sequence."
        )
    return F


def sequence_fit_input(moe, X, y):
    """Validate the sequences of a mixture's ``fit``; returns ``(_SequenceInput, y)``.

    Sets ``moe.n_features_in_`` (features per time step) and the fitted gate
    feature transformer ``moe._seq_features``.
    """
    ests = _expert_estimators(moe)
    plain = [type(e).__name__ for e in ests if not getattr(e, "_input_is_sequences", False)]
    if moe.experts is None or plain:
        raise ValueError(
            f"{type(moe).__name__}: X is a list of sequences (gate_features is a transformer "
            "of sequences, or an expert takes sequences), so every expert must take sequences "
            "(e.g. skmoe.sequence.GaussianHMMClassifier); "
            + (f"these do not: {plain}." if plain else "the built-in default expert does not.")
        )
    if moe.expert_features is not None:
        raise ValueError(
            f"{type(moe).__name__}: expert_features selects columns of a 2-D X; with sequences "
            "as X it must be None (the experts receive whole sequences)."
        )
    seqs = check_sequences(X, dtype="numeric", estimator=moe)
    y = column_or_1d(y, warn=True)
    if y.shape[0] != len(seqs):
        raise ValueError(f"Found {len(seqs)} sequences in X but {y.shape[0]} targets in y.")
    if not moe._is_classifier:
        check_numeric(y, "y", f"{type(moe).__name__} needs a numeric target")
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
    gf = moe.gate_features
    moe._seq_features = SequenceFeatures() if gf is None else clone(gf)
    F = _check_gate_features(moe, moe._seq_features.fit_transform(seqs), len(seqs))
    moe.n_features_in_ = seqs[0].shape[1]
    if hasattr(moe, "feature_names_in_"):
        del moe.feature_names_in_
    return _SequenceInput(F, _as_object_array(seqs)), y


def sequence_input(moe, X):
    """Validate the sequences given to a fitted mixture's prediction methods."""
    seqs = check_sequences(X, dtype="numeric", n_features=moe.n_features_in_, estimator=moe)
    F = _check_gate_features(moe, moe._seq_features.transform(seqs), len(seqs))
    return _SequenceInput(F, _as_object_array(seqs))
