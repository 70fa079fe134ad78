"""A virtual lab for round-trip tests: single-agent data simulated with known parameters.

The lab's cells differ from the shipped model by ``truth`` (model-parameter overrides). Each
drug is read at ``doses`` (nM) plus a vehicle, in ``replicates`` wells, at day ``days``:
viability as an MTS-like relative signal with multiplicative (log-normal) well noise —
``cv`` 8 % is typical of a manual 96-well MTS assay (the plate reader's well CV,
:class:`letrolab.instruments.plates.PlateNoise`) — and sub-G1 as a fraction with additive
normal noise ``sd_subg1`` (a few hundred to thousand PI-gated events give SD ~0.005-0.01 at
5 % sub-G1, binomial sqrt(p(1-p)/n)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from letrolab.fitting.data import check_fit_data
from letrolab.fitting.problem import FitProblem

__all__ = ["SINGLE_AGENT_DOSES", "VirtualLab", "simulate_lab", "single_agent_conditions"]

#: Five drugs x eight doses (nM), each spanning its catalogued potency.
SINGLE_AGENT_DOSES: dict[str, np.ndarray] = {
    "letrozole": np.logspace(-2, 3, 8),
    "nvp-aew541": np.logspace(0, 4, 8),
    "everolimus": np.logspace(-2, 3, 8),
    "palbociclib": np.logspace(0, 4, 8),
    "alpelisib": np.logspace(0, 4, 8),
}


@dataclass(frozen=True)
class VirtualLab:
    """Simulated lab tables (raw, as a lab writes them) and the truth behind them."""

    measurements: pd.DataFrame
    conditions: pd.DataFrame
    truth: dict[str, float]
    scale_viability: float


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


def simulate_lab(
    truth: Mapping[str, float],
    *,
    doses: Mapping[str, Sequence[float]] | None = None,
    days: float = 6.0,
    replicates: int = 1,
    cv: float = 0.08,
    sd_subg1: float = 0.005,
    scale_viability: float = 0.15,
    seed: int = 0,
) -> VirtualLab:
    """Simulate the single-agent experiment of a lab whose cells have parameters ``truth``."""
    cond = single_agent_conditions(doses or SINGLE_AGENT_DOSES)
    rows = []
    for cid in cond["conditionId"]:
        for o in ("viability", "sub_g1"):
            for k in range(replicates):
                rows.append(
                    {
                        "observableId": o,
                        "simulationConditionId": cid,
                        "time": days,
                        "timeUnit": "d",
                        "measurement": 0.5 if o == "viability" else 0.05,
                        "replicate": k + 1,
                    }
                )
    m = pd.DataFrame(rows)
    data = check_fit_data(m, cond)
    pr = FitProblem(data, tuple(truth))
    vals = {**dict(truth), "scale_viability": scale_viability}
    h = pr.predict_rows(np.log10([vals[p] for p in pr.ids]))
    rng = np.random.default_rng(seed)
    via = (m["observableId"] == "viability").to_numpy()
    y = np.where(
        via, h * np.exp(rng.normal(0.0, cv, h.size)), h + rng.normal(0.0, sd_subg1, h.size)
    )
    m["measurement"] = np.where(via, y, np.clip(y, 1e-4, 1.0))
    return VirtualLab(m, cond, dict(truth), scale_viability)
