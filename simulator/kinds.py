"""The error for a model attribute of the wrong kind."""

from __future__ import annotations

__all__ = ["KindError"]


class KindError(TypeError, ValueError):
    """A model attribute of the wrong kind: a string, None or a list where a
    number belongs, a number where a name belongs. A `TypeError`, as the
    design asks of a gate parameter, unit or delay of the wrong kind, and a
    `ValueError`, as every other bad attribute value is, so that either
    catches it.

    >>> issubclass(KindError, TypeError) and issubclass(KindError, ValueError)
    True
    """
