"""A virtual lab for round-trip tests: single-agent data simulated with known parameters.

The lab's cells differ from the shipped model by ``truth`` (model-parameter overrides). Each
drug is read at ``doses`` (nM) plus a vehicle at day ``days``, through the virtual instruments:

* **viability** from the virtual plate reader (:func:`letrolab.instruments.plates.mts_absorbance`:
  5 % well CV, reader noise, inner-ring evaporation loss), computed as a lab does,
  ``(A - A_blank) / (A_vehicle - A_blank)`` with the plate's nominal blank and vehicle
  absorbances, relative to the parental vehicle well of the lab's own (true) cells;
* **sub-G1** as a fraction with additive normal noise ``sd_subg1`` (a few thousand PI-gated
  events give SD ~0.005 at 5 % sub-G1: binomial ``sqrt(p (1 - p) / n)``).

:func:`measure` reads any design the same way, so predictions can be scored against new
measurements of the same lab.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from letrolab.fitting.data import check_fit_data
from letrolab.fitting.problem import FitProblem
from letrolab.instruments.plates import PlateNoise, mts_absorbance

__all__ = ["SINGLE_AGENT_DOSES", "VirtualLab", "measure", "simulate_lab", "single_agent_conditions"]

#: Five drugs x eight doses (nM), each spanning its catalogued potency.
SINGLE_AGENT_DOSES: dict[str, np.ndarray] = {
    "letrozole": np.logspace(-2, 3, 8),
    "nvp-aew541": np.logspace(0, 4, 8),
    "everolimus": np.logspace(-2, 3, 8),
    "palbociclib": np.logspace(0, 4, 8),
    "alpelisib": np.logspace(0, 4, 8),
}
#: Labs leave the outer ring of a plate empty; readout wells sit in ring 1.
READ_RING = 1
PLATE = PlateNoise()


@dataclass(frozen=True)
class VirtualLab:
    """Simulated lab tables (raw, as a lab writes them) and the truth behind them.

    ``scale_viability`` is the true observation scale: the inner-ring growth factor of the
    plate over the parental vehicle's viable cells.
    """

    measurements: pd.DataFrame
    conditions: pd.DataFrame
    truth: dict[str, float]
    vehicle_viable: float
    sd_subg1: float

    @property
    def scale_viability(self) -> float:
        ring_growth = 1.0 - PLATE.edge_loss * math.exp(-READ_RING / 0.6)
        return ring_growth / self.vehicle_viable


def single_agent_conditions(
    doses: Mapping[str, Sequence[float]], cell_line: str = "mcf7-aro"
) -> pd.DataFrame:
    """Vehicle plus one condition per drug and dose (columns ``<drug>_nM``)."""
    rows = [{"conditionId": "vehicle", "cell_line": cell_line}]
    for d, cs in doses.items():
        for j, c in enumerate(cs):
            rows.append(
                {
                    "conditionId": f"{d.replace('-', '_')}_{j}",
                    "cell_line": cell_line,
                    f"{d}_nM": float(c),
                }
            )
    return pd.DataFrame(rows).fillna(0.0)


def _model_values(truth: Mapping[str, float], conditions: pd.DataFrame, days: float):
    rows = [
        {
            "observableId": o,
            "simulationConditionId": c,
            "time": days * 24.0,
            "measurement": 0.5 if o == "viability" else 0.05,
        }
        for c in conditions["conditionId"]
        for o in ("viability", "sub_g1")
    ]
    m = pd.DataFrame(rows)
    pr = FitProblem(check_fit_data(m, conditions), tuple(truth))
    vals = {**dict(truth), "scale_viability": 1.0}
    return m, pr.predict_rows(np.log10([vals[p] for p in pr.ids]))


def _read(
    m: pd.DataFrame, h: np.ndarray, vehicle_viable: float, sd_subg1: float, rng
) -> np.ndarray:
    via = (m["observableId"] == "viability").to_numpy()
    rel = np.where(via, h / vehicle_viable, 0.0)
    ring = np.full(rel.shape, READ_RING)
    a = mts_absorbance(rel, ring, via, rng, noise=PLATE)
    viability = (a - PLATE.a_blank) / (PLATE.a_vehicle - PLATE.a_blank)
    sub_g1 = np.clip(h + rng.normal(0.0, sd_subg1, h.size), 1e-4, 1.0)
    return np.where(via, viability, sub_g1)


def simulate_lab(
    truth: Mapping[str, float],
    *,
    doses: Mapping[str, Sequence[float]] | None = None,
    days: float = 6.0,
    sd_subg1: float = 0.005,
    seed: int = 0,
) -> VirtualLab:
    """Simulate the single-agent experiment of a lab whose cells have parameters ``truth``."""
    cond = single_agent_conditions(doses or SINGLE_AGENT_DOSES)
    m, h = _model_values(truth, cond, days)
    vehicle = float(
        h[
            (m["simulationConditionId"] == "vehicle").to_numpy()
            & (m["observableId"] == "viability").to_numpy()
        ][0]
    )
    m["measurement"] = _read(m, h, vehicle, sd_subg1, np.random.default_rng(seed))
    return VirtualLab(m, cond, dict(truth), vehicle, sd_subg1)


def measure(
    lab: VirtualLab, design: pd.DataFrame, *, days: float = 6.0, seed: int = 1
) -> pd.DataFrame:
    """New measurements of ``design`` by the same lab (same instruments and normalisation).

    Returns ``observableId, simulationConditionId, time, measurement, truth`` (``truth`` is
    the noise-free value on the measurement's scale).
    """
    m, h = _model_values(lab.truth, design, days)
    m["measurement"] = _read(m, h, lab.vehicle_viable, lab.sd_subg1, np.random.default_rng(seed))
    via = (m["observableId"] == "viability").to_numpy()
    m["truth"] = np.where(via, h * lab.scale_viability, h)
    return m
