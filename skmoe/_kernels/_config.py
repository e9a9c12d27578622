"""JIT flags and numeric floors shared by every kernel.

Kept in one place so that a change of policy (e.g. the probability floor) is
made once and the tests' NumPy twins can import the very same constants.
"""

# ``cache=True`` so a second process loads compiled code from disk instead of
# re-compiling (the "fresh process fits in < 3 s" target); ``nogil=True`` so
# joblib's threading backend can run restarts and expert refits side by side.
# Kernels are serial on purpose: Numba's parallel threading layers do not
# support concurrent launches from several Python threads.
JIT_KWARGS = dict(cache=True, nogil=True, fastmath=False)

# Probabilities are floored before ``log`` so that no row of log-likelihoods
# becomes ``-inf`` (and no responsibility becomes NaN).  1e-10 lets a tree
# expert that gives probability 0 to the observed class "veto" it strongly
# without making the likelihood infinite.
PROBA_FLOOR = 1e-10

# Smallest gate probability used when a gate's output is turned into logs.
GATE_FLOOR = 1e-300

# Passes over the rows that are split across threads (E-step, the gate's
# loss and gradient, the experts' sufficient statistics, their predictions)
# use blocks of about this many rows; the blocks depend on n_samples only,
# never on the thread count.  Large, because the kernels tile their rows
# themselves: a block only has to amortise the thread pool's dispatch
# (~20 us), and fewer blocks mean fewer partial sums to add.
THREAD_BLOCK_ROWS = 32768

# The vectorised kernels work on tiles of this many rows held column by
# column (see ``_vector.py``): small enough that a tile of a few columns
# stays in the L1 cache, large enough for the vector loops to amortise.
# Read by the Python wrappers that allocate the scratch tiles; the kernels
# take the length from the tiles they are given.
ROW_TILE = 256
