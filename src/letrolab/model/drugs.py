"""The drug catalogue: which targets a drug hits, how potently, in which mode.

The catalogue is a data file, ``drugs.csv`` beside this module, one row per drug-target pair:

``drug, aliases, target, mode, potency_nM, potency_kind, hill, emax, mw, identifier, status, reference``

A user adds a drug by adding rows (or by passing their own CSV to :func:`load_catalogue`); no
code changes. ``target`` is one of the model's target slots (:data:`TARGETS`). The effect on the
target follows two textbook forms:

- ``competitive`` (only on ``aromatase``): the inhibitor competes with androstenedione, the
  Michaelis constant becomes ``Km (1 + sum_i (C_i / Ki_i)^h_i)`` (Cornish-Bowden, *Fundamentals
  of Enzyme Kinetics*, 4th ed. 2012, ch. 6).
- ``noncompetitive`` / ``allosteric``: the remaining target activity is
  ``1 - emax C^h / (C^h + IC50^h)`` (Hill 1910 form); several drugs on the same target act
  independently, their remaining activities multiply (Bliss 1939).

Concentrations in the model are nM; the public API takes molar.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from letrolab.errors import FormatError, InputError
from letrolab.model._names import name_key

__all__ = ["TARGETS", "Drug", "DrugCatalogue", "DrugTarget", "load_catalogue"]

DEFAULT_CATALOGUE = Path(__file__).with_name("drugs.csv")

#: Target slots of the network and the model quantity each drug effect feeds.
TARGETS: dict[str, str] = {
    "aromatase": "act_aromatase",
    "ER": "act_ER",
    "IGF1R": "act_IGF1R",
    "IR": "act_IR",
    "PI3K": "act_PI3K",
    "AKT": "act_AKT",
    "mTORC1": "act_mTORC1",
    "MEK": "act_MEK",
    "CDK46": "act_CDK46",
}
MODES = ("competitive", "noncompetitive", "allosteric")
STATUSES = ("V", "V2", "A", "fit")
_COLUMNS = (
    "drug",
    "aliases",
    "target",
    "mode",
    "potency_nM",
    "potency_kind",
    "hill",
    "emax",
    "mw",
    "identifier",
    "status",
    "reference",
)


@dataclass(frozen=True)
class DrugTarget:
    """One drug-target interaction of the catalogue."""

    target: str
    mode: str
    potency_nM: float
    potency_kind: str
    hill: float
    emax: float
    status: str
    reference: str

    def remaining_activity(self, conc_nM: float) -> float:
        """Fraction of target activity left at ``conc_nM`` (non-competitive form).

        For a competitive inhibitor this is the activity at zero substrate, ``1 / (1 + (C/Ki)^h)``.
        """
        c = max(float(conc_nM), 0.0)
        if self.mode == "competitive":
            return 1.0 / (1.0 + (c / self.potency_nM) ** self.hill)
        x = c**self.hill
        return 1.0 - self.emax * x / (x + self.potency_nM**self.hill)


@dataclass(frozen=True)
class Drug:
    """A catalogued drug: name, aliases, targets with potencies, molecular weight, identifier."""

    name: str
    aliases: tuple[str, ...]
    targets: tuple[DrugTarget, ...]
    mw: float | None
    identifier: str

    @property
    def parameter(self) -> str:
        """Id of the model parameter that holds this drug's concentration (nM)."""
        return "drug_" + re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")

    def summary(self) -> dict:
        """JSON-able description."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "parameter": self.parameter,
            "mw": self.mw,
            "identifier": self.identifier or None,
            "targets": [t.__dict__.copy() for t in self.targets],
        }


class DrugCatalogue:
    """The drugs the model knows, looked up by name or alias (case and punctuation ignored).

    Examples
    --------
    >>> cat = load_catalogue()
    >>> cat["RAD001"].name
    'everolimus'
    >>> [t.target for t in cat["NVP-AEW541"].targets]
    ['IGF1R', 'IR']
    """

    def __init__(self, drugs: tuple[Drug, ...], *, source: str = "") -> None:
        self._drugs = tuple(drugs)
        self.source = source
        self._index: dict[str, Drug] = {}
        for d in self._drugs:
            for n in (d.name, *d.aliases):
                self._index[name_key(n)] = d

    def __iter__(self):
        return iter(self._drugs)

    def __len__(self) -> int:
        return len(self._drugs)

    def __contains__(self, name: object) -> bool:
        return name_key(str(name)) in self._index

    def __getitem__(self, name: str) -> Drug:
        d = self._index.get(name_key(name))
        if d is None:
            raise InputError(
                f"unknown drug {name!r}; known drugs: {', '.join(self.names)} "
                f"(add a row to the drug catalogue {self.source or 'drugs.csv'} for a new one)"
            )
        return d

    @property
    def names(self) -> list[str]:
        """Canonical drug names."""
        return [d.name for d in self._drugs]

    def to_frame(self):
        """The catalogue as a tidy pandas DataFrame, one row per drug-target pair."""
        import pandas as pd

        rows = [
            {
                "drug": d.name,
                "aliases": ";".join(d.aliases),
                "parameter": d.parameter,
                "mw": d.mw,
                "identifier": d.identifier,
                **t.__dict__,
            }
            for d in self._drugs
            for t in d.targets
        ]
        return pd.DataFrame(rows)

    def antimony(self) -> str:
        """Antimony statements: one concentration parameter per drug, one rule per hit target."""
        lines = ["  // ---- drug catalogue (generated by letrolab.model.drugs from drugs.csv)"]
        terms: dict[str, list[str]] = {}
        competitive: list[str] = []
        for d in self._drugs:
            p = d.parameter
            lines.append(f"  {p} = 0  // nM | condition | concentration of {d.name}")
            lines.append(f"  {p} has nM")
            if d.identifier.startswith("CHEBI:"):
                lines.append(f'  {p} identity "http://identifiers.org/chebi/{d.identifier}"')
            for t in d.targets:
                k, h = _num(t.potency_nM), _num(t.hill)
                if t.mode == "competitive":
                    competitive.append(f"({p} / {k})^{h}")
                else:
                    e = _num(t.emax)
                    terms.setdefault(TARGETS[t.target], []).append(
                        f"(1 - {e} * {p}^{h} / ({p}^{h} + {k}^{h}))"
                    )
        if competitive:
            lines.append(f"  comp_aromatase := {' + '.join(competitive)}")
        for slot, fs in terms.items():
            lines.append(f"  {slot} := {' * '.join(fs)}")
        return "\n".join(lines) + "\n"


def _num(x: float) -> str:
    return repr(float(x))


def _float(row: dict, col: str, where: str, *, positive: bool = True, optional: bool = False):
    raw = str(row.get(col, "") or "").strip()
    if not raw and optional:
        return None
    try:
        v = float(raw)
    except ValueError:
        raise FormatError(f"{where}: column {col!r} must be a number, got {raw!r}") from None
    if not math.isfinite(v) or (positive and v <= 0):
        raise FormatError(f"{where}: column {col!r} must be a positive finite number, got {raw!r}")
    return v


def _parse(path: Path) -> DrugCatalogue:
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise FormatError(f"drug catalogue {path}: missing column(s) {', '.join(missing)}")
        rows = list(reader)
    by_name: dict[str, dict] = {}
    for i, row in enumerate(rows, start=2):
        where = f"drug catalogue {path.name} line {i}"
        name = (row["drug"] or "").strip()
        if not name:
            raise FormatError(f"{where}: empty drug name")
        target = row["target"].strip()
        if target not in TARGETS:
            raise FormatError(
                f"{where}: unknown target {target!r}; use one of {', '.join(TARGETS)}"
            )
        mode = row["mode"].strip()
        if mode not in MODES:
            raise FormatError(f"{where}: unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if mode == "competitive" and target != "aromatase":
            raise FormatError(
                f"{where}: mode 'competitive' is modelled only for the aromatase substrate; "
                "use 'noncompetitive' for kinase targets"
            )
        status = row["status"].strip()
        if status not in STATUSES:
            raise FormatError(f"{where}: status must be one of {', '.join(STATUSES)}")
        emax = _float(row, "emax", where)
        if emax > 1:
            raise FormatError(f"{where}: emax must be in (0, 1], got {emax}")
        t = DrugTarget(
            target=target,
            mode=mode,
            potency_nM=_float(row, "potency_nM", where),
            potency_kind=row["potency_kind"].strip() or "IC50",
            hill=_float(row, "hill", where),
            emax=emax,
            status=status,
            reference=row["reference"].strip(),
        )
        entry = by_name.setdefault(
            name,
            {
                "aliases": tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
                "mw": _float(row, "mw", where, optional=True),
                "identifier": row["identifier"].strip(),
                "targets": [],
            },
        )
        if any(x.target == target for x in entry["targets"]):
            raise FormatError(f"{where}: drug {name!r} lists target {target!r} twice")
        entry["targets"].append(t)
    drugs = tuple(
        Drug(
            name=n,
            aliases=e["aliases"],
            targets=tuple(e["targets"]),
            mw=e["mw"],
            identifier=e["identifier"],
        )
        for n, e in by_name.items()
    )
    params = [d.parameter for d in drugs]
    if len(set(params)) != len(params):
        raise FormatError(f"drug catalogue {path}: two drug names map to the same model id")
    return DrugCatalogue(drugs, source=str(path))


@functools.lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> DrugCatalogue:
    return _parse(Path(path))


def load_catalogue(path: str | Path | None = None) -> DrugCatalogue:
    """Read a drug catalogue CSV (default: the shipped ``drugs.csv``).

    Raises
    ------
    FormatError
        If a column is missing, a target slot or mode is unknown, or a number is not positive.
    """
    p = Path(path) if path is not None else DEFAULT_CATALOGUE
    if not p.is_file():
        raise InputError(f"drug catalogue {p} not found; pass the path of a drugs CSV")
    return _cached(str(p.resolve()), p.stat().st_mtime)
