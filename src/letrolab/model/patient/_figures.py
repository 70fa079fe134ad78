"""Figures of a virtual trial: concentration-time profiles, IGF-1 and glucose distributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from letrolab._io import pyplot

#: Mean serum IGF-I rise after 3 months of letrozole 0.5 or 2.5 mg/day (%), drawn on igf1.png
#: as the clinical reference: Bajetta et al. 1997, J Steroid Biochem Mol Biol 63:261.
CLINICAL_IGF1_RISE_PCT = 24.0


def write_figures(result, out: Path) -> list[Path]:
    """Write ``profiles.png``, ``igf1.png`` and ``glucose.png`` for ``result`` into ``out``."""
    from letrolab._io import save_figure
    from letrolab.model.patient.trial import HYPERGLYCEMIA_MM

    plt = pyplot()

    paths = []
    t_d = result.trace_t_h / 24.0
    arms = [a.name for a in result.arms]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for k, name in enumerate(arms):
        tr = result.traces.get(name, {})
        colour = f"C{k % 10}"
        for key, ax in zip(("C_let_nM", "E2", "IGF1"), axes, strict=True):
            y = tr.get(key)
            if y is None or y.size == 0:
                continue
            ax.plot(t_d, y.T, color=colour, lw=0.6, alpha=0.5)
            ax.plot(t_d, np.median(y, axis=0), color=colour, lw=1.8, label=name)
    axes[0].set_ylabel("plasma letrozole (nM)")
    axes[1].set_ylabel("plasma oestradiol, true (pmol/L)")
    axes[2].set_ylabel("serum IGF-I (ng/mL)")
    for ax in axes:
        ax.set_xlabel("time (days)")
    axes[0].legend(fontsize=7)
    n_shown = max((tr["E2"].shape[0] for tr in result.traces.values() if "E2" in tr), default=0)
    fig.suptitle(f"first {n_shown} patients per arm (thin) and their median (thick)")
    fig.tight_layout()
    paths.append(save_figure(fig, out / "profiles.png", dpi=110))

    for fname, col, label, line in (
        (
            "igf1.png",
            "igf1_change_pct",
            "serum IGF-I change from baseline (%)",
            CLINICAL_IGF1_RISE_PCT,
        ),
        ("glucose.png", "fasting_glucose_mM", "fasting glucose (mmol/L)", HYPERGLYCEMIA_MM),
    ):
        fig, ax = plt.subplots(figsize=(6, 3.8))
        for k, name in enumerate(arms):
            x = np.asarray(result.columns[name][col], float)
            ax.hist(x, bins=60, histtype="step", color=f"C{k % 10}", label=name, density=True)
        ax.axvline(line, color="k", ls="--", lw=0.8)
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
        fig.tight_layout()
        paths.append(save_figure(fig, out / fname, dpi=110))
    return paths
