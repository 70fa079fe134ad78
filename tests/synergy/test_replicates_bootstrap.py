"""Replicates: per-cell statistics and bootstrap intervals (letrolab.synergy.replicates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.synergy.replicates import bootstrap_summaries

D = np.array([0.0, 1.0, 3.0, 10.0, 30.0])


def _replicated(shift: float, sd: float, n_rep: int = 3, seed: int = 0) -> pd.DataFrame:
    """A Bliss-independent 5 x 5 block plus ``shift`` on combination cells, n_rep wells each."""
    rng = np.random.default_rng(seed)
    x1, x2 = (a.ravel() for a in np.meshgrid(D, D, indexing="ij"))
    y1 = 100 * x1 / (x1 + 5)
    y2 = 100 * x2 / (x2 + 8)
    y = y1 + y2 - y1 * y2 / 100 + shift * ((x1 > 0) & (x2 > 0))
    frames = [
        pd.DataFrame(
            {
                "block_id": "blk",
                "drug_row": "A",
                "drug_col": "B",
                "conc_r": x1,
                "conc_c": x2,
                "response": y + rng.normal(0, sd, y.size),
                "replicate": r,
            }
        )
        for r in range(n_rep)
    ]
    return pd.concat(frames, ignore_index=True)


def test_cell_mean_and_sd_by_hand():
    df = _replicated(0.0, 3.0)
    r = bootstrap_summaries(df, models="bliss", n_boot=20)
    hand = df.groupby(["conc_r", "conc_c"])["response"].agg(["mean", "std", "count"])
    got = r.cells.set_index(["conc1", "conc2"]).sort_index()
    hand = hand.loc[got.index]
    np.testing.assert_allclose(got["response"], hand["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["sd"], hand["std"], rtol=1e-12)
    assert (got["n"] == 3).all()


def test_seeded_and_reproducible():
    df = _replicated(5.0, 4.0)
    a = bootstrap_summaries(df, models="bliss,zip", n_boot=40, seed=3)
    b = bootstrap_summaries(df, models="bliss,zip", n_boot=40, seed=3)
    c = bootstrap_summaries(df, models="bliss,zip", n_boot=40, seed=4)
    pd.testing.assert_frame_equal(a.blocks, b.blocks)
    assert a.blocks["bliss_mean_lo"].iloc[0] != c.blocks["bliss_mean_lo"].iloc[0]


def test_clear_synergy_has_the_smallest_p_and_an_interval_around_the_shift():
    b = 60
    r = bootstrap_summaries(_replicated(15.0, 2.0), models="bliss,hsa", n_boot=b, seed=0)
    row = r.blocks.iloc[0]
    # Every resampled Bliss mean is > 0: p = 2 (0 + 1) / (B + 1).
    assert row["bliss_mean_p"] == pytest.approx(2 / (b + 1))
    # The shift is 15; single-agent noise (sd 2 / sqrt 3) moves every Bliss expectation of a
    # row or column together, so the interval sits within a few points of it.
    assert 11.0 < row["bliss_mean_lo"] < row["bliss_mean_hi"] < 19.0
    assert row["bliss_mean_lo"] <= row["bliss_mean"] <= row["bliss_mean_hi"]
    assert "p =" in r.report()
    assert r.summary()["n_boot"] == b


def test_identical_replicates_give_zero_width_intervals():
    df = _replicated(5.0, 0.0)
    r = bootstrap_summaries(df, models="bliss", n_boot=20)
    row = r.blocks.iloc[0]
    # Bliss-independent singles plus 5 on every combination cell: every Bliss score is 5.
    assert row["bliss_mean"] == pytest.approx(5.0, abs=1e-9)
    assert row["bliss_mean_lo"] == pytest.approx(5.0, abs=1e-9)
    assert row["bliss_mean_hi"] == pytest.approx(5.0, abs=1e-9)


def test_single_wells_are_flagged():
    r = bootstrap_summaries(_replicated(5.0, 1.0, n_rep=1), models="hsa", n_boot=20)
    assert any("no replicates" in w for w in r.warnings["blk"])


def test_bad_options():
    df = _replicated(0.0, 1.0)
    with pytest.raises(InputError, match="n_boot must be at least 20"):
        bootstrap_summaries(df, n_boot=5)
    with pytest.raises(InputError, match=r"level must be in \(0, 1\)"):
        bootstrap_summaries(df, level=1.5)


@pytest.mark.shared_data
def test_synergyfinder_replicate_example(shared_data):
    path = shared_data / "synergy" / "synergyfinder_ReplExample_3replicates.csv"
    r = bootstrap_summaries(path, models="zip", n_boot=30, seed=1)
    assert len(r.blocks) == 2
    assert (r.cells["n"] == 3).all()
    assert (r.blocks["zip_mean_lo"] <= r.blocks["zip_mean_hi"]).all()


def test_convention_reaches_every_resample():
    """The point estimate under a convention is reference_scores' under that convention, and
    the convention changes the fitted-model summaries (Loewe) but not the Bliss ones, which use
    observed single agents."""
    from letrolab.synergy.reference import reference_scores

    df = _replicated(5.0, 2.0)
    sf2 = bootstrap_summaries(df, models="bliss,loewe", n_boot=20, convention="synergyfinder2")
    free = bootstrap_summaries(df, models="bliss,loewe", n_boot=20, convention="free")
    ref = reference_scores(df, models="loewe", convention="synergyfinder2")
    assert sf2.blocks["loewe_mean"].iloc[0] == pytest.approx(
        ref.blocks["loewe_mean"].iloc[0], abs=1e-9
    )
    assert sf2.blocks["loewe_mean"].iloc[0] != pytest.approx(
        free.blocks["loewe_mean"].iloc[0], abs=1e-3
    )
    assert sf2.blocks["bliss_mean"].iloc[0] == free.blocks["bliss_mean"].iloc[0]
    with pytest.raises(InputError, match="unknown convention 'sf9'"):
        bootstrap_summaries(df, models="bliss", n_boot=20, convention="sf9")
