"""The Antimony patient model: its parameter table and a libroadrunner reference simulator.

``patient.ant`` is the source of truth. Its parameter lines carry units and a status
(``V`` checked source, ``D`` derived/calibrated, ``A`` assumption); :func:`parameter_table`
reads them so the defaults used by the vectorised engine are the model's own, and so tests can
check that no parameter lacks a unit and a source or reason.

:func:`simulate_reference` runs one patient in libroadrunner (CVODE, rtol 1e-8, atol 1e-10) with any
dosing schedule: the run is split at the dose times and each oral dose is added to the gut
compartment as a bolus of ``F * dose`` (the dosing event).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np

from letrolab.errors import InputError, ModelError

__all__ = [
    "ParameterInfo",
    "load_roadrunner",
    "parameter_table",
    "patient_model_source",
    "patient_sbml",
    "simulate_reference",
]

_LINE = re.compile(
    r"^\s*([A-Za-z_]\w*)\s*=\s*([-+0-9.eE]+)\s*;\s*//\s*(?P<unit>[^|]*?)\s*\|\s*(?P<rest>.*)$"
)


@dataclass(frozen=True)
class ParameterInfo:
    """One numeric line of ``patient.ant``: a parameter or the initial value of a state."""

    name: str
    value: float
    unit: str
    status: str  # "V", "V2", "D", "A" or "state"
    note: str


def patient_model_source() -> str:
    """Return the Antimony text of the patient model (``patient.ant``)."""
    return resources.files(__package__).joinpath("patient.ant").read_text(encoding="utf-8")


@functools.cache
def parameter_table() -> dict[str, ParameterInfo]:
    """Parse the parameter lines of ``patient.ant`` into ``{name: ParameterInfo}``.

    Examples
    --------
    >>> table = parameter_table()
    >>> table["F_let"].value, table["F_let"].unit, table["F_let"].status
    (0.999, '1', 'V')
    """
    out: dict[str, ParameterInfo] = {}
    for line in patient_model_source().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        name, value, unit, rest = m.group(1), float(m.group(2)), m.group("unit"), m.group("rest")
        if rest.strip().startswith("state"):
            status, note = "state", rest.strip()
        else:
            status, _, note = rest.partition(":")
            status = status.strip()
        if name in out:
            raise ModelError(f"patient.ant defines {name!r} twice with a value comment")
        out[name] = ParameterInfo(name, value, unit.strip(), status, note.strip())
    return out


def defaults() -> dict[str, float]:
    """Default (typical-patient) value of every parameter of ``patient.ant``."""
    return {k: v.value for k, v in parameter_table().items() if v.status != "state"}


@functools.cache
def patient_sbml() -> str:
    """The patient model as SBML (Level 3), translated from ``patient.ant`` by Antimony."""
    import antimony

    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(patient_model_source()) < 0:  # pragma: no cover
        raise ModelError(f"patient.ant does not compile: {antimony.getLastError()}")
    return antimony.getSBMLString("letrozole_patient")


@functools.cache
def load_roadrunner():
    """Compile ``patient.ant`` with Antimony and load it in libroadrunner (once per process)."""
    import roadrunner

    rr = roadrunner.RoadRunner(patient_sbml())
    rr.integrator.absolute_tolerance = 1e-10
    rr.integrator.relative_tolerance = 1e-8
    rr.integrator.max_steps = 200000
    return rr


#: Outputs recorded by :func:`simulate_reference` unless others are asked for.
REFERENCE_SELECTIONS = (
    "time",
    "C_let_nM",
    "I_arom",
    "E2",
    "E2_measured",
    "FSH",
    "LH",
    "IGF1_ov",
    "Fol",
    "GH",
    "IGF1",
    "BP3",
    "G",
    "Ins",
    "f_IGF1R",
    "f_IR",
    "C_x1_nM",
    "C_x2_nM",
)


def simulate_reference(
    params: dict[str, float] | None = None,
    *,
    doses: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    t_end_h: float,
    dt_h: float = 1.0,
    selections: tuple[str, ...] = REFERENCE_SELECTIONS,
) -> dict[str, np.ndarray]:
    """Simulate one patient in libroadrunner with explicit oral dose events.

    Parameters
    ----------
    params : dict
        Values for parameters of ``patient.ant`` (others keep their defaults).
    doses : dict
        ``{"let" | "x1" | "x2": (times_h, amounts_mg)}``: oral doses of letrozole or of the
        drug in slot x1/x2; each dose adds ``F * amount`` to that drug's gut compartment
        (``F`` is ``F_let`` for letrozole and 1 for the slots — fold F into the amount).
    t_end_h, dt_h : float
        End time and output spacing (h); doses may fall between output times.

    Returns
    -------
    dict of str to ndarray
        One array per selection, sampled at ``0, dt_h, ..., t_end_h``.
    """
    rr = load_roadrunner()
    rr.resetAll()
    known = set(rr.model.getGlobalParameterIds())
    for name, value in (params or {}).items():
        if name not in known:
            raise InputError(f"patient model has no parameter {name!r}")
        rr[name] = float(value)
    rr.reset()  # re-apply the initial assignments (untreated steady state) with these values
    grid = np.round(np.arange(0.0, t_end_h + 0.5 * dt_h, dt_h), 10)
    events: dict[float, list[tuple[str, float]]] = {}
    for slot, (times, amounts) in (doses or {}).items():
        factor = rr["F_let"] if slot == "let" else 1.0
        for t, a in zip(np.atleast_1d(times), np.atleast_1d(amounts), strict=True):
            if 0 <= t < t_end_h and a > 0:
                events.setdefault(float(t), []).append((f"A_gut_{slot}", factor * float(a)))
    cuts = sorted((set(events) | {float(t_end_h)}) - {0.0})
    rows = []
    t = 0.0
    for var, amount in events.get(0.0, []):
        rr[var] = rr[var] + amount
    for cut in cuts:
        inner = grid[(grid >= t - 1e-9) & (grid <= cut + 1e-9)]
        pts = np.unique(np.concatenate([[t], inner, [cut]]))
        try:
            arr = np.asarray(rr.simulate(times=pts, selections=list(selections)))
        except RuntimeError as exc:
            raise ModelError(
                f"patient model integration failed between {t:g} h and {cut:g} h: {exc}"
            ) from exc
        keep = np.isin(np.round(pts, 9), np.round(grid, 9))
        keep[-1] = False  # the cut point is the next segment's first row
        rows.append(arr[keep])
        t = cut
        for var, amount in events.get(t, []):
            rr[var] = rr[var] + amount
    rows.append(np.asarray([[rr[s] if s != "time" else t_end_h for s in selections]]))
    out = np.vstack(rows)
    return {s: out[:, i] for i, s in enumerate(selections)}
