"""One normaliser for the names users type for cell lines and drugs.

The drug, PK and cell-line catalogues must match names alike, or a name found in one is missed in
another; they all look names up through :func:`name_key`.
"""

from __future__ import annotations

import re

__all__ = ["name_key"]

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def name_key(name: object) -> str:
    """Lookup key of a name: lower case, letters and digits only.

    >>> name_key("MCF-7 Aro") == name_key("mcf7aro")
    True
    >>> name_key("NVP-AEW541")
    'nvpaew541'
    """
    return _NOT_ALNUM.sub("", str(name).lower())
