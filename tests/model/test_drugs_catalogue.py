"""The drug catalogue: a data file a user extends without code."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from letrolab.errors import FormatError, InputError
from letrolab.model import Model, load_catalogue, simulate
from letrolab.model.drugs import DEFAULT_CATALOGUE, TARGETS, DrugTarget


def test_shipped_catalogue_has_the_issue_drugs_with_sources():
    cat = load_catalogue()
    for name in ("letrozole", "nvp-aew541", "kw-2450", "everolimus", "palbociclib", "alpelisib"):
        assert name in cat
    df = cat.to_frame()
    assert df["reference"].str.len().min() > 20
    assert set(df["status"]) <= {"V", "V2", "A", "fit"}
    assert set(df["target"]) <= set(TARGETS)
    nvp = {t.target: t.potency_nM for t in cat["NVP-AEW541"].targets}
    assert nvp == {"IGF1R": 86.0, "IR": 2300.0}
    assert nvp["IR"] / nvp["IGF1R"] == pytest.approx(27, rel=0.05)  # ~27-fold selectivity
    assert cat["Femara"].targets[0].mode == "competitive"
    assert cat["letrozole"].mw == pytest.approx(285.3)


def test_unknown_drug_message_names_the_fix():
    with pytest.raises(InputError, match=r"unknown drug 'foo'.*add a row to the drug catalogue"):
        load_catalogue()["foo"]


def test_model_composes_drug_effects_per_target():
    m = Model()
    rr = m._rr
    rr["drug_nvp_aew541"] = 86.0
    rr["drug_kw_2450"] = 7.0
    # two independent inhibitors of IGF-1R multiply (Bliss): 0.5 * 0.5
    assert rr["act_IGF1R"] == pytest.approx(0.25, rel=1e-12)
    rr["drug_letrozole"] = 0.14
    assert rr["comp_aromatase"] == pytest.approx(2.0, rel=1e-12)
    rr["drug_everolimus"] = 2.0
    assert rr["act_mTORC1"] == pytest.approx(1 - 0.95 / 2, rel=1e-12)


def test_user_extends_catalogue_without_code(tmp_path):
    path = tmp_path / "drugs.csv"
    shutil.copy(DEFAULT_CATALOGUE, path)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(
            "fulvestrant,ICI-182780,ER,noncompetitive,0.3,IC50,1,1,606.8,CHEBI:31638,A,"
            '"test entry: pure antiestrogen acting on ER transcriptional activity"\n'
        )
    cat = load_catalogue(path)
    model = Model(catalogue=cat)
    treated = simulate(drugs={"ICI-182780": 1e-7}, days=2, points_per_day=1, model=model)
    control = simulate(days=2, points_per_day=1, model=model)
    assert treated.final("er_activity") < 0.01 * control.final("er_activity")
    assert treated.final("viable_cells") < control.final("viable_cells")


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("x,,CDK2,noncompetitive,1,IC50,1,1,,,A,ref", "unknown target 'CDK2'"),
        ("x,,IGF1R,competitive,1,IC50,1,1,,,A,ref", "competitive' is modelled only"),
        ("x,,IGF1R,noncompetitive,-1,IC50,1,1,,,A,ref", "positive finite"),
        ("x,,IGF1R,noncompetitive,1,IC50,1,1.5,,,A,ref", "emax must be in"),
        ("x,,IGF1R,noncompetitive,1,IC50,1,1,,,maybe,ref", "status must be one of"),
    ],
)
def test_bad_catalogue_rows_are_rejected(tmp_path, row, match):
    header = DEFAULT_CATALOGUE.read_text().splitlines()[0]
    p = tmp_path / "bad.csv"
    p.write_text(header + "\n" + row + "\n")
    with pytest.raises(FormatError, match=match):
        load_catalogue(p)


@given(
    ic50=st.floats(1e-3, 1e4),
    hill=st.floats(0.3, 3),
    emax=st.floats(0.1, 1),
    c1=st.floats(0, 1e6),
    c2=st.floats(0, 1e6),
)
def test_remaining_activity_is_a_bounded_decreasing_hill_curve(ic50, hill, emax, c1, c2):
    t = DrugTarget("IGF1R", "noncompetitive", ic50, "IC50", hill, emax, "A", "")
    lo, hi = sorted((c1, c2))
    a_lo, a_hi = t.remaining_activity(lo), t.remaining_activity(hi)
    assert 1 - emax - 1e-12 <= a_hi <= a_lo + 1e-12 <= 1 + 1e-12
    assert t.remaining_activity(ic50) == pytest.approx(1 - emax / 2, rel=1e-9)
    assert t.remaining_activity(0) == 1.0
    assert math.isfinite(a_hi) and np.isfinite(a_lo)
