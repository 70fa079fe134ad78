"""Physiology the model must respect (issue 12, section 4).

- androstenedione is consumed by aromatase (mass balance), so a closed well runs out of it;
- medium E2 of aromatase-transfected MCF-7 stays in a bounded nM range;
- premenopausal ovarian escape under an aromatase inhibitor can be represented;
- a perfused tumour (patient exposure) keeps its substrate, unlike a closed well.
"""

from __future__ import annotations

import numpy as np
import pytest

from letrolab.model import get_model, simulate
from letrolab.model.patient import simulate_reference

A4_NM = 10.0


@pytest.fixture(scope="module")
def well():
    """Androstenedione-stimulated MCF-7/Aro, 6 days, every 2 h."""
    return simulate("mcf7-aro", androstenedione=A4_NM * 1e-9, days=6, points_per_day=12)


def test_androstenedione_is_used_up_over_days(well):
    a4 = well["a4_nM"]
    assert a4[0] == pytest.approx(A4_NM)
    assert np.all(np.diff(a4) <= 1e-12)  # never replenished in a closed well
    t_half = float(np.interp(A4_NM / 2, a4[::-1], well.time_h[::-1]))
    # first-order consumption at low substrate: Vmax / (Km + A4) per hour
    p = get_model().parameters
    expected = np.log(2) * (p["arom_km"] + 0.75 * A4_NM) / p["arom_vmax"]
    assert t_half == pytest.approx(expected, rel=0.1)
    assert a4[-1] < 0.01 * A4_NM  # the substrate is gone by day 6


def test_mass_balance_bounds_e2_by_the_substrate(well):
    """A4 -> E2 is 1:1, so A4 + E2 + (E2 cleared so far) = A4 supplied, at every time."""
    p = get_model().parameters
    t, e2, a4 = well.time_h, well["e2_nM"], well["a4_nM"]
    cleared = p["k_e2_clear"] * np.concatenate(
        [[0.0], np.cumsum(0.5 * (e2[1:] + e2[:-1]) * np.diff(t))]
    )
    # trapezoid on a 2 h grid: the residual is the quadrature error (< 1 % of the supply)
    np.testing.assert_allclose(a4 + e2 + cleared, A4_NM, rtol=0.01)
    assert e2.max() < A4_NM


def test_medium_e2_stays_in_the_measured_range(well):
    """Medium E2 between 0.01 and 10 nM over a 6-day assay; never the former steady 9 nM.

    Range: above the ER-alpha Kd order of magnitude (0.1 nM) while substrate lasts and below
    the androstenedione added (mass balance); the former model kept 9 nM E2 for ever.
    """
    e2 = well["e2_nM"][1:]
    assert e2.min() > 0.01 and e2.max() < A4_NM
    day1 = well.at("e2_nM", 24.0)
    assert 0.1 < day1 < A4_NM
    assert well.final("e2_nM") < 0.2 * day1  # E2 falls once the substrate runs out


def test_perfused_tumour_keeps_its_substrate():
    """With exchange from a reservoir (a vascularised tumour) the substrate does not run out."""
    r = simulate(
        "mcf7-aro", androstenedione=2e-9, days=6, points_per_day=1, parameters={"k_a4_supply": 6.0}
    )
    p = get_model().parameters
    a4 = r.final("a4_nM")
    assert a4 == pytest.approx(2.0, rel=0.05)
    # steady state of the steroid module: synthesis at the held substrate = clearance
    e2_ss = p["arom_vmax"] * a4 / (p["arom_km"] + a4) / p["k_e2_clear"]
    assert r.final("e2_nM") == pytest.approx(e2_ss, rel=0.01)


PREMENO = {"ovary": 1.0, "E2_ov0": 230.0, "FSH_0": 6.0, "LH_0": 5.0}


def _premenopausal_on_letrozole(n_fol: float) -> dict[str, np.ndarray]:
    days = 84
    times = np.arange(days) * 24.0
    return simulate_reference(
        {**PREMENO, "n_fol": n_fol},
        doses={"let": (times, np.full(days, 2.5))},
        t_end_h=days * 24.0,
        dt_h=24.0,
        selections=("time", "E2", "FSH", "Fol"),
    )


def test_premenopausal_ovarian_escape_can_be_represented():
    """With FSH-driven follicular aromatase (gain 6) E2 climbs back from its nadir under
    letrozole, driven by the raised FSH; with the default proportional gain it stays down."""
    esc = _premenopausal_on_letrozole(6.0)
    e2, fsh = esc["E2"], esc["FSH"]
    e2_0 = PREMENO["E2_ov0"] + 18.0
    nadir = int(np.argmin(e2))
    assert nadir < 14 and e2[nadir] < 0.3 * e2_0  # suppressed in the first two weeks
    assert e2[-1] > 2 * e2[nadir]  # then escapes, to several times postmenopausal E2
    assert e2[-1] > 3 * 18.0
    assert fsh[-1] > 2 * PREMENO["FSH_0"] and esc["Fol"][-1] > 50.0  # carried by raised FSH
    base = _premenopausal_on_letrozole(1.0)
    assert base["E2"][-1] < 0.05 * e2_0  # proportional gain: no escape at > 98 % inhibition
    assert e2[-1] > 10 * base["E2"][-1]


def test_premenopausal_preset_against_the_clinical_numbers():
    """The comparison written beside n_fol in patient.ant, as the model gives it.

    Parsanezhad 2010 (Fertil Steril 93:192; letrozole 2.5 mg daily for 12 weeks in cycling
    women): E2 66 -> 64 pg/mL, FSH and LH not significantly changed. The default preset
    (n_fol 1) suppresses E2 by 99 % with FSH x4.9 instead; even a gain of 20 leaves E2 27 %
    down with FSH still raised, because in this model E2 can only return while FSH stays high.
    This is a known deviation (the ovary's partial inhibition is missing): if the biology is
    added, this test fails and the documented comparison must be rewritten.
    """
    e2_0 = PREMENO["E2_ov0"] + 18.0
    base = _premenopausal_on_letrozole(1.0)
    assert base["E2"][7] / e2_0 == pytest.approx(0.008, abs=0.002)  # Cortinez 2005: 0.61
    assert base["E2"][-1] / e2_0 == pytest.approx(0.014, abs=0.003)  # Parsanezhad 2010: 0.97
    assert base["FSH"][-1] / PREMENO["FSH_0"] == pytest.approx(4.87, rel=0.02)  # n.s. change
    steep = _premenopausal_on_letrozole(20.0)
    assert steep["E2"][-1] / e2_0 == pytest.approx(0.73, abs=0.02)
    assert steep["FSH"][-1] / PREMENO["FSH_0"] == pytest.approx(1.32, rel=0.03)
