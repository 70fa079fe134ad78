"""S4: 6-day MTS proliferation of MCF-7/Aro and T47D/Aro over a letrozole × NVP-AEW541 matrix.

Protocol (Lisztwan et al. 2008, Breast Cancer Res 10:R56, as summarised by the seed): cells are
steroid-deprived, then stimulated with androstenedione (10 nM, the aromatase substrate) for 6
days with letrozole, NVP-AEW541, or both, and proliferation is read by MTS.

Virtual version:

1. the model is simulated for every cell of a 6 × 6 dose matrix (single agents in the first row
   and column; the diagonal is a constant 1:10 letrozole:NVP-AEW541 ratio), per cell line;
2. each replicate is a 96-well plate: the matrix in wells B2–G7, vehicle in B8–G8, medium
   blanks in B9–G9, the outer ring filled with medium (edge wells are not used, as labs do
   to avoid evaporation artefacts, but they are read); absorbances at 490 nm carry pipetting
   and reader noise and the evaporation edge gradient (:mod:`letrolab.instruments.plates`);
3. the plates are written as a BioTek Gen5 text export with a plate map
   (:func:`letrolab.instruments.plates.write_plate`, :func:`~letrolab.instruments.plates.write_layout`),
   read back by :func:`~letrolab.assays.plates.read_plate_combination` (blank subtraction,
   vehicle = 100 %, Z′ and edge QC), and analysed by the Chou–Talalay method
   (:func:`letrolab.synergy.chou_talalay`, Chou 2006 Pharmacol Rev 58:621) and the reference
   models (Bliss, HSA, Loewe, ZIP; :func:`letrolab.synergy.reference.reference_scores`).

Tables: ``s4_ci_at_fa`` (CI of the constant-ratio mixture at fa 0.5/0.75/0.9 per line),
``s4_ci_points`` (CI at every combination point), ``s4_viability`` (mean % viability per
dose), ``s4_reference`` (block summaries of the reference models), ``s4_plate_qc``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.instruments.plates import mts_absorbance, plate_rings

__all__ = ["EXPERIMENT", "LETROZOLE_NM", "LINES", "NVP_NM"]

LINES = ("mcf7-aro", "t47d-aro")
LETROZOLE_NM = (0.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
NVP_NM = (0.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
ANDROSTENEDIONE_M = 10e-9
DAYS = 6.0
PLATES = 3
FA_LEVELS = (0.5, 0.75, 0.9)
READ_LABEL = "490"

_ROWS = "ABCDEFGH"


def plate_map() -> pd.DataFrame:
    """The plate map of one replicate plate (96 wells; see the module docstring)."""
    rows = []
    for r in range(8):
        for c in range(12):
            well = f"{_ROWS[r]}{c + 1}"
            rec = {
                "well": well,
                "role": "empty",
                "drug1": "",
                "conc1": 0.0,
                "drug2": "",
                "conc2": 0.0,
                "unit": "",
                "i": -1,
                "j": -1,
            }
            if 1 <= r <= 6 and 1 <= c <= 6:
                i, j = r - 1, c - 1  # i: letrozole dose index, j: NVP-AEW541 dose index
                rec |= {"i": i, "j": j}
                if i == 0 and j == 0:
                    rec["role"] = "vehicle"
                else:
                    rec |= {
                        "role": "treated",
                        "drug1": "letrozole",
                        "conc1": LETROZOLE_NM[i],
                        "drug2": "nvp-aew541",
                        "conc2": NVP_NM[j],
                        "unit": "nM",
                    }
            elif 1 <= r <= 6 and c == 7:
                rec |= {"role": "vehicle", "i": 0, "j": 0}
            elif 1 <= r <= 6 and c == 8:
                rec["role"] = "blank"
            rows.append(rec)
    return pd.DataFrame(rows)


def _simulate(line: str, ctx: Context) -> np.ndarray:
    """Model MTS signal (relative to the seeded well) on the dose matrix, shape (6, 6)."""
    from letrolab.model import simulate_grid

    g = simulate_grid(
        line,
        drugs={"letrozole": np.array(LETROZOLE_NM) * 1e-9, "nvp-aew541": np.array(NVP_NM) * 1e-9},
        androstenedione=ANDROSTENEDIONE_M,
        days=DAYS,
        points_per_day=1,
        parameters=dict(ctx.overrides) or None,
        observables=["mts_relative"],
    )
    return g.final("mts_relative").reshape(len(LETROZOLE_NM), len(NVP_NM))


def _plates(mts: np.ndarray, pmap: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Tidy wells of PLATES replicate plates (absorbance at 490 nm)."""
    ring = plate_rings().ravel()
    i, j = pmap["i"].to_numpy(), pmap["j"].to_numpy()
    used = i >= 0
    rel = np.zeros(len(pmap))
    rel[used] = mts[i[used], j[used]] / mts[0, 0]  # vehicle well = 1
    cells = used
    frames = []
    for p in range(PLATES):
        a = mts_absorbance(rel, ring, cells, rng)
        frames.append(
            pd.DataFrame(
                {
                    "plate": f"Plate {p + 1}",
                    "well": pmap["well"],
                    "read": READ_LABEL,
                    "value": np.round(a, 4),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _analyse(line: str, read_path, layout_path):
    from letrolab.assays.plates import read_plate_combination
    from letrolab.synergy import chou_talalay
    from letrolab.synergy.reference import reference_scores

    comb = read_plate_combination(read_path, layout_path)
    comb["block_id"] = line
    ct = chou_talalay(comb, response="viability", fa_levels=FA_LEVELS)
    block = ct[line]
    if not block:
        from letrolab.errors import FitError

        raise FitError(f"Chou–Talalay analysis of {line} failed: {block.reason}")
    ref = reference_scores(comb, models="all", response="viability")
    return comb, block, ref


def _main_mixture(block):
    """The constant-ratio mixture with the most points (the 1:10 diagonal of the design)."""
    if not block.mixtures:
        from letrolab.errors import FitError

        raise FitError(f"block {block.block_id}: no constant-ratio mixture was detected")
    return max(block.mixtures, key=lambda m: (m.fit.n, -abs(np.log10(m.ratio[-1] / m.ratio[0]))))


def _figure(results: dict) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    n = len(results)
    fig, axes = plt.subplots(2, n, figsize=(5.2 * n, 8.4), squeeze=False)
    for k, (line, r) in enumerate(results.items()):
        ax = axes[0, k]
        v = r["viability"].pivot(
            index="letrozole_nM", columns="nvp_aew541_nM", values="viability_pct"
        )
        im = ax.imshow(v.to_numpy(), origin="lower", cmap="viridis", vmin=0, vmax=110)
        ax.set_xticks(range(v.shape[1]), [f"{x:g}" for x in v.columns], rotation=45)
        ax.set_yticks(range(v.shape[0]), [f"{x:g}" for x in v.index])
        ax.set_xlabel("NVP-AEW541 (nM)")
        ax.set_ylabel("letrozole (nM)")
        ax.set_title(f"{line}: MTS viability (% of vehicle)")
        for (a, b), val in np.ndenumerate(v.to_numpy()):
            ax.text(
                b,
                a,
                f"{val:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if val < 60 else "black",
            )
        fig.colorbar(im, ax=ax, fraction=0.046)
        ax = axes[1, k]
        curve = r["mixture"].curve()
        ax.plot(curve["fa"], curve["ci"], color="C0", label=r["mixture"].name)
        pts = r["points"]
        ax.scatter(pts["fa"], pts["ci"], s=12, color="C1", label="matrix points")
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.axhline(0.6, color="C3", lw=0.8, ls="--", label="CI = 0.6 (seed)")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction affected (fa)")
        ax.set_ylabel("combination index (CI)")
        ax.set_title(f"{line}: Fa–CI (Chou–Talalay)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(
        "s4_proliferation",
        "S4. Top: mean MTS viability over the letrozole × NVP-AEW541 matrix after 6 days of "
        "androstenedione (10 nM), from the virtual plate-reader files. Bottom: Fa–CI plot of the "
        "constant-ratio mixture (line) and CI of every matrix point; CI < 1 is synergy.",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S4 protocol (see the module docstring)."""
    from letrolab.instruments.plates import write_layout, write_plate

    rng = ctx.rng("proliferation")
    raw = ctx.rawdir("proliferation")
    pmap = plate_map()
    layout = pmap.drop(columns=["i", "j"])
    ci_rows, point_frames, viab_frames, ref_frames, qc_rows = [], [], [], [], []
    results: dict = {}
    files, notes = [], []
    for n, line in enumerate(LINES):
        ctx.progress(n / len(LINES), f"{line}: simulating")
        mts = _simulate(line, ctx)
        wells = _plates(mts, pmap, rng)
        read_path = write_plate(raw / f"{line}_mts_gen5.txt", wells, format="gen5")
        layout_path = write_layout(raw / f"{line}_layout.csv", layout, read=READ_LABEL)
        files += [read_path.relative_to(ctx.outdir), layout_path.relative_to(ctx.outdir)]
        ctx.progress((n + 0.6) / len(LINES), f"{line}: analysing plates")
        comb, block, ref = _analyse(line, read_path, layout_path)
        mix = _main_mixture(block)
        ci = np.asarray(mix.ci_at(np.array(FA_LEVELS)), dtype=float)
        ext = np.asarray(mix.extrapolates(np.array(FA_LEVELS)), dtype=bool)
        for fa, c, e in zip(FA_LEVELS, ci, ext, strict=True):
            ci_rows.append(
                {
                    "cell_line": line,
                    "fa": fa,
                    "ci": float(c),
                    "ci_label": _label(c),
                    "extrapolated": bool(e),
                    "mixture": mix.name,
                    "mixture_r": float(mix.fit.r),
                    "mixture_points": int(mix.fit.n),
                }
            )
        jl = [d.lower() for d in block.drugs].index("letrozole")
        pts = pd.DataFrame(
            {
                "cell_line": line,
                "letrozole_nM": block.conc[:, jl],
                "nvp_aew541_nM": block.conc[:, 1 - jl],
                "fa": block.fa,
                "ci": block.ci,
                "ci_nonexclusive": block.ci_nonexclusive,
                "label": block.labels,
                "n": block.n,
                "extrapolated": block.extrapolated,
            }
        )
        point_frames.append(pts)
        viab = (
            comb.groupby(["conc_r", "conc_c"])["response"]
            .agg(["mean", "std", "count"])
            .reset_index()
            .rename(
                columns={
                    "conc_r": "letrozole_nM",
                    "conc_c": "nvp_aew541_nM",
                    "mean": "viability_pct",
                    "std": "sd_pct",
                    "count": "n",
                }
            )
        )
        viab.insert(0, "cell_line", line)
        viab_frames.append(viab)
        rb = ref.blocks.copy()
        rb["block_id"] = rb["block_id"].astype(str)
        ref_frames.append(rb)
        for q in comb.attrs.get("qc", []):
            qc_rows.append(
                {
                    "cell_line": line,
                    **{k: (", ".join(v) if isinstance(v, list) else v) for k, v in q.items()},
                }
            )
        notes += [f"{line}: {w}" for w in block.warnings]
        results[line] = {"viability": viab, "mixture": mix, "points": pts}
    ctx.progress(0.95, "figures")
    ref_all = pd.concat(ref_frames, ignore_index=True)
    keep = [c for c in ref_all.columns if not isinstance(ref_all[c].iloc[0], (list, tuple, dict))]
    return Output(
        tables={
            "s4_ci_at_fa": pd.DataFrame(ci_rows),
            "s4_ci_points": pd.concat(point_frames, ignore_index=True),
            "s4_viability": pd.concat(viab_frames, ignore_index=True),
            "s4_reference": ref_all[keep],
            "s4_plate_qc": pd.DataFrame(qc_rows),
        },
        figures=(_figure(results),),
        files=tuple(files),
        notes=tuple(notes),
    )


def _label(ci: float) -> str:
    from letrolab.synergy import ci_label

    return str(ci_label(ci)) if np.isfinite(ci) else "not estimable"


EXPERIMENT = Experiment(
    id="proliferation",
    title="Proliferation: letrozole × NVP-AEW541, 6-day MTS",
    claims=("S4",),
    requires=(
        "letrolab.model:simulate_grid",
        "letrolab.instruments.plates:write_plate",
        "letrolab.assays.plates:read_plate_combination",
        "letrolab.synergy:chou_talalay",
        "letrolab.synergy.reference:reference_scores",
    ),
    run=run,
    methods=(
        "MCF-7/Aro and T47D/Aro are steroid-deprived (10 days in the model), then stimulated "
        "with 10 nM androstenedione for 6 days over a 6 × 6 matrix of letrozole (0–1000 nM) and "
        "NVP-AEW541 (0–10 µM); the diagonal is a constant 1:10 ratio. Each of three replicate "
        "96-well plates carries the matrix, six vehicle and six medium-blank wells; the outer "
        "ring holds medium only. Absorbance at 490 nm is linear in the model's MTS signal, with "
        "5 % well-to-well and 0.004 AU reader noise and an evaporation gradient at the edge.\n\n"
        "The plates are written as a BioTek Gen5 text export with a CSV plate map, read back "
        "by letrolab's plate reader (blank-subtracted, vehicle = 100 %, Z′ and edge QC), and "
        "analysed by the Chou–Talalay method (median-effect fits of each drug and of the "
        "1:10 mixture; CI at fa 0.5, 0.75 and 0.9) and by the Bliss, HSA, Loewe and ZIP models."
    ),
)
