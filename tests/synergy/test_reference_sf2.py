"""SynergyFinder 2 convention of the reference models: per-cell agreement with its published scores.

Reference: ``synergyfinder2_reference_scores_exampleTable.csv`` (shared data), taken from
shuyuzheng/synergyfinder ``Difference_to_synergyfinder2/`` (commit 2a9c615, 2021-01-07; columns
``ZIP_LL4`` and ``Loewe_LL4``: SynergyFinder 2 scores with log-logistic single-agent fits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from letrolab.errors import InputError
from letrolab.synergy.reference import (
    CONVENTIONS,
    grid_scores,
    reference_scores,
    score_table,
)
from letrolab.synergy.tidy import read_combination

REF = "synergyfinder2_reference_scores_exampleTable.csv"


def _load(shared_data):
    ref = pd.read_csv(shared_data / "synergy" / REF)
    df = ref.rename(columns={"Relative_inhibition": "response"})[
        ["PairIndex", "Drug1", "Drug2", "Conc1", "Conc2", "response"]
    ]
    comb = ref[(ref.Conc1 > 0) & (ref.Conc2 > 0)].rename(
        columns={"PairIndex": "block_id", "Conc1": "conc1", "Conc2": "conc2"}
    )
    comb = comb.assign(block_id=comb.block_id.astype(str))
    return df, comb


@pytest.mark.shared_data
def test_loewe_matches_synergyfinder2_per_cell(shared_data):
    """Per-cell Loewe_LL4 under ``convention="synergyfinder2"``.

    What produced the column: SynergyFinder 1-2's ``CalculateLoewe`` with the single agents
    fitted by drc's ``LL.4`` on their non-zero doses with the top fixed at 100 and the bottom
    fixed at 0 (``Emin = 0, Emax = 100``), except that where a single agent's responses go below
    0 the bottom is fixed at its lowest response; the equation ``eq.LL4.LL4`` solved by
    ``nleqslv(max(c_col, c_row) + 1, method = "Newton")``, the max-of-curves fallback where
    nleqslv's code is 3 or more, and the cap at 100. letrolab follows drc's fitting path
    (letrolab.synergy.reference.rcompat, as for ZIP) and nleqslv's (same iterates to the bit as R's
    nleqslv 3.3.4 on 240 test problems, test_sf2_nleqslv.py; on all 294 cells here, with the
    same single agents, R's nleqslv and letrolab's give the same scores within 5e-14).

    How the bottom rule was found: with the bottom at 0 everywhere, blocks 1, 2 and 4 (all
    single-agent responses positive) agreed to 1e-10 but blocks 3, 5 and 6 did not (up to 59
    points in block 6, where drc's path puts Navitoclax on a no-effect plateau). Fitting the
    published block 6 back through the Loewe equation gave a Navitoclax curve with top 100
    and bottom -1.86, its lowest response, to 6e-12; the same rule then reproduces the
    Alpelisib curve of block 3 (-2.23) and the AZD1775 curve of block 5 (-0.95).

    Measured: every cell within 5.5e-10 points (median 4e-14); we require 1e-8, which leaves
    room for the last-bit differences of the C library's pow/exp/log between machines but
    would catch any change of fit, root or fallback (the smallest score change a different
    BFGS or nleqslv step makes here is far above 1e-6).
    """
    df, comb = _load(shared_data)
    r = reference_scores(df, models="loewe", convention="synergyfinder2")
    got = r.scores.merge(comb, on=["block_id", "conc1", "conc2"])
    assert len(got) == len(comb) == 294
    d = (got["loewe"] - got["Loewe_LL4"]).abs()
    assert d.max() < 1e-8
    assert d.median() < 1e-12
    assert not r.warnings  # every fit converged and nleqslv solved every cell
    # The single agents are the fixed-asymptote fits the convention names.
    assert (r.single_agents["e0"] == 0.0).all() and (r.single_agents["emax"] == 100.0).all()


@pytest.mark.shared_data
def test_zip_matches_synergyfinder2_per_cell(shared_data):
    """Per-cell ZIP_LL4 under ``convention="synergyfinder2"``.

    What produced the column (found by running candidate versions of SynergyFinder's code,
    with drc's path emulated, against it; the 2021 development code with ``FitDoseResponse``
    single agents and 0-100 re-fits gives a median difference of 2.8, not this): SynergyFinder 1-2's ``ZIP()`` with ``correction = FALSE, Emin = NA,
    Emax = NA, nan.handle = "LL4"``. Single agents: drc ``LL.4`` with all four parameters free,
    on the non-zero doses only. Re-fits: drc's logistic ``L.4`` in *linear* dose, with the
    bottom fixed at the partner's fitted effect and the top free. No cap at 100. Those re-fits
    sit on flat residual surfaces, so letrolab follows drc's whole fitting path
    (letrolab.synergy.reference.rcompat: scaling, self-start, R's BFGS with parscale, C-library exp/log,
    extended-precision sums). An R 4.2.2 run of the same path gives the same numbers to the
    bit. Earlier attempts with least-squares optima left a median difference of 1.8.

    Measured over the 294 cells: median |diff| 4e-15, 90th percentile 0.0045, max 0.0228,
    block means within 0.0014. Blocks 1, 2, 4 and 6 agree within 2.5e-8 (we require 1e-6).
    Blocks 3 and 5 differ by at most 0.0228 and 0.0011 (we require 0.03). The cause is one
    chaotic single-agent fit in each: NVP-LGK974 in block 3 (305 objective evaluations, EC50
    beyond the top dose) and Alpelisib in block 5. Changing the start slope of that fit by
    1e-15 (relative) moves cells by up to 0.036 (block 3) and 0.13 (block 5), so the last bit
    of the original machine's arithmetic decides these residuals. The other fits and all
    re-fits reproduce R exactly.
    """
    df, comb = _load(shared_data)
    r = reference_scores(df, models="zip", convention="synergyfinder2")
    got = r.scores.merge(comb, on=["block_id", "conc1", "conc2"])
    assert len(got) == len(comb) == 294
    d = (got["zip"] - got["ZIP_LL4"]).abs()
    exact = got["block_id"].isin(["1", "2", "4", "6"])
    assert d[exact].max() < 1e-6
    assert d.max() < 0.03
    assert d.median() < 1e-9
    assert d.quantile(0.9) < 0.01
    means = got.groupby("block_id")[["zip", "ZIP_LL4"]].mean()
    assert (means["zip"] - means["ZIP_LL4"]).abs().max() < 0.002
    assert not r.warnings  # every fit of the example converged


@pytest.mark.shared_data
def test_free_convention_zip_is_not_synergyfinder2s(shared_data):
    """Neither the default convention (SynergyFinder 3's definition) nor "free" (free single
    agents, Yadav 2015's re-fits) is SynergyFinder 2's: on the same table "free" differs per
    cell by a median 2.6 points (measured), so the convention matters."""
    df, comb = _load(shared_data)
    for kw in ({}, {"convention": "free"}):
        r = reference_scores(df, models="zip", **kw)
        got = r.scores.merge(comb, on=["block_id", "conc1", "conc2"])
        assert (got["zip"] - got["ZIP_LL4"]).abs().median() > 1.0, kw


@pytest.mark.shared_data
def test_convention_is_the_same_on_grid_and_table_paths(shared_data):
    df, _ = _load(shared_data)
    data = read_combination(df, response="inhibition")
    sc = score_table(
        data.table, 2, ["zip", "loewe"], allow_grid=False, convention="synergyfinder2"
    ).scores
    r = reference_scores(data, models=["zip", "loewe"], convention="synergyfinder2")
    m = sc.merge(r.scores, on=["block_id", "conc1", "conc2"])
    assert len(m) == 294
    np.testing.assert_allclose(m["zip_x"], m["zip_y"], atol=1e-9)
    np.testing.assert_allclose(m["loewe_x"], m["loewe_y"], atol=1e-9)


@pytest.mark.shared_data
def test_synergyfinder2_zip_of_an_incomplete_block_leaves_the_others_unchanged(shared_data):
    """One combination well of block 6 missing: the table is no longer a set of full grids,
    so every block goes through the table path, with block 6's row and column curves ragged.
    Blocks 1-5 keep their grid-path ZIP to the bit, and block 6 is still scored: its
    single agents are complete, and the short row and column are fitted on 6 points."""
    df, _ = _load(shared_data)
    full = reference_scores(df, models="zip", convention="synergyfinder2").scores
    drop = (df["PairIndex"] == 6) & (df["Conc1"] == 30) & (df["Conc2"] == 100)
    part = reference_scores(df[~drop], models="zip", convention="synergyfinder2").scores
    m = part.merge(full, on=["block_id", "conc1", "conc2"])
    assert len(m) == 293
    five = m["block_id"] != "6"
    np.testing.assert_array_equal(m.loc[five, "zip_x"], m.loc[five, "zip_y"])
    b6 = m.loc[~five, "zip_x"]
    assert len(b6) == 48 and np.isfinite(b6).all()


def test_unknown_convention_is_named():
    df = pd.DataFrame(
        {
            "block_id": 1,
            "drug_row": "A",
            "drug_col": "B",
            "conc_r": [0, 1, 0, 1],
            "conc_c": [0, 0, 1, 1],
            "response": [0.0, 20.0, 30.0, 60.0],
        }
    )
    with pytest.raises(InputError, match="unknown convention 'sf9'"):
        reference_scores(df, models="bliss", convention="sf9")
    c = np.array([[0.0, 1.0]])
    with pytest.raises(InputError, match="unknown convention"):
        grid_scores(c, c, np.zeros((1, 2, 2)), convention="synergyfinder9")
    assert CONVENTIONS[:2] == ("free", "synergyfinder2")


DOSES = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 100.0])


@settings(max_examples=15, deadline=None)
@given(
    e1=st.floats(2.0, 50.0),
    h1=st.floats(0.5, 2.5),
    boost=st.floats(0.0, 40.0),
)
# A partner with no effect at all (boost 0): its drc fit's curve overflows at the largest total
# dose, and R's max() of the fallback was NaN there; the defined curve is used instead.
@example(e1=2.0, h1=2.5, boost=0.0)
@example(e1=38.955078125, h1=0.5, boost=0.0)  # shallow: drc's stopping rule, 0.0015
def test_synergyfinder2_loewe_is_capped_and_zero_on_a_sham_combination(e1, h1, boost):
    """Expectation capped at 100: Loewe score >= response - 100. A drug combined with itself
    (both axes the same 0-100 curve, response = curve at the summed dose) scores 0, to the
    precision of the single-agent fits of exact data. Under this convention those are drc's
    fits, emulated (SynergyFinder 2's Loewe), which stop where R's BFGS does (relative RSS
    change 1e-7), not at the exact optimum: shallow curves (h = 0.5) then score up to 0.0015
    (measured), so 5e-3 is allowed; the least-squares conventions are held to 1e-6 elsewhere."""
    x1, x2 = np.meshgrid(DOSES, DOSES, indexing="ij")

    def curve(x):
        return np.where(x > 0, 100.0 / (1.0 + (e1 / np.where(x > 0, x, 1.0)) ** h1), 0.0)

    y = curve(x1 + x2)
    g = grid_scores(DOSES[None], DOSES[None], y[None], models="loewe", convention="synergyfinder2")
    np.testing.assert_allclose(g.scores["loewe"], 0.0, atol=5e-3)
    y2 = np.minimum(curve(x1) + boost * (x1 > 0) * (x2 > 0), 100.0)
    g2 = grid_scores(
        DOSES[None], DOSES[None], y2[None], models="loewe", convention="synergyfinder2"
    )
    assert np.isfinite(g2.scores["loewe"]).all()
    assert (g2.scores["loewe"] >= y2[None, 1:, 1:] - 100.0 - 1e-9).all()


def test_cli_convention_option_reaches_the_scores(shared_data, run_cli):
    """`--convention synergyfinder2` gives the published Loewe_LL4 and ZIP_LL4 (within 1e-6)
    per cell of block 1."""
    import json

    import pandas as pd

    path = shared_data / "synergy" / "synergyfinder2_reference_scores_exampleTable.csv"
    ref = pd.read_csv(path)
    sub = ref[ref["PairIndex"] == 1]
    code, out, err = run_cli(
        "synergy", path, "--model", "loewe,zip", "--convention", "synergyfinder2", "--json"
    )
    assert code == 0, err
    (block,) = [b for b in json.loads(out)["blocks"] if b["block_id"] == "1"]
    d1, d2 = sub["Drug1"].iloc[0], sub["Drug2"].iloc[0]
    got = {(s["conc"][d1], s["conc"][d2]): s["loewe"] for s in block["scores"]}
    combo = sub[(sub["Conc1"] > 0) & (sub["Conc2"] > 0)]
    diffs = [
        abs(got[(c1, c2)] - v)
        for c1, c2, v in combo[["Conc1", "Conc2", "Loewe_LL4"]].itertuples(index=False)
    ]
    assert max(diffs) < 1e-6
    zipd = {(s["conc"][d1], s["conc"][d2]): s["zip"] for s in block["scores"]}
    zdiffs = [
        abs(zipd[(c1, c2)] - v)
        for c1, c2, v in combo[["Conc1", "Conc2", "ZIP_LL4"]].itertuples(index=False)
    ]
    assert len(zdiffs) == 49 and max(zdiffs) < 1e-6
    code, _, err = run_cli("synergy", path, "--model", "loewe", "--convention", "cubist")
    assert code == 2
    assert err.startswith("error: --convention must be one of free, synergyfinder2")
