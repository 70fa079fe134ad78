"""The simulation engine: API contract, protocol, invariants, parallel ensembles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.errors import InputError
from letrolab.model import (
    OBSERVABLES,
    get_cell_line,
    get_model,
    run_ensemble,
    simulate,
    simulate_grid,
)


def test_result_contract():
    r = simulate("mcf7-aro", drugs={"letrozole": 1e-7}, days=2, points_per_day=4)
    assert r.time_h.tolist() == [0, 6, 12, 18, 24, 30, 36, 42, 48]
    assert set(r.observables) == set(OBSERVABLES)
    doc = r.summary()
    assert set(doc) == {"cell_line", "conditions", "time_h", "observables"}
    assert doc["conditions"]["drugs_nM"] == {"letrozole": 100.0}
    assert doc["conditions"]["androstenedione_nM"] == 10.0
    df = r.to_frame()
    assert list(df.columns[:2]) == ["time_h", "viable_cells"] and len(df) == 9
    assert r["viable_cells"][0] == pytest.approx(1.0, rel=1e-9)  # seeding density
    assert "mcf7-aro" in r.report()


def test_deprivation_reaches_steady_state():
    model = get_model()
    _cl, v = model.resolve("mcf7-aro")
    state = model.preequilibrate(v, hours=240)
    rr = model._rr
    rates = np.asarray(rr.model.getFloatingSpeciesConcentrationRates())
    signalling = [i for i, s in enumerate(model.species) if s not in ("G1", "S", "G2M", "Apo")]
    scale = np.maximum(np.abs(state[signalling]), 1e-3)
    assert np.max(np.abs(rates[signalling]) / scale) < 1e-5  # per hour


def test_grid_matches_single_simulations():
    g = simulate_grid(
        "t47d-aro",
        drugs={"letrozole": [0, 1e-8], "nvp-aew541": [0, 1e-6]},
        days=3,
        observables=("viable_cells", "p_akt"),
    )
    assert g.conditions.shape == (4, 2) and g.values.shape == (4, 4, 2)
    single = simulate(
        "t47d-aro", drugs={"letrozole": 1e-8, "nvp-aew541": 1e-6}, days=3, points_per_day=1
    )
    np.testing.assert_allclose(g.final("viable_cells")[3], single.final("viable_cells"), rtol=1e-6)
    assert set(g.to_frame().columns) >= {"letrozole_nM", "nvp-aew541_nM", "viable_cells"}
    assert "letrozole_nM" in g.report() and len(g.summary()["rows"]) == 4


def test_constant_schedule_equals_constant_dose_and_switch_takes_effect():
    const = simulate(drugs={"letrozole": 1e-7}, days=2, points_per_day=2)
    sched = simulate(drugs={"letrozole": ([0.0, 24.0], [1e-7, 1e-7])}, days=2, points_per_day=2)
    np.testing.assert_allclose(sched["viable_cells"], const["viable_cells"], rtol=1e-6)
    late = simulate(drugs={"letrozole": ([0.0, 24.0], [0.0, 1e-6])}, days=2, points_per_day=2)
    e2 = late["e2_nM"]
    # E2 rises until the 24 h switch, then synthesis stops and E2 decays at its clearance rate
    k = get_model().parameters["k_e2_clear"]
    assert e2[2] > 1.0 and e2[-1] == pytest.approx(e2[2] * np.exp(-k * 24.0), rel=0.02)


def test_derived_cell_line_changes_behaviour():
    parent = get_cell_line("mcf7-aro")
    lr = parent.derive("lr-test", pi3k_basal=0.5, reason="test clone")
    a = simulate(lr, days=1, points_per_day=1).final("p_akt")
    b = simulate(parent, days=1, points_per_day=1).final("p_akt")
    assert a > 1.3 * b
    assert lr.reasons["pi3k_basal"] == "test clone"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drugs": {"aspirin": 1e-6}}, "unknown drug 'aspirin'"),
        ({"drugs": {"letrozole": -1.0}}, "must be a finite concentration"),
        ({"drugs": {"letrozole": 100.0}}, "implausibly high"),
        ({"observables": ["p_foo"]}, "unknown observable"),
        ({"parameters": {"not_a_parameter": 1.0}}, "unknown model parameter 'not_a_parameter'"),
        ({"days": 0}, "days must be a positive"),
        ({"cell_line": "hela"}, "unknown cell line 'hela'"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        simulate(**kwargs)


@settings(max_examples=15, deadline=None)
@given(
    let=st.floats(0, 1e-5),
    nvp=st.floats(0, 1e-5),
    ev=st.floats(0, 1e-6),
    palbo=st.floats(0, 1e-5),
)
def test_invariants_hold_for_any_dose(let, nvp, ev, palbo):
    r = simulate(
        drugs={"letrozole": let, "nvp-aew541": nvp, "everolimus": ev, "palbociclib": palbo},
        days=6,
        points_per_day=1,
        observables=(
            "g1_fraction",
            "s_fraction",
            "g2m_fraction",
            "sub_g1_fraction",
            "viable_cells",
            "p_akt",
            "p_s6",
            "p_erk",
            "p_rb",
        ),
    )
    tot = r["g1_fraction"] + r["s_fraction"] + r["g2m_fraction"]
    np.testing.assert_allclose(tot, 1.0, rtol=1e-9)
    for k in ("sub_g1_fraction", "p_akt", "p_s6", "p_erk", "p_rb"):
        assert np.all((r[k] >= -1e-9) & (r[k] <= 1 + 1e-9))
    assert np.all(r["viable_cells"] > 0)
    # no drug combination grows the cells faster than the untreated control
    ctrl = simulate(days=6, points_per_day=1, observables=("viable_cells",)).final("viable_cells")
    assert r.final("viable_cells") <= ctrl * (1 + 1e-6)


def test_ensemble_backends_agree():
    sets = pd.DataFrame({"k_g1s_max": [0.06, 0.08, 0.1, 0.12], "K_surv": [0.5, 0.6, 0.7, 0.8]})
    ser = run_ensemble(sets, backend="serial", days=2)
    par = run_ensemble(sets, backend="processes", n_workers=2, days=2)
    np.testing.assert_allclose(par.values, ser.values, rtol=1e-9)
    f = ser.final("viable_cells")
    assert f.shape == (4,) and np.all(np.isfinite(f))
    assert ser.failed == {} and set(ser.to_frame().columns) >= {"k_g1s_max", "viable_cells"}
    assert ser.report().startswith("4 parameter sets, 0 failed")
    one = simulate(parameters={"k_g1s_max": 0.1, "K_surv": 0.7}, days=2, points_per_day=1)
    # warm-started deprivation reaches the same steady state as the cold start of simulate()
    assert f[2] == pytest.approx(one.final("viable_cells"), rel=1e-5)
    cold = run_ensemble(sets, backend="serial", days=2, warm_start=False)
    assert cold.final("viable_cells")[2] == pytest.approx(one.final("viable_cells"), rel=1e-9)


def test_ensemble_on_dask_scheduler():
    dask = pytest.importorskip("dask")
    sets = {"k_g1s_max": [0.07, 0.09]}
    with dask.config.set(scheduler="synchronous"):
        res = run_ensemble(sets, backend="dask", days=1)
    ser = run_ensemble(sets, backend="serial", days=1)
    np.testing.assert_allclose(res.values, ser.values, rtol=1e-12)
    # threaded scheduler: every thread compiles its own model (no shared integrator state)
    with dask.config.set(scheduler="threads", num_workers=2):
        thr = run_ensemble(sets, backend="dask", days=1)
    np.testing.assert_allclose(thr.values, ser.values, rtol=1e-12)


def test_ensemble_rejects_bad_sets():
    with pytest.raises(InputError, match="unknown model parameter"):
        run_ensemble({"nope": [1.0]})
    with pytest.raises(InputError, match="finite values >= 0"):
        run_ensemble({"k_g1s_max": [-1.0]})
    with pytest.raises(InputError, match="backend must be"):
        run_ensemble({"k_g1s_max": [0.1]}, backend="mpi")


def test_ensemble_records_failed_sets_with_reason(monkeypatch):
    from letrolab.errors import ModelError
    from letrolab.model.engine import Model

    real = Model._integrate

    def flaky(self, times, selections):
        if self._rr["k_g1s_max"] == 0.2:
            raise ModelError("integration failed between 0 h and 24 h: test")
        return real(self, times, selections)

    monkeypatch.setattr(Model, "_integrate", flaky)
    res = run_ensemble({"k_g1s_max": [0.1, 0.2, 0.11]}, backend="serial", days=1)
    assert res.failed == {1: "integration failed between 0 h and 24 h: test"}
    assert np.isnan(res.values[1]).all() and np.isfinite(res.values[[0, 2]]).all()
    assert res.summary()["failed"] == {"1": "integration failed between 0 h and 24 h: test"}


def test_fast_ensemble_path_equals_the_single_run_protocol():
    model = get_model()
    _cl, base = model.resolve("t47d-aro")
    rows = np.array([[0.09, 0.5], [0.12, 0.7]])
    times = np.linspace(0, 72, 4)
    obs = ("viable_cells", "p_akt", "sub_g1_fraction")
    fast, failed = model.run_sets(
        base,
        ("k_g1s_max", "K_surv"),
        rows,
        inputs={"androstenedione": 10.0, "drug_letrozole": 30.0},
        times=times,
        selections=obs,
        hours=240,
        warm_start=False,
    )
    assert failed == {}
    for i, (a, b) in enumerate(rows):
        r = simulate(
            "t47d-aro",
            drugs={"letrozole": 3e-8},
            parameters={"k_g1s_max": a, "K_surv": b},
            days=3,
            points_per_day=1,
            observables=obs,
        )
        np.testing.assert_allclose(fast[i], np.column_stack([r[o] for o in obs]), rtol=1e-9)
