"""What a user reads when a worker's job fails on something that is not their input."""

from __future__ import annotations


def internal_error(exc: BaseException) -> str:
    """The sentence for an unexpected exception; the worker's log has the trace."""
    return f"The worker hit an internal error ({exc.__class__.__name__}); its log has the details."
