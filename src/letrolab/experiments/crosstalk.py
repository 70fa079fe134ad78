"""S3: IGF-1R → PI3K/AKT and ERK → ER phosphorylation drives proliferation under letrozole.

A model experiment (the seed cites reviews for S3, refs [3–5]): MCF-7/Aro cells, after steroid
deprivation, get androstenedione (10 nM) with letrozole (1 µM, aromatase fully blocked), in
serum-free medium or with IGF-1 (10 nM, ≈ 76 ng/mL, the usual stimulating dose), for 6 days.
The phospho-readouts (p-AKT S473, p-ERK, p-ER S167 and S118, time-averaged over the 6 days as a
lysate pooled across the culture would show) and growth are compared with the network intact
and with the kinase → ER phosphorylation removed (the AKT and S6K1 rates on S167 and the ERK
rate on S118 set to zero; :func:`._model.crosstalk_off`), the in-silico counterpart of an
S167A/S118A ER mutant (Campbell et al. 2001, J Biol Chem 276:9817; Kato et al. 1995, Science
270:1491).

Table: ``s3_crosstalk`` — one row per (crosstalk, IGF-1) condition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab._io import pyplot
from letrolab.experiments._framework import Context, Experiment, Figure, Output

__all__ = ["EXPERIMENT"]

LETROZOLE_M = 1e-6
IGF1_M = 10e-9
DAYS = 6.0
READOUTS = ("p_akt", "p_erk", "p_er_s167", "p_er_s118", "er_activity", "viable_cells")


def _figure(traces: dict) -> Figure:
    from letrolab.report import figure_png

    plt = pyplot()
    panels = (
        ("p_er_s167", "p-ER S167"),
        ("p_er_s118", "p-ER S118"),
        ("er_activity", "ER activity"),
        ("viable_cells", "viable cells (× seeded)"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.6))
    styles = {
        ("intact", False): ("C0", "--"),
        ("intact", True): ("C0", "-"),
        ("ablated", False): ("C3", "--"),
        ("ablated", True): ("C3", "-"),
    }
    for ax, (key, label) in zip(axes, panels, strict=True):
        for (ct, igf), r in traces.items():
            color, ls = styles[(ct, igf)]
            ax.plot(
                r.time_h / 24,
                r[key],
                color=color,
                ls=ls,
                label=f"crosstalk {ct}, {'IGF-1 10 nM' if igf else 'no IGF-1'}",
            )
        ax.set_xlabel("days")
        ax.set_title(label)
        if key == "viable_cells":
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return Figure(
        "s3_crosstalk",
        "S3. MCF-7/Aro under letrozole (1 µM) with androstenedione, without or with IGF-1 "
        "(10 nM), with the kinase → ER phosphorylation intact (blue) or removed (red).",
        figure_png(fig),
    )


def run(ctx: Context) -> Output:
    """Run the S3 simulations (see the module docstring)."""
    from letrolab.experiments._model import crosstalk_off
    from letrolab.model import simulate

    rows, traces = [], {}
    k = 0
    for crosstalk in ("intact", "ablated"):
        params = dict(ctx.overrides)
        if crosstalk == "ablated":
            params |= crosstalk_off()
        for igf in (False, True):
            ctx.progress(k / 4, f"crosstalk {crosstalk}, IGF-1 {'on' if igf else 'off'}")
            k += 1
            r = simulate(
                "mcf7-aro",
                drugs={"letrozole": LETROZOLE_M},
                igf1=IGF1_M if igf else 0.0,
                days=DAYS,
                points_per_day=6,
                parameters=params or None,
                observables=list(READOUTS),
            )
            traces[(crosstalk, igf)] = r
            t = r.time_h
            row = {
                "crosstalk": crosstalk,
                "igf1": igf,
                "igf1_nM": IGF1_M * 1e9 if igf else 0.0,
                "letrozole_nM": LETROZOLE_M * 1e9,
            }
            for name in READOUTS[:-1]:  # time-averaged phospho and ER readouts
                row[name] = float(np.trapezoid(r[name], t) / (t[-1] - t[0]))
            row["growth_fold"] = r.final("viable_cells")
            rows.append(row)
    return Output(tables={"s3_crosstalk": pd.DataFrame(rows)}, figures=(_figure(traces),))


EXPERIMENT = Experiment(
    id="crosstalk",
    title="Crosstalk: IGF-1R → AKT/ERK → ER under letrozole",
    claims=("S3",),
    requires=("letrolab.model:simulate",),
    run=run,
    methods=(
        "MCF-7/Aro after steroid deprivation: androstenedione 10 nM and letrozole 1 µM for 6 "
        "days, serum-free or with IGF-1 10 nM, simulated with the network intact and with the "
        "AKT/S6K1 → ER S167 and ERK → ER S118 phosphorylation rates set to zero. Phospho-readouts "
        "are averaged over the 6 days; growth is the viable-cell fold change."
    ),
)
