"""Hypothesis fuzz of the tidy-table (CSV/TSV) reader and the plate-layout reader (issue 16).

Invariant: a file either reads into finite, physically possible numbers or raises a
:class:`letrolab.errors.LetrolabError` (one line on the command line); no other exception,
no NaN or infinite dose, and a refused file leaves nothing behind.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letrolab.assays.plates import read_layout
from letrolab.errors import LetrolabError
from letrolab.synergy.tidy import read_combination
from letrolab.validate import MAX_CONC_MOLAR

HEADERS = [
    "block_id",
    "drug_row",
    "drug_col",
    "conc_r",
    "conc_c",
    "response",
    "conc_r_unit",
    "conc_c_unit",
    "units",
    "replicate",
    "Response",
    "conc_unit",
    "notes",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "-1e308",
            "0",
            "-0",
            "10",
            "0.1",
            "nM",
            "uM",
            "µM",
            "furlongs",
            "=1+1",
            "$x^{$",
            "a,b",
            '"',
            "\t",
            "1e-320",
            "NaN",
            "None",
            "%50",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _write(tmp_path, name: str, header: list[str], rows: list[list[str]], sep: str) -> str:
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _check_table(data) -> None:
    t = data.table
    concs = t[[c for c in t.columns if c.startswith("conc")]].to_numpy(dtype=float)
    assert np.isfinite(concs).all() and (concs >= 0).all()
    unitless = set(t["unit"]) == {""}
    assert unitless or (concs <= MAX_CONC_MOLAR).all()
    assert np.isfinite(t["response"].to_numpy(dtype=float)).all()
    assert (t["block_id"].astype(str).str.strip() != "").all()


@SETTINGS
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=9),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=10), max_size=8),
    sep=st.sampled_from([",", "\t", ";"]),
    suffix=st.sampled_from([".csv", ".tsv"]),
)
def test_fuzzed_tables_read_or_raise_a_letrolab_error(tmp_path, header, rows, sep, suffix):
    path = _write(tmp_path, "t" + suffix, header, rows, sep)
    try:
        data = read_combination(path)
    except LetrolabError:
        return
    _check_table(data)


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["1", "1", "2", "a/b", " "]),
            st.sampled_from(["A", "B"]),
            st.sampled_from(["B", "C"]),
            CELLS,
            CELLS,
            CELLS,
            st.sampled_from(["nM", "uM", "pM", "M", "mM", ""]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_fuzzed_values_in_a_valid_layout_read_or_raise(tmp_path, rows):
    """Well-formed tables with hostile values: the structured half of the fuzz."""
    df = pd.DataFrame(
        rows, columns=["block_id", "drug_row", "drug_col", "conc_r", "conc_c", "response", "units"]
    )
    try:
        data = read_combination(df)
    except LetrolabError:
        return
    _check_table(data)


LAYOUT_HEADERS = ["plate", "well", "role", "drug1", "conc1", "drug2", "conc2", "unit", "replicate"]
WELLS = st.one_of(
    st.sampled_from(["A1", "H12", "P24", "Z99", "a01", "", "A0", "A13", "AF48"]),
    st.text(max_size=4),
)


@SETTINGS
@given(
    header=st.lists(st.sampled_from(LAYOUT_HEADERS), min_size=1, max_size=9),
    rows=st.lists(
        st.lists(
            st.one_of(CELLS, WELLS, st.sampled_from(["vehicle", "treated", "blank", "empty"])),
            max_size=9,
        ),
        max_size=8,
    ),
)
def test_fuzzed_layouts_read_or_raise_a_letrolab_error(tmp_path, header, rows):
    path = _write(tmp_path, "layout.csv", header, rows, ",")
    try:
        layout = read_layout(path)
    except LetrolabError:
        return
    table = layout.table
    concs = [c for c in table.columns if str(c).startswith("conc")]
    values = table[concs].to_numpy(dtype=float) if concs else np.zeros((0, 0))
    assert np.isfinite(values).all() and (values >= 0).all()
