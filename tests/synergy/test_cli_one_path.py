"""``letrolab synergy`` goes through the library's scoring path (issue 17): the same numbers as
:func:`reference_scores` / :func:`score_screen`, no JSON in text mode, figures for the top
blocks only (and said), and ``--screen`` streaming to tidy tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import letrolab.cli.synergy as cli_synergy
from letrolab.doseresponse.hill import hill_effect
from letrolab.synergy import ReferenceResult, reference_scores, score_screen

DOSES = np.array([0.0, 0.5, 1.0, 2.0, 4.0])


def _screen(n_blocks: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for b in range(n_blocks):
        e1, e2 = rng.uniform(0.5, 3, 2)
        for a in DOSES:
            for c in DOSES:
                f1, f2 = hill_effect(a, 0, 100, e1, 1.2), hill_effect(c, 0, 90, e2, 1.0)
                y = f1 + f2 - f1 * f2 / 100 + (b - 2) * 3.0 * (a * c > 0) + rng.normal(0, 2)
                rows.append((f"blk{b}", "A", f"B{b}", a, c, y))
    return pd.DataFrame(rows, columns=["block_id", "drug1", "drug2", "conc1", "conc2", "response"])


@pytest.fixture
def screen_csv(tmp_path):
    path = tmp_path / "screen.csv"
    _screen().to_csv(path, index=False)
    return path


def test_json_equals_the_library(run_cli, screen_csv):
    code, out, err = run_cli("synergy", screen_csv, "--model", "all", "--json")
    assert code == 0, err
    doc = json.loads(out)
    lib = reference_scores(screen_csv, models="all")
    assert [b["block_id"] for b in doc["blocks"]] == lib.blocks["block_id"].astype(str).tolist()
    for entry, (_, row) in zip(doc["blocks"], lib.blocks.iterrows(), strict=True):
        for m in ("bliss", "hsa", "loewe", "zip"):
            assert entry["summary"][f"{m}_mean"] == pytest.approx(row[f"{m}_mean"], abs=0)
        cells = lib.scores[lib.scores["block_id"].astype(str) == entry["block_id"]]
        assert [c["zip"] for c in entry["scores"]] == pytest.approx(cells["zip"].tolist(), abs=0)


def test_text_mode_builds_no_json(run_cli, screen_csv, monkeypatch):
    def boom(self):
        raise AssertionError("block_json called in text mode")

    monkeypatch.setattr(ReferenceResult, "block_json", boom)
    code, out, err = run_cli("synergy", screen_csv, "--model", "zip")
    assert code == 0, err
    assert "zip_mean" in out and "scored 6 block(s)" in out


def test_figures_for_the_top_blocks_only_and_said(run_cli, screen_csv, tmp_path):
    out_dir = tmp_path / "out"
    code, _out, err = run_cli(
        "synergy", screen_csv, "--model", "zip", "--out", out_dir, "--figures", "2"
    )
    assert code == 0, err
    assert "per-block figures for the 2 blocks with the highest zip_mean of 6" in err
    drawn = sorted(p.read_text().strip() for p in out_dir.glob("block_*/block_id.txt"))
    lib = reference_scores(screen_csv, models="zip")
    top = lib.blocks.sort_values("zip_mean", ascending=False)["block_id"].astype(str)[:2]
    assert drawn == sorted(top)
    assert (out_dir / "reference_scores.csv").exists()


def test_screen_streams_tidy_tables_equal_to_score_screen(run_cli, screen_csv, tmp_path):
    out_dir = tmp_path / "scr"
    code, out, err = run_cli(
        "synergy",
        screen_csv,
        "--model",
        "bliss,zip",
        "--screen",
        "--out",
        out_dir,
        "--tables",
        "parquet",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)["screen"]
    assert doc["n_blocks"] == 6 and doc["blocks_path"] == str(out_dir / "reference_blocks.parquet")
    got = pd.read_parquet(out_dir / "reference_scores.parquet")
    lib = score_screen(screen_csv, models="bliss,zip", progress=False)
    np.testing.assert_array_equal(got["zip"].to_numpy(), lib.scores["zip"].to_numpy())
    sa = pd.read_parquet(out_dir / "reference_single_agents.parquet")
    assert len(sa) == 2 * 6  # one fitted curve per drug and block
    assert len(list(out_dir.glob("block_*/ref_heatmap_zip.png"))) == 6  # default --figures 50


def test_large_input_is_scored_as_a_screen(run_cli, screen_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(cli_synergy, "SCREEN_AUTO_BYTES", 10)
    code, out, err = run_cli("synergy", screen_csv, "--model", "zip", "--out", tmp_path / "a")
    assert code == 0, err
    assert "scored as a screen" in err and "screen: 6 blocks" in out
    code, _out, err = run_cli("synergy", screen_csv, "--model", "zip")
    assert code == 2 and "give --out DIR" in err


def test_screen_refuses_bootstrap(run_cli, screen_csv, tmp_path):
    code, _out, err = run_cli(
        "synergy",
        screen_csv,
        "--model",
        "zip",
        "--screen",
        "--bootstrap",
        "50",
        "--out",
        tmp_path / "b",
    )
    assert code == 2 and "--screen" in err and "Traceback" not in err


def test_categorical_text_cells_are_neutralised_in_csv(tmp_path):
    """The scores table holds block ids and drugs as categoricals; its CSV neutralises them
    per category (spreadsheet formula injection), exactly as per cell."""
    from letrolab._io import csv_text

    df = _screen(2)
    df["block_id"] = df["block_id"].map({"blk0": "=HYPERLINK(1)", "blk1": "-2.5"})
    r = reference_scores(df, models="bliss")
    assert isinstance(r.scores["block_id"].dtype, pd.CategoricalDtype)
    text = csv_text(r.scores, index=False)
    got = pd.read_csv(__import__("io").StringIO(text), dtype={"block_id": str})
    assert set(got["block_id"]) == {"'=HYPERLINK(1)", "-2.5"}
    per_cell = csv_text(r.scores.astype({"block_id": object, "drug2": object}), index=False)
    assert text == per_cell


def test_large_json_is_compact_and_the_same_document(run_cli, screen_csv, monkeypatch):
    code, indented, _ = run_cli("synergy", screen_csv, "--model", "zip,hsa", "--json")
    monkeypatch.setattr(cli_synergy, "COMPACT_JSON_BLOCKS", 1)
    code2, compact, _ = run_cli("synergy", screen_csv, "--model", "zip,hsa", "--json")
    assert code == code2 == 0
    assert compact.count("\n") == 1 and indented.count("\n") > 100
    assert json.loads(compact) == json.loads(indented)


def test_dask_engine_gives_the_same_document_and_single_agents(run_cli, screen_csv, tmp_path):
    """--engine dask goes through score_screen's Dask engine, on the same scoring core: same
    JSON, and the single-agent table has the library's shape (one fitted curve per drug)."""
    pytest.importorskip("distributed")
    code, ref, err = run_cli("synergy", screen_csv, "--model", "zip", "--json")
    assert code == 0, err
    out_dir = tmp_path / "dask"
    code, got, err = run_cli(
        "synergy",
        screen_csv,
        "--model",
        "zip",
        "--json",
        "--engine",
        "dask",
        "--out",
        out_dir,
        "--figures",
        "1",
    )
    assert code == 0, err
    assert json.loads(got) == json.loads(ref)
    sa = pd.read_csv(out_dir / "reference_single_agents.csv")
    want = reference_scores(screen_csv, models="zip").single_agents
    assert list(sa.columns) == list(want.columns) and len(sa) == len(want)
    assert len(list(out_dir.glob("block_*/ref_dose_response.png"))) == 1
