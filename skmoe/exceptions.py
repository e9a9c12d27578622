"""Warnings and errors raised by skmoe."""


class DegenerateExpertWarning(UserWarning):
    """An expert lost (almost) all its responsibility mass and was re-seeded or frozen.

    Raised when re-seeding kept happening during a fit, or when an expert was
    frozen (kept its previous fit) because its weights were (almost) all zero
    or its own fit refused them: the model probably has more experts than the
    data support.  Try fewer experts, a stronger gate penalty or more restarts.
    """


class ExpertFitError(RuntimeError):
    """An expert's own ``fit`` raised during an EM M-step, or its predictions did.

    The message names the expert, its position and (for a fit) the restart
    and the EM iteration; the original exception is chained as
    ``__cause__``.  An expert whose fit refuses weights that are degenerate
    (a single row or a single class) keeps its previous fit instead, with a
    :class:`DegenerateExpertWarning`.
    """
