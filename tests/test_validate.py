"""The input-boundary validation layer (letrolab.validate) and what issue 16 asked of outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from letrolab.errors import InputError
from letrolab.synergy.tidy import normalise_combination
from letrolab.validate import (
    Bound,
    check_concentrations,
    control_warnings,
    response_to_percent,
    snap_to_grid,
    unique_columns,
)

EXAMPLE = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "letrolab"
    / "data"
    / "examples"
    / "letrozole_nvp_aew541.csv"
)


def test_bound_states_its_interval_and_refuses_nan_inf_and_fractions_of_integers():
    b = Bound("--points-per-day", 1, 1440, integer=True)
    assert b.describe() == ">= 1 and <= 1440"
    assert b(24) == 24 and isinstance(b(24.0), int)
    for bad in (0, 1441, 2.5, float("nan"), float("inf"), "x", None):
        with pytest.raises(InputError, match=r"--points-per-day must be a whole number >= 1"):
            b(bad)
    days = Bound("--days", 0, 3650, lo_open=True, unit="days")
    with pytest.raises(InputError, match=r"> 0 and <= 3650 days, not 0"):
        days(0)


def test_unique_columns_catches_repeats_pandas_renames_and_same_name_spellings():
    unique_columns(["a", "b"], where="t")
    with pytest.raises(InputError, match="t: column 'a' appears more than once"):
        unique_columns(["a", "b", "a"], where="t")
    with pytest.raises(InputError, match="column 'response' appears more than once"):
        unique_columns(["response", "response.1"], where="t")
    with pytest.raises(InputError, match="columns 'conc_r' and 'Conc R' name the same column"):
        unique_columns(
            ["conc_r", "Conc R"],
            where="t",
            key=lambda c: c.lower().replace("_", "").replace(" ", ""),
        )


def test_concentrations_must_be_physically_possible():
    assert check_concentrations([0, 1e-9, 10.0], "c", unitless=False).tolist() == [0, 1e-9, 10.0]
    with pytest.raises(InputError, match="above the 10 M any solution can hold"):
        check_concentrations([1e-9, 1e299], "c", unitless=False)
    with pytest.raises(InputError, match="below one molecule per litre"):
        check_concentrations([1e-30], "c", unitless=False)
    with pytest.raises(InputError, match=r"1e\+13 \(no unit given\)"):
        check_concentrations([1e308], "c", unitless=True)


def test_snap_to_grid_gives_grid_values_exactly():
    grid = np.array([10, 30, 100, 300]) * 1e-9
    got = snap_to_grid(np.array([0.01, 0.03, 0.1, 0.3]) * 1e-6, grid, unit_factor=1e-9)
    assert got.tolist() == grid.tolist()  # bit for bit, not approximately
    assert (0.1 * 1e-6) != 100 * 1e-9  # what went wrong before: the two differ by 1 ulp


def _mixed_units_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    ex = pd.read_csv(EXAMPLE)
    mixed = ex.copy()
    sel = mixed["conc_r"].isin([10.0, 20.0, 40.0, 80.0, 160.0])
    mixed.loc[sel, "conc_r"] = mixed.loc[sel, "conc_r"] / 1000.0
    mixed.loc[sel, "conc_r_unit"] = "uM"
    return ex, mixed


def test_per_row_unit_mixes_land_on_the_grid_and_keep_every_cell():
    """Issue 16: per-row nM/uM mixes lost cells to round-off (8 cells without Bliss/HSA)."""
    from letrolab.synergy.reference import reference_scores

    ex, mixed = _mixed_units_table()
    a, b = normalise_combination(ex), normalise_combination(mixed)
    cols = ["conc1", "conc2", "response", "n"]
    pd.testing.assert_frame_equal(a.table[cols], b.table[cols])
    assert "block MCF-7aro: mixed concentration units converted to nM" in b.warnings
    ra, rb = (
        reference_scores(a, models=["bliss", "hsa"]),
        reference_scores(b, models=["bliss", "hsa"]),
    )
    pd.testing.assert_frame_equal(ra.scores, rb.scores)
    pd.testing.assert_frame_equal(ra.blocks, rb.blocks)


@settings(max_examples=40, deadline=None)
@given(
    doses=st.lists(
        st.sampled_from([0.1, 0.3, 1, 2.5, 3, 7, 10, 25, 30, 100, 250, 300, 1000]),
        min_size=2,
        max_size=5,
        unique=True,
    ),
    unit=st.sampled_from([("uM", 1e-3), ("pM", 1e3), ("M", 1e-9), ("mM", 1e-6)]),
    pick=st.integers(0, 2**10),
)
def test_property_unit_changes_of_some_rows_change_no_dose(doses, unit, pick):
    """Writing some rows' doses in another unit leaves the normalised table bit-identical."""
    rows = [(d1, d2) for d1 in [0, *doses] for d2 in [0, *doses]]
    base = pd.DataFrame(
        {
            "block_id": "b",
            "drug_row": "A",
            "drug_col": "B",
            "conc_r": [float(r[0]) for r in rows],
            "conc_c": [r[1] for r in rows],
            "response": np.linspace(0, 90, len(rows)),
            "conc_r_unit": "nM",
            "conc_c_unit": "nM",
        }
    )
    other = base.copy()
    sel = np.array([(pick >> (i % 10)) & 1 == 1 for i in range(len(rows))])
    sel &= other["conc_r"].to_numpy() > 0
    name, factor = unit
    other.loc[sel, "conc_r"] = other.loc[sel, "conc_r"] * factor
    other.loc[sel, "conc_r_unit"] = name
    a, b = normalise_combination(base).table, normalise_combination(other).table
    a = a.sort_values(["conc1", "conc2"]).reset_index(drop=True)
    b = b.sort_values(["conc1", "conc2"]).reset_index(drop=True)
    assert a["conc1"].tolist() == b["conc1"].tolist()


def test_a_units_column_is_read():
    ex = pd.read_csv(EXAMPLE)
    as_units = ex.drop(columns=["conc_r_unit", "conc_c_unit"]).assign(units="uM")
    data = normalise_combination(as_units)
    assert set(data.table["unit"]) == {"uM"}
    assert data.table["conc1"].max() == pytest.approx(ex["conc_r"].max() * 1e-6)


def test_response_scale():
    r = np.array([0.0, 0.2, 0.5, 0.9])
    with pytest.raises(InputError, match=r"looks like fractions \(every value between 0 and 0.9\)"):
        response_to_percent(r, None)
    assert response_to_percent(r, "fraction").tolist() == [0.0, 20.0, 50.0, 90.0]
    assert response_to_percent(r, "percent").tolist() == r.tolist()  # asked for: no check
    assert response_to_percent(np.array([0.1, 0.2, 0.15]), None).tolist() == [0.1, 0.2, 0.15]
    with pytest.raises(InputError, match="infinite values"):
        response_to_percent(np.array([1.0, math.inf]), None)


def test_a_zero_dose_control_far_from_zero_inhibition_is_flagged():
    conc = np.array([[0, 0], [0, 0], [1, 0], [0, 0], [0, 0]])
    w = control_warnings(["a", "a", "a", "b", "b"], conc, [82.0, 82.0, 90.0, 2.0, -3.0])
    assert w == [
        "block a: the zero-dose control reads 82 % inhibition (18 % viability), more than 15 "
        "points from 0 %; responses should be normalised to the vehicle control - check the "
        "normalisation and --response"
    ]
    ex = pd.read_csv(EXAMPLE)
    ex["response"] = 100 - ex["response"]  # % viability read as % inhibition
    assert any("zero-dose control reads" in x for x in normalise_combination(ex).warnings)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------
def test_formula_cells_are_neutralised_but_numbers_are_not():
    from letrolab._io import csv_text, neutralise_cell

    df = pd.DataFrame(
        {"drug": ["=HYPERLINK(1)", "+1+1", "@SUM(A1)", "\tx", "-x", "plain", "-1.5"],
         "value": [-1.5, 2.0, -3.0, 0.0, 1.0, 2.0, 3.0]}
    )  # fmt: skip
    text = csv_text(df, index=False)
    back = pd.read_csv(pd.io.common.StringIO(text), keep_default_na=False)
    assert back["drug"].tolist() == [
        "'=HYPERLINK(1)", "'+1+1", "'@SUM(A1)", "'\tx", "'-x", "plain", "-1.5"
    ]  # fmt: skip
    assert back["value"].tolist() == df["value"].tolist()
    assert neutralise_cell(-2.0) == -2.0 and neutralise_cell("=1") == "'=1"


def _two_blocks(ids: list[str], drug: str = "letrozole") -> pd.DataFrame:
    ex = pd.read_csv(EXAMPLE)
    ex["drug_row"] = drug
    return pd.concat([ex.assign(block_id=i) for i in ids], ignore_index=True)


def test_cli_block_ids_differing_only_in_slash_underscore_or_space_get_their_own_folders(
    run_cli, tmp_path
):
    ids = ["a/b", "a_b", "a b"]
    _two_blocks(ids).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "o"
    code, _, err = run_cli("synergy", tmp_path / "t.csv", "--out", out, "--model", "all")
    assert code == 0, err
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(folders) == 3
    assert sorted((f / "block_id.txt").read_text().strip() for f in folders) == sorted(ids)
    assert all(
        (f / "points.csv").is_file() and (f / "ref_dose_response.png").is_file() for f in folders
    )


def test_cli_drug_names_that_look_like_formulas_or_mathtext(run_cli, tmp_path):
    """'=cmd' reaches no CSV as a formula; '$x^{$' is drawn as text, not parsed."""
    for name in ("=cmd|' /C calc'!A0", "$x^{$"):
        _two_blocks(["1"], drug=name).to_csv(tmp_path / "t.csv", index=False)
        out = tmp_path / "o"
        code, _, err = run_cli("synergy", tmp_path / "t.csv", "--out", out, "-m", "all")
        assert code == 0, err
        assert (out / "block_1" / "median_effect.png").is_file()
        for csv in out.rglob("*.csv"):
            for line in csv.read_text().splitlines():
                assert not any(cell.startswith(("=", "+", "@")) for cell in line.split(","))
        assert json.loads((out / "chou_talalay.json").read_text())["blocks"][0]["drugs"][0] == name


def test_svg_figures_are_byte_identical_for_the_same_content(tmp_path):
    from letrolab._io import pyplot, save_figure

    plt = pyplot()
    paths = []
    for i in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 3, 2], label="a")
        ax.legend()
        paths.append(save_figure(fig, tmp_path / f"f{i}.svg"))
    a, b = (p.read_bytes() for p in paths)
    assert a == b
    assert b"<dc:date>" not in a


def test_american_spellings_are_deprecated_aliases_of_the_british_ones():
    """Issue 18: one spelling (analyse, normalise) in the public API, old names still work."""
    import letrolab.assays as assays

    assert "analyse_cell_cycle" in assays.__all__ and "analyze_cell_cycle" not in assays.__all__
    with pytest.warns(DeprecationWarning, match="analyze_cell_cycle is deprecated; use"):
        old = assays.analyze_cell_cycle
    assert old is assays.analyse_cell_cycle
    with pytest.warns(DeprecationWarning, match="analyze_batch is deprecated"):
        assert assays.analyze_batch is assays.analyse_batch
    with pytest.raises(AttributeError, match="no attribute 'analyze_plate'"):
        assays.analyze_plate  # noqa: B018
