"""Shared pieces of result objects.

:class:`Failed` is the value of an estimate that could not be made (the scikit-image
``FailedEstimation`` idea): it is falsy, it carries the reason, and reading any attribute from it
raises :class:`~letrolab.errors.FitError` with that reason, so a failed fit cannot be used as a
number by accident.
"""

from __future__ import annotations

from typing import Any, NoReturn

from letrolab.errors import FitError

__all__ = ["Failed", "jsonable"]


class Failed:
    """A failed estimate: falsy, says why, and refuses to be used as a number.

    Parameters
    ----------
    reason : str
        Why the estimate failed, as a sentence fragment ("fewer than 2 points with 0 < fa < 1").
    what : str
        What was being estimated ("median-effect fit of drug A in block 3").

    Examples
    --------
    >>> f = Failed("fewer than 2 usable points", what="median-effect fit of A")
    >>> bool(f)
    False
    >>> f.dm
    Traceback (most recent call last):
    ...
    letrolab.errors.FitError: median-effect fit of A failed: fewer than 2 usable points (no 'dm')
    """

    __slots__ = ("reason", "what")

    def __init__(self, reason: str, *, what: str = "estimate") -> None:
        object.__setattr__(self, "reason", str(reason))
        object.__setattr__(self, "what", str(what))

    def __bool__(self) -> bool:
        return False

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise FitError(f"{self.what} failed: {self.reason} (no {name!r})")

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Failed is immutable")

    def __float__(self) -> NoReturn:
        raise FitError(f"{self.what} failed: {self.reason}")

    def __repr__(self) -> str:
        return f"Failed({self.reason!r}, what={self.what!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failed) and (self.reason, self.what) == (other.reason, other.what)

    def __hash__(self) -> int:
        return hash((self.reason, self.what))

    def summary(self) -> dict[str, Any]:
        """JSON-able description: ``{"ok": False, "what": ..., "reason": ...}``."""
        return {"ok": False, "what": self.what, "reason": self.reason}

    def report(self) -> str:
        """One line of text."""
        return f"{self.what}: FAILED ({self.reason})"


def jsonable(obj: Any) -> Any:
    """Plain JSON types for ``json.dumps(..., allow_nan=False)``.

    NumPy scalars and arrays become Python numbers and lists, dict keys strings, and
    non-finite floats ``None`` (JSON has no NaN or infinity).

    Examples
    --------
    >>> import numpy as np
    >>> jsonable({1: np.float64(2.5), "x": [np.nan, np.arange(2)]})
    {'1': 2.5, 'x': [None, [0, 1]]}
    """
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
