"""Measurements and conditions of a lab's experiment, in PEtab's shape, checked row by row.

A fit problem holds two tables (PEtab v1 layout; Schmiester et al. 2021, PLoS Comput Biol
17:e1008646):

* **conditions**: ``conditionId, cell_line`` and concentration columns named ``<what>_<unit>``
  — ``androstenedione_nM``, ``igf1_nM`` and one column per catalogued drug (``letrozole_nM``,
  ``everolimus_uM``, ...). Units pM, nM, uM, mM, M; a missing column means 0 (drugs) or the
  network default (ligands).
* **measurements**: ``observableId, simulationConditionId, time, measurement`` and optionally
  ``timeUnit`` (h or d, default h), ``unit`` (the readout's unit, checked against the
  observable) and ``noise`` (a known SD on the observable's noise scale; empty = estimated).

The observables a lab can measure are :data:`FIT_OBSERVABLES`: each names the model observable,
its observation model (``scaled``: a relative readout ``s * y`` with a fitted scale ``s``,
e.g. an MTS signal or a blot band ratio; ``absolute``: a fraction read as it is) and its noise
model (``lognormal`` for multiplicative read-outs, ``normal`` for fractions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab.errors import InputError, UnitError
from letrolab.model.cell_lines import get_cell_line
from letrolab.model.drugs import load_catalogue
from letrolab.units import molar_factor

__all__ = [
    "BLOT_TARGETS",
    "CELL_CYCLE_COLUMNS",
    "FIT_OBSERVABLES",
    "FitData",
    "ObservableSpec",
    "check_conditions",
    "check_fit_data",
    "from_blot",
    "from_cell_cycle",
    "from_dose_response",
    "read_fit_data",
]


@dataclass(frozen=True)
class ObservableSpec:
    """How one measured readout relates to the model.

    Attributes
    ----------
    model_id : str
        Model observable (:data:`letrolab.model.OBSERVABLES`).
    kind : {"scaled", "absolute"}
        ``scaled``: measurement = ``scale * model``, the scale fitted per observable.
    noise : {"normal", "lognormal"}
    units : tuple of str
        Accepted values of the ``unit`` column (the first is the default).
    default_sd : float
        SD used when the table gives none (log scale for lognormal), before it is re-estimated.
    """

    model_id: str
    kind: str
    noise: str
    units: tuple[str, ...]
    default_sd: float


#: Readouts a lab can bring, by observableId.
FIT_OBSERVABLES: dict[str, ObservableSpec] = {
    "viability": ObservableSpec("viable_cells", "scaled", "lognormal", ("relative", "%"), 0.1),
    "mts": ObservableSpec("mts_relative", "scaled", "lognormal", ("absorbance", "relative"), 0.1),
    "sub_g1": ObservableSpec("sub_g1_fraction", "absolute", "normal", ("fraction",), 0.01),
    "g1": ObservableSpec("g1_fraction", "absolute", "normal", ("fraction",), 0.02),
    "s_phase": ObservableSpec("s_fraction", "absolute", "normal", ("fraction",), 0.02),
    "g2m": ObservableSpec("g2m_fraction", "absolute", "normal", ("fraction",), 0.02),
    "p_akt": ObservableSpec("p_akt", "scaled", "lognormal", ("relative",), 0.2),
    "p_s6": ObservableSpec("p_s6", "scaled", "lognormal", ("relative",), 0.2),
    "p_erk": ObservableSpec("p_erk", "scaled", "lognormal", ("relative",), 0.2),
    "p_igf1r": ObservableSpec("p_igf1r", "scaled", "lognormal", ("relative",), 0.2),
}

_CONC_COL = re.compile(r"^(?P<what>.+)_(?P<unit>pM|nM|uM|µM|mM|M)$")
_LIGANDS = ("androstenedione", "igf1", "insulin")
_ID = re.compile(r"^[A-Za-z_]\w*$")
_TIME = {"h": 1.0, "d": 24.0}


@dataclass(frozen=True)
class FitData:
    """Checked measurements and conditions (concentrations in nM, times in h).

    Attributes
    ----------
    measurements : DataFrame
        ``observableId, simulationConditionId, time, measurement, noise`` (time in h; noise
        NaN where it is to be estimated).
    conditions : DataFrame
        ``conditionId, cell_line`` and ``<ligand or drug>_nM`` columns (all present, numbers).
    """

    measurements: pd.DataFrame
    conditions: pd.DataFrame

    @property
    def observables(self) -> list[str]:
        return sorted(self.measurements["observableId"].unique())

    @property
    def drugs(self) -> list[str]:
        return [
            c[:-3] for c in self.conditions.columns if c.endswith("_nM") and c[:-3] not in _LIGANDS
        ]


def check_conditions(df: pd.DataFrame) -> pd.DataFrame:
    """Check a conditions table and return it with every concentration in nM (module docstring)."""
    cat = load_catalogue()
    if "conditionId" not in df.columns or "cell_line" not in df.columns:
        raise InputError("conditions table needs columns conditionId and cell_line")
    out = pd.DataFrame({"conditionId": df["conditionId"].astype(str)})
    if out["conditionId"].duplicated().any():
        dup = out.loc[out["conditionId"].duplicated(), "conditionId"].iloc[0]
        raise InputError(f"conditions table: conditionId {dup!r} appears twice")
    for i, cid in enumerate(out["conditionId"]):
        if not _ID.match(cid):
            raise InputError(
                f"conditions row {i + 1}: conditionId {cid!r} must be letters, digits and "
                "underscores, not starting with a digit (PEtab identifiers)"
            )
    lines = []
    for i, v in enumerate(df["cell_line"]):
        try:
            lines.append(get_cell_line(str(v)).name)
        except Exception as exc:  # unknown line: name the row
            raise InputError(f"conditions row {i + 1}: unknown cell line {v!r} ({exc})") from None
    out["cell_line"] = lines
    for col in df.columns:
        if col in ("conditionId", "cell_line", "conditionName"):
            continue
        m = _CONC_COL.match(str(col))
        if not m:
            raise UnitError(
                f"conditions column {col!r}: name concentrations <drug or ligand>_<unit> with a "
                "unit pM, nM, uM, mM or M (e.g. letrozole_nM)"
            )
        what = m["what"].lower()
        if what not in _LIGANDS:
            if what not in cat:
                raise InputError(f"conditions column {col!r}: unknown drug {m['what']!r}")
            what = cat[what].name
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(vals) | (vals < 0)
        if bad.any():
            raise InputError(
                f"conditions row {int(np.argmax(bad)) + 1}: {col} is not a number >= 0"
            )
        key = f"{what}_nM"
        if key in out.columns:
            raise InputError(f"conditions table: {what} given in two columns")
        out[key] = vals * molar_factor(m["unit"].replace("µ", "u")) * 1e9
    if "androstenedione_nM" not in out.columns:
        out["androstenedione_nM"] = 10.0
    return out


def _measurements(df: pd.DataFrame, condition_ids: set[str]) -> pd.DataFrame:
    need = {"observableId", "simulationConditionId", "time", "measurement"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise InputError(f"measurements table lacks column(s) {', '.join(missing)}")
    out = df[sorted(need)].copy()
    out["observableId"] = out["observableId"].astype(str)
    out["simulationConditionId"] = out["simulationConditionId"].astype(str)
    t_unit = (
        df["timeUnit"].fillna("h").astype(str)
        if "timeUnit" in df.columns
        else pd.Series("h", df.index)
    )
    units = df["unit"] if "unit" in df.columns else pd.Series([None] * len(df), df.index)
    noise = (
        pd.to_numeric(df["noise"], errors="coerce")
        if "noise" in df.columns
        else pd.Series(np.nan, df.index)
    )
    times, meas = [], []
    seen_unit: dict[str, str] = {}
    for i, (r, tu, u, sd) in enumerate(zip(out.itertuples(), t_unit, units, noise, strict=True)):
        row = f"measurements row {i + 1}"
        spec = FIT_OBSERVABLES.get(r.observableId)
        if spec is None:
            raise InputError(
                f"{row}: unknown observable {r.observableId!r}; known: {', '.join(FIT_OBSERVABLES)}"
            )
        if r.simulationConditionId not in condition_ids:
            raise InputError(f"{row}: unknown condition {r.simulationConditionId!r}")
        if tu not in _TIME:
            raise UnitError(f"{row}: unknown time unit {tu!r}; use h or d")
        unit = spec.units[0] if u is None or (isinstance(u, float) and math.isnan(u)) else str(u)
        if unit not in spec.units:
            raise UnitError(
                f"{row}: unit {unit!r} is not one of {', '.join(spec.units)} for {r.observableId}"
            )
        if seen_unit.setdefault(r.observableId, unit) != unit:
            raise InputError(
                f"{row}: {r.observableId} mixes scales ({seen_unit[r.observableId]!r} and {unit!r}); "
                "give every row of one observable on one scale"
            )
        t, y = float(r.time) * _TIME[tu], float(r.measurement)
        if not (math.isfinite(t) and t > 0):
            raise InputError(f"{row}: time must be a number > 0, got {r.time!r}")
        if not math.isfinite(y) or (spec.noise == "lognormal" and y <= 0) or y < 0:
            raise InputError(
                f"{row}: measurement {r.measurement!r} is not usable for {r.observableId}"
            )
        if spec.kind == "absolute" and y > 1:
            raise InputError(
                f"{row}: {r.observableId} is a fraction (0-1), got {y:g}; percentages mix scales"
            )
        if not (math.isnan(sd) or sd > 0):
            raise InputError(f"{row}: noise must be > 0 or empty, got {sd!r}")
        times.append(t)
        meas.append(y)
    out["time"] = times
    out["measurement"] = meas
    out["noise"] = noise.to_numpy(dtype=float)
    return out[
        ["observableId", "simulationConditionId", "time", "measurement", "noise"]
    ].reset_index(drop=True)


def check_fit_data(measurements: pd.DataFrame, conditions: pd.DataFrame) -> FitData:
    """Check and normalise the two tables (see the module docstring).

    Raises
    ------
    InputError, UnitError
        One line naming the offending row or column.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"conditionId": ["c0"], "cell_line": ["mcf7-aro"], "letrozole_uM": [1]})
    >>> m = pd.DataFrame({"observableId": ["sub_g1"], "simulationConditionId": ["c0"],
    ...                   "time": [6], "timeUnit": ["d"], "measurement": [0.05]})
    >>> d = check_fit_data(m, c)
    >>> float(d.conditions["letrozole_nM"].iloc[0]), float(d.measurements["time"].iloc[0])
    (1000.0, 144.0)
    """
    cond = check_conditions(conditions)
    meas = _measurements(measurements, set(cond["conditionId"]))
    if meas.empty:
        raise InputError("measurements table has no rows")
    return FitData(meas, cond)


def read_fit_data(measurements: str | Path, conditions: str | Path) -> FitData:
    """Read the two tables from CSV or TSV files and check them (:func:`check_fit_data`)."""
    frames = []
    for p in (Path(measurements), Path(conditions)):
        if not p.is_file():
            raise InputError(f"{p} not found")
        frames.append(pd.read_csv(p, sep=None, engine="python"))
    return check_fit_data(*frames)


def from_dose_response(
    table: pd.DataFrame,
    *,
    cell_line: str = "mcf7-aro",
    days: float = 6.0,
    observable: str = "viability",
    medium: Mapping[str, float] | None = None,
) -> FitData:
    """A tidy single-agent/combination table (SynergyFinder layout) as fit data.

    ``table`` has ``drug_row, drug_col, conc_r, conc_c, response`` with ``conc_r_unit`` /
    ``conc_c_unit`` (default nM) and the response as % viability of vehicle (the shape
    :func:`letrolab.synergy.tidy.read_combination` reads). Each distinct dose pair becomes a
    condition; ``medium`` adds ``<ligand>_nM`` values to every condition.
    """
    need = {"drug_row", "drug_col", "conc_r", "conc_c", "response"}
    missing = sorted(need - set(table.columns))
    if missing:
        raise InputError(f"dose-response table lacks column(s) {', '.join(missing)}")
    rows_c: dict[tuple, str] = {}
    meas = []
    for i, r in enumerate(table.itertuples(index=False)):
        key = []
        for drug, conc, ucol in (
            (r.drug_row, r.conc_r, "conc_r_unit"),
            (r.drug_col, r.conc_c, "conc_c_unit"),
        ):
            unit = getattr(r, ucol, "nM") if ucol in table.columns else "nM"
            try:
                nm = float(conc) * molar_factor(str(unit)) * 1e9
            except UnitError as exc:
                raise UnitError(f"dose-response row {i + 1}: {exc}") from None
            if isinstance(drug, str) and drug and nm > 0:
                key.append((drug, nm))
        k = tuple(sorted(key))
        cid = rows_c.setdefault(k, f"c{len(rows_c)}")  # PEtab-valid ids
        meas.append(
            {
                "observableId": observable,
                "simulationConditionId": cid,
                "time": days,
                "timeUnit": "d",
                "measurement": float(r.response) / 100.0,
                "unit": "relative",
            }
        )
    drugs = sorted({d for k in rows_c for d, _ in k})
    cond = pd.DataFrame({"conditionId": list(rows_c.values()), "cell_line": cell_line})
    for d in drugs:
        cond[f"{d}_nM"] = [dict(k).get(d, 0.0) for k in rows_c]
    for what, v in (medium or {}).items():
        cond[f"{what}_nM"] = float(v)
    return check_fit_data(pd.DataFrame(meas), cond)


#: Cell-cycle result columns (``letrolab cellcycle --json`` keys, percentages) -> observables.
CELL_CYCLE_COLUMNS = {"sub_g1_pct": "sub_g1", "g1_pct": "g1", "s_pct": "s_phase", "g2m_pct": "g2m"}
#: Blot targets as the blot analysis names them -> observables (phospho/total ratios).
BLOT_TARGETS = {
    "p-akt": "p_akt",
    "pakt": "p_akt",
    "p_akt": "p_akt",
    "p-s6": "p_s6",
    "ps6": "p_s6",
    "p_s6": "p_s6",
    "p-erk": "p_erk",
    "perk": "p_erk",
    "p_erk": "p_erk",
    "p-igf1r": "p_igf1r",
    "p_igf1r": "p_igf1r",
}


def from_cell_cycle(
    results: pd.DataFrame, conditions: pd.DataFrame, *, time_h: float = 144.0
) -> pd.DataFrame:
    """Measurements from cell-cycle results (one row per sample).

    ``results`` has ``conditionId`` and any of ``sub_g1_pct, g1_pct, s_pct, g2m_pct`` (the
    cell-cycle analysis' percentages), optionally ``time_h``. Returns a measurements table
    (fractions) to concatenate with others and pass to :func:`check_fit_data` with
    ``conditions``, which is checked here too.
    """
    check_conditions(conditions)
    if "conditionId" not in results.columns:
        raise InputError(
            "cell-cycle results need a conditionId column naming each sample's condition"
        )
    cols = [c for c in CELL_CYCLE_COLUMNS if c in results.columns]
    if not cols:
        raise InputError(f"cell-cycle results hold none of {', '.join(CELL_CYCLE_COLUMNS)}")
    rows = []
    for r in results.to_dict("records"):
        for c in cols:
            rows.append(
                {
                    "observableId": CELL_CYCLE_COLUMNS[c],
                    "simulationConditionId": r["conditionId"],
                    "time": float(r.get("time_h", time_h)),
                    "measurement": float(r[c]) / 100.0,
                    "unit": "fraction",
                }
            )
    return pd.DataFrame(rows)


def from_blot(table: pd.DataFrame) -> pd.DataFrame:
    """Measurements from blot densitometry: ``conditionId, target, time_h, ratio``.

    ``ratio`` is phospho over total (or over a loading control), relative to any reference lane:
    the observable's fitted scale absorbs the reference.
    """
    missing = sorted({"conditionId", "target", "time_h", "ratio"} - set(table.columns))
    if missing:
        raise InputError(f"blot table lacks column(s) {', '.join(missing)}")
    rows = []
    for i, r in enumerate(table.to_dict("records")):
        obs = BLOT_TARGETS.get(str(r["target"]).strip().lower())
        if obs is None:
            raise InputError(
                f"blot row {i + 1}: unknown target {r['target']!r}; known: {', '.join(sorted(set(BLOT_TARGETS.values())))}"
            )
        rows.append(
            {
                "observableId": obs,
                "simulationConditionId": r["conditionId"],
                "time": float(r["time_h"]),
                "measurement": float(r["ratio"]),
                "unit": "relative",
            }
        )
    return pd.DataFrame(rows)
