"""Exceptions raised by letrolab.

Every exception letrolab raises on purpose derives from :class:`LetrolabError` and from the
built-in exception that best describes it, so callers can catch either (the PySB / FlowKit
convention). The command line turns any :class:`LetrolabError` into one ``error: ...`` line on
stderr and exit status 2.
"""

from __future__ import annotations

__all__ = [
    "FCSError",
    "FitError",
    "FormatError",
    "InputError",
    "LetrolabError",
    "ModelError",
    "UnitError",
]


class LetrolabError(Exception):
    """Base class of every error letrolab raises on purpose."""


class InputError(LetrolabError, ValueError):
    """User input (a table, an option, a value) is not usable; the message says how to fix it."""


class UnitError(InputError):
    """A unit is unknown or a quantity has no unit where one is required."""


class FormatError(LetrolabError, ValueError):
    """A file is not in the format it claims to be, or is truncated or corrupt."""


class FitError(LetrolabError, RuntimeError):
    """A fit could not produce an estimate (raised when a failed fit is used as a number)."""


class ModelError(LetrolabError, RuntimeError):
    """The mechanistic model could not be built or simulated."""


class FCSError(FormatError):
    """An FCS file cannot be read without a guess: its layout keywords disagree with its DATA
    segment in a way that the file's own numbers do not settle (see letrolab.assays.fcs)."""
