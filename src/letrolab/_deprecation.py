"""Deprecated public names that still resolve, with a :class:`DeprecationWarning`.

The public API spells analyse and normalise the British way (ARCHITECTURE.md); the American
spellings that earlier releases exported keep working for a while through
:func:`renamed`, which a package's ``__init__`` installs as its module ``__getattr__``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["renamed"]


def renamed(module: str, names: Mapping[str, str], namespace: dict[str, Any]) -> Callable:
    """A module ``__getattr__`` that maps each old name in ``names`` to its new name.

    Parameters
    ----------
    module : str
        The package's ``__name__`` (for the messages).
    names : mapping
        ``{old name: new name}``; the new names must be in ``namespace``.
    namespace : dict
        The package's ``globals()``.

    Examples
    --------
    >>> import warnings
    >>> ns = {"analyse": len}
    >>> getattr_ = renamed("pkg", {"analyze": "analyse"}, ns)
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     getattr_("analyze") is len, str(w[0].message)
    (True, 'pkg.analyze is deprecated; use pkg.analyse')
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            new = names[name]
            warnings.warn(
                f"{module}.{name} is deprecated; use {module}.{new}",
                DeprecationWarning,
                stacklevel=2,
            )
            return namespace[new]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
