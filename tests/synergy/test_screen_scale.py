"""Screens: chunked, streamed scoring of many blocks (letrolab.synergy.screen)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.synergy.reference import reference_scores
from letrolab.synergy.screen import score_screen


def make_screen(n_blocks: int, seed: int = 0, n: int = 4) -> pd.DataFrame:
    """Seeded 4 x 4 Bliss-independent blocks with noise (log-logistic single agents)."""
    rng = np.random.default_rng(seed)
    d = np.r_[0, np.geomspace(1, 100, n - 1)]
    x1, x2 = np.meshgrid(d, d, indexing="ij")
    e1, e2 = (np.exp(rng.uniform(0, 4, (n_blocks, 1))) for _ in range(2))
    h1, h2 = (rng.uniform(0.5, 2.5, (n_blocks, 1)) for _ in range(2))
    x1r = np.broadcast_to(x1.ravel(), (n_blocks, n * n))
    x2r = np.broadcast_to(x2.ravel(), (n_blocks, n * n))
    with np.errstate(divide="ignore"):
        y1 = 100 / (1 + (e1 / x1r) ** h1)
        y2 = 100 / (1 + (e2 / x2r) ** h2)
    y = 100 - (100 - y1) * (100 - y2) / 100 + rng.normal(0, 3, x1r.shape)
    return pd.DataFrame(
        {
            "block_id": np.repeat([f"blk{i:05d}" for i in range(n_blocks)], n * n),
            "drug_row": "A",
            "drug_col": "B",
            "conc_r": x1r.ravel(),
            "conc_c": x2r.ravel(),
            "response": y.ravel(),
            "conc_r_unit": "nM",
            "conc_c_unit": "nM",
        }
    )


@pytest.fixture(scope="module")
def screen_df():
    return make_screen(60)


@pytest.fixture(scope="module")
def one_pass(screen_df):
    return reference_scores(screen_df, models="all")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunked_file_screen_equals_one_pass(tmp_path, screen_df, one_pass, suffix):
    src = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        screen_df.to_csv(src, index=False)
    else:
        screen_df.to_parquet(src)
    out = tmp_path / f"scores{suffix}"
    blocks = tmp_path / "blocks.csv"
    # 100 rows per chunk: chunks cut through blocks and are re-joined at block boundaries.
    r = score_screen(src, scores_out=out, blocks_out=blocks, chunk_rows=100, progress=False)
    assert r.n_blocks == 60 and r.n_cells == 60 * 9
    got = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    for m in ("bliss", "hsa", "loewe", "zip"):
        np.testing.assert_allclose(got[m], one_pass.scores[m], rtol=1e-9, atol=1e-9)
    summ = pd.read_csv(blocks)
    np.testing.assert_allclose(summ["zip_mean"], one_pass.blocks["zip_mean"], atol=1e-9)
    assert not list(tmp_path.glob(".*.part"))
    # Same mode as a plain open() (mkstemp's 0600 would hide the table from the group).
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert "60 blocks" in r.report()
    assert r.summary()["n_blocks"] == 60


def test_non_contiguous_blocks_are_refused(screen_df):
    shuffled = pd.concat([screen_df.iloc[:8], screen_df.iloc[16:32], screen_df.iloc[8:16]])
    with pytest.raises(InputError, match="not contiguous"):
        score_screen(shuffled, chunk_rows=8, progress=False)


def test_failed_screen_leaves_no_output(tmp_path, screen_df):
    bad = screen_df.copy()
    bad.loc[100, "conc_r"] = -1
    out = tmp_path / "scores.csv"
    with pytest.raises(InputError, match="negative"):
        score_screen(bad, scores_out=out, chunk_rows=64, progress=False)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_bad_options_are_named(screen_df, tmp_path):
    with pytest.raises(InputError, match="engine must be"):
        score_screen(screen_df, engine="spark")
    with pytest.raises(InputError, match=r"use a \.csv"):
        score_screen(screen_df, scores_out=tmp_path / "x.xlsx")
    assert not list(tmp_path.iterdir())  # a refused name leaves no staged .part file
    with pytest.raises(InputError, match="does not exist"):
        score_screen(tmp_path / "missing.csv")
