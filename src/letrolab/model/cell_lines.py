"""Cell lines: parameter sets of the network, each a set of justified overrides of a parent.

The shipped lines are in ``cell_lines.csv`` beside this module, one row per overridden
parameter: ``cell_line, aliases, parent, parameter, value, status, reason``. MCF-7/Aro is the
base set of ``network.ant`` (no overrides); T47D/Aro and the letrozole-resistant example
``mcf7-aro-lr`` state each difference with its status (V, V2, A) and reason.

Letrozole-resistant clones produced by a virtual resistance experiment are registered with
:meth:`CellLine.derive`, which returns a new, immutable line that every simulation function
accepts in place of a name::

    lr = get_cell_line("mcf7-aro").derive("lr-clone-3", pi3k_basal=0.4, reason="selected in 12 weeks")
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from letrolab.errors import FormatError, InputError
from letrolab.model._names import name_key

__all__ = ["CellLine", "cell_line_names", "get_cell_line", "load_cell_lines"]

DEFAULT_CELL_LINES = Path(__file__).with_name("cell_lines.csv")


@dataclass(frozen=True)
class CellLine:
    """A named parameter set: overrides of the network's base values, with reasons.

    Parameters
    ----------
    name : str
        Identifier used in results and on the command line (e.g. ``"mcf7-aro"``).
    overrides : mapping of str to float
        Model parameter values that differ from ``network.ant`` (all ancestors' overrides
        already merged in).
    reasons : mapping of str to str
        Why each override has its value (status and source).
    parent : str or None
        The line this one was derived from.
    aliases : tuple of str
        Other spellings accepted by :func:`get_cell_line`.
    """

    name: str
    overrides: Mapping[str, float] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        for k, v in self.overrides.items():
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(
                    f"cell line {self.name!r}: parameter {k!r} must be a finite number >= 0, got {v!r}"
                )
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        object.__setattr__(self, "reasons", MappingProxyType(dict(self.reasons)))

    def __reduce__(self):
        # mapping proxies do not pickle; rebuild from plain dicts (worker processes need this)
        return (
            CellLine,
            (
                self.name,
                dict(self.overrides),
                dict(self.reasons),
                self.parent,
                self.aliases,
                self.description,
            ),
        )

    def derive(self, name: str, *, reason: str = "", **overrides: float) -> CellLine:
        """Return a new line with ``overrides`` on top of this one's parameters.

        Parameters
        ----------
        name : str
            Name of the derived line (e.g. a resistant clone, ``"mcf7-aro-lr-c3"``).
        reason : str
            Why the values changed (recorded for every override given here).
        **overrides : float
            Model parameter values; unknown names are rejected when the line is simulated.

        Examples
        --------
        >>> lr = get_cell_line("mcf7-aro").derive("lr-x", pi3k_basal=0.4, reason="selected clone")
        >>> lr.parent, lr.overrides["pi3k_basal"]
        ('mcf7-aro', 0.4)
        """
        if not overrides:
            raise InputError(f"derive({name!r}) needs at least one parameter override")
        merged = {**self.overrides, **{k: float(v) for k, v in overrides.items()}}
        why = {**self.reasons, **dict.fromkeys(overrides, reason or f"derived from {self.name}")}
        return CellLine(name=name, overrides=merged, reasons=why, parent=self.name)

    def summary(self) -> dict:
        """JSON-able description."""
        return {
            "name": self.name,
            "parent": self.parent,
            "aliases": list(self.aliases),
            "overrides": dict(self.overrides),
            "reasons": dict(self.reasons),
        }


def _parse(path: Path) -> dict[str, CellLine]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = ("cell_line", "aliases", "parent", "parameter", "value", "status", "reason")
        missing = [c for c in need if c not in (reader.fieldnames or [])]
        if missing:
            raise FormatError(f"cell-line table {path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    raw: dict[str, dict] = {}
    for i, row in enumerate(rows, start=2):
        name = row["cell_line"].strip()
        if not name:
            raise FormatError(f"cell-line table {path.name} line {i}: empty cell_line")
        e = raw.setdefault(
            name,
            {
                "parent": row["parent"].strip() or None,
                "aliases": tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
                "overrides": {},
                "reasons": {},
                "description": "",
            },
        )
        par = row["parameter"].strip()
        if not par:
            e["description"] = row["reason"].strip()
            continue
        try:
            value = float(row["value"])
        except ValueError:
            raise FormatError(
                f"cell-line table {path.name} line {i}: value {row['value']!r} is not a number"
            ) from None
        e["overrides"][par] = value
        e["reasons"][par] = f"{row['status'].strip()}: {row['reason'].strip()}"
    lines: dict[str, CellLine] = {}

    def build(name: str, seen: tuple[str, ...] = ()) -> CellLine:
        if name in lines:
            return lines[name]
        if name not in raw:
            raise FormatError(f"cell-line table {path.name}: unknown parent {name!r}")
        if name in seen:
            raise FormatError(f"cell-line table {path.name}: parent cycle through {name!r}")
        e = raw[name]
        base = build(e["parent"], (*seen, name)) if e["parent"] else None
        ov = {**(base.overrides if base else {}), **e["overrides"]}
        rs = {**(base.reasons if base else {}), **e["reasons"]}
        lines[name] = CellLine(
            name=name,
            overrides=ov,
            reasons=rs,
            parent=e["parent"],
            aliases=e["aliases"],
            description=e["description"],
        )
        return lines[name]

    for n in raw:
        build(n)
    return lines


@functools.lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> dict[str, CellLine]:
    return _parse(Path(path))


def load_cell_lines(path: str | Path | None = None) -> dict[str, CellLine]:
    """Read a cell-line table (default: the shipped ``cell_lines.csv``) into ``{name: CellLine}``."""
    p = Path(path) if path is not None else DEFAULT_CELL_LINES
    if not p.is_file():
        raise InputError(f"cell-line table {p} not found; pass the path of a cell-lines CSV")
    return dict(_cached(str(p.resolve()), p.stat().st_mtime))


def cell_line_names() -> list[str]:
    """Names of the shipped cell lines."""
    return list(load_cell_lines())


def get_cell_line(line: str | CellLine) -> CellLine:
    """Return the shipped line named ``line`` (aliases accepted), or ``line`` itself.

    Examples
    --------
    >>> get_cell_line("T47D/Aro").name
    't47d-aro'
    """
    if isinstance(line, CellLine):
        return line
    lines = load_cell_lines()
    k = name_key(line)
    for cl in lines.values():
        if k == name_key(cl.name) or any(k == name_key(a) for a in cl.aliases):
            return cl
    raise InputError(f"unknown cell line {line!r}; use one of {', '.join(lines)}")
