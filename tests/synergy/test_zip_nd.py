"""ZIP for N-drug blocks (SynergyFinder 3's definition, letrolab.synergy.reference.zip_nd)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.doseresponse.hill import hill_effect
from letrolab.errors import InputError
from letrolab.synergy.reference import reference_scores
from letrolab.synergy.reference.zip_nd import MSA_NOTE, zip_nd_scores
from letrolab.synergy.screen import score_screen
from letrolab.synergy.tidy import read_combination

DOSES = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
PARAMS = ((0.0, 100.0, 1.0, 1.5), (0.0, 90.0, 0.7, 1.0), (0.0, 70.0, 2.0, 2.0))


def grid(k: int, doses=DOSES) -> list[np.ndarray]:
    return [a.ravel() for a in np.meshgrid(*([doses] * k), indexing="ij")]


def bliss(*effects: np.ndarray) -> np.ndarray:
    surv = np.ones_like(effects[0])
    for f in effects:
        surv = surv * (1 - f / 100)
    return 100 * (1 - surv)


def three_drug_frame(y: np.ndarray, xs: list[np.ndarray], block="b") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "block_id": block,
            "drug1": "A",
            "drug2": "B",
            "drug3": "C",
            "conc1": xs[0],
            "conc2": xs[1],
            "conc3": xs[2],
            "response": y,
        }
    )


def exact_bliss_block() -> tuple[list[np.ndarray], np.ndarray]:
    xs = grid(3)
    return xs, bliss(*(hill_effect(x, *p) for x, p in zip(xs, PARAMS, strict=True)))


def test_exact_bliss_independent_three_drug_block_scores_zero():
    """(a) Exact log-logistic single agents combined by Bliss independence: delta ~ 0.

    Every slice is then an exact log-logistic curve with the observed zero-dose effect as its
    bottom, so the re-fits and the reference agree up to the fit's convergence tolerance;
    1e-6 percentage points is far below any reported precision (scores are shown to 0.01).
    """
    xs, y = exact_bliss_block()
    r = reference_scores(three_drug_frame(y, xs), models="zip,bliss,loewe")
    z = r.scores["zip"].to_numpy()
    n_comb = int(((np.c_[tuple(xs)] > 0).sum(1) >= 2).sum())
    assert len(z) == n_comb == 6**3 - 1 - 3 * 5
    assert np.isfinite(z).all()
    assert np.abs(z).max() < 1e-6
    assert abs(r.blocks["zip_mean"].iloc[0]) < 1e-6
    # Column order follows the models asked for; the single agents are the generating curves.
    assert list(r.scores.columns[-3:]) == ["zip", "bliss", "loewe"]
    sa = r.single_agents
    np.testing.assert_allclose(sa["ec50"], [p[2] for p in PARAMS], rtol=1e-6)
    np.testing.assert_allclose(sa["emax"], [p[1] for p in PARAMS], rtol=1e-6)


def test_most_synergistic_area_is_null_for_n_drugs_with_the_reason():
    xs, y = exact_bliss_block()
    r = reference_scores(three_drug_frame(y, xs), models="zip")
    assert np.isnan(r.blocks["zip_msa"].iloc[0])
    entry = r.block_json()["b"]
    assert entry["summary"]["zip_msa"] is None and entry["summary"]["zip_mean"] is not None
    assert MSA_NOTE in entry["warnings"]


def test_inactive_third_drug_relates_to_the_two_drug_score_exactly():
    """(b) A two-drug block embedded in three drugs, the third without any effect.

    The N-drug definition does not reduce to the two-drug number: SynergyFinder 3 averages one
    re-fitted value per drug, and the inactive drug's slice through a cell is flat, so its
    re-fitted value is the cell's observed response ``y``. Drugs 1 and 2 see exactly the data
    (single agents and slices) of the two-drug block, and the inactive drug's fitted effect is
    0, so the reference is unchanged. Hence, for every cell with drugs 1 and 2 present
    (whatever the third drug's dose), ``delta_3 = (2 delta_2 + (y - ZIP_ref)) / 3``, where
    ``delta_2`` is SynergyFinder 3's two-drug ZIP of the same cell. (letrolab's two-drug path in
    reference.py follows SynergyFinder 2's re-fits instead — bottom at the partner's fitted
    effect, top 100, zero-dose well left out — so it is a different number again.)
    """
    rng = np.random.default_rng(7)
    x1, x2 = grid(2)
    f1, f2 = hill_effect(x1, *PARAMS[0]), hill_effect(x2, *PARAMS[1])
    y2 = bliss(f1, f2) + np.where((x1 > 0) & (x2 > 0), rng.normal(4, 3, x1.size), 0.0)
    y2[(x1 == 0) & (x2 == 0)] = 0.0  # control: the inactive drug's fitted effect is exactly 0
    two = zip_nd_scores(np.zeros(x1.size), np.c_[x1, x2], y2)
    d3 = np.array([0.0, 1.0, 2.0, 4.0])
    c1 = np.repeat(x1, d3.size)
    c2 = np.repeat(x2, d3.size)
    c3 = np.tile(d3, x1.size)
    y3 = np.repeat(y2, d3.size)
    three = zip_nd_scores(np.zeros(c1.size), np.c_[c1, c2, c3], y3)
    np.testing.assert_allclose(three.single_agents.e0[2], 0.0, atol=1e-12)
    np.testing.assert_allclose(three.single_agents.emax[2], 0.0, atol=1e-9)
    both = (c1 > 0) & (c2 > 0)
    delta2 = np.repeat(two.delta, d3.size)[both]
    ref = np.repeat(two.ref, d3.size)[both]
    np.testing.assert_allclose(three.ref[both], ref, atol=1e-12)
    expected = (2 * delta2 + (y3[both] - ref)) / 3
    np.testing.assert_allclose(three.delta[both], expected, atol=1e-9)
    # ... and it is not the two-drug number itself (the identity above is what holds).
    assert np.abs(three.delta[both] - delta2).max() > 0.5


def test_synergistic_three_drug_block_has_positive_mean_delta():
    """(c) Ten points of extra inhibition wherever all three drugs are present."""
    xs, y = exact_bliss_block()
    triple = (xs[0] > 0) & (xs[1] > 0) & (xs[2] > 0)
    r = reference_scores(three_drug_frame(y + 10.0 * triple, xs), models="zip")
    assert r.blocks["zip_mean"].iloc[0] > 3.0
    on = r.scores[(r.scores[["conc1", "conc2", "conc3"]] > 0).all(axis=1)]
    assert on["zip"].mean() > 3.0


@pytest.mark.shared_data
def test_outside_reference_musyc_surfaces_of_the_synergy_package(shared_data):
    """(d) Outside reference: djwooten/synergy's synthetic three-drug surfaces.

    SynergyFinder ships no three-drug example with published ZIP scores (its NCATS_10023
    data come with NCATS' own pairwise metrics only), so the reference is the synergy
    package's MuSyC surfaces (7 x 7 x 7 doses, 3 replicates, 1 % relative noise on effect
    and dose). With all alphas 1 and multiplicative efficacies the MuSyC surface is Bliss
    independence of Hill curves (Wooten et al. 2021 Cell Syst 12:96), ZIP's null model:
    the block mean must be within 0.1 points of 0 and every cell within 2 points (the noise
    is up to ~1 point of inhibition per well, averaged over 3 replicates). The efficacy-synergy
    surface (E_123 = 0 where Bliss expects 8/27 of the viability) must score clearly positive.
    """
    root = shared_data / "synergy" / "synergy_py" / "tests_higher"

    def score(name):
        d = pd.read_csv(root / name)
        df = three_drug_frame(100 * (1 - d["E"]), [d["d1"], d["d2"], d["d3"]])
        return reference_scores(df, models="zip")

    null = score("synthetic_musyc3_reference_1.csv")
    assert abs(null.blocks["zip_mean"].iloc[0]) < 0.1
    assert np.abs(null.scores["zip"]).max() < 2.0
    np.testing.assert_allclose(null.single_agents["ec50"], 1.0, rtol=0.05)  # generating C = 1
    syn = score("synthetic_musyc3_high_order_efficacy_synergy.csv")
    assert syn.blocks["zip_mean"].iloc[0] > 5.0


@settings(max_examples=12, deadline=None)
@given(
    perm=st.permutations([0, 1, 2]),
    ec50=st.lists(st.floats(0.3, 3.0), min_size=3, max_size=3),
    h=st.lists(st.floats(0.7, 2.5), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_permuting_drug_order_leaves_every_cell_unchanged(perm, ec50, h, seed):
    """(e) ZIP does not depend on which drug is called drug 1, 2 or 3."""
    d = np.array([0.0, 0.3, 1.0, 3.0])
    xs = grid(3, d)
    eff = [hill_effect(x, 0.0, 100.0, c, s) for x, c, s in zip(xs, ec50, h, strict=True)]
    y = bliss(*eff) + np.random.default_rng(seed).normal(0, 3, xs[0].size)
    conc = np.c_[tuple(xs)]
    a = zip_nd_scores(np.zeros(y.size), conc, y)
    b = zip_nd_scores(np.zeros(y.size), conc[:, list(perm)], y)
    np.testing.assert_allclose(b.delta, a.delta, atol=1e-9, equal_nan=True)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="needs block"):
        zip_nd_scores(np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(InputError, match="doses must be finite and >= 0"):
        zip_nd_scores(np.zeros(2), np.array([[0.0, -1.0], [1.0, 1.0]]), np.zeros(2))
    with pytest.raises(InputError, match="responses must be finite"):
        zip_nd_scores(np.zeros(2), np.ones((2, 2)), np.array([1.0, np.nan]))
    with pytest.raises(InputError, match="occurs twice in one block"):
        zip_nd_scores(np.zeros(2), np.ones((2, 2)), np.ones(2))


def test_chunked_screen_gives_the_same_n_drug_zip():
    """screen.py scores N-drug ZIP chunk by chunk with the numbers of reference_scores."""
    xs, y = exact_bliss_block()
    rng = np.random.default_rng(3)
    df = pd.concat(
        [three_drug_frame(y + rng.normal(0, 2, y.size), xs, block=f"b{i}") for i in range(3)]
    )
    data = read_combination(df)
    whole = reference_scores(data, models="bliss,zip")
    chunked = score_screen(data, models="bliss,zip", chunk_rows=250)
    np.testing.assert_allclose(chunked.blocks["zip_mean"], whole.blocks["zip_mean"], atol=1e-12)
    assert chunked.blocks["zip_msa"].isna().all()


def test_cli_three_drug_zip_json(run_cli, tmp_path):
    xs, y = exact_bliss_block()
    src = tmp_path / "three.csv"
    triple = (xs[0] > 0) & (xs[1] > 0) & (xs[2] > 0)
    three_drug_frame(y + 10.0 * triple, xs).to_csv(src, index=False)
    code, out, err = run_cli("synergy", src, "--model", "zip", "--json")
    assert code == 0, err
    b = json.loads(out)["blocks"][0]
    assert set(b["scores"][0]) == {"conc", "response", "zip"}
    assert set(b["scores"][0]["conc"]) == {"A", "B", "C"}
    assert b["summary"]["zip_mean"] > 3.0 and b["summary"]["zip_msa"] is None
    assert MSA_NOTE in b["reference_warnings"]


def test_slice_without_a_zero_dose_well_falls_back_to_observed_and_says_so():
    """Documented rule: no baseline well -> the slice is not re-fitted, the cells are counted."""
    xs, y = exact_bliss_block()
    df = three_drug_frame(y + 5.0, xs)
    df.loc[(xs[0] == 0) & (xs[1] == 0) & (xs[2] == 0), "response"] = 0.0
    gone = (df["conc1"] == 1.0) & (df["conc2"] == 2.0) & (df["conc3"] == 0.0)
    r = reference_scores(df[~gone], models="zip")
    # The drug-3 slice at (1, 2) has 5 positive doses and no well without drug 3.
    assert any(w.startswith("ZIP: 5 re-fitted value(s)") for w in r.warnings["b"])
    assert len(r.scores) == 6**3 - 1 - 3 * 5 - 1
