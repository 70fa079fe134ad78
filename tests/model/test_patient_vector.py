"""The vectorised cohort engine agrees with libroadrunner on patient.ant (the source of truth).

Tolerance: every time course within 1 % of its range from 24 h on (the engine holds GH and the
glucose-insulin system at quasi-steady state, libroadrunner integrates them; both settle within
hours), end-of-run values within 0.2 %. libroadrunner runs with CVODE rtol 1e-8, atol 1e-10.
"""

import numpy as np
import pytest

from letrolab.model.patient import parse_arm, sample_cohort, simulate_reference
from letrolab.model.patient._model import defaults
from letrolab.model.patient._vector import fasting_steady_state, simulate_batch
from letrolab.model.patient.pk import load_pk_catalogue
from letrolab.model.patient.trial import arm_drugs

COMPARE = ("E2", "E2_measured", "FSH", "LH", "GH", "IGF1", "BP3", "G", "Ins")


def _both(arm_spec, cohort, k, *, days, pk_cat=None, slot_params=None):
    """Run patient k of cohort on arm in both engines; return (vector traces, reference)."""
    pk_cat = pk_cat or load_pk_catalogue()
    one = cohort.subset(slice(k, k + 1))
    t_end = 24.0 * days
    oral, const = arm_drugs(
        parse_arm(arm_spec, pk_catalogue=pk_cat),
        one,
        t_end_h=t_end,
        seed=0,
        arm_index=0,
        pk_catalogue=pk_cat,
    )
    P = dict(one.params)
    eta = one.eta_pk["letrozole"]
    P.update(ka_let=3.0 * eta["ka"], eta_CL_let=eta["cl"], eta_V_let=eta["v"])
    vec = simulate_batch(P, oral=oral, const=const, t_end_h=t_end, n_trace=1)
    params = {name: float(np.ravel(v)[0]) for name, v in P.items()}
    doses = {}
    slot = 1
    for d in oral:
        if d.name == "letrozole":
            doses["let"] = (d.dose_times_h, d.dose_mg)
            continue
        s = f"x{slot}"
        slot += 1
        params.update({f"ka_{s}": d.ka[0], f"CL_{s}": d.cl[0], f"V_{s}": d.v[0], f"MW_{s}": d.mw})
        params.update({f"IC50_IGF1R_{s}_nM": min(d.ic50_igf1r_nM, 1e30)})
        params.update({f"IC50_IR_{s}_nM": min(d.ic50_ir_nM, 1e30)})
        doses[s] = (d.dose_times_h, d.f * d.dose_mg)
    for c in const:
        s = f"x{slot}"
        slot += 1
        params.update({f"C_{s}_const_nM": c.conc_nM})
        params.update({f"IC50_IGF1R_{s}_nM": min(c.ic50_igf1r_nM, 1e30)})
        params.update({f"IC50_IR_{s}_nM": min(c.ic50_ir_nM, 1e30)})
    params.update(slot_params or {})
    ref = simulate_reference(params, doses=doses, t_end_h=t_end)
    return vec, ref


def _assert_close(vec, ref, names=COMPARE, extra=()):
    t = vec.trace_t_h
    late = t >= 24
    for name in (*names, *extra):
        a, b = vec.traces[name][0], ref[name]
        span = max(np.ptp(b), 1e-3 * np.max(np.abs(b)), 1e-9)
        err = np.max(np.abs(a[late] - b[late])) / span
        assert err < 0.01, f"{name}: max deviation {err:.4f} of its range"
        assert a[-1] == pytest.approx(b[-1], rel=2e-3, abs=1e-9), name


def test_typical_patient_letrozole_pk_is_exact():
    c = sample_cohort(1, seed=0, variability=False)
    vec, ref = _both("a:letrozole:2.5mg/day", c, 0, days=60)
    np.testing.assert_allclose(vec.traces["C_let_nM"][0], ref["C_let_nM"], rtol=1e-6, atol=1e-9)
    _assert_close(vec, ref)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_varied_patients_with_missed_doses(k):
    c = sample_cohort(3, seed=11)
    vec, ref = _both("a:letrozole:0.5mg/day,miss=5-9;20", c, k, days=40)
    np.testing.assert_allclose(vec.traces["C_let_nM"][0], ref["C_let_nM"], rtol=1e-6, atol=1e-9)
    _assert_close(vec, ref)


def test_premenopausal_patient():
    c = sample_cohort(2, seed=5, menopause="pre")
    vec, ref = _both("a:letrozole:2.5mg/day", c, 1, days=40)
    _assert_close(vec, ref)
    assert vec.values["IGF1_ov_end"][0] == pytest.approx(ref["IGF1_ov"][-1], rel=2e-3)


def test_steady_exposure_of_ir_inhibitor_and_glucose():
    c = sample_cohort(2, seed=3)
    vec, ref = _both("a:letrozole:2.5mg/day+nvp-aew541:3uM", c, 0, days=20)
    _assert_close(vec, ref, extra=("f_IR", "f_IGF1R"))
    assert ref["G"][-1] > ref["G"][0]  # IR inhibition raises fasting glucose ...
    assert ref["Ins"][-1] > ref["Ins"][0]  # ... with compensatory hyperinsulinaemia


def test_oral_ir_inhibitor_from_a_user_pk_catalogue(tmp_path):
    path = tmp_path / "pk.csv"
    text = (load_pk_catalogue.__globals__["DEFAULT_PK"]).read_text()
    # a hypothetical oral PK row for KW-2450 (user extension; values are not clinical data)
    text += 'kw-2450,oral,0.8,20,300,,,0.6,500,,,0.3,0.2,0.3,A,"test row"\n'
    path.write_text(text)
    cat = load_pk_catalogue(path)
    c = sample_cohort(1, seed=0, pk_catalogue=cat)
    vec, ref = _both("a:kw-2450:20mg/12h", c, 0, days=10, pk_cat=cat)
    np.testing.assert_allclose(vec.traces["C_kw-2450_nM"][0], ref["C_x1_nM"], rtol=1e-6)
    _assert_close(vec, ref, names=("IGF1", "BP3", "G", "Ins"))


def test_fasting_steady_state_is_the_roots_of_the_balance():
    p = {k: np.array([v]) for k, v in defaults().items()}
    f = np.linspace(0, 0.99, 12)
    g, ins = fasting_steady_state(p, f)
    r0 = (p["EG0"] + p["SI"] * p["I_0"]) * p["G_0"]
    np.testing.assert_allclose(g * (p["EG0"] + p["SI"] * (1 - f) * ins), r0[0], rtol=1e-10)
    assert np.all(np.diff(g) > 0) and np.all(np.diff(ins) > 0)
    assert g[0] == pytest.approx(p["G_0"][0], rel=1e-12)
