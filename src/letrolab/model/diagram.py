"""Pathway diagram drawn from the model's own reactions.

Edges are not drawn by hand: :func:`pathway_edges` reads them off the compiled network.

- species -> species: the sign of the Jacobian entry ``d(dx_j/dt)/dx_i`` at the androstenedione-
  stimulated state (positive: arrow, negative: blunt arrow), after grouping the forms of one
  protein into one node (e.g. IRS-1, IRS-1 pY and IRS-1 pS are "IRS-1"); an edge between two
  forms of different nodes is kept when the Jacobian entry summed over the groups is clearly
  nonzero (normalised by the state: ``|J_ji| x_i / x_j > 1e-3``);
- medium ligands (androstenedione, IGF-1, insulin) -> the nodes whose rate laws use them;
- drugs -> their targets from the catalogue, as blunt arrows.

The layout is fixed by hand in the spirit of the seed's figure: the ligands on top, the
PI3K/AKT/mTOR cascade on the left and the Ras/ERK cascade on the right converging on ER in the
middle, the cell-cycle and survival modules below.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from letrolab._io import pyplot, save_figure
from letrolab.model.drugs import TARGETS
from letrolab.model.engine import Model, get_model

__all__ = ["Edge", "draw_diagram", "pathway_edges"]

#: Diagram node -> model species forming it.
GROUPS: dict[str, tuple[str, ...]] = {
    "E2": ("E2",),
    "ER": ("ERb", "ERp167", "ERp118"),
    "IGF-1R": ("R1", "pR1"),
    "IR": ("pIR",),
    "IRS-1": ("IRS1", "IRS1pY", "IRS1pS"),
    "PI3K": ("PI3Ka",),
    "AKT": ("pAKT",),
    "mTORC1": ("mTORC1a",),
    "S6K1": ("pS6K",),
    "S6": ("pS6",),
    "Ras": ("RasGTP",),
    "ERK": ("pERK",),
    "cyclin D1-CDK4/6": ("CycD",),
    "Rb/E2F": ("pRb",),
    "Bcl-2": ("Bcl2",),
    "Mcl-1": ("Mcl1",),
    "proliferation": ("G1", "S", "G2M"),
    "apoptosis (sub-G1)": ("Apo",),
}
#: Active forms used for the Jacobian sign of an edge leaving the node.
ACTIVE = {"IRS-1": ("IRS1pY",), "IGF-1R": ("pR1",), "proliferation": ("G2M",)}
LIGANDS = {
    "androstenedione": "aromatase",
    "igf1": "IGF-1R",
    "insulin": "IR",
}
#: Target slot of the catalogue -> diagram node.
TARGET_NODE = {
    "aromatase": "aromatase",
    "ER": "ER",
    "IGF1R": "IGF-1R",
    "IR": "IR",
    "PI3K": "PI3K",
    "AKT": "AKT",
    "mTORC1": "mTORC1",
    "MEK": "ERK",
    "CDK46": "cyclin D1-CDK4/6",
}
LAYOUT: dict[str, tuple[float, float]] = {
    "androstenedione": (1.0, 10.2),
    "aromatase": (1.0, 8.8),
    "E2": (1.0, 7.5),
    "insulin": (-6.8, 10.2),
    "igf1": (-2.8, 10.2),
    "IR": (-6.8, 8.6),
    "IGF-1R": (-2.8, 8.6),
    "IRS-1": (-4.8, 7.5),
    "PI3K": (-4.8, 6.2),
    "AKT": (-4.8, 4.9),
    "mTORC1": (-4.8, 3.6),
    "S6K1": (-4.8, 2.3),
    "S6": (-7.0, 2.3),
    "Ras": (4.8, 7.5),
    "ERK": (4.8, 5.6),
    "ER": (1.0, 4.9),
    "cyclin D1-CDK4/6": (1.0, 2.6),
    "Rb/E2F": (1.0, 1.3),
    "proliferation": (1.0, 0.0),
    "Bcl-2": (4.8, 2.6),
    "Mcl-1": (-2.0, 1.3),
    "apoptosis (sub-G1)": (4.8, 0.0),
}
#: Where the drugs acting on a node are drawn (first drug; more stack downwards).
DRUG_ANCHOR: dict[str, tuple[float, float]] = {
    "IGF-1R": (-4.8, 9.6),
    "IR": (-4.8, 9.6),
    "aromatase": (3.4, 9.2),
    "ER": (-1.6, 5.5),
    "PI3K": (-7.2, 6.6),
    "AKT": (-7.2, 5.3),
    "mTORC1": (-7.2, 4.0),
    "ERK": (7.0, 6.0),
    "cyclin D1-CDK4/6": (-1.4, 3.1),
}
LABELS = {"androstenedione": "androstenedione", "igf1": "IGF-1", "insulin": "insulin"}


@dataclass(frozen=True)
class Edge:
    """One diagram edge: ``sign`` +1 activation (arrow), -1 inhibition (blunt arrow)."""

    source: str
    target: str
    sign: int
    kind: str  # "species", "ligand", "drug"


def _set_state(model: Model, letrozole_nM: float) -> None:
    _cl, v = model.resolve("mcf7-aro")
    state = model.preequilibrate(v, hours=240.0)
    v["androstenedione"] = 10.0
    v[model.drug_parameter("letrozole")] = letrozole_nM
    model.run(v, state, np.array([0.0, 48.0]), ["viable_cells"])


def pathway_edges(model: Model | None = None, *, threshold: float = 1e-3) -> list[Edge]:
    """Edges of the pathway read from the model (see module docstring)."""
    model = model or get_model()
    rr = model._rr
    found: dict[tuple[str, str], int] = {}
    # two states: estrogen-saturated, and letrozole-treated where ER outputs are not saturated
    for letrozole_nM in (0.0, 30.0):
        _set_state(model, letrozole_nM)
        jac = rr.getFullJacobian()
        J = np.asarray(jac)
        ids = list(jac.rownames)
        x = np.array([rr[s] for s in ids])
        pos = {s: i for i, s in enumerate(ids)}
        for a, src in GROUPS.items():
            srcs = ACTIVE.get(a, src)
            for b, dst in GROUPS.items():
                if a == b or (b == "proliferation" and a != "Rb/E2F"):
                    continue  # survival acts through apoptosis, drawn on that node
                total = sum(
                    J[pos[d], pos[s]] * x[pos[s]] / max(abs(x[pos[d]]), 1e-9)
                    for s in srcs
                    for d in dst
                )
                if abs(total) > threshold:
                    found.setdefault((a, b), int(np.sign(total)))
    edges = [Edge(a, b, sgn, "species") for (a, b), sgn in found.items()]
    edges.append(Edge("aromatase", "E2", 1, "species"))
    for lig, node in LIGANDS.items():
        edges.append(Edge(lig, node, 1, "ligand"))
    for drug in model.catalogue:
        for t in drug.targets:
            edges.append(Edge(drug.name, TARGET_NODE[t.target], -1, "drug"))
    assert set(TARGET_NODE) == set(TARGETS)
    return edges


def draw_diagram(path: str | os.PathLike, *, model: Model | None = None) -> Path:
    """Draw the pathway to ``path`` (format from the suffix: .svg, .png, .pdf), atomically."""
    from matplotlib.patches import FancyArrowPatch

    plt = pyplot()

    model = model or get_model()
    edges = pathway_edges(model)
    pos = dict(LAYOUT)
    drugs = [e for e in edges if e.kind == "drug"]
    stacked: dict[tuple[float, float], int] = {}
    for e in drugs:
        if e.source in pos:
            continue
        tx, ty = pos[e.target]
        anchor = DRUG_ANCHOR.get(e.target, (tx + 2.2, ty + 0.5))
        k = stacked.get(anchor, 0)
        stacked[anchor] = k + 1
        pos[e.source] = (anchor[0], anchor[1] - 0.55 * k)
    fig, ax = plt.subplots(figsize=(12, 9))
    ax.set_xlim(-9.5, 7.5)
    ax.set_ylim(-0.8, 10.7)
    ax.axis("off")
    colours = {"species": "#333333", "ligand": "#1f77b4", "drug": "#c0392b"}
    for e in edges:
        if e.source not in pos or e.target not in pos:
            continue
        style = "-|>" if e.sign > 0 else "-["
        col = colours[e.kind] if e.sign > 0 or e.kind == "drug" else "#8e44ad"
        arr = FancyArrowPatch(
            pos[e.source],
            pos[e.target],
            arrowstyle=style if e.sign > 0 else "-[, widthB=0.5, lengthB=0.0",
            mutation_scale=14,
            color=col,
            lw=1.3 if e.kind != "drug" else 1.8,
            shrinkA=18,
            shrinkB=18,
            connectionstyle="arc3,rad=0.08" if e.kind == "species" else "arc3,rad=0",
        )
        ax.add_patch(arr)
    for name, (x, y) in pos.items():
        is_drug = any(d.source == name for d in drugs)
        is_lig = name in LIGANDS
        fc = "#fdecea" if is_drug else "#e8f1fb" if is_lig else "#f4f4f4"
        if name in ("ER", "proliferation", "apoptosis (sub-G1)"):
            fc = "#fff4d6"
        ax.text(
            x,
            y,
            LABELS.get(name, name),
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.35", "fc": fc, "ec": "#555555", "lw": 0.8},
        )
    ax.text(-5.0, 10.55, "PI3K / AKT / mTOR", ha="center", fontsize=11, weight="bold")
    ax.text(3.5, 10.55, "Ras / ERK", ha="center", fontsize=11, weight="bold")
    ax.set_title(
        "letrolab network: edges from the model's Jacobian; drugs as blunt arrows (red)",
        fontsize=11,
    )
    # dpi=fig.dpi: the resolution savefig used by default before (rcParams figure.dpi)
    return save_figure(fig, path, dpi=fig.dpi, default_format="svg", bbox_inches="tight")
