"""Public names of a package that are imported when first used, not when the package is.

``import letrolab.assays.cellcycle`` runs ``letrolab/assays/__init__.py`` first; if that
imported every reader eagerly, ``letrolab cellcycle`` would pay for pandas (0.5 s of CPU) and
the blot and plate readers it never uses. A package lists its exports as ``{name: module}`` and
installs :func:`lazy_exports` as its module ``__getattr__`` (PEP 562); ``from letrolab.assays
import read_fcs`` and ``letrolab.assays.read_fcs`` work as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    exports: Mapping[str, str | tuple[str, str]],
    namespace: dict[str, Any],
    fallback: Callable[[str], Any] | None = None,
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each exported name from its module on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping
        ``{public name: module}``, or ``{public name: (module, name there)}`` when the name
        differs; modules are absolute names.
    namespace : dict
        The package's ``globals()``: a resolved name is stored there, so the next lookup is a
        plain attribute.
    fallback : callable, optional
        Called for names not in ``exports`` (e.g. :func:`letrolab._deprecation.renamed`).

    Examples
    --------
    >>> ns = {}
    >>> getattr_ = lazy_exports("pkg", {"dumps": "json"}, ns)
    >>> getattr_("dumps")({"a": 1}), "dumps" in ns
    ('{"a": 1}', True)
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            target = exports[name]
            module, attr = (target, name) if isinstance(target, str) else target
            value = getattr(importlib.import_module(module), attr)
            namespace[name] = value
            return value
        if fallback is not None:
            return fallback(name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
