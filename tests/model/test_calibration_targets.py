"""Calibration: the shipped parameter set meets every target; the routine itself runs."""

from __future__ import annotations

import numpy as np
import pytest

from letrolab.errors import FormatError, InputError
from letrolab.model import get_model
from letrolab.model.calibration import (
    KNOWN_MISSES,
    Z95,
    apply_to_network,
    calibrate,
    check_targets,
    combination_index,
    load_targets,
    sensitivities,
)


def test_shipped_parameter_set_meets_every_target_but_the_known_misses():
    chk = check_targets()
    missed = chk.table.loc[~chk.table["met"], ["id", "simulated", "lower", "upper"]]
    assert set(missed["id"]) == set(KNOWN_MISSES), f"targets missed:\n{missed.to_string()}"
    assert len(chk.table) >= 20
    assert chk.summary()["all_met"] is False


def test_targets_table_is_documented_data():
    t = load_targets()
    assert t["id"].is_unique
    assert set(t["status"]) <= {"V", "V2", "A"}
    assert (t["source"].str.len() > 20).all()
    # the numbers are in the table
    assert (t["spread"].str.len() > 20).all()  # every tolerance says where it comes from
    # the LINCS row: SD of ln(ratio) from the replicate wells' SDs (delta method)
    row = t.set_index("id").loc["alpelisib_pakt_1h"]
    m1, s1, m0, s0 = 0.1159, 0.0068, 0.9292, 0.1715
    assert row["value"] == pytest.approx(m1 / m0, rel=1e-3)
    assert row["sd"] == pytest.approx(np.hypot(s1 / m1, s0 / m0), rel=1e-2)
    assert row["upper"] == pytest.approx(row["value"] * np.exp(Z95 * row["sd"]), rel=1e-9)


def test_targets_table_rejects_inconsistent_rows(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(
        "id,measure,cell_line,value,lower,upper,scale,status,source\n"
        "x,control_growth_6d,mcf7-aro,10,1,5,log,A,src\n"
    )
    with pytest.raises(FormatError, match="within \\[lower, upper\\]"):
        load_targets(p)
    p.write_text(
        "id,measure,cell_line,value,lower,upper,scale,status,source\n"
        "x,no_such_measure,mcf7-aro,1,0.5,2,log,A,src\n"
    )
    with pytest.raises(FormatError, match="unknown measure"):
        load_targets(p)
    p.write_text(
        "id,measure,cell_line,value,sd,scale,status,source\n"
        "x,control_growth_6d,mcf7-aro,6,0,log,A,src\n"
    )
    with pytest.raises(FormatError, match="sd must be a positive number"):
        load_targets(p)
    p.write_text(
        "id,measure,cell_line,value,sd,scale,status,source\n"
        "x,ci_letrozole_nvp,mcf7-aro,0.3,0.2,log,A,src\n"
    )
    with pytest.raises(FormatError, match="unknown measure"):  # a claim readout is no target
        load_targets(p)


def test_calibration_routine_recovers_a_parameter_on_a_tiny_problem():
    """Fit k_g1s_max alone to a control-growth target produced by a known value."""
    import pandas as pd

    from letrolab.model.calibration import evaluate_measures

    truth = {"k_g1s_max": 0.09}
    tiny = pd.DataFrame(
        [["g", "control_growth_6d", "mcf7-aro", 1.0, 0.5, 2.0, "log", "A", "synthetic"]],
        columns=[
            "id",
            "measure",
            "cell_line",
            "value",
            "lower",
            "upper",
            "scale",
            "status",
            "source",
        ],
    )
    tiny.loc[0, "value"] = evaluate_measures(tiny, parameters=truth)[0]
    res = calibrate({"k_g1s_max": (0.05, 0.2)}, targets=tiny, n_starts=1, seed=3, max_nfev=20)
    assert res.parameters["k_g1s_max"] == pytest.approx(0.09, rel=1e-3)
    assert res.cost < 1e-8 and len(res.starts) == 2
    assert "k_g1s_max" in res.report()
    with pytest.raises(InputError, match="unknown model parameter"):
        calibrate({"nope": (1, 2)}, targets=tiny)
    with pytest.raises(InputError, match="0 < low < high"):
        calibrate({"k_g1s_max": (0.2, 0.1)}, targets=tiny)


def _steroid_e2(vmax: float, k_clear: float, hours: float, a4_0: float = 10.0) -> float:
    """E2 at ``hours`` from the two steroid ODEs alone, integrated by scipy (reference).

    The steroid module is upstream of everything else (A4 -> E2 -> ER), so a closed well's
    E2 follows dA/dt = -v, dE/dt = v - k E with v = vmax A / (Km + A), Km 40 nM.
    """
    from scipy.integrate import solve_ivp

    def rhs(_t, y):
        v = vmax * y[0] / (40.0 + y[0])
        return [-v, v - k_clear * y[1]]

    sol = solve_ivp(rhs, (0.0, hours), [a4_0, 0.0], method="LSODA", rtol=1e-11, atol=1e-14)
    return float(sol.y[1, -1])


def test_sensitivity_report_matches_finite_difference_and_analytic_value():
    rep = sensitivities(
        parameters=["arom_vmax", "k_e2_clear", "K_surv"], readouts=("e2_nM", "viable_cells"), days=2
    )
    df = rep.to_frame()
    # reference: central differences (same 1 % step) of the steroid ODEs solved by scipy
    base = get_model().parameters
    vmax, k = base["arom_vmax"], base["k_e2_clear"]
    e0 = _steroid_e2(vmax, k, 48.0)
    el_v = (_steroid_e2(1.01 * vmax, k, 48.0) - _steroid_e2(0.99 * vmax, k, 48.0)) / (0.02 * e0)
    el_k = (_steroid_e2(vmax, 1.01 * k, 48.0) - _steroid_e2(vmax, 0.99 * k, 48.0)) / (0.02 * e0)
    # 1e-3: both are 1 % central differences, of two integrators, on a curved response
    assert df.loc["e2_nM", "arom_vmax"] == pytest.approx(el_v, abs=1e-3)
    assert df.loc["e2_nM", "k_e2_clear"] == pytest.approx(el_k, abs=1e-3)
    assert df.loc["viable_cells", "K_surv"] < 0  # a higher survival threshold kills more cells
    assert rep.top("e2_nM", 2)[0][0] in ("arom_vmax", "k_e2_clear")
    assert "e2_nM" in rep.report() and rep.summary()["condition"]["cell_line"] == "mcf7-aro"


def test_default_sensitivity_parameter_set_excludes_conditions():
    model = get_model()
    rep = sensitivities(readouts=("e2_nM",), days=0.5, model=model)
    assert "androstenedione" not in rep.parameters and "drug_letrozole" not in rep.parameters
    assert np.isfinite(rep.values).all()


def test_apply_to_network_rewrites_only_the_value_and_status(tmp_path):
    from letrolab.model.engine import NETWORK

    p = tmp_path / "n.ant"
    p.write_text(NETWORK.read_text())
    text = apply_to_network({"k_clear": 0.07}, path=p, write=True)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("k_clear ="))
    assert "0.07" in line and "| fit |" in line and "apoptotic bodies" in line
    with pytest.raises(InputError, match="no documented line"):
        apply_to_network({"not_there": 1.0}, path=p)


def test_combination_index_of_known_synergy_and_sham():
    d = np.geomspace(1, 100, 9)
    fa = d / (d + 10)  # m = 1, Dm = 10 for both drugs
    # a sham mixture (drug with itself) is additive
    np.testing.assert_allclose(combination_index(d, fa, d, fa, d / 2, fa, 1.0), 1.0, rtol=1e-9)
    # a mixture as potent as each drug at a quarter of the dose: CI = 0.25
    dc = d / 2
    fac = (4 * 2 * dc) / (4 * 2 * dc + 10)
    np.testing.assert_allclose(combination_index(d, fa, d, fa, dc, fac, 1.0), 0.25, rtol=1e-9)


def test_parameter_table_documents_every_parameter():
    model = get_model()
    table = model.parameter_table().set_index("parameter")
    undocumented = [
        p for p in model.parameters if p not in table.index and not p.startswith("drug_")
    ]
    assert undocumented == []
    assert set(table["status"]) <= {"V", "V2", "A", "fit", "condition"}
    assert (table["source"].str.len() > 10).all()
    assert (table["unit"].str.len() > 0).all()


def test_no_fitted_parameter_sits_on_its_bound_without_a_stated_reason():
    """Issue 12 §4: a fitted value at (within 2 % of) its prior bound needs the reason in
    priors.csv; every fitted parameter is a sampled one, status ``fit`` in network.ant."""
    from letrolab.model.ensemble import load_priors

    model = get_model()
    table = model.parameter_table().set_index("parameter")
    fitted = set(table.index[table["status"] == "fit"])
    priors = {p.parameter: p for p in load_priors()}
    assert fitted == set(priors)
    at_bound = []
    for name, p in priors.items():
        v = model.parameters[name]
        assert p.low * (1 - 1e-6) <= v <= p.high * (1 + 1e-6), name
        if v <= p.low * 1.02 or v >= p.high / 1.02:
            at_bound.append(name)
            assert "bound" in p.reason, f"{name} sits on its bound without a stated reason"
    # the reason is not a blanket excuse: only parameters actually at a bound carry one
    for name, p in priors.items():
        if "at this literature bound" in p.reason:
            assert name in at_bound, f"{name}: reason says 'at the bound' but it is not"
