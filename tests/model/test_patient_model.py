"""patient.ant: parameter provenance, the PK catalogue, and outside references for the maths."""

import math

import numpy as np
import pytest

from letrolab.errors import FormatError, InputError
from letrolab.model.patient import load_pk_catalogue, parameter_table, simulate_reference
from letrolab.model.patient._model import defaults, load_roadrunner

STATUSES = {"V", "V2", "D", "A"}


def test_every_parameter_has_unit_status_and_source():
    table = parameter_table()
    assert len(table) > 60
    for p in table.values():
        assert p.unit, f"{p.name} has no unit"
        if p.status == "state":
            continue
        assert p.status in STATUSES, f"{p.name}: status {p.status!r}"
        assert len(p.note) > 15, f"{p.name}: source or reason missing"


def test_every_model_parameter_is_in_the_table():
    rr = load_roadrunner()
    table = parameter_table()
    rules = set(rr.getAssignmentRuleIds())
    plain = [p for p in rr.model.getGlobalParameterIds() if p not in rules]
    missing = [p for p in plain if p not in table]
    assert not missing, f"parameters without a documented line: {missing}"


def test_pk_catalogue_matches_the_antimony_defaults():
    pk = load_pk_catalogue()["letrozole"]
    d = defaults()
    assert pk.ka_per_h == d["ka_let"]
    assert pk.cl_f_L_per_h == d["CL_let_typ"]
    assert pk.v_f_L == d["V_let_ref"]
    assert pk.v_ref_weight_kg == d["WT_ref"]
    assert pk.v_weight_exponent == d["V_wt_exp"]
    assert pk.f == d["F_let"]
    assert (pk.cyp2a6_factor_1, pk.cyp2a6_factor_2) == (d["cyp_factor_1"], d["cyp_factor_2"])


def test_clearance_derivation_from_sioufi_and_pfister():
    # Sioufi 1997 IV CL 2.21 L/h with F 0.999; Pfister 2001 steady-state AUC +28 %.
    assert defaults()["CL_let_typ"] == pytest.approx(2.21 / 0.999 / 1.28, rel=1e-3)


def test_tanii_volume_and_sioufi_vss_agree():
    pk = load_pk_catalogue()["letrozole"]
    assert pk.volume(51.1) == pytest.approx(94.2)
    # Sioufi 1997: Vss 1.87 L/kg; Tanii's Vd/F per kg at 51.1-70 kg is within 5 % of it
    for wt in (51.1, 70.0):
        assert pk.volume(wt) / wt == pytest.approx(1.87, rel=0.05)


def test_half_life_is_about_two_days():
    pk = load_pk_catalogue()["letrozole"]
    t_half_d = math.log(2) * pk.volume(70.0) / pk.cl_f_L_per_h / 24
    assert 1.5 < t_half_d < 3.0  # drug monograph: ~2 days


def test_in_vivo_aromatase_ic50_satisfies_dowsett_bounds():
    d = defaults()
    pk = load_pk_catalogue()["letrozole"]
    ic50 = d["IC50_arom_nM"]
    for dose, bound in ((2.5, 0.989), (0.5, 0.984)):
        css = pk.f * dose / 24 / pk.cl_f_L_per_h / pk.mw * 1e6  # nM
        assert css / (css + ic50) >= bound
    css05 = pk.f * 0.5 / 24 / pk.cl_f_L_per_h / pk.mw * 1e6
    assert ic50 <= css05 * 0.016 / 0.984  # the derivation documented in patient.ant


def test_glucose_anchor_reproduces_topp_2000():
    # Topp et al. 2000, Table 1: R0 864 mg/dL/day, beta*sigma = 300 mg * 43.2 uU/mL/mg/day;
    # at G = 100 mg/dL and I = 10 uU/mL the system is at rest.
    rr = load_roadrunner()
    rr.resetAll()
    rr["G_0"] = 100 / 18.016
    rr["I_0"] = 60.0
    rr.reset()
    assert rr["R0"] == pytest.approx(864 / 24 / 18.016, rel=2e-3)
    # secretion capacity sigma_ins in pmol/L/h = 300 * 43.2 uU/mL/day * 6 / 24
    assert rr["sigma_ins"] == pytest.approx(300 * 43.2 * 6 / 24, rel=2e-3)


def test_untreated_patient_stays_at_baseline():
    r = simulate_reference({}, t_end_h=240)
    for k, v in (("E2", 18), ("FSH", 70), ("IGF1", 130), ("BP3", 3.5), ("G", 5.3), ("Ins", 60)):
        np.testing.assert_allclose(r[k], v, rtol=1e-6)


def test_css_equals_dose_rate_over_clearance():
    # Average concentration at steady state = F Dose / (CL tau) (Rowland & Tozer, ch. 11).
    r = simulate_reference(
        {},
        doses={"let": (np.arange(0, 24 * 42, 24.0), np.full(42, 2.5))},
        t_end_h=24 * 42,
        dt_h=0.1,
    )
    d = defaults()
    expect = d["F_let"] * 2.5 / 24 / d["CL_let_typ"] / d["MW_let"] * 1e6
    avg = np.trapezoid(r["C_let_nM"][-241:], dx=0.1) / 24.0  # over the last dosing interval
    assert avg == pytest.approx(expect, rel=2e-3)
    assert 165 < avg < 355


def test_periodic_dose_event_in_the_model_matches_explicit_boluses():
    rr = load_roadrunner()
    rr.resetAll()
    rr.reset()
    # arm the event after reset(), next time before count (see the comment in patient.ant)
    rr["dose_let_mg"] = 2.5
    rr["next_dose_let"] = 24
    rr["n_doses_let"] = 9
    rr["A_gut_let"] = rr["F_let"] * 2.5  # the dose at time 0 (the caller gives it)
    out = np.asarray(rr.simulate(times=np.arange(0, 241.0).tolist(), selections=["C_let_nM"]))[:, 0]
    ref = simulate_reference(
        {}, doses={"let": (np.arange(0, 240, 24.0), np.full(10, 2.5))}, t_end_h=240
    )
    np.testing.assert_allclose(out, ref["C_let_nM"], rtol=1e-5, atol=1e-6)


def test_unknown_parameter_is_an_error():
    with pytest.raises(InputError, match="no parameter 'nope'"):
        simulate_reference({"nope": 1.0}, t_end_h=1)


def test_pk_catalogue_rejects_a_broken_row(tmp_path):
    bad = tmp_path / "pk.csv"
    bad.write_text(
        "drug,route,ka_per_h,cl_f_L_per_h,v_f_L,f,mw,source\nfoo,oral,1,abc,10,1,300,x\n"
    )
    with pytest.raises(FormatError, match="cl_f_L_per_h of 'foo' is 'abc'"):
        load_pk_catalogue(bad)
    bad.write_text(
        "drug,route,ka_per_h,cl_f_L_per_h,v_f_L,f,mw,source\nfoo,oral,1,1,10,1.5,300,x\n"
    )
    with pytest.raises(FormatError, match="bioavailability"):
        load_pk_catalogue(bad)
    bad.write_text("drug,route,ka_per_h\nfoo,oral,1\n")
    with pytest.raises(FormatError, match="missing column"):
        load_pk_catalogue(bad)


def test_sbml_export_is_valid():
    import libsbml

    from letrolab.model.patient import patient_sbml

    doc = libsbml.readSBMLFromString(patient_sbml())
    doc.checkConsistency()
    errors = [
        doc.getError(i).getMessage()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    assert not errors, errors[:3]
    model = doc.getModel()
    assert model.getNumEvents() == 1  # the periodic letrozole dose
    assert model.getParameter("IC50_arom_nM").getValue() == 0.6
