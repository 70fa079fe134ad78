"""What the tumour sees: plasma time courses of one patient, and the tumour model driven by them.

:func:`patient_exposure` simulates one patient (the typical one, one with parameter overrides,
or patient ``k`` of a sampled cohort) on an arm and returns the plasma time courses that reach
tumour tissue: oestradiol, androstenedione (substrate of intratumoural aromatase), IGF-1,
insulin and every drug. ASSUMPTION: tumour interstitial concentrations equal plasma (total)
concentrations; no tissue partitioning or protein-binding correction.

:func:`drive_tumour` feeds these exposures to the cell-level network of :mod:`letrolab.model`
(issue 4, ``network.ant``) as piecewise-constant inputs: every ``update_every_h`` hours the
network's ``androstenedione``, ``igf1``, ``insulin`` and drug parameters are set to the mean
plasma value over the coming interval. The network makes its own E2 from androstenedione by
aromatase (inhibited by the letrozole it is given), so plasma E2 is reported but not imposed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from letrolab.errors import InputError
from letrolab.model.patient import _vector
from letrolab.model.patient._model import parameter_table
from letrolab.model.patient.cohort import Cohort, sample_cohort
from letrolab.model.patient.pk import load_pk_catalogue, lookup
from letrolab.model.patient.schedule import Arm, parse_arm
from letrolab.model.patient.trial import HOURS_PER_MONTH, arm_drugs

#: Exchange rate (1/h) of tumour interstitial androstenedione with plasma. ASSUMPTION: small
#: steroids equilibrate between plasma and a vascularised tissue within minutes (capillary
#: permeability of lipophilic molecules); any value >> the tumour's aromatase turnover
#: (arom_vmax / arom_km ~ 0.1/h) keeps the tissue substrate at the plasma value.
TUMOUR_A4_EXCHANGE_PER_H = 6.0

__all__ = ["Exposure", "drive_tumour", "patient_exposure"]


@dataclass(frozen=True)
class Exposure:
    """Plasma time courses of one patient on one arm (arrays over ``time_h``)."""

    arm: str
    time_h: np.ndarray
    e2_pM: np.ndarray  # true plasma oestradiol
    e2_measured_pM: np.ndarray  # as an immunoassay reads it
    androstenedione_nM: np.ndarray
    igf1_nM: np.ndarray
    igfbp3_mg_L: np.ndarray
    insulin_pM: np.ndarray
    glucose_mM: np.ndarray
    fsh_IU_L: np.ndarray
    lh_IU_L: np.ndarray
    drugs_nM: dict[str, np.ndarray] = field(default_factory=dict)

    def to_frame(self):
        """Tidy time courses, one row per time point."""
        import pandas as pd

        cols: dict[str, Any] = {
            "time_h": self.time_h,
            "e2_pM": self.e2_pM,
            "e2_measured_pM": self.e2_measured_pM,
            "androstenedione_nM": self.androstenedione_nM,
            "igf1_nM": self.igf1_nM,
            "igfbp3_mg_L": self.igfbp3_mg_L,
            "insulin_pM": self.insulin_pM,
            "glucose_mM": self.glucose_mM,
            "fsh_IU_L": self.fsh_IU_L,
            "lh_IU_L": self.lh_IU_L,
        }
        cols.update({f"{d}_nM": c for d, c in self.drugs_nM.items()})
        return pd.DataFrame(cols)

    def summary(self) -> dict[str, Any]:
        """Start and end values of every time course (JSON-able)."""
        df = self.to_frame()
        return {
            "arm": self.arm,
            "hours": float(self.time_h[-1]),
            "start": {k: float(df[k].iloc[0]) for k in df.columns if k != "time_h"},
            "end": {k: float(df[k].iloc[-1]) for k in df.columns if k != "time_h"},
        }

    def interval_means(self, update_every_h: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Piecewise-constant version: start times and the mean of each course per interval."""
        if not update_every_h > 0:
            raise InputError(f"update_every_h must be > 0, got {update_every_h!r}")
        edges = np.arange(0.0, self.time_h[-1], update_every_h)
        series = {
            "androstenedione_nM": self.androstenedione_nM,
            "igf1_nM": self.igf1_nM,
            "insulin_pM": self.insulin_pM,
            **{f"drug:{d}": c for d, c in self.drugs_nM.items()},
        }
        which = np.searchsorted(edges, self.time_h, side="right") - 1
        which = np.clip(which, 0, edges.size - 1)  # the end point belongs to the last interval
        counts = np.bincount(which, minlength=edges.size)
        means = {
            k: np.bincount(which, weights=v, minlength=edges.size) / counts
            for k, v in series.items()
        }
        return edges, means


def _one_patient(patient, *, seed: int, menopause: str, population: str, pk_cat) -> Cohort:
    if isinstance(patient, tuple) and len(patient) == 2 and isinstance(patient[0], Cohort):
        cohort, k = patient
        if not 0 <= int(k) < cohort.n:
            raise InputError(f"patient index {k} outside the cohort of {cohort.n}")
        return cohort.subset(slice(int(k), int(k) + 1))
    base = sample_cohort(
        1,
        seed=seed,
        menopause=menopause,
        population=population,
        pk_catalogue=pk_cat,
        variability=False,
    )
    if patient is None:
        return base
    if not isinstance(patient, Mapping):
        raise InputError(
            "patient must be None, a mapping of patient.ant parameters, or (cohort, index)"
        )
    table = parameter_table()
    params = dict(base.params)
    for name, value in patient.items():
        if name not in table or table[name].status == "state":
            raise InputError(f"patient model has no parameter {name!r}; see parameter_table()")
        value = float(value)
        if not np.isfinite(value) or value < 0:
            raise InputError(f"parameter {name!r} must be finite and >= 0, got {value}")
        params[name] = np.array([value])
    weight = params["WT"]
    geno = params["cyp2a6_variants"].astype(np.int8)
    if geno[0] not in (0, 1, 2) or geno[0] != params["cyp2a6_variants"][0]:
        raise InputError("cyp2a6_variants must be 0, 1 or 2")
    return Cohort(params, weight, geno, base.eta_pk, base.seed, base.menopause, base.population)


def patient_exposure(
    arm: str | Arm,
    *,
    months: float = 1.0,
    patient=None,
    seed: int = 0,
    menopause: str = "post",
    population: str = "european",
    dt_h: float = 1.0,
    every_h: float = 1.0,
    pk_catalogue=None,
) -> Exposure:
    """Plasma exposure time courses of one patient on ``arm``.

    Parameters
    ----------
    arm : str or Arm
        ``NAME:DRUG:DOSE[/SCHEDULE][+...]`` as for :func:`~letrolab.model.patient.run_trial`.
    months : float
        Length of the simulation.
    patient : None, mapping or (Cohort, int)
        None: the typical patient (70 kg, no CYP2A6 variant); a mapping: the typical patient
        with these ``patient.ant`` parameters changed; ``(cohort, k)``: patient ``k`` of a cohort.
    dt_h, every_h : float
        Engine step and output spacing (h).

    Examples
    --------
    >>> ex = patient_exposure("std:letrozole:2.5mg/day", months=1)
    >>> bool(ex.e2_pM[-1] < 0.05 * ex.e2_pM[0]), bool(ex.igf1_nM[-1] > ex.igf1_nM[0])
    (True, True)
    """
    pk_cat = load_pk_catalogue(pk_catalogue)
    a = arm if isinstance(arm, Arm) else parse_arm(arm, pk_catalogue=pk_cat)
    cohort = _one_patient(
        patient, seed=seed, menopause=menopause, population=population, pk_cat=pk_cat
    )
    if not (np.isfinite(months) and 0 < months <= 120):
        raise InputError(f"months must be in (0, 120], got {months!r}")
    t_end_h = max(1, round(months * HOURS_PER_MONTH / dt_h)) * dt_h
    P = dict(cohort.params)
    let_pk = lookup(pk_cat, "letrozole")
    if let_pk is not None and let_pk.drug in cohort.eta_pk:
        eta = cohort.eta_pk[let_pk.drug]
        P.update(ka_let=let_pk.ka_per_h * eta["ka"], eta_CL_let=eta["cl"], eta_V_let=eta["v"])
    oral, const = arm_drugs(a, cohort, t_end_h=t_end_h, seed=seed, arm_index=0, pk_catalogue=pk_cat)
    every = max(1, round(every_h / dt_h))
    res = _vector.simulate_batch(
        P, oral=oral, const=const, t_end_h=t_end_h, dt_h=dt_h, n_trace=1, trace_every=every
    )
    tr = {k: v[0] for k, v in res.traces.items()}
    t = res.trace_t_h
    drugs: dict[str, np.ndarray] = {}
    for d in oral:
        drugs[d.name] = tr["C_let_nM"] if d.name == "letrozole" else tr[f"C_{d.name}_nM"]
    for c in const:
        drugs[c.name] = np.full(t.size, c.conc_nM)
    mw_igf1 = parameter_table()["MW_IGF1"].value
    return Exposure(
        arm=a.name,
        time_h=t,
        e2_pM=tr["E2"],
        e2_measured_pM=tr["E2_measured"],
        androstenedione_nM=np.full(t.size, float(np.ravel(P["A4_nM"])[0])),
        igf1_nM=tr["IGF1"] / mw_igf1 * 1e3,
        igfbp3_mg_L=tr["BP3"],
        insulin_pM=tr["Ins"],
        glucose_mM=tr["G"],
        fsh_IU_L=tr["FSH"],
        lh_IU_L=tr["LH"],
        drugs_nM=drugs,
    )


def drive_tumour(
    exposure: Exposure,
    cell_line: str = "mcf7-aro",
    *,
    update_every_h: float = 24.0,
    igf1_fraction: float = 1.0,
    points_per_day: int = 4,
    baseline_h: float = 240.0,
    deprivation_h: float | None = None,
    observables=None,
    parameters: Mapping[str, float] | None = None,
    model=None,
):
    """Run the tumour network of :mod:`letrolab.model` under a patient's plasma exposure.

    The network is steroid-deprived (the engine's protocol), then held ``baseline_h`` hours at
    the patient's untreated exposure (androstenedione, IGF-1, insulin, no drugs), then follows
    ``exposure`` as piecewise-constant inputs updated every ``update_every_h`` hours. Drugs of
    the arm that the network's drug catalogue does not know are an error.

    Parameters
    ----------
    exposure : Exposure
        From :func:`patient_exposure`.
    cell_line : str
        A cell line of :mod:`letrolab.model` (``"mcf7-aro"``, ``"t47d-aro"``, ...).
    update_every_h : float
        Interval of the piecewise-constant input updates (h).
    igf1_fraction : float
        Fraction of serum IGF-1 handed to the network's ``igf1`` input. ASSUMPTION 1: the
        tumour sees total serum IGF-1 (the network's receptor constants are set in culture
        medium, which also holds IGFBP-bound IGF-1); lower it to model IGFBP sequestration.
    points_per_day : int
        Output resolution.

    Returns
    -------
    letrolab.model.SimulationResult
        Time in hours from the start of treatment; ``viable_cells`` and ``mts_relative`` are
        relative to the start of treatment.
    """
    from letrolab.model.engine import (
        DEFAULT_DEPRIVATION_H,
        OBSERVABLES,
        SimulationResult,
        get_model,
    )

    if not (np.isfinite(igf1_fraction) and 0 <= igf1_fraction <= 1):
        raise InputError(f"igf1_fraction must be in [0, 1], got {igf1_fraction!r}")
    model = model or get_model()
    obs = tuple(OBSERVABLES) if observables is None else tuple(observables)
    bad = [o for o in obs if o not in OBSERVABLES]
    if bad:
        raise InputError(f"unknown observable(s) {', '.join(bad)}; see letrolab.model.OBSERVABLES")
    cl, values = model.resolve(cell_line, parameters)
    if "k_a4_supply" not in (parameters or {}):
        # a perfused tumour: interstitial androstenedione is replenished from plasma, unlike a
        # closed culture well where aromatase uses the substrate up (network.ant steroid module)
        values["k_a4_supply"] = TUMOUR_A4_EXCHANGE_PER_H
    edges, means = exposure.interval_means(update_every_h)
    drug_params = {}
    for key in means:
        if key.startswith("drug:"):
            drug_params[key] = model.drug_parameter(key[5:])

    def inputs(i: int | None) -> dict[str, float]:
        if i is None:  # untreated patient: the first interval's hormones, no drugs
            i0 = 0
            upd = {p: 0.0 for p in drug_params.values()}
        else:
            i0 = i
            upd = {p: float(means[k][i]) for k, p in drug_params.items()}
        upd["androstenedione"] = float(means["androstenedione_nM"][i0])
        upd["igf1"] = igf1_fraction * float(means["igf1_nM"][i0])
        upd["insulin"] = float(means["insulin_pM"][i0]) / 1000.0
        return upd

    dep = DEFAULT_DEPRIVATION_H if deprivation_h is None else float(deprivation_h)
    state = model.preequilibrate(values, hours=dep)
    t_treat = float(exposure.time_h[-1])
    n = max(2, round(t_treat / 24.0 * points_per_day) + 1)
    times = np.concatenate([[0.0], baseline_h + np.linspace(0.0, t_treat, n)])
    schedule = [(0.0, inputs(None))] + [
        (baseline_h + float(e), inputs(i)) for i, e in enumerate(edges)
    ]
    start = {**values, **schedule[0][1]}
    sel = list(dict.fromkeys([*obs, "viable_cells"]))
    data = model.run(start, state, times, sel, schedule=schedule)[1:]
    out = {o: data[:, k].copy() for k, o in enumerate(sel) if o in obs}
    for o in ("viable_cells", "mts_relative"):
        if o in out:
            out[o] = out[o] / out[o][0]
    return SimulationResult(
        cell_line=cl.name,
        conditions={
            "patient_arm": exposure.arm,
            "update_every_h": float(update_every_h),
            "igf1_fraction": float(igf1_fraction),
            "baseline_h": float(baseline_h),
            "deprivation_h": dep,
            "androstenedione_nM": float(means["androstenedione_nM"][0]),
        },
        time_h=times[1:] - baseline_h,
        observables=out,
    )
