"""The EM engine: the iterations of one restart, for every model and row engine.

Every EM-trained model (the mixtures in memory and on Dask, the
Markov-switching models) runs its restarts through :func:`iterate_em`; the
models only say what their E-step, re-seed and M-step are.
"""

import numpy as np

from ._progress import progress

# k-means initialisation runs on at most this many rows (a uniform
# subsample, then every row goes to its nearest centre): the initial
# partition needs no more, and it bounds the time and memory of the
# initialisation at large n.  Shared by the in-memory and Dask engines.
KMEANS_MAX_ROWS = 20_000


def resp_from_labels(labels, n_experts):
    """Initial responsibilities from a partition: 0.9 on the row's cluster.

    A little mass everywhere: no expert starts with all-zero weights, which
    many estimators refuse.
    """
    resp = np.full((labels.shape[0], n_experts), 0.1 / n_experts)
    resp[np.arange(labels.shape[0]), labels] += 0.9
    return resp


def reseed_plan(mass, n_samples, n_features, sw_mean):
    """Which experts lost their data, and how many rows each one is given.

    An expert whose responsibility mass (in rows of average weight) falls
    below ``max(1, min(n_features + 1, n / (2 K)))`` cannot be estimated; it
    is re-seeded on ``m`` of the worst-explained rows (every engine ranks
    the rows its own way, then calls :func:`reseed_rows`).

    Returns
    -------
    dead : ndarray of int
        The experts to re-seed.
    m : int
        Rows per re-seeded expert.
    """
    K = len(mass)
    min_mass = max(1.0, min(n_features + 1.0, n_samples / (2.0 * K)))
    dead = np.flatnonzero(mass / sw_mean < min_mass)
    m = int(min(max(np.ceil(2 * min_mass), n_samples // (4 * K)), max(n_samples // 2, 1)))
    return dead, m


def reseed_rows(order, dead, m, n_samples, rng):
    """``(expert, rows)`` pairs: consecutive runs of ``m`` worst-explained rows.

    ``order`` ranks the rows with positive weight, worst-explained first;
    when it runs out, rows are drawn at random.
    """
    for j, k in enumerate(dead):
        rows = order[j * m : (j + 1) * m]
        if rows.size == 0:
            rows = rng.choice(n_samples, size=min(m, n_samples), replace=False)
        yield int(k), rows


def iterate_em(est, init, gate, experts, e_step, reseed, m_step, *, tol=None, finish=None):
    """The EM iterations of one restart, shared by every EM-trained model.

    Parameters
    ----------
    est : estimator
        Supplies ``max_iter``, ``tol`` and ``verbose`` (and its class name
        for the progress report).
    init : int
        The restart's index (for the progress report).
    gate, experts : objects
        Returned in the result; the steps update them in place.
    e_step : callable ``() -> float``
        E-step; returns the EM objective (keeps what the next steps need).
    reseed : callable ``() -> ndarray``
        Re-seeds collapsed experts; returns their indices (empty if none).
    m_step : callable ``(n_iter, dead) -> bool or None``
        M-step; ``dead`` is what ``reseed`` returned.  A true return value
        says the M-step itself revived unused units (the next change of the
        objective is then not a convergence test).
    tol : float, default=None
        Stop when the objective changes by less than this; None means
        ``est.tol``.  (Markov switching hands over to its polish at a looser
        tolerance.)
    finish : callable ``(report) -> None``, default=None
        Runs after the last iteration, before the progress reporter closes
        (a model's own final step, such as Markov switching's quasi-Newton
        polish); it reports its events through ``report.write``.

    Returns
    -------
    dict
        ``gate``, ``experts``, ``lower_bound``, ``lower_bounds``,
        ``n_iter``, ``converged`` and ``n_reseeds``.
    """
    name = type(est).__name__
    tol = est.tol if tol is None else tol
    lb_prev = -np.inf
    history = []
    converged = False
    n_reseeds = 0
    lb = -np.inf
    n_iter = 0
    # Lines for an integer verbose, a tqdm bar per restart for "progress".
    report = progress(est.verbose, total=est.max_iter, desc=f"{name} restart {init}")
    for n_iter in range(1, est.max_iter + 1):
        lb = e_step()
        history.append(lb)
        change = lb - lb_prev
        report.step(
            f"[{name}] restart {init} iteration {n_iter}: "
            f"mean log-likelihood {lb:.8g} (change {change:.3g})",
            loglik=f"{lb:.6g}",
        )
        if abs(change) < tol:
            converged = True
            break
        if n_iter == est.max_iter:
            break
        lb_prev = lb
        dead = reseed()
        if dead.size:
            n_reseeds += dead.size
            lb_prev = -np.inf  # the objective jumps; don't call that convergence
            report.write(
                f"[{name}] restart {init} iteration {n_iter}: "
                f"re-seeded collapsed expert(s) {dead.tolist()} with the "
                "worst-explained rows"
            )
        if m_step(n_iter, dead):
            # The M-step revived units of its own (Baum-Welch splits a busy
            # state into an unused one): the objective jumps as after a re-seed.
            n_reseeds += 1
            lb_prev = -np.inf
    if finish is not None:
        finish(report)
    report.close()
    return dict(
        gate=gate,
        experts=experts,
        lower_bound=lb,
        lower_bounds=np.asarray(history),
        n_iter=n_iter,
        converged=converged,
        n_reseeds=n_reseeds,
    )
