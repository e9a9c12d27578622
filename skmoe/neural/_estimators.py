"""SparseMoERegressor and SparseMoEClassifier: scikit-learn estimators over a sparse MoE layer.

This module imports no torch at import time: ``__init__`` and ``fit`` call
:func:`skmoe.neural._torch.import_torch`, which raises an ImportError naming
the install command when torch is missing, and the torch modules are
imported inside the methods.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
)

from .._docs import DocLinkMixin
from .._progress import PROGRESS
from .._unchanged import fit_unchanged_on_error
from .._validation import check_sample_weight, fit_labels, validate_numeric_data
from .._warn import warn_user
from ._torch import import_torch, scoped_threads

_ACTIVATIONS = {"relu", "gelu", "silu", "tanh"}


def _weighted_scale(Z, w):
    """Weighted column means and standard deviations (weights as repetitions).

    The deviations are divided by their largest magnitude before squaring:
    a column of values near 1e200 has a spread whose square overflows (the
    scale was inf, and every prediction inf).
    """
    mean = np.average(Z, axis=0, weights=w)
    D = Z - mean
    big = np.max(np.abs(D), axis=0, initial=0.0)
    unit = np.where(big > 0, big, 1.0)
    scale = unit * np.sqrt(np.average((D / unit) ** 2, axis=0, weights=w))
    scale[scale < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)] = 1.0
    return mean, scale


def _normalise_weights(sw):
    """Positive weights rescaled to mean 1 (the losses are weighted means: same fit).

    Training runs in float32, where weights of 1e300 are inf and weights of
    1e-300 are 0 (a batch of them divided 0 by 0): the training loss became
    non-finite although the learning rate was not the cause.  A weight
    below float32's smallest normal relative to the mean is raised to it,
    an influence of 1e-38 either way.
    """
    sw = sw / np.max(sw)  # the largest is 1: the mean cannot overflow
    sw = sw / np.mean(sw)
    return np.maximum(sw, np.finfo(np.float32).tiny)


class _BaseSparseMoE(DocLinkMixin, BaseEstimator):
    """Parameters, validation and the fit driver shared by both estimators."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "top_k": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(_ACTIVATIONS)],
        "noisy_gating": ["boolean"],
        "capacity_factor": [Interval(Real, 0, None, closed="neither"), None],
        "aux_loss_weight": [Interval(Real, 0, None, closed="left")],
        "z_loss_weight": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
        "random_state": ["random_state"],
        "verbose": ["verbose", StrOptions({PROGRESS})],
    }

    _task = None

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        *,
        n_experts=4,
        top_k=2,
        activation="relu",
        noisy_gating=False,
        capacity_factor=None,
        aux_loss_weight=1e-2,
        z_loss_weight=1e-3,
        learning_rate=5e-3,
        weight_decay=1e-4,
        batch_size=512,
        max_epochs=200,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        import_torch()  # fail early, with the install command, when torch is missing
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_experts = n_experts
        self.top_k = top_k
        self.activation = activation
        self.noisy_gating = noisy_gating
        self.capacity_factor = capacity_factor
        self.aux_loss_weight = aux_loss_weight
        self.z_loss_weight = z_loss_weight
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ #
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral):
            sizes = (sizes,)
        sizes = tuple(sizes)
        if not all(isinstance(h, Integral) and not isinstance(h, bool) and h > 0 for h in sizes):
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers; got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in sizes)

    def _check_params(self):
        if self.top_k > self.n_experts:
            raise ValueError(
                f"top_k={self.top_k} is larger than n_experts={self.n_experts}; "
                "use top_k=n_experts for dense softmax gating."
            )
        return self._hidden_sizes()

    def _early_stopping(self):
        """``early_stopping`` resolved: "auto" holds rows out for regression only."""
        if isinstance(self.early_stopping, str):  # "auto"
            return self._task == "regression"
        return bool(self.early_stopping)

    def _split(self, n, rng):
        """Training and validation row indices (validation None: no early stopping)."""
        perm = rng.permutation(n)
        if not self._early_stopping():
            return perm, None
        n_val = int(round(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            return perm, None
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    @scoped_threads
    def _fit(self, X, targets, sw, n_outputs):
        """Scale X, split, build and train the layer; set the fitted attributes."""
        from ._training import aligned_width, build_layer, predict_raw, resolve_device, train

        hidden = self._check_params()
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seeds = dict(
            zip(
                ["init", "shuffle", "noise"],
                rng.randint(np.iinfo(np.int32).max, size=3),
                strict=True,
            )
        )

        self._x_mean, self._x_scale = _weighted_scale(X, sw)
        Xs = (X - self._x_mean) / self._x_scale
        train_idx, val_idx = self._split(X.shape[0], rng)

        params = dict(
            n_experts=self.n_experts,
            top_k=self.top_k,
            hidden_sizes=hidden,
            activation=self.activation,
            noisy_gating=self.noisy_gating,
            capacity_factor=self.capacity_factor,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            aux_loss_weight=self.aux_loss_weight,
            z_loss_weight=self.z_loss_weight,
        )
        layer = build_layer(
            aligned_width(X.shape[1], device),
            aligned_width(n_outputs, device),
            params,
            seeds["init"],
        )
        val = (None, None, None)
        if val_idx is not None:
            val = (Xs[val_idx], targets[val_idx], sw[val_idx])
        history = train(
            layer,
            Xs[train_idx],
            targets[train_idx],
            sw[train_idx],
            *val,
            task=self._task,
            n_outputs=n_outputs,
            params=params,
            device=device,
            seeds=seeds,
            verbose=self.verbose,
        )
        self.module_ = layer.cpu().float()
        _, counts = predict_raw(
            self.module_, Xs[train_idx], device, n_outputs, batch_size=max(self.batch_size, 4096)
        )
        self.expert_load_ = counts / max(counts.sum(), 1)
        self.n_iter_ = len(history["loss"])
        self.loss_curve_ = history["loss"]
        self.validation_loss_curve_ = history["val_loss"] if val_idx is not None else None
        self.best_loss_ = history["best"]
        self.expert_load_curve_ = np.array(history["load"])
        self.dropped_fraction_curve_ = np.array(history["dropped"])
        self.dropped_fraction_ = float(history["dropped"][-1])
        self.backend_ = history["backend"]
        self.device_ = str(device)
        if not history["converged"]:
            warn_user(
                f"{type(self).__name__} reached max_epochs={self.max_epochs} before the "
                f"{'validation' if val_idx is not None else 'training'} loss stopped improving "
                f"by tol={self.tol} for n_iter_no_change={self.n_iter_no_change} epochs.",
                ConvergenceWarning,
            )
        return self

    def _validate_fit(self, X, y, sample_weight):
        if self._task == "classification":
            X, y = validate_numeric_data(self, X, y, dtype=np.float64)
            y = column_or_1d(y, warn=True)
            check_classification_targets(y)
        else:
            y_arr = np.asarray(y)
            if y_arr.dtype.kind in "USV":
                # Numeric strings are numbers (as for an object array, which
                # y_numeric converts); other strings are an error naming y.
                try:
                    y = y_arr.astype(np.float64)
                except (TypeError, ValueError):
                    example = y_arr.ravel()[0] if y_arr.size else None
                    raise ValueError(
                        f"{type(self).__name__} needs a numeric target y; got dtype "
                        f"{y_arr.dtype} with values such as {example!r}. For class labels "
                        "use SparseMoEClassifier."
                    ) from None
            X, y = validate_numeric_data(
                self, X, y, dtype=np.float64, multi_output=True, y_numeric=True
            )
        sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not np.any(sw > 0):
            raise ValueError("sample_weight is zero for every row; at least one must be positive.")
        # Rows of weight zero are dropped before anything else, so they have
        # no influence at all (not even on the shuffling of the others).
        keep = sw > 0
        if not keep.all():
            X, y, sw = X[keep], y[keep], sw[keep]
        return X, y, _normalise_weights(sw)

    def _raw(self, X):
        """Layer outputs for new X (float64, on the device named by ``device``)."""
        from ._training import predict_raw, resolve_device

        check_is_fitted(self)
        X = validate_numeric_data(self, X, dtype=np.float64, reset=False)
        Xs = (X - self._x_mean) / self._x_scale
        n_outputs = getattr(self, "n_outputs_", None) or len(self.classes_)
        device = resolve_device(self.device, predicting=True)
        out, _ = predict_raw(self.module_, Xs, device, n_outputs)
        return out

    def predict_gate(self, X):
        """Router probabilities over all experts, without noise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        gate : ndarray of shape (n_samples, n_experts)
            Router probability of each expert; each row sums to 1.
        """
        import torch

        check_is_fitted(self)
        X = validate_numeric_data(self, X, dtype=np.float64, reset=False)
        Xs = (X - self._x_mean) / self._x_scale
        router = self.module_.router
        with torch.no_grad():
            x = torch.as_tensor(Xs, dtype=torch.float64)
            x = torch.nn.functional.pad(x, (0, router.in_features - x.shape[1]))
            logits = torch.nn.functional.linear(x, router.weight.double(), router.bias.double())
            return torch.softmax(logits, dim=1).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class SparseMoERegressor(RegressorMixin, _BaseSparseMoE):
    """Sparse top-k mixture of MLP experts for regression, trained with AdamW (PyTorch).

    A learned router (float32) sends each row to its ``top_k`` best experts
    out of ``n_experts``; the prediction is the gate-weighted sum of their
    outputs.  Inputs and targets are standardised (weighted) before training.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(64,)
        Hidden widths of each expert MLP; ``()`` gives affine experts.
    n_experts : int, default=4
        Number of experts.  Each expert learns from the rows routed to it:
        on small tables fewer experts see more rows each (digits, 70/30
        splits: accuracy 0.972 with 4 experts, 0.967 with 8, both top-2).
        Capacity grows with ``n_experts`` at a constant cost per row, so
        raise it for large data.
    top_k : int, default=2
        Experts per row: 1 as in the Switch Transformer, 2 as in GShard, any
        ``k <= n_experts``; ``top_k == n_experts`` is dense softmax gating.
        With ``top_k == 1`` the gate is the router probability of the chosen
        expert; with ``top_k > 1`` the router probabilities renormalised over
        the chosen experts.
    activation : {"relu", "gelu", "silu", "tanh"}, default="relu"
        Activation of the expert MLPs' hidden layers.
    noisy_gating : bool, default=False
        Noisy top-k gating (Shazeer et al. 2017) during training: Gaussian
        noise with a learned, per-expert softplus scale is added to the router
        logits before the top-k.  Never at prediction.
    capacity_factor : float or None, default=None
        During training, each expert takes at most
        ``ceil(capacity_factor * batch_rows * top_k / n_experts)`` slots of a
        mini-batch (first choices before second choices); the slots beyond
        are dropped.  None: no limit.  Never applied at prediction.
    aux_loss_weight : float, default=1e-2
        Weight of the Switch load-balancing loss (1 at perfect balance).
    z_loss_weight : float, default=1e-3
        Weight of the ST-MoE router z-loss.
    learning_rate : float, default=5e-3
        AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW decoupled weight decay.
    batch_size : int, default=512
        Rows per mini-batch (capped at the number of training rows).  On
        the CPU a step at small widths costs about the same for 128 or 512
        rows (per-step overhead dominates), so batches of 512 rows with a
        learning rate of 5e-3 train in fewer, barely dearer steps than
        batches of 256 with 1e-3.
    max_epochs : int, default=200
        Maximum number of passes over the training rows.
    early_stopping : bool or "auto", default="auto"
        True: hold out ``validation_fraction`` of the rows, stop when their
        loss has not improved by ``tol`` for ``n_iter_no_change`` epochs, and
        keep the best weights.  False (or too few rows to hold any out):
        train on every row, watch the training loss instead and keep the
        last weights.  "auto" is True for :class:`SparseMoERegressor` and
        False for :class:`SparseMoEClassifier`: a regressor overfits noisy
        targets without a held-out set (diabetes, 70/30 splits: held-out R^2
        -0.01 without, 0.39 with), while a classifier's held-out
        cross-entropy reaches its minimum long before its accuracy stops
        improving (digits: accuracy 0.968 with, 0.972 without).
    validation_fraction : float, default=0.1
        Fraction of the rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` after which training stops.
    tol : float, default=1e-4
        Smallest decrease of the watched loss that counts as an improvement.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where to train and predict; "auto" uses CUDA when available.  On
        CUDA the expert matmuls run in bfloat16 with a float32 router and
        float32 master weights; on the CPU training runs in float32 and
        prediction in float64.  The fitted model always lives on the CPU,
        and prediction with ``device="cuda"`` on a machine without CUDA
        runs on the CPU, so a model trained on a GPU pickles and predicts
        anywhere.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split, the shuffling and
        the gating noise.  The same value gives the same model on the CPU.
    verbose : int or "progress", default=0
        ``1`` prints a summary line when training ends (early stopping or
        ``max_epochs``, best loss); ``2`` also prints the loss, the
        validation loss and the per-expert load every epoch.
        ``"progress"`` shows a tqdm progress bar over the epochs instead
        (``pip install "skmoe[progress]"``; without tqdm a line every 10
        epochs).

    Attributes
    ----------
    module_ : skmoe.neural._layer.SparseMoELayer
        The trained layer, on the CPU in float32.
    n_outputs_ : int
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean training loss (standardised units) per epoch.
    validation_loss_curve_ : list of float or None
    best_loss_ : float
        Best monitored loss (validation loss with early stopping).
    expert_load_ : ndarray of shape (n_experts,)
        Fraction of the routing slots of the training rows that each expert
        receives from the fitted model (no noise, no dropping).
    expert_load_curve_ : ndarray of shape (n_epochs, n_experts)
        The same during each training epoch.
    dropped_fraction_ : float
        Fraction of slots dropped by the capacity limit in the last epoch.
    dropped_fraction_curve_ : ndarray of shape (n_epochs,)
    backend_ : str
        Expert computation used in training: "dense", "grouped" or "padded".
    device_ : str
        Device used in training.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    SparseMoEClassifier : The classification counterpart.
    skmoe.MixtureOfExpertsRegressor : Mixtures of experts trained by EM.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.neural import SparseMoERegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-3, 3, size=(500, 2))
    >>> y = np.where(X[:, 0] < 0, np.sin(X[:, 1]), X[:, 1] ** 2)
    >>> reg = SparseMoERegressor(n_experts=4, top_k=1, max_epochs=50,
    ...                          random_state=0).fit(X, y)  # doctest: +SKIP
    """

    _task = "regression"

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the training and validation
            losses; rows of weight zero are ignored.

        Returns
        -------
        self
            Fitted estimator.
        """
        X, y, sw = self._validate_fit(X, y, sample_weight)
        self._y_1d = y.ndim == 1
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        self.n_outputs_ = Y.shape[1]
        self._y_mean, self._y_scale = _weighted_scale(Y, sw)
        targets = (Y - self._y_mean) / self._y_scale
        return self._fit(X, targets, sw, self.n_outputs_)

    def predict(self, X):
        """Mixture prediction: the gate-weighted sum of the chosen experts' outputs.

        Independent of the other rows of X: no noise, no capacity limit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        out = self._raw(X) * self._y_scale + self._y_mean
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class SparseMoEClassifier(ClassifierMixin, _BaseSparseMoE):
    """Sparse top-k mixture of MLP experts for classification, trained with AdamW (PyTorch).

    The experts output class logits; the gate-weighted sum of the chosen
    experts' logits goes through a softmax and is trained on the (weighted)
    cross-entropy.  Parameters, fitted attributes and the training are those
    of :class:`SparseMoERegressor` (which see), with ``classes_`` in place of
    ``n_outputs_``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(64,)
        As in :class:`SparseMoERegressor`.
    n_experts : int, default=4
        As in :class:`SparseMoERegressor`.
    top_k : int, default=2
        As in :class:`SparseMoERegressor`.
    activation : {"relu", "gelu", "silu", "tanh"}, default="relu"
        As in :class:`SparseMoERegressor`.
    noisy_gating : bool, default=False
        As in :class:`SparseMoERegressor`.
    capacity_factor : float or None, default=None
        As in :class:`SparseMoERegressor`.
    aux_loss_weight : float, default=1e-2
        As in :class:`SparseMoERegressor`.
    z_loss_weight : float, default=1e-3
        As in :class:`SparseMoERegressor`.
    learning_rate : float, default=5e-3
        As in :class:`SparseMoERegressor`.
    weight_decay : float, default=1e-4
        As in :class:`SparseMoERegressor`.
    batch_size : int, default=512
        As in :class:`SparseMoERegressor`.
    max_epochs : int, default=200
        As in :class:`SparseMoERegressor`.
    early_stopping : bool or "auto", default="auto"
        As in :class:`SparseMoERegressor`; "auto" is False here: the
        classifier trains on every row and stops when the training loss has
        not improved by ``tol`` for ``n_iter_no_change`` epochs (the rule of
        scikit-learn's ``MLPClassifier``).  True holds out
        ``validation_fraction`` of the rows and keeps the weights of the
        best held-out cross-entropy.
    validation_fraction : float, default=0.1
        As in :class:`SparseMoERegressor`.
    n_iter_no_change : int, default=10
        As in :class:`SparseMoERegressor`.
    tol : float, default=1e-4
        As in :class:`SparseMoERegressor`.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState instance or None, default=None
        As in :class:`SparseMoERegressor`.
    verbose : int or "progress", default=0
        As in :class:`SparseMoERegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    module_ : skmoe.neural._layer.SparseMoELayer
    n_iter_ : int
    loss_curve_ : list of float
    validation_loss_curve_ : list of float or None
    best_loss_ : float
    expert_load_ : ndarray of shape (n_experts,)
    expert_load_curve_ : ndarray of shape (n_epochs, n_experts)
    dropped_fraction_ : float
    dropped_fraction_curve_ : ndarray of shape (n_epochs,)
    backend_ : str
    device_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    SparseMoERegressor : The regression counterpart (all parameters described there).
    skmoe.MixtureOfExpertsClassifier : Mixtures of experts trained by EM.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmoe.neural import SparseMoEClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SparseMoEClassifier(n_experts=8, top_k=2, random_state=0)
    >>> clf.fit(X, y).score(X, y)  # doctest: +SKIP
    """

    _task = "classification"

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the training and validation
            losses; rows of weight zero are ignored.

        Returns
        -------
        self
            Fitted estimator.
        """
        X, y, sw = self._validate_fit(X, y, sample_weight)
        self.classes_, codes = fit_labels(
            y, estimator=type(self).__name__, what="the rows of y with positive sample_weight"
        )
        return self._fit(X, codes.astype(np.int64), sw, self.classes_.shape[0])

    def predict_proba(self, X):
        """Class probabilities: softmax of the gate-weighted sum of the chosen experts' logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        logits = self._raw(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithm of the class probabilities, columns in the order of ``classes_``.
        """
        logits = self._raw(X)
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Predict the most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        logits = self._raw(X)
        return self.classes_[np.argmax(logits, axis=1)]
