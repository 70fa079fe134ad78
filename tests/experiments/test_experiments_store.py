"""The DuckDB results store: round trip, provenance, atomic replacement, clear errors."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import FormatError, InputError
from letrolab.store import TableInfo, list_tables, read_provenance, read_table, write_store


def test_roundtrip_keeps_values_types_and_provenance(tmp_path):
    df = pd.DataFrame(
        {"x": [1.5, np.nan, 3.0], "n": [1, 2, 3], "s": ["a", "b", None], "ok": [True, False, True]}
    )
    p = write_store(
        tmp_path / "r.duckdb",
        {"t1": df},
        provenance={"seed": 7, "model": "abc"},
        info={"t1": TableInfo("exp", "a table")},
    )
    back = read_table(p, "t1")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["ok"].dtype == bool
    assert read_provenance(p) == {"seed": "7", "model": "abc"}
    listing = list_tables(p)
    assert listing.to_dict("records") == [
        {"name": "t1", "experiment": "exp", "description": "a table", "rows": 3}
    ]


def test_failed_write_leaves_the_old_store(tmp_path):
    p = write_store(tmp_path / "r.duckdb", {"t": pd.DataFrame({"x": [1]})}, provenance={})
    before = p.read_bytes()
    with pytest.raises(InputError, match="not a plain identifier"):
        write_store(
            p, {"t": pd.DataFrame({"x": [2]}), "bad name": pd.DataFrame({"x": [1]})}, provenance={}
        )
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["r.duckdb"]  # no temporary left behind


def test_replaces_an_existing_store(tmp_path):
    p = write_store(tmp_path / "r.duckdb", {"t": pd.DataFrame({"x": [1]})}, provenance={})
    write_store(p, {"u": pd.DataFrame({"y": [2.0]})}, provenance={"k": "v"})
    assert list(list_tables(p)["name"]) == ["u"]
    with pytest.raises(InputError, match="has no table 't'; it has"):
        read_table(p, "t")


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"provenance": pd.DataFrame({"x": [1]})}, "is reserved"),
        ({"T1": pd.DataFrame({"x": [1]})}, "not a plain identifier"),
        ({"t": [1, 2]}, "is a list, not a DataFrame"),
        ({"t": pd.DataFrame()}, "has no columns"),
    ],
)
def test_bad_tables_are_refused(tmp_path, tables, message):
    with pytest.raises(InputError, match=message):
        write_store(tmp_path / "r.duckdb", tables, provenance={})


def test_reading_errors(tmp_path):
    with pytest.raises(InputError, match="not found; run `letrolab reproduce` first"):
        read_table(tmp_path / "none.duckdb", "t")
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(FormatError, match="not a readable DuckDB results store"):
        read_provenance(junk)
