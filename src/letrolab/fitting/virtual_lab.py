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

Phospho-AKT comes from Western blots (:func:`measure_phospho`): one gel carries every
condition x time of a design, blotted twice (p-AKT S473 and total AKT). :func:`simulate_blots`
renders the two scans with the virtual scanner (:func:`letrolab.instruments.blot.render_blot`:
band volumes proportional to the model's p-AKT fraction and to total AKT, times a lane loading
error, on a background gradient with pixel noise), and :func:`read_blots` measures them as a lab
does (:func:`letrolab.assays.blot.analyse_blot`, then :func:`~letrolab.assays.blot.normalise_bands`:
phospho over total, relative to the gel's first lane). :func:`letrolab.fitting.data.from_blot`
turns the table into ``p_akt`` measurements.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from letrolab.assays.blot import analyse_blot, normalise_bands
from letrolab.fitting.data import check_fit_data, from_blot
from letrolab.fitting.problem import FitProblem
from letrolab.instruments.blot import SyntheticBlot, render_blot
from letrolab.instruments.plates import PlateNoise, mts_absorbance

__all__ = [
    "BLOT_DOSES",
    "BLOT_TIMES_H",
    "EXAMPLE_TRUTH",
    "SINGLE_AGENT_DOSES",
    "SMALL_SINGLE_AGENT_DOSES",
    "BlotPair",
    "BlotScanner",
    "PhosphoData",
    "VirtualLab",
    "blot_conditions",
    "measure",
    "measure_phospho",
    "read_blots",
    "simulate_blots",
    "simulate_lab",
    "single_agent_conditions",
]

#: Five drugs x eight doses (nM), each spanning its catalogued potency.
SINGLE_AGENT_DOSES: dict[str, np.ndarray] = {
    "letrozole": np.logspace(-2, 3, 8),
    "nvp-aew541": np.logspace(0, 4, 8),
    "everolimus": np.logspace(-2, 3, 8),
    "palbociclib": np.logspace(0, 4, 8),
    "alpelisib": np.logspace(0, 4, 8),
}
#: A CI-sized single-agent design: three drugs at six doses.
SMALL_SINGLE_AGENT_DOSES: dict[str, np.ndarray] = {
    "letrozole": np.logspace(-2, 3, 6),
    "everolimus": np.logspace(-2, 3, 6),
    "palbociclib": np.logspace(0, 4, 6),
}
#: The cells of the round trips' virtual lab: growth and death parameters 7-65 % away from the
#: shipped values (what the fit must recover without being told).
EXAMPLE_TRUTH: dict[str, float] = {
    "k_g1s_max": 0.12,
    "k_apo_max": 0.08,
    "K_surv": 0.7,
    "mcl1_mtor": 1.5,
    "k_apo_basal": 0.0015,
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


#: A signalling experiment's conditions: id -> doses (nM) of each drug; vehicle first (the
#: gel's control lane). Everolimus at two doses reads the S6K1 -| IRS-1 feedback it relieves.
BLOT_DOSES: dict[str, dict[str, float]] = {
    "blot_vehicle": {},
    "blot_letrozole": {"letrozole": 100.0},
    "blot_nvp_aew541": {"nvp-aew541": 1000.0},
    "blot_everolimus_1": {"everolimus": 1.0},
    "blot_everolimus_10": {"everolimus": 10.0},
}
#: Lysis times (h) of the signalling experiment.
BLOT_TIMES_H = (1.0, 6.0, 24.0)


@dataclass(frozen=True)
class BlotScanner:
    """How the virtual lab's blots come out.

    Attributes
    ----------
    phospho_volume, total_volume : float
        Band volume (image units) of p-AKT at a p-AKT fraction of 1, and of total AKT, for a
        nominal lane load.
    loading_cv : float
        Log-normal SD of each lane's protein load (cancels in phospho / total).
    noise : float
        Pixel noise SD of the scanner (image units).
    background : float
    gradient : (float, float)
        Background ramp down and across the scan.
    """

    phospho_volume: float = 4e5
    total_volume: float = 1.5e5
    loading_cv: float = 0.15
    noise: float = 60.0
    background: float = 1000.0
    gradient: tuple[float, float] = (150.0, 80.0)


@dataclass(frozen=True)
class BlotPair:
    """The two scans of one gel: p-AKT and total AKT, lanes in the same order."""

    phospho: SyntheticBlot
    total: SyntheticBlot


@dataclass(frozen=True)
class PhosphoData:
    """A virtual lab's p-AKT experiment.

    Attributes
    ----------
    blot : DataFrame
        Densitometry as a lab writes it: ``conditionId, target, time_h, ratio`` (phospho /
        total relative to lane 1), the input of :func:`letrolab.fitting.data.from_blot`.
    measurements : DataFrame
        ``from_blot(blot)`` plus ``truth``: the noise-free ratio (model p-AKT over that of lane
        1), the value the measurement would have without loading, scanner or reading error.
    conditions : DataFrame
        The conditions of the gel's lanes.
    scans : BlotPair
    reference_p_akt : float
        Model p-AKT fraction of lane 1.
    """

    blot: pd.DataFrame
    measurements: pd.DataFrame
    conditions: pd.DataFrame
    scans: BlotPair
    reference_p_akt: float

    @property
    def scale_p_akt(self) -> float:
        """The true observation scale: noise-free ratio over model p-AKT."""
        return 1.0 / self.reference_p_akt


def blot_conditions(
    doses: Mapping[str, Mapping[str, float]], cell_line: str = "mcf7-aro"
) -> pd.DataFrame:
    """Conditions table of ``{conditionId: {drug: nM}}`` (absent drugs at 0)."""
    rows = [
        {"conditionId": cid, "cell_line": cell_line, **{f"{d}_nM": float(c) for d, c in ds.items()}}
        for cid, ds in doses.items()
    ]
    return pd.DataFrame(rows).fillna(0.0)


def _p_akt(truth: Mapping[str, float], conditions: pd.DataFrame, times: Sequence[float]):
    """Lanes of a gel, condition-major: ``simulationConditionId, time`` and model ``p_akt``."""
    m = pd.DataFrame(
        [
            {"observableId": "p_akt", "simulationConditionId": c, "time": t, "measurement": 1.0}
            for c in conditions["conditionId"]
            for t in times
        ]
    )
    pr = FitProblem(check_fit_data(m, conditions), tuple(truth))
    vals = {**truth, "scale_p_akt": 1.0}
    m["p_akt"] = pr.predict_rows(np.log10([vals[p] for p in pr.ids]))
    return m


def simulate_blots(
    p_akt: Sequence[float], *, scanner: BlotScanner | None = None, seed: int = 0
) -> BlotPair:
    """Render the p-AKT and total-AKT scans of one gel with ``p_akt`` (fraction) per lane.

    Each lane's load varies by ``scanner.loading_cv`` (the same load on both scans, as for a
    stripped and re-probed membrane); each scan has its own pixel noise.
    """
    sc = scanner or BlotScanner()
    rng = np.random.default_rng(seed)
    load = np.exp(rng.normal(0.0, sc.loading_cv, len(p_akt)))
    look = {"noise": sc.noise, "background": sc.background, "gradient": sc.gradient}
    phospho = sc.phospho_volume * np.asarray(p_akt, dtype=float) * load
    return BlotPair(
        render_blot(phospho, seed=int(rng.integers(2**31)), **look),
        render_blot(sc.total_volume * load, seed=int(rng.integers(2**31)), **look),
    )


def read_blots(scans: BlotPair) -> pd.DataFrame:
    """Densitometry of a gel's two scans: p-AKT / total AKT per lane, relative to lane 1.

    Returns the table of :func:`letrolab.assays.blot.normalise_bands`.
    """
    n = len(scans.phospho.lanes)
    p = analyse_blot(scans.phospho.image, lanes=n, bands=1)
    t = analyse_blot(scans.total.image, lanes=n, bands=1)
    return normalise_bands(p.band_areas(1), total=t.band_areas(1))


def measure_phospho(
    lab: VirtualLab,
    doses: Mapping[str, Mapping[str, float]] | None = None,
    times_h: Sequence[float] = BLOT_TIMES_H,
    *,
    scanner: BlotScanner | None = None,
    seed: int = 2,
) -> PhosphoData:
    """The lab's p-AKT blot of every condition x time, read and tabled as a lab does.

    Parameters
    ----------
    lab : VirtualLab
        Whose cells (``lab.truth``) are lysed.
    doses : mapping, optional
        ``{conditionId: {drug: nM}}``; default :data:`BLOT_DOSES`. The first condition at the
        first time is lane 1, the gel's reference (ratio 1): gels that share it share a scale.
    times_h : sequence of float
        Lysis times (h).
    scanner : BlotScanner, optional
    seed : int

    Returns
    -------
    PhosphoData
    """
    cond = blot_conditions(doses or BLOT_DOSES)
    lanes = _p_akt(lab.truth, cond, times_h)
    h = lanes["p_akt"].to_numpy()
    scans = simulate_blots(h, scanner=scanner, seed=seed)
    blot = pd.DataFrame(
        {
            "conditionId": lanes["simulationConditionId"],
            "target": "p-AKT",
            "time_h": lanes["time"],
            "ratio": read_blots(scans)["relative"].to_numpy(),
        }
    )
    meas = from_blot(blot).assign(truth=h / h[0])
    return PhosphoData(blot, meas, cond, scans, float(h[0]))
