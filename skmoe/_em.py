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
    m_step : callable ``(n_iter, dead) -> None``
        M-step; ``dead`` is what ``reseed`` returned.
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
        m_step(n_iter, dead)
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
