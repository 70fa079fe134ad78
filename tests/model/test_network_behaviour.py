"""Behaviour the issue requires of the calibrated network, each with its outside reference.

References (see shared/docs/FACTS.md): letrozole aromatase IC50 0.07 nM in MCF-7Ca cells;
6-day growth IC50 50-100 nM in MCF-7aro, T-47Daro more sensitive (Kijima 2005); NVP-AEW541
IGF-1R autophosphorylation IC50 86 nM and IR ~27x weaker; everolimus lowers p-S6 and raises
p-AKT; letrozole + NVP-AEW541 CI < 0.6 with more sub-G1 (Lisztwan 2008); LR clones with
hyperactive AKT/mTOR respond to everolimus (Cavazzoni 2012); letrozole lowers IGF-1R/IRS-1
(Yang 2018).
"""

from __future__ import annotations

import numpy as np
import pytest

from letrolab.model import get_model, simulate, simulate_grid
from letrolab.model.calibration import MEASURES, PREDICTIONS, _Context, _ic50


@pytest.fixture(scope="module")
def ctx():
    return _Context(get_model(), {})


def measure(ctx, name, cell_line="mcf7-aro"):
    return {**MEASURES, **PREDICTIONS}[name](ctx, cell_line)


def test_letrozole_e2_ic50_within_3x_of_0_07_nM(ctx):
    ic50 = measure(ctx, "e2_ic50_letrozole_nM")
    assert 0.07 / 3 <= ic50 <= 0.07 * 3


def test_growth_ic50_tens_to_a_hundred_nM_from_the_same_mechanism(ctx):
    ic50 = measure(ctx, "growth_ic50_letrozole_nM")
    assert 10 <= ic50 <= 110
    # same mechanism: at the growth IC50 E2 is already far below its basal level, i.e. the
    # E2 -> proliferation EC50 is far below basal E2 (proliferation needs only a little E2)
    basal = simulate(days=1, points_per_day=1).final("e2_nM")
    at_ic50 = simulate(drugs={"letrozole": ic50 * 1e-9}, days=1, points_per_day=1).final("e2_nM")
    assert at_ic50 < 0.01 * basal
    assert ic50 / measure(ctx, "e2_ic50_letrozole_nM") > 100


def test_t47d_more_sensitive_to_letrozole(ctx):
    assert measure(ctx, "growth_ic50_ratio_vs_mcf7", "t47d-aro") < 1


def test_nvp_aew541_igf1r_ic50_and_ir_selectivity(ctx):
    igf1r = measure(ctx, "pigf1r_ic50_nvp_nM")
    ir = measure(ctx, "pir_ic50_nvp_nM")
    assert 86 / 3 <= igf1r <= 86 * 3
    assert 27 / 3 <= ir / igf1r <= 27 * 3


def test_kw2450_hits_ir_where_nvp_aew541_does_not():
    kw = dict(insulin=10e-9, igf1=0.0, androstenedione=0.0, days=1 / 24, points_per_day=24)
    ctrl = simulate(**kw).final("p_ir")
    assert simulate(drugs={"kw-2450": 1e-7}, **kw).final("p_ir") < 0.2 * ctrl
    assert simulate(drugs={"nvp-aew541": 1e-7}, **kw).final("p_ir") > 0.9 * ctrl


def test_everolimus_lowers_ps6_and_raises_pakt_through_the_feedback(ctx):
    assert measure(ctx, "everolimus_ps6_ratio") < 0.5
    assert measure(ctx, "everolimus_pakt_ratio") > 1.2
    # mechanism: without the S6K1 -| IRS-1 feedback there is no p-AKT rise
    no_fb = _Context(get_model(), {"k_irs_s6k": 0.0})
    assert measure(no_fb, "everolimus_pakt_ratio") == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("line", ["mcf7-aro", "t47d-aro"])
def test_letrozole_plus_igf1r_inhibitor_beats_either_alone(line):
    g = simulate_grid(
        line,
        drugs={"letrozole": [0, 1e-7], "nvp-aew541": [0, 1e-6]},
        days=6,
        observables=("viable_cells", "sub_g1_fraction"),
    )
    v = g.final("viable_cells")  # order: (0,0), (0,N), (L,0), (L,N)
    assert v[3] < 0.6 * min(v[1], v[2])
    s = g.final("sub_g1_fraction")
    assert s[3] > 1.3 * max(s[1], s[2])  # seed S5: more sub-G1 than either agent


@pytest.mark.parametrize("line", ["mcf7-aro", "t47d-aro"])
def test_combination_is_synergistic_by_chou_talalay(ctx, line):
    ci = measure(ctx, "ci_letrozole_nvp", line)
    assert 0 < ci < 0.6  # seed S4 (Lisztwan 2008), max over ED50/ED75/ED90


def test_synergy_comes_from_er_crosstalk(ctx):
    """Without ligand-independent ER activation by AKT/S6K1/ERK the synergy weakens."""
    with_crosstalk = measure(ctx, "ci_letrozole_nvp")
    without = measure(_Context(get_model(), {"alpha_er_phos": 0.0}), "ci_letrozole_nvp")
    assert without > with_crosstalk + 0.15


def test_letrozole_lowers_igf1r_and_irs1_expression(ctx):
    assert measure(ctx, "letrozole_igf1r_ratio") < 0.9
    assert measure(ctx, "letrozole_irs1_ratio") < 0.9


def test_resistant_clone_akt_hyperactive_and_everolimus_sensitive(ctx):
    assert measure(ctx, "lr_pakt_ratio_vs_parent", "mcf7-aro-lr") > 1.5
    assert measure(ctx, "lr_everolimus_growth_ratio", "mcf7-aro-lr") < 0.75
    assert measure(ctx, "lr_everolimus_subg1_ratio", "mcf7-aro-lr") > 1.2

    # and ER matters less: letrozole inhibits LR growth less than parental growth
    def letrozole_ratio(line):
        a = simulate(line, drugs={"letrozole": 1e-6}, points_per_day=1).final("viable_cells")
        return a / simulate(line, points_per_day=1).final("viable_cells")

    assert letrozole_ratio("mcf7-aro-lr") > letrozole_ratio("mcf7-aro")


def test_palbociclib_arrests_in_g1():
    c = simulate(points_per_day=1)
    p = simulate(drugs={"palbociclib": 3e-7}, points_per_day=1)
    assert p.final("p_rb") < 0.5 * c.final("p_rb")
    assert p.final("g1_fraction") > c.final("g1_fraction") + 0.15
    assert p.final("viable_cells") < 0.5 * c.final("viable_cells")


def test_steroid_deprivation_state():
    dep = simulate(androstenedione=0.0, points_per_day=1)
    stim = simulate(points_per_day=1)
    assert dep.final("e2_nM") == pytest.approx(0.0, abs=1e-12)
    assert dep.final("g1_fraction") > stim.final("g1_fraction")
    assert dep.final("viable_cells") < 0.5 * stim.final("viable_cells")


@pytest.mark.shared_data
def test_alpelisib_pakt_against_lincs_microwestern(shared_data):
    """p-AKT S473 after 1 h of 1 uM alpelisib vs vehicle (LINCS LDS-1511, MCF10A).

    Another cell line (MCF10A, not MCF-7), so the tolerance is a factor of 2.5.
    """
    d = _lincs(shared_data, "pAkt", "Alpelisib")
    observed = d[(1.0, 1.0)] / d[(0.0, 1.0)]
    kw = dict(days=1 / 24, points_per_day=24)
    model = simulate(drugs={"alpelisib": 1e-6}, **kw).final("p_akt") / simulate(**kw).final("p_akt")
    assert observed / 2.5 <= model <= observed * 2.5
    # dose order as in the data: 10 uM at 6 h inhibits more than 1 uM at 6 h
    kw6 = dict(days=0.25, points_per_day=24)
    p1 = simulate(drugs={"alpelisib": 1e-6}, **kw6).final("p_akt")
    p10 = simulate(drugs={"alpelisib": 1e-5}, **kw6).final("p_akt")
    assert p10 < p1


def test_ic50_helper_interpolates_on_log_scale():
    x = np.geomspace(1, 1000, 31)
    y = 1 / (1 + x / 50)
    assert _ic50(x, y) == pytest.approx(50, rel=0.01)


def test_igf1_rescues_growth_under_letrozole_more_than_without():
    """Seed S1/S3: more IGF-1 matters most when E2 is low (ligand-independent ER activation)."""

    def gain(drugs):
        lo = simulate(drugs=drugs, points_per_day=1).final("viable_cells")
        hi = simulate(drugs=drugs, igf1=6.5e-9, points_per_day=1).final("viable_cells")
        return hi / lo

    assert gain({"letrozole": 1e-6}) > gain({}) + 0.1 > 1.0


def test_progesterone_receptor_is_an_er_target_and_higher_in_t47d():
    def pr(line, drugs):
        return simulate(line, drugs=drugs, points_per_day=1).final("pr_total")

    assert pr("mcf7-aro", {"letrozole": 1e-6}) < 0.6 * pr("mcf7-aro", {})
    assert pr("t47d-aro", {}) > 3 * pr("mcf7-aro", {})


def _lincs(shared_data, readout, drug):
    import pandas as pd

    f = (
        shared_data
        / "phospho"
        / "lincs_mcf10a_microwestern"
        / f"DrugStudyI level 4 {readout} 2018 0405.txt"
    )
    df = pd.read_csv(f, sep="\t")
    df = df[(df["SM_Name"] == drug) & (df["concentration_(uM)"] != "serum starved")]
    df = df.assign(
        conc_uM=df["concentration_(uM)"].astype(float), time_h=df["time_point_(hr)"].astype(float)
    )
    return df.set_index(["conc_uM", "time_h"])["Average"]


@pytest.mark.shared_data
def test_trametinib_perk_against_lincs_microwestern(shared_data):
    """p-ERK after 1 h of 1 nM trametinib vs vehicle (LINCS LDS-1511, MCF10A); factor 3."""
    d = _lincs(shared_data, "pErk", "Trametinib")
    observed = d[(0.001, 1.0)] / d[(0.0, 1.0)]
    kw = dict(days=1 / 24, points_per_day=24)
    model = simulate(drugs={"trametinib": 1e-9}, **kw).final("p_erk") / simulate(**kw).final(
        "p_erk"
    )
    assert observed / 3 <= model <= observed * 3


@pytest.mark.shared_data
def test_palbociclib_leaves_pakt_within_twofold_as_in_lincs(shared_data):
    """CDK4/6 inhibition barely moves p-AKT in the data (0.9-1.9x at 6-24 h); nor in the model.

    The model has no CDK4/6 -> AKT link, so it cannot show the data's mild rise at 24 h; this
    checks only that neither moves p-AKT by more than 2x.
    """
    d = _lincs(shared_data, "pAkt", "Palbociclib")
    ratios = [d[(c, t)] / d[(0.0, t)] for c in (0.32, 1.0, 3.2) for t in (6.0, 24.0)]
    assert all(0.5 < r < 2.0 for r in ratios)
    kw = dict(days=1, points_per_day=1)
    model = simulate(drugs={"palbociclib": 1e-6}, **kw).final("p_akt") / simulate(**kw).final(
        "p_akt"
    )
    assert 0.5 < model < 2.0


@pytest.mark.shared_data
def test_alpelisib_perk_against_lincs_microwestern(shared_data):
    """PI3K inhibition also lowers p-ERK (PI3K -> Ras input): LINCS LDS-1511, 1 uM, 1 h; factor 1.6."""
    d = _lincs(shared_data, "pErk", "Alpelisib")
    observed = d[(1.0, 1.0)] / d[(0.0, 1.0)]
    kw = dict(days=1 / 24, points_per_day=24)
    model = simulate(drugs={"alpelisib": 1e-6}, **kw).final("p_erk") / simulate(**kw).final("p_erk")
    assert observed / 1.6 <= model <= min(observed * 1.6, 0.95)
