"""Each claim on every parameter set of the calibrated ensemble: support, spread, Sobol indices.

The virtual experiments of ``reproduce`` evaluate the claims once, on the shipped parameter set,
through instrument files and the lab's analyses. Repeating all of them on 200+ sets would take
hours, so each claim here has a *readout*: the noise-free model quantity its rule judges,
computed from a few direct simulations of the network (``letrolab.model.simulate``), with the
rule's threshold from :mod:`letrolab.experiments.claims`:

======  ==========================================================================  ==========
claim   readout (rule)                                                              basis
======  ==========================================================================  ==========
S3      min over p-AKT, p-ERK, p-ER S167/S118, growth of the IGF-1-induced rise     predicted
        under letrozole, intact network (> S3_MIN_RISE; the ablation is the control)
S4      largest Chou-Talalay CI at fa 0.5/0.75, constant-ratio design, both lines   predicted
        (< S4_CI_MAX)
S5      sub-G1 of the combination / the higher single agent, both lines (> 1)      predicted
S6      p-AKT and p-S6 of the LR line over parental under letrozole (> 1)           structural
S7      LR growth drop with everolimus (> S7_MIN_GROWTH_DROP), sub-G1 ratio > 1,   predicted
        and the LR drop's excess over parental cells in points (>= S7_MIN_EXCESS)
S9      growth benefit of the best downstream and the vertical partner (> 10 %)     predicted
======  ==========================================================================  ==========

S1, S2 and S8 are patient-model claims; the ensemble samples the cell network only, so their
readouts do not vary over it: they are reported with ``support`` ``None`` and the reason.

``support`` is the fraction of sets on which the readout satisfies the rule, with a 95 %
Clopper-Pearson interval (Clopper & Pearson 1934, Biometrika 26:404; ``scipy.stats.binomtest``).
The sets are MCMC draws thinned by the sampler's settings; correlated draws make the interval
somewhat optimistic. **Rule:** a claim *holds* when the lower end of that interval is above
:data:`SUPPORT_HOLDS` (0.5): it holds in most parameter sets consistent with the calibration
data, beyond the sampling error of the ensemble.

Sobol indices (Saltelli et al. 2010, Comput Phys Commun 181:259, via SALib): first-order and
total indices of each readout over the ensemble's parameters, sampled independently and
log-uniformly within each parameter's 95 % posterior range (Sobol indices need independent
inputs; the posterior's correlations are dropped). They cost N (D + 2) readouts and are
computed by ``python -m letrolab.experiments.support --sobol`` into ``sobol.csv`` beside the
ensemble; the report shows the top five per claim.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from letrolab.errors import InputError, LetrolabError
from letrolab.experiments import claims as C
from letrolab.experiments._model import crosstalk_off
from letrolab.model.calibration import (
    PREDICTIONS,
    Condition,
    MeasureContext,
    combination_index,
)
from letrolab.model.engine import get_model

__all__ = [
    "CLAIM_READOUTS",
    "DEFAULT_SOBOL",
    "SUPPORT_HOLDS",
    "ClaimReadout",
    "ClaimSupport",
    "claim_support",
    "evaluate_readouts",
    "load_sobol",
    "sobol_indices",
]

SUPPORT_HOLDS = 0.5
DEFAULT_SOBOL = Path(__file__).parents[1] / "model" / "sobol.csv"
A4 = 10e-9
LET = 1e-6
S9_PARTNERS = {"everolimus": 10e-9, "alpelisib": 1e-6, "palbociclib": 100e-9}


@dataclass(frozen=True)
class ClaimReadout:
    """The noise-free quantity a claim's rule judges, computed on one parameter set.

    Attributes
    ----------
    claim : str
        Claim id.
    name, unit : str
        What the readout is.
    basis : {"predicted", "calibrated", "structural"}
        Whether the readout is a prediction (no calibration target involves it), was fitted,
        or follows from the model's structure; ``why`` says so in one sentence.
    conditions : tuple of (cell lines, Condition)
        The experiments the readout looks at (for the targets/claims disjointness test).
    compute : callable
        ``compute(ctx_for_line) -> (value, holds)``.
    """

    claim: str
    name: str
    unit: str
    basis: str
    why: str
    conditions: tuple[tuple[frozenset[str], Condition], ...]
    compute: Callable[[Callable[[str], MeasureContext]], tuple[float, bool]]


def _mean(ctx: MeasureContext, cl: str, obs: str, **kw) -> float:
    r = ctx.sim(cl, androstenedione=A4, days=6.0, **kw)
    return float(np.mean(r[obs]))


def _rise(lo: float, hi: float) -> float:
    """Relative rise ``hi / lo - 1``; a numerical-zero baseline counts as no rise or infinite."""
    if lo <= C.S3_NUMERICAL_ZERO:
        return math.inf if hi > C.S3_NUMERICAL_ZERO else 0.0
    return hi / lo - 1.0


def _s3(ctxs) -> tuple[float, bool]:
    """S3 as the claim rule judges it: the intact network only (the ablation is the control)."""
    on = ctxs("intact")
    let = {"letrozole": LET}
    rises = []
    for obs in ("p_akt", "p_erk", "p_er_s167", "p_er_s118"):
        lo = _mean(on, "mcf7-aro", obs, drugs=let, igf1=0.0)  # serum-free, as in crosstalk.py
        hi = _mean(on, "mcf7-aro", obs, drugs=let, igf1=10e-9)
        rises.append(_rise(lo, hi))
    g0, g1 = (
        on.sim("mcf7-aro", drugs=let, androstenedione=A4, days=6.0, igf1=i).final("viable_cells")
        for i in (0.0, 10e-9)
    )
    rises.append(_rise(g0, g1))
    value = min(rises)
    return value, value > C.S3_MIN_RISE


def _ci(ctx: MeasureContext, cl: str) -> float:
    from letrolab.model.calibration import COMBO_LETROZOLE_NM, COMBO_RATIO

    d = ctx.grid(
        cl,
        drugs={
            "letrozole": np.concatenate(
                [[0.0], COMBO_LETROZOLE_NM, 0 * COMBO_LETROZOLE_NM, COMBO_LETROZOLE_NM]
            )
            * 1e-9,
            "nvp-aew541": np.concatenate(
                [
                    [0.0],
                    0 * COMBO_LETROZOLE_NM,
                    COMBO_RATIO * COMBO_LETROZOLE_NM,
                    COMBO_RATIO * COMBO_LETROZOLE_NM,
                ]
            )
            * 1e-9,
        },
        combine="zip",
        androstenedione=A4,
        days=6.0,
        observables=("mts_relative", "sub_g1_fraction"),
    )
    v = d.final("mts_relative")
    fa = 1 - v / v[0]
    k = COMBO_LETROZOLE_NM.size
    L = COMBO_LETROZOLE_NM
    ci = combination_index(
        L,
        fa[1 : k + 1],
        COMBO_RATIO * L,
        fa[k + 1 : 2 * k + 1],
        L,
        fa[2 * k + 1 :],
        COMBO_RATIO,
        levels=(0.5, 0.75),
    )
    return float(np.max(ci)) if np.all(np.isfinite(ci)) and np.all(ci > 0) else math.inf


def _s4(ctxs) -> tuple[float, bool]:
    ctx = ctxs("intact")
    v = max(_ci(ctx, "mcf7-aro"), _ci(ctx, "t47d-aro"))
    return v, v < C.S4_CI_MAX


def _s5(ctxs) -> tuple[float, bool]:
    ctx = ctxs("intact")
    v = min(PREDICTIONS["subg1_combo_vs_single"](ctx, cl) for cl in ("mcf7-aro", "t47d-aro"))
    return v, v > 1.0


def _s6(ctxs) -> tuple[float, bool]:
    ctx = ctxs("intact")
    vals = []
    for obs in ("p_akt", "p_s6"):
        a = ctx.sim("mcf7-aro-lr", drugs={"letrozole": LET}, androstenedione=A4, days=2.0)
        b = ctx.sim("mcf7-aro", drugs={"letrozole": LET}, androstenedione=A4, days=2.0)
        vals.append(a.final(obs) / b.final(obs))
    v = min(vals)
    return v, v > 1.0


def _everolimus_drop(ctx: MeasureContext, cell_line: str) -> tuple[float, float]:
    """Growth drop and sub-G1 ratio of letrozole + everolimus vs letrozole (resistance.py)."""
    a = ctx.sim(
        cell_line, drugs={"letrozole": LET, "everolimus": 10e-9}, androstenedione=A4, days=6.0
    )
    b = ctx.sim(cell_line, drugs={"letrozole": LET}, androstenedione=A4, days=6.0)
    drop = 1 - a.final("viable_cells") / b.final("viable_cells")
    return drop, a.final("sub_g1_fraction") / b.final("sub_g1_fraction")


def _s7(ctxs) -> tuple[float, bool]:
    """S7 as the claim rule judges it: the LR clone's drop, and its excess over parental cells."""
    ctx = ctxs("intact")  # resistance.py's S7 protocol: 6 days, letrozole 1 uM +- everolimus 10 nM
    drop, death = _everolimus_drop(ctx, "mcf7-aro-lr")
    p_drop, _ = _everolimus_drop(ctx, "mcf7-aro")
    excess = drop - p_drop
    holds = drop > C.S7_MIN_GROWTH_DROP and death > 1.0 and excess >= C.S7_MIN_EXCESS_DROP
    return 100 * excess, holds


def _s9(ctxs) -> tuple[float, bool]:
    ctx = ctxs("intact")
    base = ctx.sim("mcf7-aro", drugs={"letrozole": LET}, androstenedione=A4, days=6.0)
    g0 = base.final("viable_cells")
    benefit = {}
    for drug, conc in S9_PARTNERS.items():
        r = ctx.sim("mcf7-aro", drugs={"letrozole": LET, drug: conc}, androstenedione=A4, days=6.0)
        benefit[drug] = 1 - r.final("viable_cells") / g0
    down = max(benefit["everolimus"], benefit["alpelisib"])
    v = min(down, benefit["palbociclib"])
    return v, v > C.S9_MIN_BENEFIT


def _c(lines: str, drugs: str, readouts: str) -> tuple[frozenset[str], Condition]:
    return frozenset(lines.split()), Condition(
        frozenset(drugs.split()), frozenset(readouts.split())
    )


#: Claim id -> its ensemble readout (S1, S2, S8: patient model, not sampled).
CLAIM_READOUTS: dict[str, ClaimReadout] = {
    r.claim: r
    for r in (
        ClaimReadout(
            "S3",
            "min(IGF-1-induced rise, crosstalk share of growth)",
            "fraction",
            "predicted",
            "no calibration target stimulates with IGF-1 under letrozole or removes the "
            "kinase → ER phosphorylation; the wiring fixes only the signs",
            (_c("mcf7-aro", "letrozole", "p_akt p_erk p_er_s167 p_er_s118 viable_cells"),),
            _s3,
        ),
        ClaimReadout(
            "S4",
            "largest CI at fa 0.5/0.75 over both lines",
            "CI",
            "predicted",
            "the CI targets were removed from calibration; only single-agent letrozole and "
            "NVP-AEW541 potencies were fitted",
            (_c("mcf7-aro t47d-aro", "letrozole nvp-aew541", "mts_relative"),),
            _s4,
        ),
        ClaimReadout(
            "S5",
            "combination / higher single-agent sub-G1, worse line",
            "ratio",
            "predicted",
            "no combination sub-G1 is a calibration target; only untreated sub-G1 is",
            (_c("mcf7-aro t47d-aro", "letrozole nvp-aew541", "sub_g1_fraction"),),
            _s5,
        ),
        ClaimReadout(
            "S6",
            "LR / parental p-AKT and p-S6 under letrozole (smaller)",
            "ratio",
            "structural",
            "the LR line is defined by a raised receptor-independent PI3K input "
            "(cell_lines.csv), so higher p-AKT follows from its definition, not from data",
            (_c("mcf7-aro-lr", "letrozole", "p_akt p_s6"),),
            _s6,
        ),
        ClaimReadout(
            "S7",
            "LR growth drop with everolimus added to letrozole",
            "fraction",
            "predicted",
            "the LR everolimus targets were removed; everolimus is calibrated on parental "
            "signalling and on the drug class's growth plateau only",
            (_c("mcf7-aro-lr", "letrozole everolimus", "mts_relative sub_g1_fraction"),),
            _s7,
        ),
        ClaimReadout(
            "S9",
            "smaller of best downstream and vertical growth benefit",
            "fraction",
            "predicted",
            "no target combines letrozole with a second drug; the biomarker half of S9 is "
            "not evaluated per set",
            (
                _c("mcf7-aro", "letrozole everolimus", "viable_cells"),
                _c("mcf7-aro", "letrozole alpelisib", "viable_cells"),
                _c("mcf7-aro", "letrozole palbociclib", "viable_cells"),
            ),
            _s9,
        ),
    )
}

#: Basis of the patient-model claims, whose readouts the cell-network ensemble does not vary.
PATIENT_BASIS: dict[str, tuple[str, str]] = {
    "S1": (
        "predicted",
        "the hepatic E2 restraint (Emax_E2L) is no longer set to Bajetta's +24 %; no patient "
        "target involves serum IGF-I under an aromatase inhibitor",
    ),
    "S2": (
        "structural",
        "FSH rises because the model's gonadotropin feedback is inhibitory E2 → FSH; only its "
        "size depends on parameters",
    ),
    "S8": (
        "structural",
        "hyperglycemia follows from insulin-receptor inhibition removing insulin-dependent "
        "glucose disposal in the minimal model; selective IGF-1R inhibition spares it by design",
    ),
}


def _one_set(
    params: Mapping[str, float], claims: Sequence[str], overrides: Mapping[str, float]
) -> list[tuple[float, bool]]:
    model = get_model()
    cache: dict[str, MeasureContext] = {}

    def ctxs(kind: str) -> MeasureContext:
        if kind not in cache:
            extra = crosstalk_off() if kind == "ablated" else {}
            cache[kind] = MeasureContext(model, params, {**overrides, **extra})
        return cache[kind]

    out = []
    for cid in claims:
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                v, ok = CLAIM_READOUTS[cid].compute(ctxs)
            out.append((float(v), bool(ok) and math.isfinite(v)))
        # a set whose experiment fails, or whose readout divides by a signal a --set removed
        # (e.g. parental p-AKT 0), is a set where the claim fails: never a crash
        except (LetrolabError, ArithmeticError):
            out.append((math.nan, False))
    return out


def _chunk(
    rows: list[dict[str, float]], claims: Sequence[str], overrides: Mapping[str, float]
) -> list[list[tuple[float, bool]]]:
    return [_one_set(r, claims, overrides) for r in rows]


def evaluate_readouts(
    parameter_sets,
    *,
    overrides: Mapping[str, float] | None = None,
    claims: Sequence[str] | None = None,
    workers: int | None = None,
    backend: str = "processes",
) -> tuple[np.ndarray, np.ndarray]:
    """Readout value and rule verdict of each claim on each parameter set.

    Parameters
    ----------
    parameter_sets : DataFrame
        One row per set (columns: model parameters).
    overrides : mapping, optional
        Values applied on top of every set (a ``--set``), taking precedence over the sampled
        values and over a cell line's own values, as in the virtual experiments.
    claims : sequence of str, optional
        Claim ids (default: every id of :data:`CLAIM_READOUTS`).
    workers : int, optional
        Worker processes (default: the CPU count); ``backend`` ``"processes"`` forks a local
        pool, ``"dask"`` submits chunks to the active Dask scheduler, ``"serial"`` runs here.

    Returns
    -------
    values, holds : ndarray
        Shape ``(n_sets, n_claims)``.
    """
    claims = list(claims or CLAIM_READOUTS)
    unknown = [c for c in claims if c not in CLAIM_READOUTS]
    if unknown:
        raise InputError(f"no ensemble readout for claim(s) {', '.join(unknown)}")
    rows = parameter_sets.to_dict("records")
    fixed = dict(overrides or {})
    if not rows:
        raise InputError("parameter_sets is empty; give one row per parameter set")
    workers = max(1, workers or os.cpu_count() or 1)
    pieces = [rows[i :: workers * 2] for i in range(workers * 2)] if len(rows) > 1 else [rows]
    order = [i for k in range(len(pieces)) for i in range(len(rows))[k :: len(pieces)]]
    if backend == "serial" or workers == 1:
        parts = [_chunk(p, claims, fixed) for p in pieces]
    elif backend == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # fork inherits the compiled model (workers start in ms); with other threads alive a
        # fork is unsafe, so spawn then (each worker compiles once, ~1-2 s)
        single = threading.active_count() == 1 and "fork" in mp.get_all_start_methods()
        get_model()
        ctx = mp.get_context("fork" if single else "spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            parts = list(pool.map(_chunk, pieces, [claims] * len(pieces), [fixed] * len(pieces)))
    elif backend == "dask":
        import dask

        parts = list(dask.compute(*[dask.delayed(_chunk)(p, claims, fixed) for p in pieces]))
    else:
        raise InputError(f"backend must be 'processes', 'dask' or 'serial', got {backend!r}")
    flat = [res for part in parts for res in part]
    values = np.empty((len(rows), len(claims)))
    holds = np.zeros((len(rows), len(claims)), dtype=bool)
    for pos, res in zip(order, flat, strict=True):
        values[pos] = [v for v, _ in res]
        holds[pos] = [h for _, h in res]
    return values, holds


@dataclass(frozen=True)
class ClaimSupport:
    """A claim evaluated on the ensemble.

    ``support`` is ``None`` for claims whose readout the ensemble does not vary (``note``
    says why); ``holds`` then falls back to the single run's verdict.
    """

    claim: str
    basis: str
    why: str
    readout: str
    support: float | None
    low95: float | None
    high95: float | None
    n_sets: int
    quantiles: tuple[float, float, float] | None  # readout 2.5, 50, 97.5 %
    holds: bool | None
    note: str = ""

    def summary(self) -> dict[str, Any]:
        """The claims.json fields ``basis`` and ``support``."""
        sup = None
        if self.support is not None:
            sup = {
                "fraction": self.support,
                "ci95": [self.low95, self.high95],
                "n_sets": self.n_sets,
                "readout": self.readout,
                "readout_quantiles_2.5_50_97.5": list(self.quantiles or ()),
                "rule": f"holds when the 95 % interval's lower end > {SUPPORT_HOLDS:g}",
            }
        return {"basis": {"kind": self.basis, "why": self.why}, "support": sup, "note": self.note}


def _clopper_pearson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def claim_support(
    parameter_sets,
    *,
    overrides: Mapping[str, float] | None = None,
    workers: int | None = None,
    backend: str = "processes",
) -> list[ClaimSupport]:
    """Support of every claim S1-S9 over ``parameter_sets`` (see the module docstring)."""
    ids = list(CLAIM_READOUTS)
    values, holds = evaluate_readouts(
        parameter_sets, overrides=overrides, workers=workers, backend=backend
    )
    n = values.shape[0]
    out = {}
    for j, cid in enumerate(ids):
        r = CLAIM_READOUTS[cid]
        k = int(holds[:, j].sum())
        lo, hi = _clopper_pearson(k, n)
        v = values[:, j]
        v = v[np.isfinite(v)]
        q = tuple(float(x) for x in np.quantile(v, [0.025, 0.5, 0.975])) if v.size else None
        out[cid] = ClaimSupport(
            cid,
            r.basis,
            r.why,
            f"{r.name} ({r.unit})",
            k / n,
            lo,
            hi,
            n,
            q,
            lo > SUPPORT_HOLDS,
        )
    for cid, (basis, why) in PATIENT_BASIS.items():
        out[cid] = ClaimSupport(
            cid,
            basis,
            why,
            "",
            None,
            None,
            None,
            n,
            None,
            None,
            "patient-model claim: the ensemble samples the cell network only, so its readout "
            "is the same on every set; holds is the single run's verdict",
        )
    return [out[c] for c in sorted(out)]


def sobol_indices(
    parameter_sets,
    *,
    n_base: int = 32,
    seed: int = 0,
    workers: int | None = None,
) -> Any:
    """First-order and total Sobol indices of every claim readout (SALib, Saltelli sampling).

    Parameters are sampled independently, uniformly in log within each one's 2.5-97.5 %
    range over ``parameter_sets``. Returns a long DataFrame
    ``claim, parameter, S1, S1_conf, ST, ST_conf``.
    """
    import pandas as pd
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    names = list(parameter_sets.columns)
    logv = np.log(parameter_sets.to_numpy(float))
    lo, hi = np.quantile(logv, 0.025, axis=0), np.quantile(logv, 0.975, axis=0)
    hi = np.where(hi > lo, hi, lo + 1e-6)
    problem = {"num_vars": len(names), "names": names, "bounds": np.c_[lo, hi].tolist()}
    X = sobol_sample.sample(problem, n_base, calc_second_order=False, seed=seed)
    frame = pd.DataFrame(np.exp(X), columns=names)
    values, _ = evaluate_readouts(frame, workers=workers)
    rows = []
    for j, cid in enumerate(CLAIM_READOUTS):
        y = values[:, j]
        y = np.where(np.isfinite(y), y, np.nanmedian(y))
        res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        for i, p in enumerate(names):
            rows.append(
                {
                    "claim": cid,
                    "parameter": p,
                    "S1": float(res["S1"][i]),
                    "S1_conf": float(res["S1_conf"][i]),
                    "ST": float(res["ST"][i]),
                    "ST_conf": float(res["ST_conf"][i]),
                }
            )
    return pd.DataFrame(rows)


def load_sobol(path: str | Path | None = None):
    """The shipped Sobol table (``None`` when absent)."""
    import pandas as pd

    p = Path(path) if path is not None else DEFAULT_SOBOL
    return pd.read_csv(p, comment="#") if p.is_file() else None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m letrolab.experiments.support [--sobol]``: support (and Sobol indices)."""
    import argparse

    from letrolab._io import atomic_write_text
    from letrolab.model.ensemble import load_ensemble

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--sobol", action="store_true")
    ap.add_argument("--n-base", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    ens = load_ensemble()
    for s in claim_support(ens.parameters, workers=args.workers):
        print(s.claim, s.basis, s.support, s.low95, s.high95, s.quantiles, s.holds)
    if args.sobol:
        df = sobol_indices(ens.parameters, n_base=args.n_base, workers=args.workers)
        head = f"# SALib Saltelli sampling, N = {args.n_base}, first-order and total indices\n"
        atomic_write_text(DEFAULT_SOBOL, head + df.to_csv(index=False, float_format="%.4g"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
