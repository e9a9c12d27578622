"""Warnings and errors raised by skmoe."""


class DegenerateExpertWarning(UserWarning):
    """An expert lost (almost) all its responsibility mass and was re-seeded.

    Raised when re-seeding kept happening during a fit: the model probably has
    more experts than the data support.  Try fewer experts, a stronger gate
    penalty or more restarts.
    """


class ExpertFitError(RuntimeError):
    """An expert's own ``fit`` raised during an EM M-step.

    The message names the expert, its position, the restart and the EM
    iteration; the original exception is chained as ``__cause__``.
    """
