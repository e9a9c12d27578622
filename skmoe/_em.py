"""The EM engine: the iterations of one restart, for every model and row engine.

Every EM-trained model (the mixtures in memory and on Dask, the
Markov-switching models) runs its restarts through :func:`iterate_em`; the
models only say what their E-step, re-seed and M-step are.
"""

import math

import numpy as np

from ._progress import _Lines, progress

# k-means initialisation runs on at most this many rows (a uniform
# subsample, then every row goes to its nearest centre): the initial
# partition needs no more, and it bounds the time and memory of the
# initialisation at large n.  Shared by the in-memory and Dask engines.
KMEANS_MAX_ROWS = 20_000

# EM iterations of the simpler model whose fit starts a hard one (a flat gate
# for a tree, Gaussian experts for Student-t ones): enough to place the
# experts, a fraction of a full fit.
PREFIT_ITER = 20


def resp_from_labels(labels, n_experts):
    """Initial responsibilities from a partition: 0.9 on the row's cluster.

    A little mass everywhere: no expert starts with all-zero weights, which
    many estimators refuse.
    """
    # One pass (half the time of a fill and a scattered add at 10^6 rows);
    # the same numbers: 0.1 / K, and 0.1 / K + 0.9 on the row's cluster.
    low = 0.1 / n_experts
    return np.where(np.asarray(labels)[:, None] == np.arange(n_experts), low + 0.9, low)


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
    dead = (mass / sw_mean < min_mass).nonzero()[0]
    m = int(min(max(math.ceil(2 * min_mass), n_samples // (4 * K)), max(n_samples // 2, 1)))
    return dead, m


def reseed_assign(resp, rows, k):
    """Give ``rows`` to the re-seeded expert ``k`` (in place), for every engine.

    The rows are taken from the other experts entirely.  With about as many
    experts as rows this can leave a donor with no mass at all: the expert
    sets then freeze that donor for the M-step (``skmoe.experts._sets``)
    and the next re-seed revives it, instead of handing its estimator
    all-zero weights.
    """
    resp[rows] = 0.0
    resp[rows, k] = 1.0
    return resp


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


def finite_objective(value):
    """``value``, or -inf when it is NaN (a NaN objective never ranks first)."""
    return value if value == value else -np.inf


def screen_keep(objectives, n_keep, demote=None):
    """Indices (sorted) of the ``n_keep`` best screened starts (emEM).

    Ranked by ``demote`` first when given (smaller is better: e.g. how many
    noise variances sit on their floor), then by objective (NaN last), ties
    to the earlier start, so the choice does not depend on the order in
    which runs finish.
    """
    demote = [0] * len(objectives) if demote is None else demote
    rank = sorted(
        range(len(objectives)),
        key=lambda i: (demote[i], -finite_objective(objectives[i]), i),
    )
    return sorted(rank[:n_keep])


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
    run = EMRun(est, init, gate, experts, e_step, reseed, m_step, tol=tol, finish=finish)
    run.advance(est.max_iter)
    return run.result()


class EMRun:
    """One restart's EM iterations, which can pause and resume (short-run screening).

    :func:`iterate_em` runs it to ``est.max_iter`` in one go.  Screening
    advances many candidate runs a few iterations each, ranks them by their
    objective, and resumes the best: a paused run resumes exactly where it
    stopped (before its next E-step), so a screened-and-resumed run is the
    very run an uninterrupted one would have been.
    """

    def __init__(
        self,
        est,
        init,
        gate,
        experts,
        e_step,
        reseed,
        m_step,
        *,
        tol=None,
        finish=None,
        release=None,
    ):
        self.est, self.init = est, init
        # Frees what the steps keep between them (the responsibilities) when
        # the run stops or pauses: screening holds 2 * n_init runs.
        self.release = release
        self.gate, self.experts = gate, experts
        self.e_step, self.reseed, self.m_step = e_step, reseed, m_step
        self.tol = est.tol if tol is None else tol
        self.finish = finish
        self.name = type(est).__name__
        self.lb_prev = -np.inf
        self.lb = -np.inf
        self.history = []
        self.converged = False
        self.stopped = False  # converged, or its last E-step was at est.max_iter
        self.n_reseeds = 0
        self.n_iter = 0
        # Lines for an integer verbose, a tqdm bar per restart for "progress".
        self.report = progress(est.verbose, total=est.max_iter, desc=f"{self.name} restart {init}")

    @property
    def objective(self):
        """The objective at the last E-step (-inf before any)."""
        return self.lb

    def advance(self, limit):
        """Iterate until ``limit`` E-steps in all, convergence, or ``est.max_iter``.

        A run paused at ``limit < est.max_iter`` has taken its M-step after
        the ``limit``-th E-step; the next :meth:`advance` starts with an
        E-step.
        """
        est, name, init, report = self.est, self.name, self.init, self.report
        # Lines that nobody prints are not formatted (a few us an iteration).
        quiet = type(report) is _Lines and report.level < 2
        while not self.stopped and self.n_iter < limit:
            self.n_iter += 1
            n_iter = self.n_iter
            lb = self.lb = self.e_step()
            self.history.append(lb)
            change = lb - self.lb_prev
            if quiet:
                report.step("")
            else:
                report.step(
                    f"[{name}] restart {init} iteration {n_iter}: "
                    f"mean log-likelihood {lb:.8g} (change {change:.3g})",
                    loglik=f"{lb:.6g}",
                    change=f"{change:.2g}",
                )
            if abs(change) < self.tol:
                self.converged = self.stopped = True
                break
            if n_iter >= est.max_iter:
                self.stopped = True
                break
            self.lb_prev = lb
            dead = self.reseed()
            if dead.size:
                self.n_reseeds += dead.size
                self.lb_prev = -np.inf  # the objective jumps; don't call that convergence
                report.write(
                    f"[{name}] restart {init} iteration {n_iter}: "
                    f"re-seeded collapsed expert(s) {dead.tolist()} with the "
                    "worst-explained rows"
                )
            if self.m_step(n_iter, dead):
                # The M-step revived units of its own (Baum-Welch splits a busy
                # state into an unused one): the objective jumps as after a re-seed.
                self.n_reseeds += 1
                self.lb_prev = -np.inf
        if self.release is not None:
            # Stopped or paused: the next advance starts with an E-step, so
            # nothing the steps keep between them is needed meanwhile.
            self.release()
        self._report_end()
        return self

    def _report_end(self):
        """Hand the reporter how the run stands (its summary line and status)."""
        head = f"[{self.name}] restart {self.init}: "
        tail = f", mean log-likelihood {self.lb:.8g}"
        if self.converged:
            self.report.done(f"{head}converged after {self.n_iter} iterations{tail}", "converged")
        elif self.stopped:
            self.report.done(
                f"{head}stopped at max_iter={self.est.max_iter} without converging "
                f"(last change {self.lb - self.lb_prev:.3g}){tail}",
                "max_iter reached",
            )
        else:
            # Paused: closed like this, the run was screened out (or was a pre-fit).
            self.report.done(
                f"{head}screened out after {self.n_iter} iterations{tail}", "screened out"
            )

    def result(self):
        """Finish the run (the model's final hook, the progress report) and return it."""
        if self.finish is not None:
            self.finish(self.report)
        self.report.close()
        return dict(
            gate=self.gate,
            experts=self.experts,
            lower_bound=self.lb,
            lower_bounds=np.asarray(self.history),
            n_iter=self.n_iter,
            converged=self.converged,
            n_reseeds=self.n_reseeds,
        )
