"""Simulation engine: the Antimony network compiled once by libroadrunner, run per condition.

Protocol of every simulation (Lisztwan et al. 2008, Breast Cancer Res 10:R56, methods):

1. **steroid deprivation** (pre-equilibration): the cells sit in stripped serum without
   androstenedione and without drugs for ``deprivation_h`` hours (default 240 h, long enough for
   every signalling state to reach steady state: the slowest turnover, IGF-1R at 0.05/h, leaves
   e^-12 of any transient); the cell population is then rescaled so that the viable cells are 1
   (the seeding density) with the deprived phase distribution and sub-G1 ratio kept;
2. **stimulation**: androstenedione and the drugs are added at time 0 and the model runs for
   ``days`` days. Drug concentrations may be constant or piecewise-constant schedules.

Observables (assignment rules of the network, same ids in the SBML export and in JSON output)
are listed in :data:`OBSERVABLES`.

Ensembles of parameter sets run in worker processes that each compile the model once
(:func:`run_ensemble`, ``backend="processes"``), or as Dask tasks on any Dask cluster
(``backend="dask"``), where each worker process also compiles the model once and caches it.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from letrolab.errors import InputError, ModelError
from letrolab.model.cell_lines import CellLine, get_cell_line
from letrolab.model.drugs import DrugCatalogue, load_catalogue

__all__ = [
    "OBSERVABLES",
    "EnsembleResult",
    "GridResult",
    "Model",
    "SimulationResult",
    "get_model",
    "network_antimony",
    "run_ensemble",
    "simulate",
    "simulate_grid",
]

NETWORK = Path(__file__).with_name("network.ant")
MODEL_ID = "letrolab_network"
DEFAULT_DEPRIVATION_H = 240.0
DEFAULT_ANDROSTENEDIONE_M = 10e-9
CELL_SPECIES = ("G1", "S", "G2M", "Apo")
#: The consumed aromatase substrate; the stimulation phase starts with it at ``androstenedione``.
SUBSTRATE_SPECIES = "A4"
_COMPILE_LOCK = threading.Lock()

#: Documented observables: id -> meaning. The same ids are SBML assignment-rule parameters.
#: Phospho readouts are fractions of their protein pool in the model, but only their ratios
#: between conditions are calibrated (like a Western blot normalised to a control lane).
OBSERVABLES: dict[str, str] = {
    "viable_cells": "viable cells relative to the seeding density (1 at time 0)",
    "mts_relative": "MTS (formazan) signal relative to the seeded well; proportional to viable cells",
    "sub_g1_fraction": "apoptotic (sub-G1) fraction of all harvested cells (PI flow cytometry)",
    "g1_fraction": "G0/G1 fraction of viable (non-sub-G1) cells",
    "s_fraction": "S fraction of viable cells",
    "g2m_fraction": "G2/M fraction of viable cells",
    "e2_nM": "estradiol concentration, nM",
    "a4_nM": "androstenedione left in the medium (consumed by aromatase), nM",
    "p_igf1r": "phospho-IGF-1R (pY1135/1136), relative units (IGF-1R expression x fraction phosphorylated)",
    "p_ir": "phospho-insulin receptor, relative units",
    "p_irs1_y": "tyrosine-phosphorylated IRS-1, relative units",
    "irs1_total": "total IRS-1 protein relative to the E2-stimulated MCF-7/Aro level",
    "igf1r_total": "total IGF-1R protein relative to the E2-stimulated MCF-7/Aro level",
    "pr_total": "progesterone receptor (ER target gene) relative to E2-stimulated MCF-7/Aro",
    "p_akt": "phospho-AKT S473, fraction of AKT",
    "p_mtorc1": "active mTORC1 fraction (before drug inhibition of its output)",
    "p_s6k": "phospho-S6K1 T389, fraction",
    "p_s6": "phospho-S6 S235/236, fraction",
    "p_erk": "phospho-ERK1/2, fraction",
    "p_er_s167": "ER-alpha phospho-S167 fraction (AKT, S6K1 sites)",
    "p_er_s118": "ER-alpha phospho-S118 fraction (ERK site)",
    "er_bound": "fraction of ER-alpha bound by E2",
    "er_activity": "ER transcriptional output (1 = E2-saturated, no drug)",
    "cyclin_d1": "cyclin D1 level, relative units",
    "p_rb": "hyperphosphorylated Rb fraction (free E2F)",
    "death_rate": "apoptosis rate, 1/h",
    "g1s_rate": "G1 -> S transition rate, 1/h",
}

_PARAM_LINE = re.compile(
    r"^\s*(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>[-+0-9.eE]+)\s*;?\s*//\s*(?P<unit>[^|]*)\|"
    r"\s*(?P<status>[^|]*?)\s*\|\s*(?P<source>.*)$"
)


def network_antimony(catalogue: DrugCatalogue | None = None) -> str:
    """Antimony text of the network with the drug catalogue's rules appended before ``end``."""
    text = NETWORK.read_text(encoding="utf-8")
    catalogue = catalogue or load_catalogue()
    head, sep, _tail = text.rpartition("\nend")
    if not sep:
        raise ModelError(f"{NETWORK} has no closing 'end'")
    return head + "\n" + _unit_statements(text) + catalogue.antimony() + "end\n"


#: Unit column of network.ant -> Antimony unit id.
_UNIT_IDS = {
    "1": "dimensionless",
    "nM": "nM",
    "1/h": "per_h",
    "nM/h": "nM_per_h",
    "1/(nM h)": "per_nM_per_h",
    "L": "volume",
}


def _unit_statements(text: str) -> str:
    """``has`` statements for documented parameters whose unit is not declared in the file."""
    declared = set(re.findall(r"\b(\w+) has \w+", text))
    lines = ["  // ---- units from the documented unit column (generated)"]
    for line in text.splitlines():
        m = _PARAM_LINE.match(line)
        if not m or m["name"] in declared:
            continue
        unit = _UNIT_IDS.get(m["unit"].strip())
        if unit is None:
            raise ModelError(f"network.ant: unknown unit {m['unit'].strip()!r} of {m['name']}")
        if unit != "volume":
            lines.append(f"  {m['name']} has {unit}")
    rate_rules = {"e2_nM": "nM", "a4_nM": "nM", "death_rate": "per_h", "g1s_rate": "per_h"}
    rate_rules |= {"k_g1s": "per_h", "k_apo": "per_h"}
    for name in re.findall(r"^\s*(\w+)\s*:=", text, flags=re.M):
        if name not in declared:
            lines.append(f"  {name} has {rate_rules.get(name, 'dimensionless')}")
    return "\n".join(lines) + "\n"


def _antimony_to_sbml(text: str) -> str:
    import antimony

    antimony.clearPreviousLoads()
    if antimony.loadAntimonyString(text) < 0:
        raise ModelError(f"the network does not compile: {antimony.getLastError().strip()}")
    sbml = antimony.getSBMLString(MODEL_ID)
    if not sbml:
        raise ModelError(f"Antimony produced no SBML: {antimony.getLastError().strip()}")
    return sbml


@dataclass(frozen=True)
class SimulationResult:
    """Trajectories of one condition.

    Attributes
    ----------
    cell_line : str
    conditions : dict
        Concentrations in nM (keys end in ``_nM``), days, deprivation hours, overrides.
    time_h : ndarray
        Output times in hours after stimulation.
    observables : dict of str to ndarray
        One array per observable id (see :data:`OBSERVABLES`).
    """

    cell_line: str
    conditions: dict
    time_h: np.ndarray
    observables: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.observables[name]
        except KeyError:
            raise InputError(
                f"unknown observable {name!r}; available: {', '.join(self.observables)}"
            ) from None

    def final(self, name: str) -> float:
        """Value of observable ``name`` at the last output time."""
        return float(self[name][-1])

    def at(self, name: str, hours: float) -> float:
        """Value of observable ``name`` at ``hours`` (linear interpolation between outputs)."""
        return float(np.interp(hours, self.time_h, self[name]))

    def summary(self) -> dict[str, Any]:
        """The JSON document of ``letrolab simulate --json``."""
        return {
            "cell_line": self.cell_line,
            "conditions": self.conditions,
            "time_h": self.time_h.tolist(),
            "observables": {k: v.tolist() for k, v in self.observables.items()},
        }

    def to_frame(self):
        """Tidy wide table: ``time_h`` and one column per observable."""
        import pandas as pd

        return pd.DataFrame({"time_h": self.time_h, **self.observables})

    def report(self) -> str:
        """Short text: the conditions and the final values of the main readouts."""
        keys = [
            k
            for k in ("viable_cells", "sub_g1_fraction", "e2_nM", "p_akt", "p_s6", "p_erk")
            if k in self.observables
        ]
        vals = ", ".join(f"{k}={self.final(k):.4g}" for k in keys)
        return f"{self.cell_line} {self.conditions.get('drugs_nM', {})} at {self.time_h[-1]:g} h: {vals}"


@dataclass(frozen=True)
class GridResult:
    """Many conditions sharing one pre-equilibration (a dose grid).

    ``values[i, j, k]`` is observable ``observables[k]`` at ``time_h[j]`` in condition ``i``
    (row ``i`` of ``conditions``, concentrations in nM).
    """

    cell_line: str
    conditions: Any  # pandas DataFrame
    time_h: np.ndarray
    observables: tuple[str, ...]
    values: np.ndarray

    def final(self, name: str) -> np.ndarray:
        """Observable ``name`` at the last time, one value per condition."""
        return self.values[:, -1, self._index(name)]

    def _index(self, name: str) -> int:
        try:
            return self.observables.index(name)
        except ValueError:
            raise InputError(
                f"observable {name!r} not simulated; available: {', '.join(self.observables)}"
            ) from None

    def to_frame(self):
        """Conditions with the final value of every observable."""
        df = self.conditions.copy()
        for k, name in enumerate(self.observables):
            df[name] = self.values[:, -1, k]
        return df

    def report(self) -> str:
        """The conditions with the final value of every observable, as text."""
        return f"{self.cell_line} at {self.time_h[-1]:g} h\n" + self.to_frame().to_string(
            index=False
        )

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: conditions table and final values."""
        return {
            "cell_line": self.cell_line,
            "time_h": float(self.time_h[-1]),
            "rows": self.to_frame().to_dict(orient="records"),
        }


@dataclass(frozen=True)
class EnsembleResult:
    """Observables of many parameter sets: ``values[i, j, k]`` = set i, time j, observable k.

    Sets whose integration failed have NaN rows and are listed in ``failed`` with the reason.
    """

    parameters: Any  # pandas DataFrame, one row per set
    time_h: np.ndarray
    observables: tuple[str, ...]
    values: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)

    def final(self, name: str) -> np.ndarray:
        """Observable ``name`` at the last time, one value per set."""
        return self.values[:, -1, self.observables.index(name)]

    def to_frame(self):
        """Parameter sets with the final value of every observable."""
        df = self.parameters.copy()
        for k, name in enumerate(self.observables):
            df[name] = self.values[:, -1, k]
        return df

    def report(self) -> str:
        """One line per observable: median and 90 % range of the final values."""
        doc = self.summary()
        lines = [f"{doc['n_sets']} parameter sets, {len(self.failed)} failed"]
        for name, q in doc["final_quantiles_5_50_95"].items():
            if q is not None:
                lines.append(f"{name}: median {q[1]:.4g} (5-95 %: {q[0]:.4g} - {q[2]:.4g})")
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """Size, failures and per-observable quantiles of the final values."""
        q = {}
        for name in self.observables:
            v = self.final(name)
            v = v[np.isfinite(v)]
            q[name] = np.quantile(v, [0.05, 0.5, 0.95]).tolist() if v.size else None
        return {
            "n_sets": int(self.values.shape[0]),
            "failed": {str(k): v for k, v in self.failed.items()},
            "final_quantiles_5_50_95": q,
        }


class Model:
    """The compiled network: one libroadrunner instance, reused for every run.

    Parameters
    ----------
    catalogue : DrugCatalogue, optional
        Drug catalogue whose drugs become model parameters (default: shipped ``drugs.csv``).
    rtol, atol : float
        CVODE tolerances (far below every comparison tolerance in the tests).
    """

    def __init__(
        self, *, catalogue: DrugCatalogue | None = None, rtol: float = 1e-8, atol: float = 1e-11
    ) -> None:
        import roadrunner

        self.catalogue = catalogue or load_catalogue()
        self.antimony = network_antimony(self.catalogue)
        with _COMPILE_LOCK:  # Antimony and the LLVM JIT keep global state: one compile at a time
            self.sbml = _antimony_to_sbml(self.antimony)
            try:
                rr = roadrunner.RoadRunner(self.sbml)
            except Exception as exc:  # pragma: no cover - compile failure is a packaging error
                raise ModelError(f"libroadrunner could not compile the network: {exc}") from exc
        rr.integrator.relative_tolerance = rtol
        rr.integrator.absolute_tolerance = atol
        rr.integrator.maximum_num_steps = 100000
        self._rr = rr
        m = rr.model
        self.species = tuple(m.getFloatingSpeciesIds())
        self._species_init = np.array(m.getFloatingSpeciesInitConcentrations(), dtype=float)
        ids = list(m.getGlobalParameterIds())
        rule_targets = set(rr.getAssignmentRuleIds())
        self._pindex = {p: i for i, p in enumerate(ids) if p not in rule_targets}
        self.parameters: dict[str, float] = {
            p: float(v)
            for p, v in zip(ids, m.getGlobalParameterValues(), strict=True)
            if p in self._pindex
        }
        missing = [o for o in OBSERVABLES if o not in rule_targets]
        if missing:
            raise ModelError(f"network lacks documented observables: {', '.join(missing)}")
        self._cell_idx = np.array([self.species.index(s) for s in CELL_SPECIES])
        self._viable_idx = self._cell_idx[:3]
        self._a4_idx = self.species.index(SUBSTRATE_SPECIES)
        self._drug_params = {d.name: d.parameter for d in self.catalogue}

    # ------------------------------------------------------------------ parameters
    def parameter_table(self):
        """Every network parameter with value, unit, status and source (from network.ant)."""
        import pandas as pd

        rows = []
        for line in NETWORK.read_text(encoding="utf-8").splitlines():
            m = _PARAM_LINE.match(line)
            if m:
                rows.append(
                    {
                        "parameter": m["name"],
                        "value": float(m["value"]),
                        "unit": m["unit"].strip(),
                        "status": m["status"].strip(),
                        "source": m["source"].strip(),
                    }
                )
        return pd.DataFrame(rows)

    def resolve(
        self, cell_line: str | CellLine, parameters: Mapping[str, float] | None = None
    ) -> tuple[CellLine, dict[str, float]]:
        """Full parameter dict for ``cell_line`` plus ``parameters`` overrides (validated)."""
        cl = get_cell_line(cell_line)
        values = dict(self.parameters)
        for src, ov in (("cell line " + cl.name, cl.overrides), ("parameters", parameters or {})):
            for k, v in ov.items():
                if k not in values:
                    raise InputError(
                        f"{src}: unknown model parameter {k!r}; see Model().parameter_table()"
                    )
                v = float(v)
                if not math.isfinite(v) or v < 0:
                    raise InputError(f"{src}: parameter {k!r} must be finite and >= 0, got {v}")
                values[k] = v
        return cl, values

    def drug_parameter(self, name: str) -> str:
        """Model parameter id holding the concentration of drug ``name`` (alias-aware)."""
        return self.catalogue[name].parameter

    def _set(self, values: Mapping[str, float]) -> None:
        idx = np.fromiter((self._pindex[k] for k in values), dtype=np.int32, count=len(values))
        self._rr.model.setGlobalParameterValues(idx, np.fromiter(values.values(), dtype=float))

    # ------------------------------------------------------------------ protocol
    def preequilibrate(
        self, values: Mapping[str, float], *, hours: float, start: np.ndarray | None = None
    ) -> np.ndarray:
        """Steroid-deprivation state for parameter dict ``values`` (drugs and A4 off).

        ``start`` is the state the deprivation begins from (default: the network's initial
        values). Ensembles warm-start from the deprived state of their base parameter set,
        which reaches the same steady state in far fewer solver steps.

        Returns the floating-species concentration vector with the cell population rescaled to
        one viable cell unit.
        """
        rr = self._rr
        v = dict(values)
        v["androstenedione"] = 0.0
        for p in self._drug_params.values():
            v[p] = 0.0
        self._set(v)
        rr.model.setFloatingSpeciesConcentrations(
            self._species_init if start is None else np.asarray(start, dtype=float)
        )
        rr.model.setTime(0.0)
        if hours > 0:
            try:
                rr.simulate(0.0, float(hours), 2, selections=["time"])
            except RuntimeError as exc:
                raise ModelError(f"steroid-deprivation phase failed to integrate: {exc}") from exc
        state = np.array(rr.model.getFloatingSpeciesConcentrations(), dtype=float)
        viable = state[self._viable_idx].sum()
        if not (np.all(np.isfinite(state)) and viable > 0):
            raise ModelError(
                "steroid-deprivation phase failed: the population died out or diverged"
            )
        state[self._cell_idx] /= viable
        return state

    def dosed(self, state: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
        """``state`` with the medium substrate set to ``values["androstenedione"]`` (nM).

        Stimulation starts with a medium change that adds androstenedione; from then on the
        substrate is consumed by aromatase (network.ant, steroid module).
        """
        out = np.array(state, dtype=float)
        out[self._a4_idx] = float(values["androstenedione"])
        return out

    def run(
        self,
        values: Mapping[str, float],
        state: np.ndarray,
        times: np.ndarray,
        selections: Sequence[str],
        *,
        schedule: Sequence[tuple[float, Mapping[str, float]]] = (),
    ) -> np.ndarray:
        """Integrate from ``state`` over ``times`` (h); ``schedule`` = [(t, {param: value})].

        Parameter changes in ``schedule`` take effect at their time (piecewise-constant inputs).
        Returns an array ``(len(times), len(selections))``.
        """
        rr = self._rr
        self._set(values)
        rr.model.setFloatingSpeciesConcentrations(self.dosed(state, values))
        times = np.asarray(times, dtype=float)
        sel = ["time", *selections]
        breaks = sorted({float(t) for t, _ in schedule if times[0] < t < times[-1]})
        edges = [float(times[0]), *breaks, float(times[-1])]
        changes: dict[float, dict[str, float]] = {}
        for t, upd in schedule:
            changes.setdefault(float(t), {}).update(upd)
        first = {
            k: v for t, upd in sorted(changes.items()) if t <= times[0] for k, v in upd.items()
        }
        if first:
            self._set(first)
        out = []
        for a, b in itertools.pairwise(edges):
            if a in changes and a > times[0]:
                self._set(changes[a])
            inside = times[(times > a) & (times < b)]
            seg_t = np.concatenate([[a], inside, [b]])
            try:
                res = np.asarray(rr.simulate(times=seg_t.tolist(), selections=sel))
            except RuntimeError as exc:
                raise ModelError(f"integration failed between {a:g} h and {b:g} h: {exc}") from exc
            keep = np.isin(seg_t, times)
            if out:
                keep[0] = False  # already emitted as the end of the previous segment
            out.append(res[keep, 1:])
        return np.vstack(out)

    def run_sets(
        self,
        base: Mapping[str, float],
        names: Sequence[str],
        rows: np.ndarray,
        *,
        inputs: Mapping[str, float],
        times: np.ndarray,
        selections: Sequence[str],
        hours: float,
        warm_start: bool = True,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """The protocol for many parameter sets, with parameters and state set as arrays.

        Same result as :meth:`preequilibrate` then :meth:`run` per set (``base`` updated with
        each row of ``rows`` for the parameters ``names``; ``inputs`` = androstenedione and
        drug concentrations of the stimulation phase), without per-set dictionaries. Sets that
        fail to integrate are NaN rows, listed with the reason.
        """
        rr, m = self._rr, self._rr.model
        keys = list(self._pindex)
        pos = {k: i for i, k in enumerate(keys)}
        idx_all = np.array([self._pindex[k] for k in keys], dtype=np.int32)
        vec0 = np.array([float(base[k]) for k in keys])
        var = np.array([pos[n] for n in names], dtype=np.int64)
        zero = np.array(
            [pos["androstenedione"], *(pos[p] for p in self._drug_params.values())],
            dtype=np.int64,
        )
        inp = np.array([pos[k] for k in inputs], dtype=np.int64)
        inp_vals = np.array([float(v) for v in inputs.values()])
        start = self.preequilibrate(base, hours=hours) if warm_start else self._species_init
        t_list = np.asarray(times, dtype=float).tolist()
        sel = ["time", *selections]
        out = np.full((rows.shape[0], len(t_list), len(selections)), np.nan)
        failed: dict[int, str] = {}
        for i, row in enumerate(np.asarray(rows, dtype=float)):
            vec = vec0.copy()
            vec[var] = row
            dep = vec.copy()
            dep[zero] = 0.0
            vec[inp] = inp_vals
            try:
                m.setGlobalParameterValues(idx_all, dep)
                m.setFloatingSpeciesConcentrations(start)
                m.setTime(0.0)
                if hours > 0:
                    rr.simulate(0.0, float(hours), 2, selections=["time"])
                state = np.array(m.getFloatingSpeciesConcentrations(), dtype=float)
                viable = state[self._viable_idx].sum()
                if not (np.all(np.isfinite(state)) and viable > 0):
                    raise ModelError("steroid-deprivation phase failed: the population died out")
                state[self._cell_idx] /= viable
                m.setGlobalParameterValues(idx_all, vec)
                state[self._a4_idx] = vec[pos["androstenedione"]]
                m.setFloatingSpeciesConcentrations(state)
                out[i] = self._integrate(t_list, sel)[:, 1:]
            except (ModelError, RuntimeError) as exc:
                failed[i] = str(exc)
        return out, failed

    def _integrate(self, times: list[float], selections: list[str]) -> np.ndarray:
        try:
            return np.asarray(self._rr.simulate(times=times, selections=selections))
        except RuntimeError as exc:
            raise ModelError(
                f"integration failed between {times[0]:g} h and {times[-1]:g} h: {exc}"
            ) from exc


_MODELS = threading.local()


def get_model(catalogue: str | os.PathLike | None = None) -> Model:
    """The compiled model for ``catalogue``, compiled once per process and thread, then reused.

    A libroadrunner instance holds integrator state, so threads (e.g. a threaded Dask
    scheduler) each get their own; processes each compile once.
    """
    p = Path(catalogue) if catalogue else Path(load_catalogue().source)
    if not p.is_file():
        raise InputError(f"drug catalogue {p} not found")
    key = (str(p.resolve()), p.stat().st_mtime)
    cache = getattr(_MODELS, "cache", None)
    if cache is None:
        cache = _MODELS.cache = {}
    if key not in cache:
        cache[key] = Model(catalogue=load_catalogue(key[0]))
    return cache[key]


# ---------------------------------------------------------------------- public functions
def _molar(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a concentration in molar, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise InputError(f"{name} must be a finite concentration >= 0 M, got {value!r}")
    if v > 1e-2:
        raise InputError(
            f"{name} = {v:g} M is implausibly high; the API takes molar (e.g. 1e-7 for 100 nM)"
        )
    return v


def _nm(molar: float) -> float:
    """Molar to nM for reports, without binary round-off noise (1e-7 M -> 100.0)."""
    return float(f"{molar * 1e9:.12g}")


def _time_grid(days: float, points_per_day: int) -> np.ndarray:
    if not (isinstance(days, (int, float)) and math.isfinite(days) and days > 0):
        raise InputError(f"days must be a positive number, got {days!r}")
    if int(points_per_day) < 1:
        raise InputError("points_per_day must be at least 1")
    n = max(2, round(days * points_per_day) + 1)
    return np.linspace(0.0, days * 24.0, n)


def _drug_inputs(
    model: Model, drugs: Mapping[str, Any] | None
) -> tuple[dict[str, float], list[tuple[float, dict[str, float]]], dict[str, Any]]:
    """Constant drug parameters (nM), schedule entries and the reported conditions."""
    const: dict[str, float] = {}
    schedule: list[tuple[float, dict[str, float]]] = []
    report: dict[str, Any] = {}
    for name, conc in (drugs or {}).items():
        drug = model.catalogue[name]
        p = drug.parameter
        if p in const or any(p in u for _, u in schedule):
            raise InputError(f"drug {drug.name!r} given twice")
        if isinstance(conc, tuple) and len(conc) == 2:
            t, c = (np.asarray(x, dtype=float).ravel() for x in conc)
            if t.size != c.size or t.size == 0:
                raise InputError(
                    f"schedule of {drug.name}: times and concentrations differ in length"
                )
            if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
                raise InputError(f"schedule of {drug.name}: times must be finite and increasing")
            cs = [_molar(f"concentration of {drug.name}", x) for x in c]
            const[p] = 0.0
            schedule.extend((float(ti), {p: ci * 1e9}) for ti, ci in zip(t, cs, strict=True))
            report[drug.name] = {"time_h": t.tolist(), "conc_nM": [_nm(x) for x in cs]}
        else:
            c = _molar(f"concentration of {drug.name}", conc)
            const[p] = c * 1e9
            report[drug.name] = _nm(c)
    return const, schedule, report


def _check_obs(observables: Sequence[str] | None) -> tuple[str, ...]:
    obs = tuple(observables) if observables is not None else tuple(OBSERVABLES)
    bad = [o for o in obs if o not in OBSERVABLES]
    if bad:
        raise InputError(f"unknown observable(s) {', '.join(bad)}; see letrolab.model.OBSERVABLES")
    return obs


def simulate(
    cell_line: str | CellLine = "mcf7-aro",
    *,
    androstenedione: float = DEFAULT_ANDROSTENEDIONE_M,
    igf1: float | None = None,
    insulin: float | None = None,
    drugs: Mapping[str, Any] | None = None,
    days: float = 6.0,
    points_per_day: int = 24,
    deprivation_h: float = DEFAULT_DEPRIVATION_H,
    parameters: Mapping[str, float] | None = None,
    observables: Sequence[str] | None = None,
    model: Model | None = None,
) -> SimulationResult:
    """Simulate one condition: steroid deprivation, then androstenedione + drugs for ``days``.

    Parameters
    ----------
    cell_line : str or CellLine
        ``"mcf7-aro"``, ``"t47d-aro"``, ``"mcf7-aro-lr"`` (aliases accepted) or a derived line.
    androstenedione, igf1, insulin : float
        Medium concentrations in molar; ``igf1`` / ``insulin`` default to the stripped-serum
        values of the network (0.65 nM, 0.1 nM).
    drugs : mapping
        Drug name (from the catalogue) -> concentration in molar, or -> ``(times_h, conc_M)``
        for a piecewise-constant schedule (each concentration holds from its time on).
    days : float
        Duration of the stimulation phase.
    points_per_day : int
        Output resolution (24 = hourly).
    deprivation_h : float
        Length of the steroid-deprivation pre-equilibration.
    parameters : mapping, optional
        Extra model-parameter overrides on top of the cell line.
    observables : sequence of str, optional
        Subset of :data:`OBSERVABLES` (default: all).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> r = simulate("mcf7-aro", drugs={"letrozole": 1e-6}, days=1, points_per_day=1)
    >>> r.final("e2_nM") < 0.01 * simulate("mcf7-aro", days=1, points_per_day=1).final("e2_nM")
    True
    """
    model = model or get_model()
    obs = _check_obs(observables)
    cl, values = model.resolve(cell_line, parameters)
    if igf1 is not None:
        values["igf1"] = _molar("igf1", igf1) * 1e9
    if insulin is not None:
        values["insulin"] = _molar("insulin", insulin) * 1e9
    a4 = _molar("androstenedione", androstenedione)
    times = _time_grid(days, points_per_day)
    if not (math.isfinite(deprivation_h) and deprivation_h >= 0):
        raise InputError(f"deprivation_h must be >= 0, got {deprivation_h!r}")
    const, schedule, drug_report = _drug_inputs(model, drugs)
    state = model.preequilibrate(values, hours=deprivation_h)
    run_values = {**values, **const, "androstenedione": a4 * 1e9}
    data = model.run(run_values, state, times, obs, schedule=schedule)
    conditions = {
        "androstenedione_nM": _nm(a4),
        "igf1_nM": values["igf1"],
        "insulin_nM": values["insulin"],
        "drugs_nM": drug_report,
        "days": float(days),
        "deprivation_h": float(deprivation_h),
    }
    if parameters:
        conditions["parameters"] = {k: float(v) for k, v in parameters.items()}
    return SimulationResult(
        cell_line=cl.name,
        conditions=conditions,
        time_h=times,
        observables={o: data[:, k].copy() for k, o in enumerate(obs)},
    )


def simulate_grid(
    cell_line: str | CellLine = "mcf7-aro",
    *,
    drugs: Mapping[str, Sequence[float]],
    combine: str = "grid",
    androstenedione: float = DEFAULT_ANDROSTENEDIONE_M,
    igf1: float | None = None,
    insulin: float | None = None,
    days: float = 6.0,
    points_per_day: int = 1,
    deprivation_h: float = DEFAULT_DEPRIVATION_H,
    parameters: Mapping[str, float] | None = None,
    observables: Sequence[str] | None = None,
    model: Model | None = None,
) -> GridResult:
    """Simulate a dose grid (all conditions share one steroid-deprivation pre-equilibration).

    Parameters
    ----------
    drugs : mapping of str to sequence of float
        Concentrations in molar per drug. ``combine="grid"`` runs the full factorial grid,
        ``"zip"`` pairs the i-th concentrations of every drug (e.g. a constant-ratio series).
    Other parameters as in :func:`simulate`.

    Returns
    -------
    GridResult
    """
    import pandas as pd

    model = model or get_model()
    obs = _check_obs(observables)
    if not drugs:
        raise InputError("simulate_grid needs at least one drug with concentrations")
    if combine not in ("grid", "zip"):
        raise InputError(f"combine must be 'grid' or 'zip', got {combine!r}")
    names = [model.catalogue[n].name for n in drugs]
    cols = [
        np.array([_molar(f"concentration of {n}", c) for c in np.atleast_1d(v)])
        for n, v in zip(names, drugs.values(), strict=True)
    ]
    if combine == "zip":
        if len({c.size for c in cols}) != 1:
            raise InputError("combine='zip' needs the same number of concentrations per drug")
        table = np.column_stack(cols)
    else:
        mesh = np.meshgrid(*cols, indexing="ij")
        table = np.column_stack([m.ravel() for m in mesh])
    cl, values = model.resolve(cell_line, parameters)
    if igf1 is not None:
        values["igf1"] = _molar("igf1", igf1) * 1e9
    if insulin is not None:
        values["insulin"] = _molar("insulin", insulin) * 1e9
    a4 = _molar("androstenedione", androstenedione) * 1e9
    times = _time_grid(days, points_per_day)
    state = model.preequilibrate(values, hours=deprivation_h)
    params = [model.catalogue[n].parameter for n in names]
    out = np.empty((table.shape[0], times.size, len(obs)))
    base = {**values, "androstenedione": a4}
    for i, row in enumerate(table):
        v = dict(base)
        v.update({p: c * 1e9 for p, c in zip(params, row, strict=True)})
        out[i] = model.run(v, state, times, obs)
    cond = pd.DataFrame({f"{n}_nM": table[:, j] * 1e9 for j, n in enumerate(names)})
    return GridResult(cell_line=cl.name, conditions=cond, time_h=times, observables=obs, values=out)


# ---------------------------------------------------------------------- ensembles
@dataclass(frozen=True)
class _EnsembleSpec:
    cell_line: CellLine
    catalogue: str
    base_parameters: dict[str, float]
    drugs_nM: dict[str, float]
    androstenedione_nM: float
    times: np.ndarray
    observables: tuple[str, ...]
    deprivation_h: float
    names: tuple[str, ...]
    warm_start: bool = True


def _run_chunk(spec: _EnsembleSpec, rows: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Simulate parameter sets ``rows`` (one per row, columns ``spec.names``) in this process."""
    model = get_model(spec.catalogue)
    _cl, base = model.resolve(spec.cell_line, spec.base_parameters)
    return model.run_sets(
        base,
        spec.names,
        rows,
        inputs={**spec.drugs_nM, "androstenedione": spec.androstenedione_nM},
        times=spec.times,
        selections=spec.observables,
        hours=spec.deprivation_h,
        warm_start=spec.warm_start,
    )


def _default_start_method() -> str:
    import multiprocessing as mp
    import threading

    if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _worker_init(catalogue: str) -> None:
    get_model(catalogue)  # compile once per worker process


def run_ensemble(
    parameter_sets,
    *,
    cell_line: str | CellLine = "mcf7-aro",
    androstenedione: float = DEFAULT_ANDROSTENEDIONE_M,
    drugs: Mapping[str, float] | None = None,
    days: float = 6.0,
    points_per_day: int = 1,
    deprivation_h: float = DEFAULT_DEPRIVATION_H,
    parameters: Mapping[str, float] | None = None,
    observables: Sequence[str] | None = ("viable_cells", "sub_g1_fraction"),
    n_workers: int | None = None,
    backend: str = "processes",
    chunks_per_worker: int = 4,
    warm_start: bool = True,
    start_method: str | None = None,
) -> EnsembleResult:
    """Simulate many parameter sets of one condition in parallel.

    Parameters
    ----------
    parameter_sets : pandas.DataFrame or mapping of str to array
        One column per model parameter, one row per set (values override the cell line).
    backend : {"processes", "dask", "serial"}
        ``"processes"``: a local pool of ``n_workers`` processes (default: CPU count), each
        compiling the model once in its initializer. ``"dask"``: one Dask task per chunk,
        computed by the active Dask scheduler or ``distributed.Client`` (a cluster larger than
        one machine); each Dask worker compiles the model once and caches it. ``"serial"``: in
        this process.
    start_method : {"fork", "spawn", "forkserver"}, optional
        How worker processes start. Default: ``"fork"`` where available and this process runs
        a single thread (workers inherit the compiled model, start in milliseconds), else
        ``"spawn"`` (each worker imports letrolab and compiles the model once, ~1-2 s).
    warm_start : bool
        Start each set's steroid deprivation from the deprived state of the base parameter set
        (the cell line) instead of the network's initial values: the same steady state, with
        less solver work (about a fifth of the deprivation phase here) and a smaller residual
        transient (results agree with cold starts to ~1e-5).
    Other parameters as in :func:`simulate` (concentrations in molar).

    Returns
    -------
    EnsembleResult
    """
    import pandas as pd

    frame = pd.DataFrame(parameter_sets).reset_index(drop=True)
    if frame.empty:
        raise InputError("parameter_sets is empty; give one column per parameter, one row per set")
    model = get_model()
    obs = _check_obs(observables)
    unknown = [c for c in frame.columns if c not in model.parameters]
    if unknown:
        raise InputError(f"unknown model parameter(s) {', '.join(map(str, unknown))}")
    rows = frame.to_numpy(dtype=float)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise InputError("parameter_sets must hold finite values >= 0")
    cl, _ = model.resolve(cell_line, parameters)
    const, schedule, _rep = _drug_inputs(model, drugs)
    if schedule:
        raise InputError("run_ensemble takes constant drug concentrations only")
    spec = _EnsembleSpec(
        cell_line=cl,
        catalogue=model.catalogue.source,
        base_parameters=dict(parameters or {}),
        drugs_nM=const,
        androstenedione_nM=_molar("androstenedione", androstenedione) * 1e9,
        times=_time_grid(days, points_per_day),
        observables=obs,
        deprivation_h=float(deprivation_h),
        names=tuple(map(str, frame.columns)),
        warm_start=bool(warm_start),
    )
    n_workers = n_workers or os.cpu_count() or 1
    n_chunks = max(1, min(len(rows), n_workers * chunks_per_worker))
    pieces = np.array_split(np.arange(len(rows)), n_chunks)
    if backend == "serial" or (backend == "processes" and n_workers == 1):
        results = [_run_chunk(spec, rows[idx]) for idx in pieces]
    elif backend == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        method = start_method or _default_start_method()
        with ProcessPoolExecutor(
            max_workers=n_workers,
            mp_context=mp.get_context(method),
            initializer=_worker_init,
            initargs=(spec.catalogue,),
        ) as pool:
            results = list(pool.map(_run_chunk, [spec] * len(pieces), [rows[i] for i in pieces]))
    elif backend == "dask":
        import dask

        tasks = [dask.delayed(_run_chunk)(spec, rows[idx]) for idx in pieces]
        results = list(dask.compute(*tasks))
    else:
        raise InputError(f"backend must be 'processes', 'dask' or 'serial', got {backend!r}")
    values = np.concatenate([r[0] for r in results], axis=0)
    failed: dict[int, str] = {}
    for idx, (_, f) in zip(pieces, results, strict=True):
        failed.update({int(idx[k]): msg for k, msg in f.items()})
    return EnsembleResult(
        parameters=frame, time_h=spec.times, observables=obs, values=values, failed=failed
    )
