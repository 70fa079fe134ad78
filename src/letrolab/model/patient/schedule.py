"""Arm specifications: which drugs, at what dose, on which schedule.

An arm is written ``NAME:DRUG:DOSE[/SCHEDULE][+DRUG:DOSE...]`` (the ``letrolab trial --arm``
syntax). A DOSE is either

* an oral dose with a schedule, ``2.5mg/day``, for a drug with clinical PK in ``pk.csv``; the
  schedule is ``day`` (``daily``), ``Nh``, ``Nd`` or ``week``, optionally followed by
  comma-separated modifiers: ``21on7off`` (intermittent: days on, days off), ``miss=10-12;20``
  (those dose numbers are skipped, counting from 1), ``adherence=0.9`` (each patient takes each
  dose with this probability), ``start=14d`` (first dose on day 14); or
* a steady plasma exposure, ``1uM`` / ``100nM``, for a drug without verified clinical PK.

Examples
--------
>>> arm = parse_arm("std:letrozole:2.5mg/day+nvp-aew541:1uM")
>>> arm.name, [d.drug for d in arm.doses], arm.doses[1].conc_nM
('std', ['letrozole', 'nvp-aew541'], 1000.0)
>>> parse_arm("pulse:letrozole:2.5mg/day,5on2off").doses[0].dose_times_h(24 * 14).size
10
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from letrolab.errors import InputError, UnitError
from letrolab.units import MOLAR_FACTORS, molar_factor
from letrolab.validate import MAX_CONC_MOLAR, MIN_CONC_MOLAR

__all__ = ["Arm", "DrugDose", "Schedule", "parse_arm"]

#: Largest oral dose accepted, mg per administration: 10 g is far above any approved oral
#: anticancer dose (letrozole 2.5 mg, metformin 1 g); more is a unit or typing error.
MAX_ORAL_DOSE_MG = 10_000.0
_MASS = {"mg": 1.0, "ug": 1e-3, "µg": 1e-3, "μg": 1e-3, "g": 1e3}
_DOSE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-zµμ]+)\s*(?:/(.*))?$")
_EVERY = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*)?(h|hr|hour|hours|d|day|days|daily|week|wk)$")
_ONOFF = re.compile(r"^(\d+)on(\d+)off$")


@dataclass(frozen=True)
class Schedule:
    """When oral doses are given (all times in whole hours)."""

    interval_h: int = 24
    on_days: int | None = None
    off_days: int | None = None
    missed: tuple[int, ...] = ()  # dose numbers (1-based) that are skipped
    adherence: float = 1.0
    start_h: int = 0

    def dose_times_h(self, t_end_h: float) -> np.ndarray:
        """Dose times in ``[0, t_end_h)`` (h), missed doses removed."""
        t = np.arange(self.start_h, t_end_h, self.interval_h, dtype=float)
        if self.on_days is not None:
            cycle = 24 * (self.on_days + self.off_days)
            t = t[((t - self.start_h) % cycle) < 24 * self.on_days]
        if self.missed:
            keep = np.ones(t.size, bool)
            idx = np.asarray([m - 1 for m in self.missed if m - 1 < t.size], int)
            keep[idx] = False
            t = t[keep]
        return t


@dataclass(frozen=True)
class DrugDose:
    """One drug of an arm: an oral dose on a schedule, or a steady plasma exposure."""

    drug: str
    text: str
    dose_mg: float | None = None
    schedule: Schedule | None = None
    conc_nM: float | None = None

    @property
    def oral(self) -> bool:
        """True for an oral dose on a schedule, False for a steady exposure."""
        return self.dose_mg is not None

    def dose_times_h(self, t_end_h: float) -> np.ndarray:
        """Times of the oral doses (empty for a steady exposure)."""
        return self.schedule.dose_times_h(t_end_h) if self.schedule else np.zeros(0)


@dataclass(frozen=True)
class Arm:
    """A trial arm: a name and its drugs."""

    name: str
    doses: tuple[DrugDose, ...] = field(default_factory=tuple)

    @property
    def spec(self) -> str:
        """The arm written back in ``NAME:DRUG:DOSE+...`` form."""
        return self.name + ":" + "+".join(f"{d.drug}:{d.text}" for d in self.doses)


def _canonical(name: str, pk_catalogue=None) -> str:
    """Canonical drug name from the drug catalogue, else the PK catalogue, else an error."""
    from letrolab.model.patient.pk import load_pk_catalogue, lookup

    try:
        from letrolab.model.drugs import load_catalogue

        cat = load_catalogue()
        if name in cat:
            return cat[name].name
    except ImportError:  # pragma: no cover - issue-4 catalogue absent
        pass
    pk = lookup(load_pk_catalogue() if pk_catalogue is None else pk_catalogue, name)
    if pk is not None:
        return pk.drug
    raise InputError(
        f"unknown drug {name!r}; use a drug of the drug catalogue (drugs.csv) or the PK "
        f"catalogue (pk.csv), e.g. letrozole, nvp-aew541, kw-2450"
    )


def _schedule(text: str, where: str) -> Schedule:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise InputError(f"{where}: empty schedule; write e.g. 2.5mg/day")
    m = _EVERY.match(parts[0].lower())
    if not m:
        raise InputError(
            f"{where}: unknown dosing interval {parts[0]!r}; use day, Nh, Nd or week (e.g. /day, /12h)"
        )
    num = float(m.group(1)) if m.group(1) else 1.0
    unit = m.group(2)
    hours = num * (1 if unit.startswith("h") else 168 if unit in {"week", "wk"} else 24)
    if hours != int(hours) or hours < 1:
        raise InputError(f"{where}: the dosing interval must be a whole number of hours >= 1")
    kw: dict = {"interval_h": int(hours)}
    for mod in parts[1:]:
        low = mod.lower()
        if m := _ONOFF.match(low):
            on, off = int(m.group(1)), int(m.group(2))
            if on < 1:
                raise InputError(f"{where}: {mod!r} needs at least 1 day on")
            kw["on_days"], kw["off_days"] = on, off
        elif low.startswith("miss="):
            missed: list[int] = []
            for item in low[5:].split(";"):
                a, _, b = item.partition("-")
                try:
                    lo, hi = int(a), int(b or a)
                except ValueError:
                    raise InputError(
                        f"{where}: cannot read missed doses {mod!r}; write e.g. miss=10-12;20"
                    ) from None
                if lo < 1 or hi < lo:
                    raise InputError(f"{where}: missed dose numbers count from 1 ({mod!r})")
                missed.extend(range(lo, hi + 1))
            kw["missed"] = tuple(sorted(set(missed)))
        elif low.startswith("adherence="):
            try:
                a = float(low[10:])
            except ValueError:
                a = float("nan")
            if not 0 < a <= 1:
                raise InputError(f"{where}: adherence must be in (0, 1], got {mod!r}")
            kw["adherence"] = a
        elif low.startswith("start="):
            m2 = _EVERY.match(low[6:])
            if not m2 or not m2.group(1):
                raise InputError(f"{where}: cannot read {mod!r}; write e.g. start=14d or start=6h")
            v = float(m2.group(1)) * (1 if m2.group(2).startswith("h") else 24)
            if v != int(v):
                raise InputError(f"{where}: start must be a whole number of hours")
            kw["start_h"] = int(v)
        else:
            raise InputError(
                f"{where}: unknown schedule modifier {mod!r}; use NonMoff, miss=..., adherence=..., start=..."
            )
    return Schedule(**kw)


def parse_dose(drug: str, text: str, *, pk_catalogue=None) -> DrugDose:
    """Parse one ``DOSE[/SCHEDULE]`` of ``drug`` (see the module docstring)."""
    where = f"dose {drug}:{text}"
    m = _DOSE.match(text)
    if not m:
        raise UnitError(f"{where}: cannot read the dose; write e.g. 2.5mg/day or 1uM")
    value, unit, sched = float(m.group(1)), m.group(2), m.group(3)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"{where}: the dose must be a positive number")
    if unit.lower() in MOLAR_FACTORS or unit in {"M"}:
        if sched is not None:
            raise InputError(f"{where}: a steady exposure takes no schedule; write e.g. {drug}:1uM")
        molar = value * molar_factor(unit)
        if not MIN_CONC_MOLAR <= molar <= MAX_CONC_MOLAR:
            raise InputError(
                f"{where}: {value:g} {unit} is not a possible concentration; give one between "
                f"{MIN_CONC_MOLAR:g} and {MAX_CONC_MOLAR:g} M"
            )
        return DrugDose(drug, text.strip(), conc_nM=molar * 1e9)
    mass = _MASS.get(unit.lower() if unit.lower() != "g" else "g")
    if mass is None:
        raise UnitError(
            f"{where}: unknown unit {unit!r}; an oral dose is in mg (e.g. 2.5mg/day), "
            f"a steady exposure in pM, nM, uM, mM or M"
        )
    if sched is None:
        raise InputError(f"{where}: an oral dose needs a schedule; write e.g. {drug}:{text}/day")
    if value * mass > MAX_ORAL_DOSE_MG:
        raise InputError(
            f"{where}: {value * mass:g} mg per dose is more than the {MAX_ORAL_DOSE_MG:g} mg "
            "letrolab accepts; check the dose and its unit"
        )
    from letrolab.model.patient.pk import load_pk_catalogue, require

    require(load_pk_catalogue() if pk_catalogue is None else pk_catalogue, drug)
    return DrugDose(drug, text.strip(), dose_mg=value * mass, schedule=_schedule(sched, where))


def parse_arm(spec: str, *, pk_catalogue=None) -> Arm:
    """Parse ``NAME:DRUG:DOSE[/SCHEDULE][+DRUG:DOSE...]`` into an :class:`Arm`.

    ``NAME:none`` (or ``NAME:placebo``) is an untreated arm. ``pk_catalogue`` (a loaded PK
    catalogue) replaces the built-in ``pk.csv`` when checking that an oral drug has clinical PK.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise InputError(
            f"arm {spec!r}: write NAME:DRUG:DOSE[/SCHEDULE][+DRUG:DOSE...], e.g. std:letrozole:2.5mg/day"
        )
    name, _, rest = spec.partition(":")
    name = name.strip()
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise InputError(f"arm {spec!r}: the name {name!r} may use letters, digits, _ . - only")
    if rest.strip().lower() in {"none", "placebo"}:
        return Arm(name, ())
    doses = []
    for part in rest.split("+"):
        drug, sep, dose = part.partition(":")
        if not sep or not drug.strip() or not dose.strip():
            raise InputError(
                f"arm {spec!r}: {part!r} is not DRUG:DOSE; write e.g. letrozole:2.5mg/day or kw-2450:100nM"
            )
        canon = _canonical(drug.strip(), pk_catalogue)
        if any(d.drug == canon for d in doses):
            raise InputError(f"arm {spec!r}: drug {canon!r} appears twice")
        doses.append(parse_dose(canon, dose.strip(), pk_catalogue=pk_catalogue))
    return Arm(name, tuple(doses))
