"""S6, S7: letrozole-resistant clones from months of letrozole culture; AKT/mTOR; everolimus.

Protocol (Cavazzoni et al. 2012, as summarised by the seed): MCF-7/AROM-1 cells kept in
letrozole-containing medium for months give letrozole-resistant (LR) clones; Western blots show
higher p-AKT and p-mTOR targets than parental cells; letrozole + RAD001 (everolimus) lowers
their proliferation and raises cell death.

Virtual version:

1. **A heterogeneous population** (:func:`founder_population`). ``N`` clones of MCF-7/Aro
   differ log-normally in IGF-1R expression (``r1_level``, 30 % CV) and in PI3K pathway
   activity — receptor-independent PI3K input (``pi3k_basal``, 50 %, PIK3CA-like gain) and
   PIP3 turnover (``k_pi3k_inact``, 30 %, PTEN-like: it scales the output of receptor-driven and
   basal PI3K alike) — and in their ER dependence: the ER-driven share of
   cyclin D1 transcription (``cd_er / (cd_er + cd_basal)``, logit-normal, SD 0.5) at an
   unchanged total in estrogen-stimulated cells — the three axes the seed names. Dependence is
   a share, as for IGF-1R and IRS-1 in the network (``r1_er``, ``irs_er``): a clone that relies
   more on ER has correspondingly less ER-independent drive, so it grows alike with estrogen
   and differs only when ER activity falls. (Varying ``cd_er`` alone would make "more ER
   dependent" simply "more cyclin D1 in every condition", a growth advantage even under
   letrozole, and would select the opposite of the ER-marginal LR clones Cavazzoni et al.
   describe.) Sub-lines of MCF-7 differ genetically and transcriptionally, with divergent drug
   responses (Ben-David et al. 2018, Nature 560:325); the sizes of the spreads are assumptions.
2. **Selection.** Monthly passages (28 days) in androstenedione 10 nM + letrozole 1 µM: each
   clone's fold growth over the passage comes from the model, and the clone frequencies are
   re-weighted by it (growth-weighted selection, the replicator dynamics of a clonal
   population; Nowak 2006, *Evolutionary Dynamics*, ch. 2).
3. **Adaptation.** Growth-arrested clones slowly raise IGF-1R and PI3K signalling, as
   long-term estrogen-deprived MCF-7 cells do (Martin et al. 2003, J Biol Chem 278:30458;
   Santen et al. 2005, "adaptive hypersensitivity"): per passage both parameters are
   multiplied by ``exp(alpha * stress)``, ``stress = clip(1 - g / g_ref, 0, 1)`` with ``g`` the
   clone's growth rate under letrozole and ``g_ref`` the parental rate without it;
   ``alpha = 0.1`` per month is an assumption (slow: ~10 % per month at full arrest).
4. **LR clones.** Three flasks are derived independently (as labs derive LR lines in
   separate cultures); after six months the dominant clone of each flask is picked and
   registered as a derived cell line (:meth:`letrolab.model.CellLine.derive`).
5. **S6 — Western blots.** Parental and LR cells, 48 h in androstenedione + letrozole: the
   model's p-AKT S473 and p-S6 fractions become band volumes (with unequal loading), rendered
   as 16-bit film-like images with background gradient and noise
   (:func:`letrolab.instruments.blot.render_blot`), and quantified by the densitometry code
   (:func:`~letrolab.assays.blot.analyse_blot`, phospho / total, relative to parental), in
   replicate blots, as many as a power analysis made before the run asks for (90 % power to
   detect a 1.2× change at the stated blot noise; :func:`blot_replicates_for_power`). Whether
   the LR clones are higher is decided by a pre-specified
   one-sided test on the replicate log ratios (blot as block; see S6 in
   :mod:`letrolab.experiments.claims`), not by a magnitude threshold.
6. **S7 — everolimus.** LR clones and parental cells, 6 days in letrozole ± everolimus 10 nM:
   growth from the model's viable cells, cell death as sub-G1 from virtual PI FCS files
   analysed by the DNA-content code.

Tables: ``s6_selection`` (per passage), ``s6_clones`` (the LR clones' parameters),
``s6_blot_bands`` (per lane, readout and replicate blot: the densitometry S6 is judged on),
``s6_blot_quant`` (per clone: mean and geometric-mean fold change), ``s7_everolimus``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.instruments.flow import PI_CHANNELS as DNA_CHANNELS
from letrolab.instruments.flow import simulate_dna_content, write_fcs

__all__ = ["EXPERIMENT", "blot_contrast_se", "founder_population", "select_and_adapt"]


LETROZOLE_M = 1e-6
EVEROLIMUS_M = 10e-9
PASSAGE_DAYS = 28.0
MONTHS = 6
N_CLONES = {False: 400, True: 100}  # clones per flask
N_PICK = 3
ALPHA = 0.10
#: Log-normal SD of the clone-to-clone variation of IGF-1R level, receptor-independent PI3K input
#: and PIP3 turnover (PTEN-like) (assumptions, order of magnitude of clonal expression variability).
SPREAD = {"r1_level": 0.3, "pi3k_basal": 0.5, "k_pi3k_inact": 0.3}
#: SD of the ER-driven share of cyclin D1 transcription on the logit scale (assumption).
ER_SHARE_SD = 0.5
ADAPTIVE = ("r1_level", "pi3k_basal")
#: Band-to-band technical variation of a Western blot (transfer, antibody, exposure): CVs of
#: 10–25 % are usual (Taylor & Posch 2014, Biomed Res Int 2014:361590); 15 % assumed.
BLOT_CV = 0.15
#: Smallest fold change of p-AKT or p-S6 (LR over parental) the blot experiment must detect.
MIN_FOLD = 1.2
#: Power the blot experiment is sized for (probability of detecting ``MIN_FOLD``).
BLOT_POWER = 0.90


def blot_contrast_se(n: int, *, cv: float = BLOT_CV, n_lr: int = N_PICK) -> tuple[float, int]:
    """Standard error and degrees of freedom of S6's log contrast over ``n`` blots.

    Each lane's phospho/total ratio carries two independent log-normal band errors of SD
    ``cv``, so its log has residual SD ``σ = √2·cv``. The contrast "mean of the ``n_lr`` LR
    lanes minus the parental lane" in a randomised-block design with the blot as block
    (Montgomery, *Design and Analysis of Experiments*, ch. 4) has standard error
    ``σ·√((1/n_lr + 1)/n)`` on ``n_lr·(n − 1)`` degrees of freedom.
    """
    sigma = np.sqrt(2.0) * cv
    return float(sigma * np.sqrt((1.0 / n_lr + 1.0) / n)), n_lr * (n - 1)


def blot_replicates_for_power(
    *,
    min_fold: float = MIN_FOLD,
    cv: float = BLOT_CV,
    n_lr: int = N_PICK,
    alpha: float = 0.05,
    power: float = BLOT_POWER,
    n_max: int = 50,
) -> int:
    """Number of replicate blots needed to detect ``min_fold`` with the given power.

    The experiment is sized before it is run, from the design and the noise model alone, as a
    lab sizes a confirmatory experiment (Cohen 1988, *Statistical Power Analysis for the
    Behavioral Sciences*, ch. 2): never from the observed effect. The S6 rule tests the LR vs
    parental contrast, whose standard error with ``n`` blots is :func:`blot_contrast_se`; the
    power of the one-sided t-test at level ``alpha`` against a true ``ln(min_fold)`` is the
    non-central t tail ``P(T'(df, δ/SE) > t_{1−α, df})``. The smallest ``n`` (at least 3)
    reaching ``power`` is returned.

    Examples
    --------
    With 15 % band CV and three clones, a 1.2× increase needs 16 blots for 90 % power; three
    blots give about 30 %:

    >>> blot_replicates_for_power()
    16
    """
    from scipy import stats

    delta = np.log(min_fold)
    for n in range(3, n_max + 1):
        se, df = blot_contrast_se(n, cv=cv, n_lr=n_lr)
        achieved = stats.nct.sf(stats.t.ppf(1.0 - alpha, df), df, delta / se)
        if achieved >= power:
            return n
    raise ValueError(f"{power:.0%} power for a {min_fold}x change needs more than {n_max} blots")


#: Replicate blots, sized a priori by :func:`blot_replicates_for_power`.
BLOT_REPLICATES = blot_replicates_for_power()
#: Integrated volume of the strongest band of a blot (16-bit image units): a peak pixel of
#: about 10,000 above a background of 2,500, inside the linear range of a 65,535 full scale.
BAND_VOLUME = 1.5e6
BLOT_TARGETS = (("p-AKT", "p_akt", "AKT"), ("p-S6", "p_s6", "S6"))


def founder_population(
    base: dict[str, float], n: int, rng: np.random.Generator, *, er_share_sd: float = ER_SHARE_SD
) -> pd.DataFrame:
    """The clones of one flask before letrozole: one row per clone.

    ``r1_level``, ``pi3k_basal`` and ``k_pi3k_inact`` are log-normal around the parental value
    with mean-preserving SDs :data:`SPREAD`; the ER share of cyclin D1 transcription, ``cd_er / (cd_er + cd_basal)``,
    is logit-normal around the parental share with SD ``er_share_sd``, keeping
    ``cd_er + cd_basal`` (cyclin D1 drive at full ER activity) fixed.
    """
    cols = {k: base[k] * np.exp(rng.normal(-0.5 * s * s, s, size=n)) for k, s in SPREAD.items()}
    total = base["cd_er"] + base["cd_basal"]
    share0 = base["cd_er"] / total
    z = np.log(share0 / (1.0 - share0)) + rng.normal(0.0, er_share_sd, size=n)
    share = 1.0 / (1.0 + np.exp(-z))
    cols["cd_er"] = share * total
    cols["cd_basal"] = (1.0 - share) * total
    return pd.DataFrame(cols)


def select_and_adapt(
    params: pd.DataFrame,
    growth: callable,
    *,
    g_ref: float,
    months: int,
    days: float = PASSAGE_DAYS,
    alpha: float = ALPHA,
    adaptive: tuple[str, ...] = ADAPTIVE,
    progress: Callable[[float], None] | None = None,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Growth-weighted selection with slow adaptation over monthly passages.

    Parameters
    ----------
    params : DataFrame
        One row per clone, one column per model parameter (absolute values).
    growth : callable
        ``growth(params) -> fold`` growth of every clone over one passage (array, > 0).
    g_ref : float
        Reference growth rate (1/day): the parental population without the drug.
    months : int
        Number of passages.
    alpha : float
        Adaptation rate per passage at full growth arrest.
    adaptive : tuple of str
        Parameters that adapt upward under arrest.

    Returns
    -------
    params : DataFrame
        The clones' parameters after adaptation.
    freq : ndarray
        Clone frequencies after selection (sum 1).
    history : DataFrame
        Per passage: frequency-weighted mean of each parameter, population fold growth,
        frequency of the leading clone.
    """
    p = params.copy().reset_index(drop=True)
    freq = np.full(len(p), 1.0 / len(p))
    hist = []
    for month in range(1, months + 1):
        fold = np.asarray(growth(p), dtype=float)
        if fold.shape != (len(p),) or not np.all(np.isfinite(fold)) or np.any(fold < 0):
            from letrolab.errors import ModelError

            raise ModelError(f"passage {month}: the model gave non-finite or negative growth")
        pop = float(np.sum(freq * fold))
        if pop <= 0:
            from letrolab.errors import ModelError

            raise ModelError(f"passage {month}: every clone died out under letrozole")
        freq = freq * fold / pop
        g = np.log(np.maximum(fold, 1e-12)) / days
        stress = np.clip(1.0 - g / g_ref, 0.0, 1.0)
        for name in adaptive:
            p[name] = p[name] * np.exp(alpha * stress)
        row = {"month": month, "population_fold": pop, "top_clone_frequency": float(freq.max())}
        row |= {f"mean_{c}": float(np.sum(freq * p[c])) for c in p.columns}
        hist.append(row)
        if progress is not None:
            progress(month / months)
    return p, freq, pd.DataFrame(hist)


def _growth_fn(ctx: Context, days: float):
    from letrolab.model import run_ensemble

    def growth(p: pd.DataFrame) -> np.ndarray:
        res = run_ensemble(
            p,
            cell_line="mcf7-aro",
            drugs={"letrozole": LETROZOLE_M},
            days=days,
            parameters=dict(ctx.overrides) or None,
            observables=("viable_cells",),
            backend="serial",
        )
        if res.failed:
            from letrolab.errors import ModelError

            i, why = next(iter(res.failed.items()))
            raise ModelError(f"clone {i} could not be simulated: {why}")
        return res.final("viable_cells")

    return growth


def _blots(ctx, lines, rng, raw):
    """Render and quantify replicate blots; returns (quant table, files, example images)."""
    from letrolab.assays.blot import analyse_blot, normalise_bands
    from letrolab.instruments.blot import render_blot
    from letrolab.model import simulate

    truth = {}
    for name, line in lines.items():
        r = simulate(
            line,
            drugs={"letrozole": LETROZOLE_M},
            days=2.0,
            points_per_day=4,
            parameters=dict(ctx.overrides) or None,
            observables=["p_akt", "p_s6"],
        )
        truth[name] = {"p_akt": r.final("p_akt"), "p_s6": r.final("p_s6")}
    names = list(lines)
    rows, files, examples = [], [], {}
    for rep in range(1, BLOT_REPLICATES + 1):
        loading = np.exp(rng.normal(0.0, 0.12, size=len(names)))  # unequal protein loading
        for label, obs, total_label in BLOT_TARGETS:
            # Antibodies differ in sensitivity and each membrane is exposed so that its
            # strongest band sits well inside the detector's linear range: scale each blot to
            # a top band volume of BAND_VOLUME (only ratios within a blot carry information).
            phos = np.array([truth[n][obs] for n in names]) * loading
            phos = phos * BAND_VOLUME / phos.max()
            total = loading * BAND_VOLUME / loading.max()
            areas = {}
            for what, vol in ((label, phos), (total_label, total)):
                vol = vol * np.exp(rng.normal(0.0, BLOT_CV, size=vol.shape))
                blot = render_blot(
                    vol,
                    noise=25.0,
                    gradient=(600.0, 300.0),
                    background=2500.0,
                    dark_bands=True,
                    dtype="uint16",
                    seed=int(rng.integers(2**31)),
                )
                path = blot.save(raw / f"blot_{what.replace('-', '')}_rep{rep}.png")
                files.append(path.relative_to(ctx.outdir))
                # lane rectangles as drawn in ImageJ's Gel Analyzer: the loaded lanes
                res = analyse_blot(path, lanes=list(blot.lanes), bands=1)
                areas[what] = res.band_areas(1)
                if rep == 1:
                    examples[what] = blot.image
            norm = normalise_bands(areas[label], total=areas[total_label], control_lane=1)
            for k, n in enumerate(names):
                rows.append(
                    {
                        "clone": n,
                        "target": label,
                        "replicate": rep,
                        "phospho_area": float(norm["signal"][k]),
                        "total_area": float(norm["total"][k]),
                        "relative": float(norm["relative"][k]),
                        "model_fraction": float(truth[n][obs]),
                    }
                )
    raw_df = pd.DataFrame(rows)
    # fold change = geometric mean over the blots (ratios are log-normal), as S6 judges it
    quant = (
        raw_df.assign(log_relative=np.log(raw_df["relative"]))
        .groupby(["clone", "target"], sort=False)
        .agg(
            relative_to_parental=("relative", "mean"),
            sd=("relative", "std"),
            log_fold_change=("log_relative", "mean"),
            log_sd=("log_relative", "std"),
            n=("relative", "size"),
            model_fraction=("model_fraction", "first"),
        )
        .reset_index()
    )
    quant.insert(2, "fold_change", np.exp(quant.pop("log_fold_change")))
    par = {t: truth[names[0]][o] for t, o, _ in BLOT_TARGETS}
    quant["model_ratio"] = [
        truth[c][dict((t, o) for t, o, _ in BLOT_TARGETS)[t]] / par[t]
        for c, t in zip(quant["clone"], quant["target"], strict=True)
    ]
    return quant, raw_df, files, examples


def _fractions(r) -> dict[str, float]:
    """Sub-G1 and phase fractions (phases renormalised over the viable cells) of a simulation."""
    fr = {
        "sub_g1": r.final("sub_g1_fraction"),
        "g1": r.final("g1_fraction"),
        "s": r.final("s_fraction"),
        "g2m": r.final("g2m_fraction"),
    }
    tot = fr["g1"] + fr["s"] + fr["g2m"]
    return fr | {k: fr[k] / tot for k in ("g1", "s", "g2m")}


def _everolimus(ctx, lines, rng, raw):
    from letrolab.assays.cellcycle import analyze_cell_cycle
    from letrolab.model import simulate

    n_events = 6000 if ctx.quick else 20000
    rows, files = [], []
    # An untreated parental sample (androstenedione only) guides the G1 position of every file.
    r0 = simulate(
        "mcf7-aro",
        days=6.0,
        points_per_day=1,
        parameters=dict(ctx.overrides) or None,
        observables=["sub_g1_fraction", "g1_fraction", "s_fraction", "g2m_fraction"],
    )
    f0 = _fractions(r0)
    cpath = raw / "parental_untreated_control.fcs"
    write_fcs(
        cpath,
        simulate_dna_content(n_events, **f0, debris=0.04, doublets=0.04, rng=rng),
        channels=list(DNA_CHANNELS),
        metadata={"$CYT": "letrolab virtual cytometer", "$SRC": "parental untreated"},
    )
    files.append(cpath.relative_to(ctx.outdir))
    control = analyze_cell_cycle(cpath)
    if not control:
        from letrolab.errors import FitError

        raise FitError(f"the untreated control could not be analysed: {control.reason}")
    for name, line in lines.items():
        for trt, drugs in (
            ("letrozole", {"letrozole": LETROZOLE_M}),
            ("letrozole+everolimus", {"letrozole": LETROZOLE_M, "everolimus": EVEROLIMUS_M}),
        ):
            r = simulate(
                line,
                drugs=drugs,
                days=6.0,
                points_per_day=1,
                parameters=dict(ctx.overrides) or None,
                observables=[
                    "viable_cells",
                    "sub_g1_fraction",
                    "g1_fraction",
                    "s_fraction",
                    "g2m_fraction",
                ],
            )
            fr = _fractions(r)
            path = raw / f"{name}_{trt.replace('+', '_')}.fcs"
            write_fcs(
                path,
                simulate_dna_content(n_events, **fr, debris=0.04, doublets=0.04, rng=rng),
                channels=list(DNA_CHANNELS),
                metadata={"$CYT": "letrolab virtual cytometer", "$SRC": f"{name} {trt}"},
            )
            files.append(path.relative_to(ctx.outdir))
            res = analyze_cell_cycle(path, control=control)
            rows.append(
                {
                    "clone": name,
                    "treatment": trt,
                    "growth_fold": r.final("viable_cells"),
                    "sub_g1_pct": res.sub_g1_pct if res else float("nan"),
                    "model_sub_g1_pct": 100.0 * fr["sub_g1"],
                    "file": str(path.relative_to(ctx.outdir)),
                }
            )
    return pd.DataFrame(rows), files


def _figure(hist, quant, ev, examples) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    fig = plt.figure(figsize=(16, 7.5))
    gs = fig.add_gridspec(2, 4)
    ax = fig.add_subplot(gs[0, 0])
    for k, (col, lab) in enumerate(
        (
            ("mean_r1_level", "IGF-1R level"),
            ("mean_pi3k_basal", "PI3K basal"),
            ("mean_k_pi3k_inact", "PIP3 turnover (PTEN-like)"),
            ("mean_cd_er", "ER share of cyclin D1 drive"),
        )
    ):
        for flask, h in hist.groupby("flask"):
            ax.plot(
                h["month"],
                h[col] / h[col].iloc[0],
                marker="o",
                ms=3,
                color=f"C{k}",
                label=lab if flask == 1 else None,
            )
    ax.set_xlabel("months in letrozole")
    ax.set_ylabel("population mean (× month 1)")
    ax.set_title("selection and adaptation")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[1, 0])
    for flask, h in hist.groupby("flask"):
        ax.semilogy(h["month"], h["population_fold"], marker="o", ms=3, label=f"flask {flask}")
    ax.legend(fontsize=7)
    ax.set_xlabel("months in letrozole")
    ax.set_ylabel("population fold growth per passage")
    lo, hi = ax.get_ylim()
    if not hi > lo * (1 + 1e-9):  # identical flasks: matplotlib cannot widen a flat log axis
        ax.set_ylim(lo / 2, hi * 2)
    for k, name in enumerate(examples):
        ax = fig.add_subplot(gs[k // 2, 1 + k % 2])
        ax.imshow(examples[name], cmap="gray", aspect="auto")
        ax.set_title(f"{name} (replicate 1)")
        ax.set_xticks([])
        ax.set_yticks([])
    ax = fig.add_subplot(gs[0, 3])
    clones = list(dict.fromkeys(quant["clone"]))
    width = 0.38
    for j, t in enumerate(("p-AKT", "p-S6")):
        q = quant[quant["target"] == t].set_index("clone").reindex(clones)
        fc, gsd = q["fold_change"].to_numpy(float), np.exp(q["log_sd"].to_numpy(float))
        ax.bar(
            np.arange(len(clones)) + (j - 0.5) * width,
            fc,
            width,
            yerr=np.nan_to_num(np.vstack([fc - fc / gsd, fc * gsd - fc])),
            label=t,
            capsize=2,
        )
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(range(len(clones)), clones, rotation=20)
    ax.set_ylabel("phospho / total (× parental, geometric mean ×/÷ SD)")
    ax.set_title("S6: densitometry")
    ax.legend(fontsize=7)
    ax = fig.add_subplot(gs[1, 3])
    for j, t in enumerate(("letrozole", "letrozole+everolimus")):
        q = ev[ev["treatment"] == t].set_index("clone").reindex(clones)
        ax.bar(np.arange(len(clones)) + (j - 0.5) * width, q["growth_fold"], width, label=t)
    ax.set_xticks(range(len(clones)), clones, rotation=20)
    ax.set_ylabel("6-day growth (× seeded)")
    ax.set_title("S7: everolimus 10 nM")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(
        "s6_s7_resistance",
        "S6/S7. Six monthly passages in letrozole select and adapt a heterogeneous MCF-7/Aro "
        "population (left); virtual Western blots of parental and letrozole-resistant (LR) "
        "clones (middle; 16-bit images as written) and their densitometry (top right); 6-day "
        "growth under letrozole with and without everolimus (bottom right).",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S6/S7 protocol (see the module docstring)."""
    from letrolab.model import get_cell_line, get_model, simulate

    rng = ctx.rng("resistance")
    raw = ctx.rawdir("resistance")
    model = get_model()
    n = N_CLONES[bool(ctx.quick)]
    base = {**model.parameters, **get_cell_line("mcf7-aro").overrides, **dict(ctx.overrides)}
    ref = simulate(
        "mcf7-aro",
        days=PASSAGE_DAYS,
        points_per_day=1,
        parameters=dict(ctx.overrides) or None,
        observables=["viable_cells"],
    )
    g_ref = float(np.log(ref.final("viable_cells")) / PASSAGE_DAYS)
    lines = {"parental": get_cell_line("mcf7-aro")}
    clone_rows, hists = [], []
    growth = _growth_fn(ctx, PASSAGE_DAYS)
    for flask in range(1, N_PICK + 1):
        params = founder_population(base, n, rng, er_share_sd=ER_SHARE_SD)
        ctx.progress(
            0.02 + 0.5 * (flask - 1) / N_PICK,
            f"flask {flask}: {n} clones, {MONTHS} months in letrozole",
        )
        adapted, freq, hist = select_and_adapt(
            params, growth, g_ref=g_ref, months=MONTHS, alpha=ALPHA
        )
        hist.insert(0, "flask", flask)
        hists.append(hist)
        i = int(np.argmax(freq))
        name = f"mcf7-aro-lr{flask}"
        values = {c: float(adapted.loc[i, c]) for c in adapted.columns}
        lines[name] = get_cell_line("mcf7-aro").derive(
            name,
            reason=f"dominant clone of virtual flask {flask} after {MONTHS} months in letrozole",
            **values,
        )
        clone_rows.append(
            {
                "clone": name,
                "flask": flask,
                "index": i,
                "frequency": float(freq[i]),
                **{f"{c}_start": float(params.loc[i, c]) for c in params.columns},
                **values,
            }
        )
    hist = pd.concat(hists, ignore_index=True)
    ctx.progress(0.55, "Western blots")
    quant, blot_raw, blot_files, examples = _blots(ctx, lines, rng, raw)
    ctx.progress(0.8, "everolimus")
    ev, ev_files = _everolimus(ctx, lines, rng, raw)
    ctx.progress(0.95, "figures")
    return Output(
        tables={
            "s6_selection": hist,
            "s6_clones": pd.DataFrame(clone_rows),
            "s6_blot_quant": quant,
            "s6_blot_bands": blot_raw,
            "s7_everolimus": ev,
        },
        figures=(_figure(hist, quant, ev, examples),),
        files=tuple(blot_files + ev_files),
    )


EXPERIMENT = Experiment(
    id="resistance",
    title="Resistance: letrozole-resistant clones, AKT/mTOR, everolimus",
    claims=("S6", "S7"),
    requires=(
        "letrolab.model:run_ensemble",
        "letrolab.model:get_cell_line",
        "letrolab.instruments.blot:render_blot",
        "letrolab.assays.blot:analyse_blot",
        "letrolab.instruments.flow:write_fcs",
        "letrolab.assays.cellcycle:analyze_cell_cycle",
    ),
    run=run,
    methods=(
        f"In each of three flasks, a population of MCF-7/Aro clones ({N_CLONES[False]}; "
        f"{N_CLONES[True]} in a quick run) varying log-normally in "
        f"IGF-1R level ({100 * SPREAD['r1_level']:.0f} % CV), PI3K pathway activity "
        f"(receptor-independent PI3K input {100 * SPREAD['pi3k_basal']:.0f} %, "
        f"PTEN-like PIP3 turnover {100 * SPREAD['k_pi3k_inact']:.0f} %) and ER dependence (the "
        f"ER-driven share of cyclin D1 transcription, logit-normal SD {ER_SHARE_SD:g}, at a fixed "
        f"total) is passaged monthly for {MONTHS} months in androstenedione 10 nM + "
        f"letrozole {LETROZOLE_M * 1e6:g} µM. Each passage re-weights the clones by their "
        f"simulated {PASSAGE_DAYS:g}-day growth "
        "(selection) and raises IGF-1R and PI3K activity by up to 10 % per month in arrested "
        "clones (adaptation, an assumption in the spirit of long-term estrogen-deprivation "
        "studies). The dominant clone of each flask becomes a derived cell line (LR1–LR3).\n\n"
        "Parental and LR cells (48 h letrozole) are blotted for p-AKT S473, AKT, p-S6 and S6 "
        f"in {BLOT_REPLICATES} replicate blots ({100 * BLOT_CV:.0f} % band-to-band technical CV; "
        f"the number sized before the run for {100 * BLOT_POWER:.0f} % power to detect a "
        f"{MIN_FOLD:g}× change at that noise), written as 16-bit PNG images and quantified by letrolab's "
        "densitometry (rolling-ball background, lane profiles, peak areas; phospho / total, "
        "relative to parental); higher p-AKT and p-S6 in the LR clones is tested on the log "
        "ratios of the replicate blots with a one-sided randomised-block t-test (blot as block, "
        "clones pooled, p < 0.05) together with the same direction in every clone. For S7 each line is grown 6 days in letrozole with or without "
        f"everolimus {EVEROLIMUS_M * 1e9:g} nM: growth is the viable-cell fold change, death the sub-G1 fraction "
        "from virtual PI FCS files."
    ),
)
