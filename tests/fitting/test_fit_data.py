"""Measurements/conditions tables: unit conversion and one-line errors naming the row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.errors import InputError, UnitError
from letrolab.fitting.data import check_fit_data, from_dose_response


def _tables():
    c = pd.DataFrame(
        {
            "conditionId": ["veh", "let"],
            "cell_line": ["MCF-7/Aro", "mcf7-aro"],
            "letrozole_nM": [0, 100],
        }
    )
    m = pd.DataFrame(
        {
            "observableId": ["viability", "viability", "sub_g1"],
            "simulationConditionId": ["veh", "let", "let"],
            "time": [6, 6, 144],
            "timeUnit": ["d", "d", "h"],
            "measurement": [1.0, 0.6, 0.05],
        }
    )
    return m, c


def test_good_tables_normalise_units_and_times():
    m, c = _tables()
    d = check_fit_data(m, c)
    assert d.measurements["time"].tolist() == [144.0, 144.0, 144.0]
    assert d.conditions["cell_line"].tolist() == ["mcf7-aro", "mcf7-aro"]
    assert d.conditions["androstenedione_nM"].tolist() == [10.0, 10.0]
    assert np.isnan(d.measurements["noise"]).all()


@pytest.mark.parametrize(
    ("column", "row", "value", "error", "words"),
    [
        ("observableId", 1, "viabilty", InputError, "row 2: unknown observable"),
        ("simulationConditionId", 2, "nope", InputError, "row 3: unknown condition"),
        ("timeUnit", 0, "min", UnitError, "row 1: unknown time unit"),
        ("measurement", 2, 5.0, InputError, "row 3: sub_g1 is a fraction"),
        ("measurement", 0, -1.0, InputError, "row 1: measurement"),
        ("time", 0, 0, InputError, "row 1: time"),
    ],
)
def test_bad_measurement_rows_are_named(column, row, value, error, words):
    m, c = _tables()
    m.loc[row, column] = value
    with pytest.raises(error, match=words):
        check_fit_data(m, c)


def test_mixed_scales_are_refused_with_the_row():
    m, c = _tables()
    m["unit"] = ["relative", "%", "fraction"]
    with pytest.raises(InputError, match="row 2: viability mixes scales"):
        check_fit_data(m, c)
    m["unit"] = ["relative", "relative", "percent"]
    with pytest.raises(UnitError, match="row 3: unit 'percent'"):
        check_fit_data(m, c)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"letrozole_nM": "letrozole_nanomolar"}, "name concentrations"),
        ({"letrozole_nM": "aspirin_nM"}, "unknown drug 'aspirin'"),
    ],
)
def test_bad_condition_columns(change, words):
    m, c = _tables()
    with pytest.raises(InputError, match=words):
        check_fit_data(m, c.rename(columns=change))


def test_bad_condition_rows():
    m, c = _tables()
    c.loc[1, "cell_line"] = "hela"
    with pytest.raises(InputError, match="conditions row 2: unknown cell line"):
        check_fit_data(m, c)
    m, c = _tables()
    c.loc[1, "conditionId"] = "1let"
    m.loc[1:, "simulationConditionId"] = "1let"
    with pytest.raises(InputError, match="conditions row 2: conditionId"):
        check_fit_data(m, c)


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-6, 1e6), st.sampled_from([("pM", 1e-3), ("nM", 1.0), ("uM", 1e3), ("mM", 1e6)]))
def test_concentration_units_are_equivalent(nm, unit):
    """Property: a dose written in any molar unit is the same dose in nM."""
    name, per_nm = unit
    m, c = _tables()
    c = c.rename(columns={"letrozole_nM": f"letrozole_{name}"})
    c[f"letrozole_{name}"] = [0.0, nm / per_nm]
    d = check_fit_data(m, c)
    assert d.conditions["letrozole_nM"].iloc[1] == pytest.approx(nm, rel=1e-12)


def test_dose_response_table_becomes_fit_data():
    t = pd.DataFrame(
        {
            "drug_row": ["letrozole"] * 3,
            "drug_col": ["everolimus"] * 3,
            "conc_r": [0, 0.1, 0.1],
            "conc_c": [0, 0, 10],
            "conc_r_unit": ["uM"] * 3,
            "conc_c_unit": ["nM"] * 3,
            "response": [100, 70, 40],
        }
    )
    d = from_dose_response(t)
    assert d.conditions["letrozole_nM"].tolist() == pytest.approx([0.0, 100.0, 100.0], rel=1e-12)
    assert d.conditions["everolimus_nM"].tolist() == [0.0, 0.0, 10.0]
    assert d.measurements["measurement"].tolist() == [1.0, 0.7, 0.4]


def test_cell_cycle_and_blot_tables_become_measurements():
    from letrolab.fitting.data import from_blot, from_cell_cycle

    m0, c = _tables()
    cc = pd.DataFrame(
        {"conditionId": ["veh", "let"], "sub_g1_pct": [3.0, 8.0], "g1_pct": [55.0, 70.0]}
    )
    blot = pd.DataFrame(
        {
            "conditionId": ["veh", "let"],
            "target": ["p-AKT", "p-S6"],
            "time_h": [24, 24],
            "ratio": [1.0, 0.4],
        }
    )
    m = pd.concat([m0, from_cell_cycle(cc, c), from_blot(blot)], ignore_index=True)
    d = check_fit_data(m, c)
    assert d.observables == ["g1", "p_akt", "p_s6", "sub_g1", "viability"]
    assert d.measurements.query("observableId == 'sub_g1'")["measurement"].tolist() == [
        0.05,
        0.03,
        0.08,
    ]
    with pytest.raises(InputError, match="blot row 1: unknown target 'ki67'"):
        from_blot(blot.assign(target="ki67"))
