"""Each claim on every parameter set of the calibrated ensemble: support, spread, Sobol indices.

The virtual experiments of ``reproduce`` evaluate the claims once, on the shipped parameter set,
through instrument files and the lab's analyses. Repeating all of them on 200+ sets would take
hours, so each claim here has a *readout*: the noise-free model quantity its rule judges,
computed from a few direct simulations of the network (``letrolab.model.simulate``), with the
rule's threshold from :mod:`letrolab.experiments.claims`:

======  ==========================================================================  ==========
claim   readout (rule)                                                              basis
======  ==========================================================================  ==========
S3      min over p-AKT, p-ERK, p-ER S167/S118, ER activity, growth of the           predicted
        IGF-1-induced rise under letrozole (> S3_MIN_RISE; the ablation is the control)
S4      largest Chou-Talalay CI at fa 0.5/0.75, constant-ratio design, both lines   predicted
        (< S4_CI_MAX)
S5      sub-G1 of the combination / the higher single agent, both lines            predicted
        (> :func:`s5_min_ratio`, the ratio the experiment's Welch test detects)
S6      p-AKT and p-S6 of the LR line over parental under letrozole              structural
        (> :func:`s6_min_ratio`, the ratio the blot experiment's t-test detects)
S7      LR growth drop with everolimus (> S7_MIN_GROWTH_DROP), sub-G1 ratio > 1,   predicted
        and the LR drop's excess over parental cells in points (>= S7_MIN_EXCESS)
S9      growth benefit of the best downstream and the vertical partner (> 10 %),   predicted
        and the biomarker contrast (:func:`s9_biomarker_contrast` > 1 point)
======  ==========================================================================  ==========

S6 and S7 read the catalogued LR line (``mcf7-aro-lr`` in ``cell_lines.csv``), not the
clones the resistance experiment selects on the shipped set: selecting clones again on every
parameter set would cost months of simulated culture per set. Cell-line values are absolute, so
on a set whose sampled parental value lies beyond the LR line's own (e.g. ``cd_er`` below 0.2)
the line's stated direction is reversed; the convergence study reports S7's support with and
without those sets.

S1, S2 and S8 are patient-model claims; the ensemble samples the cell network only, so their
readouts do not vary over it: they are reported with ``support`` ``None`` and the reason.

``support`` is the fraction of sets on which the readout satisfies the rule, with a 95 %
Clopper-Pearson interval (Clopper & Pearson 1934, Biometrika 26:404; ``scipy.stats.binomtest``).
The sets are MCMC draws thinned by the sampler's settings; correlated draws make the interval
somewhat optimistic. **Rule:** a claim *holds* when the lower end of that interval is above
:data:`SUPPORT_HOLDS` (0.5): it holds in most parameter sets consistent with the calibration
data, beyond the sampling error of the ensemble. It *fails* when the upper end is below 0.5,
and is *undecided* when the interval straddles 0.5 (the ensemble cannot tell; ``holds`` is
then false, and the verdict says why).

Negative controls on the ensemble (:func:`ablated_support`): each claim's support again with
its mechanism removed (the claim's ablation on every set). A rule that tests its mechanism
must *fail* there, on the ensemble as in the single run.

Sobol indices (Saltelli et al. 2010, Comput Phys Commun 181:259, via SALib): first-order and
total indices of each readout over the ensemble's parameters, sampled independently and
log-uniformly within each parameter's 95 % posterior range (Sobol indices need independent
inputs; the posterior's correlations are dropped). They cost N (D + 2) readouts and are
computed by ``python -m letrolab.experiments.support --sobol`` into ``sobol.csv`` beside the
ensemble; the report shows the top five per claim.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
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
    "ablated_support",
    "claim_support",
    "ensemble_digest",
    "evaluate_readouts",
    "load_sobol",
    "s5_min_ratio",
    "s6_min_ratio",
    "s9_biomarker_contrast",
    "sobol_digest",
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
    for obs in ("p_akt", "p_erk", "p_er_s167", "p_er_s118", "er_activity"):
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


@functools.cache
def s5_min_ratio() -> float:
    """The smallest combination / single-agent sub-G1 ratio S5's experiment detects.

    S5's rule is a one-sided Welch test at p < ``S5_ALPHA`` over the apoptosis experiment's
    ``REPLICATES`` biological replicates per arm, whose sub-G1 varies with a log-normal
    ``REPLICATE_CV``. A noise-free ratio ``r`` gives the test statistic
    ``ln r / (cv sqrt(2 / n))`` on the log scale (equal variances, so the Welch-Satterthwaite
    degrees of freedom are ``2 n - 2``; Welch 1947, Biometrika 34:28); the readout passes
    when that reaches the critical value, i.e. when the typical replicate draw would pass.
    """
    from scipy import stats

    from letrolab.experiments.apoptosis import REPLICATE_CV, REPLICATES

    t_crit = float(stats.t.ppf(1 - C.S5_ALPHA, 2 * REPLICATES - 2))
    return math.exp(t_crit * REPLICATE_CV * math.sqrt(2 / REPLICATES))


def _s5(ctxs) -> tuple[float, bool]:
    ctx = ctxs("intact")
    v = min(PREDICTIONS["subg1_combo_vs_single"](ctx, cl) for cl in ("mcf7-aro", "t47d-aro"))
    return v, v > s5_min_ratio()


@functools.cache
def s6_min_ratio() -> float:
    """The smallest LR / parental p-AKT or p-S6 ratio S6's blot experiment detects.

    S6's rule is a one-sided blocked t-test at p < ``S6_ALPHA`` over the resistance
    experiment's ``BLOT_REPLICATES`` blots, ``N_PICK`` clones against one parental lane
    (:func:`letrolab.experiments.resistance.blot_contrast_se`, the design the experiment is
    sized with). A noise-free ratio passes when its log reaches ``t_{1-alpha, df} SE``: the
    typical blot series would pass.
    """
    from scipy import stats

    from letrolab.experiments.resistance import BLOT_REPLICATES, blot_contrast_se

    se, df = blot_contrast_se(BLOT_REPLICATES)
    return math.exp(float(stats.t.ppf(1 - C.S6_ALPHA, df)) * se)


def _s6(ctxs) -> tuple[float, bool]:
    ctx = ctxs("intact")
    vals = []
    for obs in ("p_akt", "p_s6"):
        a = ctx.sim("mcf7-aro-lr", drugs={"letrozole": LET}, androstenedione=A4, days=2.0)
        b = ctx.sim("mcf7-aro", drugs={"letrozole": LET}, androstenedione=A4, days=2.0)
        vals.append(a.final(obs) / b.final(obs))
    v = min(vals)
    return v, v > s6_min_ratio()


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


#: Mean of the upper tercile of a standard normal, 3 phi(z_2/3) (1.091): where a tercile's
#: typical tumour sits on each log-normal feature axis of the strategies experiment.
_UPPER_TERCILE_Z = 3 * NormalDist().pdf(NormalDist().inv_cdf(2 / 3))
#: Smallest difference in benefit (growth-reduction points / 100) between the upper- and
#: lower-tercile tumour that counts as a biomarker: 6-day growth assays resolve differences of
#: a few per cent at best (replicate CV of viability readouts ~5-10 %), so 1 point is the floor.
S9_MIN_CONTRAST = 0.01


#: The partners S9's biomarker half asks about: IGF-1R/PI3K/mTOR inhibitors.
S9_TARGETED = {"everolimus": 10e-9, "alpelisib": 1e-6, "nvp-aew541": 1e-6}


def _benefits(ctx: MeasureContext, scale: Mapping[str, float]) -> dict[str, float]:
    """Benefit of each targeted partner in an MCF-7/Aro tumour whose ``scale``d parameters are
    that many times the set's own; a --set or ablation still wins."""
    from letrolab.model import simulate

    fitted = ctx.for_line("mcf7-aro")
    own = {k: fitted.get(k, ctx.model.parameters[k]) * f for k, f in scale.items()}
    params = {**fitted, **own, **ctx.overrides}

    def grown(drugs: dict[str, float]) -> float:
        r = simulate(
            "mcf7-aro",
            drugs=drugs,
            androstenedione=A4,
            days=6.0,
            parameters=params,
            model=ctx.model,
            points_per_day=1,
        )
        return float(r.final("viable_cells"))

    g0 = grown({"letrozole": LET})
    return {d: 1 - grown({"letrozole": LET, d: c}) / g0 for d, c in S9_TARGETED.items()}


def s9_biomarker_contrast(ctx: MeasureContext) -> float:
    """Largest benefit difference, upper- minus lower-tercile tumour, of an IGF-1R/PI3K/mTOR
    inhibitor along IGF-1R level or PI3K activation.

    The noise-free form of S9's biomarker half: the strategies experiment varies each tumour
    feature log-normally (``strategies.FEATURES``) and asks whether IGF-1R level or PI3K
    activation predicts the benefit of one of these inhibitors (Spearman); here the typical
    tumour of each tercile of one feature is compared directly, the others at the set's value.
    """
    from letrolab.experiments.strategies import FEATURES

    best = -math.inf
    for name, sd in FEATURES.values():
        if name not in ("r1_level", "pi3k_basal"):
            continue
        shift = -0.5 * sd * sd
        hi = _benefits(ctx, {name: math.exp(shift + _UPPER_TERCILE_Z * sd)})
        lo = _benefits(ctx, {name: math.exp(shift - _UPPER_TERCILE_Z * sd)})
        best = max(best, *(hi[d] - lo[d] for d in S9_TARGETED))
    return best


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
    if v <= C.S9_MIN_BENEFIT:
        return v, False
    return v, s9_biomarker_contrast(ctx) > S9_MIN_CONTRAST


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
            "smallest IGF-1-induced rise under letrozole of p-AKT, p-ERK, p-ER S167/S118, ER "
            "activity and growth",
            "fraction",
            "predicted",
            "no calibration target stimulates with IGF-1 under letrozole or removes the "
            "kinase → ER phosphorylation; the wiring fixes only the signs",
            (
                _c(
                    "mcf7-aro",
                    "letrozole",
                    "p_akt p_erk p_er_s167 p_er_s118 er_activity viable_cells",
                ),
            ),
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
            "LR growth drop with everolimus added to letrozole, minus the parental cells'",
            "points",
            "predicted",
            "the LR everolimus targets were removed; everolimus is calibrated on parental "
            "signalling and on the drug class's growth plateau only",
            (_c("mcf7-aro-lr", "letrozole everolimus", "mts_relative sub_g1_fraction"),),
            _s7,
        ),
        ClaimReadout(
            "S9",
            "smaller of best downstream and vertical growth benefit (rule: also a larger "
            "IGF-1R/PI3K/mTOR-inhibitor benefit in IGF-1R- or PI3K-high than -low tumours)",
            "fraction",
            "predicted",
            "no target combines letrozole with a second drug or varies IGF-1R or PI3K "
            "between tumours",
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
        "the IGF-I half is a prediction: the hepatic E2 restraint (Emax_E2L) is bounded by "
        "route-of-oestrogen studies, not set to Bajetta's +24 %; the IGFBP-3 half is not: the "
        "GH feedback gain g_GH was chosen to keep IGFBP-3 within 5 %, the rule's tolerance",
    ),
    "S2": (
        "structural",
        "FSH rises because the model's gonadotropin feedback is inhibitory E2 → FSH; only its "
        "size depends on parameters. The measured-E2 magnitude it checks (-68 to -88 %) follows "
        "from the immunoassays' published sensitivity limit (E2_assay_floor), not from that "
        "range",
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

    @property
    def verdict(self) -> str | None:
        """``"holds"``, ``"fails"`` or ``"undecided"`` by the rule on ``support`` (module
        docstring); ``None`` where the ensemble does not vary the readout."""
        if self.support is None or self.low95 is None or self.high95 is None:
            return None
        if self.low95 > SUPPORT_HOLDS:
            return "holds"
        return "fails" if self.high95 < SUPPORT_HOLDS else "undecided"

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
                "verdict": self.verdict,
                "rule": f"holds when the 95 % interval's lower end > {SUPPORT_HOLDS:g}, fails "
                f"when its upper end < {SUPPORT_HOLDS:g}, undecided otherwise",
            }
        return {"basis": {"kind": self.basis, "why": self.why}, "support": sup, "note": self.note}


def _clopper_pearson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def _support_of(cid: str, values: np.ndarray, holds: np.ndarray) -> ClaimSupport:
    """One claim's support over the sets: fraction holding, its interval, readout spread."""
    r = CLAIM_READOUTS[cid]
    n, k = len(holds), int(holds.sum())
    lo, hi = _clopper_pearson(k, n)
    v = values[np.isfinite(values)]
    q = tuple(float(x) for x in np.quantile(v, [0.025, 0.5, 0.975])) if v.size else None
    return ClaimSupport(
        cid, r.basis, r.why, f"{r.name} ({r.unit})", k / n, lo, hi, n, q, lo > SUPPORT_HOLDS
    )


def ablated_support(
    parameter_sets,
    *,
    overrides: Mapping[str, float] | None = None,
    workers: int | None = None,
    backend: str = "processes",
) -> list[ClaimSupport]:
    """Each sampled claim's support with its mechanism removed: the ensemble's negative control.

    The claim's ablation (:attr:`letrolab.experiments.Claim.ablation`) is added to
    ``overrides`` on every set; claims sharing an ablation share the simulations. A claim
    whose rule tests its mechanism gets the verdict ``"fails"`` here.
    """
    groups: dict[tuple[tuple[str, float], ...], list[str]] = {}
    for cid in CLAIM_READOUTS:
        groups.setdefault(tuple(sorted(C.CLAIMS[cid].ablation.items())), []).append(cid)
    out = {}
    for ablation, cids in groups.items():
        values, holds = evaluate_readouts(
            parameter_sets,
            overrides={**dict(overrides or {}), **dict(ablation)},
            claims=cids,
            workers=workers,
            backend=backend,
        )
        for j, cid in enumerate(cids):
            out[cid] = _support_of(cid, values[:, j], holds[:, j])
    return [out[c] for c in CLAIM_READOUTS]


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
    out = {cid: _support_of(cid, values[:, j], holds[:, j]) for j, cid in enumerate(ids)}
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


def ensemble_digest(path: str | Path | None = None) -> str:
    """SHA-256 of an ensemble file (default: the shipped one), recorded in ``sobol.csv`` so that
    the indices are known to be of the ensemble beside them."""
    import hashlib

    from letrolab.model.ensemble import DEFAULT_ENSEMBLE

    return hashlib.sha256(Path(path or DEFAULT_ENSEMBLE).read_bytes()).hexdigest()


def sobol_digest(path: str | Path | None = None) -> str | None:
    """The ``ensemble_sha256`` a Sobol table records (``None`` when absent)."""
    from letrolab._io import comment_header

    p = Path(path) if path is not None else DEFAULT_SOBOL
    return comment_header(p).get("ensemble_sha256") if p.is_file() else None


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
        head = (
            f"# SALib Saltelli sampling, N = {args.n_base}, first-order and total indices\n"
            f"# ensemble_sha256: {ensemble_digest()}\n"
        )
        atomic_write_text(DEFAULT_SOBOL, head + df.to_csv(index=False, float_format="%.4g"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
