"""Predictions of a new design from a fitted problem, with 95 % prediction intervals.

The parameter uncertainty is the fit's posterior ensemble when ``letrolab fit --sampler emcee``
saved one (``ensemble.csv``; :mod:`letrolab.fitting.posterior`), and otherwise the Gaussian
(Laplace) approximation of the posterior at the optimum, ``N(x_hat, (J^T J)^-1)`` on log10
scale, truncated to the prior box (:meth:`letrolab.fitting.estimate.FitResult.sample`);
:attr:`Prediction.uncertainty` says which. Each sampled set is simulated for the
design; the **confidence band** (``ci_low``, ``ci_high``) is the 2.5-97.5 % range of the model
output over the sets, the **prediction interval** (``pi_low``, ``pi_high``) the same range after
adding a measurement-noise draw from each observable's fitted noise model — the interval in
which a new measurement should fall 95 % of the time (Kreutz et al. 2012, BMC Syst Biol 6:120,
on prediction versus confidence bands).

Predicted viability is also given relative to the design's vehicle condition of the same cell
line (``percent_of_vehicle``), the response the plate and synergy analyses read;
:func:`combination_table` writes it in SynergyFinder's tidy layout (``letrolab synergy`` reads
it, so the combination index of the prediction comes from the same analysis as the data's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from letrolab.errors import FitError, InputError
from letrolab.fitting.data import FIT_OBSERVABLES, check_conditions, check_fit_data
from letrolab.fitting.estimate import FitResult, StartResult
from letrolab.fitting.posterior import FitEnsemble
from letrolab.fitting.problem import FitProblem

__all__ = [
    "ENSEMBLE_FILE",
    "Prediction",
    "combination_table",
    "load_fit",
    "predict",
    "predicted_ci",
    "predicted_plate",
    "save_fit",
]

FIT_FILE = "fit.json"
#: Posterior sets (log10, one column per fitted parameter) of a fit sampled with emcee.
ENSEMBLE_FILE = "ensemble.csv"


@dataclass(frozen=True)
class Prediction:
    """Tidy predictions: one row per condition x observable x time, with intervals.

    ``uncertainty`` names where the parameter sets came from: ``"emcee"`` (the fit's posterior
    ensemble) or ``"laplace"`` (the Gaussian approximation at the optimum). ``viability_sets``
    holds each set's viability relative to its line's vehicle, one column per viability row of
    ``table`` (in order); None without a viability readout.
    """

    table: pd.DataFrame
    n_sets: int
    uncertainty: str = "laplace"
    viability_sets: np.ndarray | None = field(default=None, repr=False)


def _vehicle_of(cond: pd.DataFrame) -> dict[str, str]:
    drug_cols = [
        c
        for c in cond.columns
        if c.endswith("_nM") and c[:-3] not in ("androstenedione", "igf1", "insulin")
    ]
    veh = {}
    for r in cond.to_dict("records"):
        if all(r[c] == 0 for c in drug_cols):
            veh.setdefault(r["cell_line"], r["conditionId"])
    return veh


def predict(
    result: FitResult,
    conditions: pd.DataFrame,
    *,
    observables: Sequence[str] = ("viability", "sub_g1"),
    time_h: float = 144.0,
    n_sets: int = 100,
    seed: int = 0,
) -> Prediction:
    """Predict ``observables`` at ``time_h`` for every condition of ``conditions``.

    Raises
    ------
    InputError
        An observable that is unknown, or relative (scaled) and not part of the fit (its scale
        is then unknown).
    """
    pr = result.problem
    for o in observables:
        if o not in FIT_OBSERVABLES:
            raise InputError(f"unknown observable {o!r}; known: {', '.join(FIT_OBSERVABLES)}")
        if FIT_OBSERVABLES[o].kind == "scaled" and f"scale_{o}" not in pr.ids:
            raise InputError(
                f"cannot predict {o}: it was not measured in the fit, so its scale is unknown"
            )
        if o not in result.sd:
            raise InputError(
                f"cannot predict {o}: its noise SD is unknown (not measured in the fit)"
            )
    cond = check_conditions(conditions)
    rng = np.random.default_rng(seed + 1)
    xs = result.sample(n_sets, seed=seed)
    times = {c: [float(time_h)] for c in cond["conditionId"]}
    veh = _vehicle_of(cond)
    model_out = {o: np.empty((len(xs), len(cond))) for o in observables}
    rel = np.full((len(xs), len(cond)), np.nan)
    for k, x in enumerate(xs):
        vals = pr.values(x)
        sim = pr.simulate({p: vals[p] for p in pr.model_parameters}, cond, times)
        for o in observables:
            spec = FIT_OBSERVABLES[o]
            v = np.array([sim[c][spec.model_id][0] for c in cond["conditionId"]])
            model_out[o][k] = v * vals[f"scale_{o}"] if spec.kind == "scaled" else v
        if "viability" in observables:
            base = {cl: sim[c]["viable_cells"][0] for cl, c in veh.items()}
            rel[k] = [
                sim[c]["viable_cells"][0] / base[cl] if cl in base else np.nan
                for c, cl in zip(cond["conditionId"], cond["cell_line"], strict=True)
            ]
    rows = []
    for o in observables:
        spec, sd = FIT_OBSERVABLES[o], result.sd[o]
        h = model_out[o]
        eps = rng.normal(0.0, sd, h.shape)
        noisy = h * np.exp(eps) if spec.noise == "lognormal" else np.clip(h + eps, 0.0, 1.0)
        q = np.nanquantile(h, [0.025, 0.5, 0.975], axis=0)
        pi = np.nanquantile(noisy, [0.025, 0.975], axis=0)
        for j, r in enumerate(cond.to_dict("records")):
            row = {
                **r,
                "observableId": o,
                "time": float(time_h),
                "median": q[1, j],
                "ci_low": q[0, j],
                "ci_high": q[2, j],
                "pi_low": pi[0, j],
                "pi_high": pi[1, j],
            }
            if o == "viability":
                row["percent_of_vehicle"] = 100.0 * float(np.nanmedian(rel[:, j]))
            rows.append(row)
    sets = rel if "viability" in observables else None
    return Prediction(pd.DataFrame(rows), len(xs), result.uncertainty, sets)


def combination_design(
    drug_row: str,
    row_nM: Sequence[float],
    drug_col: str,
    col_nM: Sequence[float],
    *,
    cell_line: str = "mcf7-aro",
    lr_col_nM: Sequence[float] = (),
    lr_cell_line: str = "mcf7-aro-lr",
) -> pd.DataFrame:
    """A conditions table for :func:`predict`: a ``drug_row`` x ``drug_col`` matrix in
    ``cell_line`` (ids ``m{i}_{j}``), plus ``drug_col`` alone in ``lr_cell_line`` (ids ``lr{j}``).

    >>> combination_design("letrozole", [0, 10], "everolimus", [0, 1], lr_col_nM=[0, 1]).shape
    (6, 4)
    """
    rows = [
        {
            "conditionId": f"m{i}_{j}",
            "cell_line": cell_line,
            f"{drug_row}_nM": a,
            f"{drug_col}_nM": b,
        }
        for i, a in enumerate(row_nM)
        for j, b in enumerate(col_nM)
    ]
    rows += [
        {
            "conditionId": f"lr{j}",
            "cell_line": lr_cell_line,
            f"{drug_row}_nM": 0.0,
            f"{drug_col}_nM": b,
        }
        for j, b in enumerate(lr_col_nM)
    ]
    return pd.DataFrame(rows)


def combination_table(pred: Prediction, drug_row: str, drug_col: str) -> pd.DataFrame:
    """Predicted viability as SynergyFinder's tidy table (``response`` = % inhibition)."""
    t = pred.table[pred.table["observableId"] == "viability"]
    if t.empty:
        raise InputError("the prediction has no viability readout")
    return pd.DataFrame(
        {
            "block_id": t["cell_line"].to_numpy(),
            "drug_row": drug_row,
            "drug_col": drug_col,
            "conc_r": t.get(f"{drug_row}_nM", 0.0),
            "conc_c": t.get(f"{drug_col}_nM", 0.0),
            "response": 100.0 - t["percent_of_vehicle"].to_numpy(),
            "conc_r_unit": "nM",
            "conc_c_unit": "nM",
        }
    )


def predicted_ci(pred: Prediction, drug_row: str, drug_col: str) -> pd.DataFrame:
    """Chou-Talalay CI of each predicted combination, with its 95 % interval over the sets.

    Each parameter set's viability matrix (relative to its line's vehicle) is analysed by
    :func:`letrolab.synergy.chou_talalay`, the analysis a lab's measured matrix goes through
    (median-effect fits of the single agents, then ``CI = sum_j d_j / (D_x)_j``; Chou &
    Talalay 1984, Adv Enzyme Regul 22:27, eq. 19). The interval is the 2.5-97.5 % range over the
    sets: the model's uncertainty, without measurement noise. ``n_sets`` counts the sets in which
    the point had a CI (its fa strictly between 0 and 1 and both single agents fitted).

    Returns
    -------
    DataFrame
        ``cell_line, <drug_row>_nM, <drug_col>_nM, fa_median, ci_median, ci_low, ci_high,
        n_sets``, one row per combination point.
    """
    from letrolab.synergy import chou_talalay

    if pred.viability_sets is None:
        raise InputError("the prediction has no viability readout, so no combination index")
    base = combination_table(pred, drug_row, drug_col)
    found: dict[tuple[str, float, float], list[tuple[float, float]]] = {}
    for rel in pred.viability_sets:
        t = base.assign(response=100.0 * (1.0 - rel))
        t = t[np.isfinite(t["response"])]
        res = chou_talalay(t, response="inhibition")
        for block_id, blk in res.blocks.items():
            if not blk:
                continue
            for dose, fa, ci in zip(blk.conc, blk.fa, blk.ci, strict=True):
                key = (block_id, float(dose[0]), float(dose[1]))
                found.setdefault(key, []).append((float(fa), float(ci)))
    if not found:
        raise InputError(
            f"no combination of {drug_row} and {drug_col} with a CI in the prediction: the design "
            "needs both drugs alone at several doses and together"
        )
    rows = []
    for (line, a, b), vals in sorted(found.items()):
        fa, ci = np.array(vals).T
        lo, med, hi = np.nanquantile(ci, [0.025, 0.5, 0.975])
        rows.append(
            {
                "cell_line": line,
                f"{drug_row}_nM": a,
                f"{drug_col}_nM": b,
                "fa_median": float(np.median(fa)),
                "ci_median": float(med),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "n_sets": int(np.isfinite(ci).sum()),
            }
        )
    return pd.DataFrame(rows)


#: Blank (medium-only) wells added to a predicted plate, as a lab's plate map has them.
N_BLANKS = 4


def predicted_plate(pred: Prediction) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The predicted viability as a 96-well plate read and its plate map.

    Each design condition is one well (row-major from A1) whose value is the predicted median
    signal relative to the vehicle of its cell line (vehicle = 1), followed by
    :data:`N_BLANKS` blank wells reading 0: the shape the plate readers
    (:mod:`letrolab.assays.plates`) take with a layout, one block per cell line.

    Raises
    ------
    InputError
        Without a viability prediction, or with more conditions than a 96-well plate holds.
    """
    t = pred.table[pred.table["observableId"] == "viability"].reset_index(drop=True)
    if t.empty:
        raise InputError("the prediction has no viability readout to put on a plate")
    if len(t) + N_BLANKS > 96:
        raise InputError(f"{len(t)} conditions do not fit one 96-well plate; use predictions.csv")
    drugs = [
        c[:-3]
        for c in t.columns
        if c.endswith("_nM") and c[:-3] not in ("androstenedione", "igf1", "insulin")
    ]
    wells = [f"{chr(65 + k // 12)}{k % 12 + 1}" for k in range(len(t) + N_BLANKS)]
    layout = []
    for k, r in enumerate(t.to_dict("records")):
        treated = any(r[f"{d}_nM"] > 0 for d in drugs)
        row = {
            "plate": "Plate 1",
            "well": wells[k],
            "role": "treated" if treated else "vehicle",
            "replicate": 1,
            "block_id": r["cell_line"],
        }
        for i, d in enumerate(drugs, start=1):
            row |= {f"drug{i}": d, f"conc{i}": r[f"{d}_nM"], f"unit{i}": "nM"}
        layout.append(row)
    for w in wells[len(t) :]:
        layout.append(
            {"plate": "Plate 1", "well": w, "role": "blank", "replicate": 1, "block_id": ""}
        )
    values = np.concatenate([t["percent_of_vehicle"].to_numpy() / 100.0, np.zeros(N_BLANKS)])
    read = pd.DataFrame({"plate": "Plate 1", "well": wells, "value": values})
    return read, pd.DataFrame(layout).fillna("")


def save_fit(result: FitResult, directory: Path) -> None:
    """Write what :func:`load_fit` needs (data tables and the estimate) into ``directory``."""
    from letrolab._io import atomic_write_text, csv_text

    pr = result.problem
    atomic_write_text(directory / "measurements.csv", csv_text(pr.data.measurements, index=False))
    atomic_write_text(directory / "conditions.csv", csv_text(pr.data.conditions, index=False))
    doc = {
        "parameters": list(pr.model_parameters),
        "fixed": pr.fixed,
        "deprivation_h": pr.deprivation_h,
        "ids": pr.ids,
        "x_log10": result.x.tolist(),
        "covariance_log10": result.covariance.tolist(),
        "sd": result.sd,
        "cost": result.cost,
        "converged": result.converged,
        "uncertainty": result.summary()["uncertainty"],
    }
    if result.ensemble is not None:
        sets = pd.DataFrame(result.ensemble.x, columns=pr.ids)
        atomic_write_text(directory / ENSEMBLE_FILE, csv_text(sets, index=False))
    atomic_write_text(directory / FIT_FILE, json.dumps(doc, indent=1))


def load_fit(directory: str | Path) -> FitResult:
    """Read a fit written by ``letrolab fit --out`` (:func:`save_fit`).

    Raises
    ------
    InputError
        When the folder holds no fit or one that did not converge.
    """
    d = Path(directory)
    if not (d / FIT_FILE).is_file():
        raise InputError(f"{d}: no {FIT_FILE}; give the --out folder of `letrolab fit`")
    doc = json.loads((d / FIT_FILE).read_text())
    if not doc.get("converged"):
        raise FitError(f"{d}: the fit there did not converge; predictions would not be meaningful")
    m = pd.read_csv(d / "measurements.csv")
    c = pd.read_csv(d / "conditions.csv")
    data = check_fit_data(m.assign(timeUnit="h"), c)
    pr = FitProblem(data, doc["parameters"], fixed=doc["fixed"], deprivation_h=doc["deprivation_h"])
    pr = pr.with_sd(doc["sd"])
    x = np.array(doc["x_log10"])
    start = StartResult(x, x, float(doc["cost"]), 1, 0, "loaded")
    ensemble = _load_ensemble(d, doc.get("uncertainty", {}), pr.ids)
    cov = np.array(doc["covariance_log10"])
    return FitResult(pr, (start,), x, cov, dict(doc["sd"]), ensemble=ensemble)


def _load_ensemble(d: Path, info: dict, ids: list[str]) -> FitEnsemble | None:
    """The posterior ensemble saved beside fit.json, or None for a Laplace fit."""
    if info.get("sampler") != "emcee":
        return None
    path = d / ENSEMBLE_FILE
    if not path.is_file():
        raise InputError(f"{d}: fit.json names an emcee ensemble but {ENSEMBLE_FILE} is missing")
    sets = pd.read_csv(path)
    if list(sets.columns) != list(ids):
        raise InputError(f"{path}: columns {list(sets.columns)} are not the fit's {ids}")
    tau = info.get("autocorr_time")
    return FitEnsemble(
        sets.to_numpy(dtype=float),
        int(info["walkers"]),
        int(info["steps"]),
        int(info["burn"]),
        float(info["acceptance_fraction"]),
        float("nan") if tau is None else float(tau),
    )
