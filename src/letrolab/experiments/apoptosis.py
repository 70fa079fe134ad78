"""S5: sub-G1 (apoptotic) fraction by PI flow cytometry after letrozole, NVP-AEW541 or both.

Protocol (Lisztwan et al. 2008, as summarised by the seed): cells treated with the single
agents or the combination are fixed, stained with propidium iodide and read by flow cytometry;
the apoptotic cells are the sub-G1 population (Nicoletti et al. 1991, J Immunol Methods
139:271).

Virtual version: the model gives, per condition, the sub-G1 fraction and the G0/G1, S and G2/M
fractions of the viable cells after 6 days of androstenedione with the drugs. Each of three
biological replicates varies these by a few percent (log-normal, 10 % CV on sub-G1 — the
replicate spread of a flow assay), and PI events are drawn from them with staining CVs, debris
and doublets (:func:`letrolab.instruments.flow.simulate_dna_content`), written as FCS 3.1 files
(:func:`letrolab.instruments.flow.write_fcs`), and analysed by the DNA-content code
(:func:`letrolab.assays.cellcycle.analyze_batch`: singlet gate, Dean–Jett–Fox fit, sub-G1 gate
relative to the G1 peak, guided by the vehicle control of the same line).

Tables: ``s5_subg1`` (one row per FCS file: measured sub-G1 and phases, and the model's value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.instruments.flow import PI_CHANNELS as DNA_CHANNELS
from letrolab.instruments.flow import simulate_dna_content, write_fcs

__all__ = ["EXPERIMENT", "TREATMENTS"]


LINES = ("mcf7-aro", "t47d-aro")
#: Treatments (molar): the single agents near their growth-inhibitory range, and both.
TREATMENTS: dict[str, dict[str, float]] = {
    "vehicle": {},
    "letrozole": {"letrozole": 100e-9},
    "nvp-aew541": {"nvp-aew541": 1e-6},
    "combination": {"letrozole": 100e-9, "nvp-aew541": 1e-6},
}
REPLICATES = 3
EVENTS = {False: 20_000, True: 6_000}
REPLICATE_CV = 0.10
DAYS = 6.0


def _model_fractions(line: str, ctx: Context) -> pd.DataFrame:
    from letrolab.model import simulate

    rows = []
    for name, drugs in TREATMENTS.items():
        r = simulate(
            line,
            drugs=drugs,
            days=DAYS,
            points_per_day=1,
            parameters=dict(ctx.overrides) or None,
            observables=[
                "sub_g1_fraction",
                "g1_fraction",
                "s_fraction",
                "g2m_fraction",
                "viable_cells",
            ],
        )
        rows.append(
            {
                "cell_line": line,
                "treatment": name,
                "sub_g1": r.final("sub_g1_fraction"),
                "g1": r.final("g1_fraction"),
                "s": r.final("s_fraction"),
                "g2m": r.final("g2m_fraction"),
                "viable_cells": r.final("viable_cells"),
            }
        )
    return pd.DataFrame(rows)


def _replicate(fr: pd.Series, rng: np.random.Generator) -> dict[str, float]:
    sub = float(np.clip(fr["sub_g1"] * np.exp(rng.normal(0, REPLICATE_CV)), 0.0, 0.95))
    ph = np.array([fr["g1"], fr["s"], fr["g2m"]], dtype=float)
    ph = ph * np.exp(rng.normal(0, 0.05, size=3))
    ph = ph / ph.sum()
    return {"sub_g1": sub, "g1": ph[0], "s": ph[1], "g2m": ph[2]}


def _figure(table: pd.DataFrame, example) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    lines = list(dict.fromkeys(table["cell_line"]))
    fig, axes = plt.subplots(1, len(lines) + 1, figsize=(4.4 * (len(lines) + 1), 3.8))
    order = list(TREATMENTS)
    for ax, line in zip(axes, lines, strict=False):
        sub = table[table["cell_line"] == line]
        means = sub.groupby("treatment")["sub_g1_pct"].mean().reindex(order)
        ax.bar(range(len(order)), means.to_numpy(), color=["grey", "C0", "C1", "C3"], alpha=0.7)
        for k, t in enumerate(order):
            y = sub.loc[sub["treatment"] == t, "sub_g1_pct"].to_numpy()
            ax.scatter(np.full(len(y), k), y, color="black", s=10, zorder=3)
        ax.set_xticks(range(len(order)), order, rotation=20)
        ax.set_ylabel("sub-G1 (% of singlets)")
        ax.set_title(f"{line}: sub-G1 by PI flow cytometry")
    ax = axes[-1]
    for res, color, name in example:
        centers = 0.5 * (res.edges[:-1] + res.edges[1:])
        ax.step(centers, res.counts, where="mid", color=color, lw=0.8, label=name)
    ax.set_xlim(0, 500)
    ax.set_xlabel("PI-A (DNA content)")
    ax.set_ylabel("events per bin")
    ax.set_title("DNA histograms, MCF-7/Aro")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return Figure(
        "s5_apoptosis",
        "S5. Sub-G1 fraction measured from the virtual FCS 3.1 files (bars: mean of three "
        "replicates, dots: replicates) and example PI histograms of vehicle- and "
        "combination-treated MCF-7/Aro cells.",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S5 protocol (see the module docstring)."""
    from letrolab.assays.cellcycle import analyze_cell_cycle

    rng = ctx.rng("apoptosis")
    raw = ctx.rawdir("apoptosis")
    n_events = EVENTS[bool(ctx.quick)]
    rows, files, notes, example = [], [], [], []
    for n, line in enumerate(LINES):
        ctx.progress(n / len(LINES), f"{line}: simulating")
        truth = _model_fractions(line, ctx)
        paths: dict[tuple[str, int], object] = {}
        for _, fr in truth.iterrows():
            for rep in range(1, REPLICATES + 1):
                f = _replicate(fr, rng)
                ev = simulate_dna_content(n_events, **f, debris=0.04, doublets=0.04, rng=rng)
                path = raw / f"{line}_{fr['treatment']}_r{rep}.fcs"
                write_fcs(
                    path,
                    ev,
                    channels=list(DNA_CHANNELS),
                    labels=["", "", "Propidium iodide", "PI width", "PI height"],
                    metadata={
                        "$CYT": "letrolab virtual cytometer",
                        "$SRC": f"{line} {fr['treatment']} replicate {rep}",
                    },
                )
                paths[(fr["treatment"], rep)] = path
                files.append(path.relative_to(ctx.outdir))
        ctx.progress((n + 0.5) / len(LINES), f"{line}: analysing FCS files")
        control = analyze_cell_cycle(paths[("vehicle", 1)])
        if not control:
            from letrolab.errors import FitError

            raise FitError(f"{line}: the vehicle control could not be analysed: {control.reason}")
        for (trt, rep), path in paths.items():
            res = analyze_cell_cycle(path, control=control)
            model = truth.loc[truth["treatment"] == trt].iloc[0]
            if not res:
                notes.append(f"{line} {trt} replicate {rep}: {res.reason}")
                continue
            rows.append(
                {
                    "cell_line": line,
                    "treatment": trt,
                    "replicate": rep,
                    "file": str(path.relative_to(ctx.outdir)),
                    "events": res.events,
                    "singlets": res.singlets,
                    "sub_g1_pct": res.sub_g1_pct,
                    "g1_pct": res.g1_pct,
                    "s_pct": res.s_pct,
                    "g2m_pct": res.g2m_pct,
                    "g1_cv": res.g1_cv,
                    "rcs": res.rcs,
                    "model_sub_g1_pct": 100.0 * float(model["sub_g1"]),
                    "model_viable_cells": float(model["viable_cells"]),
                }
            )
            notes += [f"{path.name}: {x}" for x in res.notes]
            if line == LINES[0] and rep == 1 and trt in ("vehicle", "combination"):
                example.append((res, "grey" if trt == "vehicle" else "C3", trt))
    table = pd.DataFrame(rows)
    ctx.progress(0.95, "figures")
    return Output(
        tables={"s5_subg1": table},
        figures=(_figure(table, example),),
        files=tuple(files),
        notes=tuple(notes),
    )


EXPERIMENT = Experiment(
    id="apoptosis",
    title="Apoptosis: sub-G1 by PI flow cytometry",
    claims=("S5",),
    requires=(
        "letrolab.model:simulate",
        "letrolab.instruments.flow:write_fcs",
        "letrolab.assays.cellcycle:analyze_cell_cycle",
    ),
    run=run,
    methods=(
        "After steroid deprivation, MCF-7/Aro and T47D/Aro get 10 nM androstenedione with "
        "vehicle, letrozole 100 nM, NVP-AEW541 1 µM or both for 6 days. The model's sub-G1 "
        "fraction and cell-cycle phase fractions become, per biological replicate (three, "
        "10 % replicate CV on sub-G1), PI-stained events: G1 and G2/M peaks with a 4.5 % CV and "
        "G2/G1 = 1.96, S phase between them, hypodiploid apoptotic nuclei, 4 % debris and 4 % "
        "doublets, with pulse area, width and height (20,000 events per file; 6,000 in a quick "
        "run).\n\n"
        "Each sample is written as an FCS 3.1 file and analysed by letrolab's DNA-content code: "
        "singlets gated on PI area vs width, Dean–Jett–Fox fit guided by the vehicle control, "
        "sub-G1 counted below a gate set from the G1 peak, as a percentage of singlets."
    ),
)
