"""The experiments' view of the mechanistic model: provenance, diagram, crosstalk switch.

Kept in one place so that the protocols use the model package's public API only
(:mod:`letrolab.model`), and the report can say which model made its numbers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from letrolab.experiments._framework import Figure

__all__ = ["CROSSTALK_PARAMETERS", "crosstalk_off", "pathway_diagram", "provenance"]

#: The kinase → ER phosphorylation rates of the network (AKT and S6K1 on S167, ERK on S118):
#: the ligand-independent IGF-1R → ER crosstalk of claim S3. Setting them to 0 removes it.
CROSSTALK_PARAMETERS = ("k_er167_akt", "k_er167_s6k", "k_er118_erk")


def crosstalk_off() -> dict[str, float]:
    """Parameter overrides that remove the IGF-1R → PI3K/AKT/S6K1, ERK → ER crosstalk."""
    return dict.fromkeys(CROSSTALK_PARAMETERS, 0.0)


def provenance() -> dict[str, str]:
    """Model identity: the SHA-256 of its source files (network, drug catalogue, cell lines)."""
    import letrolab.model as model_pkg

    root = Path(model_pkg.__file__).parent
    out: dict[str, str] = {}
    digest = hashlib.sha256()
    for name in (
        "network.ant",
        "drugs.csv",
        "cell_lines.csv",
        "targets.csv",
        "patient/patient.ant",
    ):
        p = root / name
        if p.is_file():
            data = p.read_bytes()
            digest.update(name.encode() + b"\0" + data)
            out[f"model_sha256_{name.replace('/', '_')}"] = hashlib.sha256(data).hexdigest()
    out["model_version"] = f"letrolab_network sha256:{digest.hexdigest()[:12]}"
    return out


def pathway_diagram() -> Figure:
    """The model's own pathway diagram as SVG (drawn by :mod:`letrolab.model`).

    Drawn by :func:`letrolab.model.diagram.draw_diagram` from the compiled network (edges from
    the Jacobian's signs, drugs on their catalogue targets).
    """
    import tempfile

    from letrolab.model.diagram import draw_diagram

    with tempfile.TemporaryDirectory(prefix="letrolab-diagram-") as tmp:
        data = draw_diagram(Path(tmp) / "pathway.svg").read_bytes()
    return Figure(
        "pathway",
        "The network of the model, drawn from its own reactions: letrozole blocks aromatase, "
        "the IGF-1R/IR → PI3K/AKT/mTOR and Ras/ERK cascades converge on ER, and each drug acts "
        "on its target (blunt arrows).",
        data,
        "image/svg+xml",
    )
