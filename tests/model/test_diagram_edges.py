"""The pathway diagram is read off the model, not drawn by hand."""

from __future__ import annotations

import pytest

from letrolab.model import load_catalogue
from letrolab.model.diagram import draw_diagram, pathway_edges


@pytest.fixture(scope="module")
def edges():
    return {(e.source, e.target): e.sign for e in pathway_edges()}


def test_cascades_converge_on_er(edges):
    assert edges[("AKT", "ER")] == 1 and edges[("S6K1", "ER")] == 1 and edges[("ERK", "ER")] == 1
    assert edges[("E2", "ER")] == 1
    for a, b in [
        ("IGF-1R", "IRS-1"),
        ("IRS-1", "PI3K"),
        ("PI3K", "AKT"),
        ("AKT", "mTORC1"),
        ("mTORC1", "S6K1"),
        ("IGF-1R", "Ras"),
        ("Ras", "ERK"),
    ]:
        assert edges[(a, b)] == 1, (a, b)


def test_feedbacks_have_the_right_sign(edges):
    assert edges[("S6K1", "IRS-1")] == -1  # S6K1 -| IRS-1
    assert edges[("ER", "IGF-1R")] == 1 and edges[("ER", "IRS-1")] == 1  # ER target genes
    assert edges[("cyclin D1-CDK4/6", "Rb/E2F")] == 1
    assert edges[("Bcl-2", "apoptosis (sub-G1)")] == -1


def test_every_drug_is_a_blunt_arrow_on_its_target(edges):
    for drug in load_catalogue():
        hits = [k for k in edges if k[0] == drug.name]
        assert len(hits) == len(drug.targets) and all(edges[k] == -1 for k in hits)
    assert edges[("letrozole", "aromatase")] == -1
    assert edges[("nvp-aew541", "IGF-1R")] == -1 and edges[("nvp-aew541", "IR")] == -1


def test_draw_png(tmp_path):
    p = draw_diagram(tmp_path / "n.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
