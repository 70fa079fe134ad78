"""convention="synergyfinder3": two-drug ZIP by SynergyFinder 3's rule (letrolab.synergy.reference.conventions.sf3).

SynergyFinder 3 (R package shuyuzheng/synergyfinder 3.x, function ``ZIP``; Zheng et al. 2022
GPB 20:587) re-fits every row and column of the dose matrix with its zero-dose well included and
one asymptote fixed at that well's observed response; :mod:`letrolab.synergy.reference.zip_nd` implements
it for k >= 2 drugs. Under this convention reference_scores, grid_scores, the chunked/dask
screen, the replicate bootstrap and the CLI all score two-drug ZIP with it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.doseresponse.hill import hill_effect
from letrolab.errors import InputError
from letrolab.synergy.reference import CONVENTIONS, grid_scores, reference_scores
from letrolab.synergy.reference.zip_nd import MSA_NOTE, zip_nd_scores
from letrolab.synergy.replicates import bootstrap_summaries
from letrolab.synergy.screen import score_screen

SF3 = "synergyfinder3"
DOSES = np.array([0.0, 0.25, 0.5, 1.0, 2.0, 4.0])
P1, P2 = (0.0, 100.0, 1.0, 1.5), (0.0, 90.0, 0.7, 1.0)


def two_drug_frame(x1, x2, y, block="b") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "block_id": block,
            "drug1": "A",
            "drug2": "B",
            "conc1": x1,
            "conc2": x2,
            "response": y,
        }
    )


def grid2(doses=DOSES) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(doses, doses, indexing="ij")
    return a.ravel(), b.ravel()


def bliss(f1, f2):
    return f1 + f2 - f1 * f2 / 100


def noisy_block(seed: int, shift: float = 4.0):
    """Bliss-independent log-logistic block plus noise (and extra effect) on the combinations."""
    rng = np.random.default_rng(seed)
    x1, x2 = grid2()
    y = bliss(hill_effect(x1, *P1), hill_effect(x2, *P2))
    both = (x1 > 0) & (x2 > 0)
    y = y + np.where(both, rng.normal(shift, 3, x1.size), 0.0)
    return x1, x2, y


def brute_msa(x1, x2, v) -> float:
    """Largest mean over 3 x 3 windows of adjacent combination doses, by explicit loops."""
    u1, u2 = np.unique(x1), np.unique(x2)
    m = np.full((u1.size, u2.size), np.nan)
    m[np.searchsorted(u1, x1), np.searchsorted(u2, x2)] = v
    best = -np.inf
    for i in range(u1.size - 2):
        for j in range(u2.size - 2):
            w = m[i : i + 3, j : j + 3]
            if np.isfinite(w).all():
                best = max(best, w.mean())
    return best


def test_convention_is_listed_and_checked():
    assert SF3 in CONVENTIONS
    x1, x2, y = noisy_block(0)
    with pytest.raises(InputError, match=r"unknown convention 'sf3'; use one of .*synergyfinder3"):
        reference_scores(two_drug_frame(x1, x2, y), convention="sf3")


def test_bliss_independent_two_drug_block_scores_zero():
    """(a) Exact log-logistic single agents combined by Bliss independence: delta ~ 0.

    Every row and column is then an exact log-logistic curve whose zero-dose asymptote is the
    observed zero-dose well, so re-fits and reference agree up to the fit tolerance (1e-6
    points, far below the 0.01 to which scores are reported).
    """
    x1, x2 = grid2()
    y = bliss(hill_effect(x1, *P1), hill_effect(x2, *P2))
    r = reference_scores(two_drug_frame(x1, x2, y), models="zip", convention=SF3)
    z = r.scores["zip"].to_numpy()
    assert z.size == 25 and np.isfinite(z).all()
    assert np.abs(z).max() < 1e-6
    assert abs(r.blocks["zip_msa"].iloc[0]) < 1e-6


@pytest.mark.parametrize("drop_one", [False, True], ids=["grid", "table"])
def test_equals_zip_nd_scores_on_the_same_block(drop_one, monkeypatch):
    """(b) Per cell and per block, the numbers of zip_nd_scores with k = 2.

    ``drop_one`` removes one combination well, so the table path is used instead of the grid
    fast path; both must give zip_nd's deltas, and the most synergistic area must be the best
    complete 3 x 3 window (counted here by explicit loops).
    """
    frames = []
    for i in range(3):
        x1, x2, y = noisy_block(10 + i)
        frames.append(two_drug_frame(x1, x2, y, block=f"b{i}"))
    df = pd.concat(frames, ignore_index=True)
    if drop_one:
        df = df[~((df["block_id"] == "b1") & (df["conc1"] == 1.0) & (df["conc2"] == 2.0))]
    z = zip_nd_scores(df["block_id"], df[["conc1", "conc2"]], df["response"])
    want = df.assign(zip=z.delta).dropna(subset=["zip"])
    import letrolab.synergy.reference.conventions.sf3 as sf3

    calls = []
    grid_core = sf3.sf3_zip_grid
    monkeypatch.setattr(sf3, "sf3_zip_grid", lambda *a: calls.append(1) or grid_core(*a))
    r = reference_scores(df, models="bliss,zip,loewe", convention=SF3)
    assert len(calls) == (0 if drop_one else 1)  # the path this case is meant to take
    got = r.scores.astype({"block_id": str}).merge(
        want, on=["block_id", "conc1", "conc2"], suffixes=("", "_nd")
    )
    assert len(got) == len(want) == len(r.scores)
    np.testing.assert_allclose(got["zip"], got["zip_nd"], rtol=0, atol=1e-9)
    for bid, g in want.groupby("block_id"):
        row = r.blocks[r.blocks["block_id"].astype(str) == bid].iloc[0]
        assert row["zip_mean"] == pytest.approx(g["zip"].mean(), abs=1e-9)
        assert row["zip_msa"] == pytest.approx(
            brute_msa(g["conc1"], g["conc2"], g["zip"]), abs=1e-9
        )
    assert not any(MSA_NOTE in w for w in r.warnings.values())
    # Bliss is the "free" number; Loewe is SynergyFinder 3's grid search, within one grid step
    # (asymptotes 0 and 100 here: 100 / 99) of the exact root wherever SF3 does not fall back
    # (observed response above both curves' maxima, 100 and 90 here).
    free = reference_scores(df, models="bliss,loewe", convention="free")
    np.testing.assert_allclose(r.scores["bliss"], free.scores["bliss"], atol=1e-12)
    above = r.scores["response"].to_numpy() > 100.0
    gap = np.abs(r.scores["loewe"] - free.scores["loewe"]).to_numpy()
    assert gap[~above].max() <= 100.0 / 99.0 + 1e-6
    assert gap.max() > 1e-3  # not the exact root
    n_fb = sum(int(w.split()[1]) for ws in r.warnings.values() for w in ws if "Loewe:" in w)
    assert n_fb == above.sum() > 0


def test_grid_scores_follow_the_convention():
    """The public grid fast path gives reference_scores' numbers, with and without Loewe."""
    blocks = [noisy_block(20 + i) for i in range(4)]
    y = np.stack([b[2].reshape(6, 6) for b in blocks])
    c = np.tile(DOSES, (4, 1))
    g_zip = grid_scores(c, c, y, models="zip", convention=SF3)
    g_all = grid_scores(c, c, y, models="all", convention=SF3)
    df = pd.concat(
        [two_drug_frame(*b, block=f"b{i}") for i, b in enumerate(blocks)], ignore_index=True
    )
    r = reference_scores(df, models="zip", convention=SF3)
    np.testing.assert_allclose(g_zip.scores["zip"].ravel(), r.scores["zip"], atol=1e-9)
    np.testing.assert_allclose(g_all.scores["zip"], g_zip.scores["zip"], atol=1e-9)
    np.testing.assert_allclose(g_zip.mean["zip"], r.blocks["zip_mean"], atol=1e-9)
    np.testing.assert_allclose(g_zip.msa["zip"], r.blocks["zip_msa"], atol=1e-9)
    assert g_zip.fit_ok.all() and g_all.fit_ok.all()
    free = grid_scores(c, c, y, models="zip,hsa", convention="free")
    assert np.abs(free.scores["zip"] - g_zip.scores["zip"]).max() > 0.1  # a different rule
    default = grid_scores(c, c, y, models="zip")  # the default convention is SynergyFinder 3's
    np.testing.assert_array_equal(default.scores["zip"], g_zip.scores["zip"])
    np.testing.assert_allclose(g_all.scores["hsa"], free.scores["hsa"], atol=1e-12)


def test_inactive_third_drug_relates_to_the_two_drug_score():
    """(c) A two-drug block embedded in three drugs with an inactive third drug.

    Drugs 1 and 2 see the data of the two-drug block and the third drug's slice through any
    cell is flat (its re-fitted value is the observed y), so for cells with drugs 1 and 2
    present ``delta_3 = (2 delta_2 + (y - ZIP_ref)) / 3`` with ``delta_2`` this convention's
    two-drug score (test_zip_nd.py derives the identity).
    """
    x1, x2, y = noisy_block(5)
    y[(x1 == 0) & (x2 == 0)] = 0.0  # the inactive drug's fitted effect is then exactly 0
    two = reference_scores(two_drug_frame(x1, x2, y), models="zip", convention=SF3).scores
    ref = zip_nd_scores(np.zeros(y.size), np.c_[x1, x2], y).ref
    d3 = np.array([0.0, 1.0, 2.0, 4.0])
    df3 = pd.DataFrame(
        {
            "block_id": "b",
            "drug1": "A",
            "drug2": "B",
            "drug3": "C",
            "conc1": np.repeat(x1, d3.size),
            "conc2": np.repeat(x2, d3.size),
            "conc3": np.tile(d3, x1.size),
            "response": np.repeat(y, d3.size),
            "ref": np.repeat(ref, d3.size),
        }
    )
    three = reference_scores(df3.drop(columns="ref"), models="zip", convention=SF3).scores
    got = three.merge(df3[["conc1", "conc2", "conc3", "ref"]], on=["conc1", "conc2", "conc3"])
    got = got[(got["conc1"] > 0) & (got["conc2"] > 0)].merge(
        two[["conc1", "conc2", "zip"]], on=["conc1", "conc2"], suffixes=("", "_2")
    )
    assert len(got) == 25 * 4
    expected = (2 * got["zip_2"] + (got["response"] - got["ref"])) / 3
    np.testing.assert_allclose(got["zip"], expected, atol=1e-8)


@settings(max_examples=10, deadline=None)
@given(
    ec50=st.tuples(st.floats(0.3, 3.0), st.floats(0.3, 3.0)),
    h=st.tuples(st.floats(0.7, 2.5), st.floats(0.7, 2.5)),
    seed=st.integers(0, 2**16),
)
def test_swapping_the_drugs_leaves_every_cell_unchanged(ec50, h, seed):
    """(d) ZIP does not depend on which drug is drug 1."""
    d = np.array([0.0, 0.3, 1.0, 3.0, 9.0])
    x1, x2 = grid2(d)
    y = bliss(hill_effect(x1, 0, 100, ec50[0], h[0]), hill_effect(x2, 0, 100, ec50[1], h[1]))
    y = y + np.where((x1 > 0) & (x2 > 0), np.random.default_rng(seed).normal(0, 3, y.size), 0)
    a = reference_scores(two_drug_frame(x1, x2, y), models="zip", convention=SF3).scores
    b = reference_scores(two_drug_frame(x2, x1, y), models="zip", convention=SF3).scores
    b = b.rename(columns={"conc1": "conc2", "conc2": "conc1"})
    m = a.merge(b, on=["conc1", "conc2"], suffixes=("", "_swapped"))
    assert len(m) == 16
    np.testing.assert_allclose(m["zip_swapped"], m["zip"], atol=1e-7)


@pytest.mark.shared_data
def test_published_synergyfinder3_block_means_of_the_oneil_example(shared_data):
    """Outside reference: SynergyFinder 3's vignette (User_tutorual_of_the_SynergyFinder_plus,
    section 6.2, ``str(res$drug_pairs)``) prints the block means of its O'Neil example
    (``ONEIL_screening_data``, 5 x 5 doses, 4 replicates; ``CalculateSynergy`` with
    ``Emin = NA, Emax = NA``): ZIP 35.6 and -75.8, HSA 41.6 and -71.6, Bliss 36 and -77.4.

    SynergyFinder 3 scores replicated data as the mean over 10 bootstrap matrices (each cell
    the mean of 4 normal draws with the replicates' mean and sd), letrolab the replicate means.
    Emulating that bootstrap (200 x 10 draws with zip_nd_scores) spreads the printed ZIP mean
    with sd 0.83 (block 1) and 0.26 (block 2); the rest of the difference on block 2 (2.1
    points) comes from the Paclitaxel single-agent fit, a near-step curve (Hill slope ~16)
    whose parameters drc's optimiser and letrolab's least squares determine differently.
    Tolerance: 2.5 points (3 bootstrap sd of block 1) for every published mean. The
    SynergyFinder 1-2 re-fits ("free") miss block 2's ZIP by about 51 points.
    """
    src = shared_data / "synergy" / "synergyfinder_ONEIL_screening_data.csv"
    r = reference_scores(src, models="zip,hsa,bliss", convention=SF3)
    b = r.blocks.set_index(r.blocks["block_id"].astype(str))
    published = {
        "zip_mean": (35.6, -75.8),
        "hsa_mean": (41.6, -71.6),
        "bliss_mean": (36.0, -77.4),
    }
    for col, (p1, p2) in published.items():
        assert b.loc["1", col] == pytest.approx(p1, abs=2.5), col
        assert b.loc["2", col] == pytest.approx(p2, abs=2.5), col
    assert np.isfinite(b["zip_msa"]).all()
    free = reference_scores(src, models="zip", convention="free").blocks
    assert abs(free["zip_mean"].iloc[1] - (-75.8)) > 40


@pytest.mark.shared_data
def test_published_synergyfinder3_loewe_means_of_the_oneil_example(shared_data):
    """Outside reference: the same vignette output (section 6.2) prints Loewe block means 38.1
    and -73.6 for the O'Neil example; SynergyFinder 3's ``Loewe`` (grid search over 100
    effects, fallback where no drug reaches the observed response) gives 37.53 and -73.99 here.

    Tolerance as for ZIP: emulating SynergyFinder 3's bootstrap (200 x 10 matrices, each cell
    the mean of 4 normal draws with the replicates' mean and sd, scored by this Loewe) spreads
    the printed Loewe mean with sd 0.82 (block 1) and 0.26 (block 2); 2.5 points is 3 sd of
    block 1. letrolab's exact root with its own fallback ("free") gives 25.3 on block 1, so
    this test tells the two rules apart.
    """
    src = shared_data / "synergy" / "synergyfinder_ONEIL_screening_data.csv"
    r = reference_scores(src, models="loewe", convention=SF3)
    b = r.blocks.set_index(r.blocks["block_id"].astype(str))
    assert b.loc["1", "loewe_mean"] == pytest.approx(38.1, abs=2.5)
    assert b.loc["2", "loewe_mean"] == pytest.approx(-73.6, abs=2.5)
    free = reference_scores(src, models="loewe", convention="free").blocks
    assert abs(free["loewe_mean"].iloc[0] - 38.1) > 10


@settings(max_examples=40, deadline=None)
@given(
    e0=st.floats(-10.0, 10.0),
    emax=st.floats(40.0, 100.0),
    ec50=st.floats(0.2, 2.0),
    h=st.floats(0.5, 4.0),
    x1=st.floats(0.01, 5.0),
    x2=st.floats(0.01, 5.0),
)
def test_sham_combination_scores_within_one_grid_step(e0, emax, ec50, h, x1, x2):
    """A drug combined with itself is Loewe-additive: the expected effect at (x1, x2) is
    E(x1 + x2). SynergyFinder 3 picks the effect on its grid of 100 values from the lowest to
    the highest asymptote (here e0 .. emax) minimising |x1 / X(E) + x2 / X(E) - 1|; that
    distance falls then rises in E, so the pick is a grid neighbour of the exact root and the
    sham score is at most one grid step, (emax - e0) / 99, from 0.
    """
    from letrolab.synergy.reference.conventions.sf3 import sf3_loewe_expected

    obs = hill_effect(x1 + x2, e0, emax, ec50, h)
    p = np.array([[[e0, emax, ec50, h]] * 2])  # (1 cell, 2 drugs, 4)
    exp_l, fb = sf3_loewe_expected(
        np.array([[x1, x2]]), np.array([obs]), p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    )
    assert not fb[0]
    step = (emax - e0) / 99.0
    assert abs(float(obs - exp_l[0])) <= step * (1 + 1e-9)
    grid = e0 + np.arange(100) * step
    assert np.abs(grid - exp_l[0]).min() <= 1e-9 * (1 + abs(emax))  # a grid value


def test_sham_block_end_to_end_and_fallback():
    """End to end on a sham grid (the same curve on both axes, noise-free): every Loewe score
    within one grid step of 0; raising one cell above both maxima sends it (alone) to the
    fallback, whose expected effect is the curve at the total dose."""
    e0, emax, ec50, h = 0.0, 80.0, 0.8, 1.3
    x1, x2 = grid2()
    y = hill_effect(x1 + x2, e0, emax, ec50, h)
    hot = (x1 == 4.0) & (x2 == 4.0)
    y = np.where(hot, 95.0, y)
    r = reference_scores(two_drug_frame(x1, x2, y), models="loewe", convention=SF3)
    s = r.scores.set_index(["conc1", "conc2"])["loewe"]
    cold = s.drop(index=(4.0, 4.0))
    assert np.abs(cold).max() <= (emax - e0) / 99.0 + 1e-4  # + single-agent fit error
    assert s.loc[(4.0, 4.0)] == pytest.approx(95.0 - hill_effect(8.0, e0, emax, ec50, h), abs=1e-4)
    (w,) = r.warnings["b"]
    assert w.startswith("Loewe: 1 cell(s) whose observed response no single drug")


def test_chunked_screen_and_bootstrap_take_the_convention():
    """score_screen (chunk by chunk) and bootstrap_summaries pass the convention on."""
    frames = []
    rng = np.random.default_rng(8)
    for i in range(3):
        x1, x2, y = noisy_block(30 + i)
        for rep in range(3):
            yy = y + np.where((x1 > 0) & (x2 > 0), rng.normal(0, 2, y.size), 0.0)
            frames.append(two_drug_frame(x1, x2, yy, block=f"b{i}").assign(replicate=rep))
    reps = pd.concat(frames, ignore_index=True)
    means = reps.groupby(["block_id", "drug1", "drug2", "conc1", "conc2"], as_index=False)[
        "response"
    ].mean()
    whole = reference_scores(means, models="zip,hsa", convention=SF3)
    chunked = score_screen(means, models="zip,hsa", chunk_rows=40, convention=SF3)
    np.testing.assert_allclose(chunked.blocks["zip_mean"], whole.blocks["zip_mean"], atol=1e-9)
    np.testing.assert_allclose(chunked.blocks["zip_msa"], whole.blocks["zip_msa"], atol=1e-9)
    boot = bootstrap_summaries(reps, models="zip", n_boot=20, seed=1, convention=SF3).blocks
    np.testing.assert_allclose(boot["zip_mean"], whole.blocks["zip_mean"], atol=1e-9)
    assert (boot["zip_mean_lo"] < boot["zip_mean_hi"]).all()
    free = bootstrap_summaries(reps, models="zip", n_boot=20, seed=1, convention="free").blocks
    assert np.abs(free["zip_mean"].to_numpy() - boot["zip_mean"].to_numpy()).max() > 0.1


def test_dask_engine_takes_the_convention():
    """The dask engine (in-process LocalCluster) scores chunks under the same convention."""
    pytest.importorskip("distributed")
    df = pd.concat(
        [two_drug_frame(*noisy_block(40 + i), block=f"b{i}") for i in range(4)], ignore_index=True
    )
    whole = reference_scores(df, models="zip", convention=SF3)
    r = score_screen(
        df,
        models="zip",
        engine="dask",
        scheduler="local",
        n_workers=1,
        processes=False,
        chunk_rows=72,
        progress=False,
        convention=SF3,
    )
    np.testing.assert_allclose(r.blocks["zip_mean"], whole.blocks["zip_mean"], atol=1e-9)
    np.testing.assert_allclose(r.blocks["zip_msa"], whole.blocks["zip_msa"], atol=1e-9)


def test_cli_convention_synergyfinder3_zip_json(run_cli, tmp_path):
    """(e) ``--convention synergyfinder3 --model zip --json``: zip per cell and zip_msa."""
    x1, x2, y = noisy_block(3, shift=10.0)
    src = tmp_path / "two.csv"
    two_drug_frame(x1, x2, y).to_csv(src, index=False)
    code, out, err = run_cli(
        "synergy", src, "--model", "zip", "--convention", "synergyfinder3", "--json"
    )
    assert code == 0, err
    b = json.loads(out)["blocks"][0]
    assert set(b["scores"][0]) == {"conc", "response", "zip"}
    want = reference_scores(two_drug_frame(x1, x2, y), models="zip", convention=SF3)
    np.testing.assert_allclose([s["zip"] for s in b["scores"]], want.scores["zip"], atol=1e-9)
    assert b["summary"]["zip_msa"] == pytest.approx(want.blocks["zip_msa"].iloc[0], abs=1e-9)
    assert b["summary"]["zip_mean"] > 3.0
    assert MSA_NOTE not in b["reference_warnings"]
    # Without --convention the CLI scores by SynergyFinder 3's rule (the default).
    code, out, err = run_cli("synergy", src, "--model", "zip", "--json")
    assert code == 0, err
    got = [s["zip"] for s in json.loads(out)["blocks"][0]["scores"]]
    np.testing.assert_allclose(got, want.scores["zip"], atol=1e-9)
    code, out, _err = run_cli("synergy", "--help")
    assert code == 0
    assert all(f"'{c}':" in out for c in ("free", "synergyfinder2", "synergyfinder3"))
    code, out, err = run_cli("synergy", src, "--model", "zip", "--convention", "sf3")
    assert code == 2
    assert "--convention must be one of free, synergyfinder2, synergyfinder3" in err


def test_sf3_loewe_shared_curves_equal_cell_by_cell():
    """Cells that share a block's curves are solved once per curve set: the result must be
    the same, bit for bit, as solving every cell on its own (no sharing)."""
    from letrolab.synergy.reference.conventions.sf3 import sf3_loewe_expected

    rng = np.random.default_rng(3)
    n_blocks, per = 7, 9
    e0 = np.repeat(rng.uniform(-5, 5, (n_blocks, 2)), per, axis=0)
    emax = np.repeat(rng.uniform(60, 110, (n_blocks, 2)), per, axis=0)
    ec50 = np.repeat(rng.uniform(1, 50, (n_blocks, 2)), per, axis=0)
    h = np.repeat(rng.uniform(0.5, 3, (n_blocks, 2)), per, axis=0)
    x = rng.uniform(0.5, 100, (n_blocks * per, 2))
    y = rng.uniform(-10, 120, n_blocks * per)  # some beyond every curve: the fallback
    got, fb = sf3_loewe_expected(x, y, e0, emax, ec50, h)
    one = [sf3_loewe_expected(x[i : i + 1], y[i : i + 1], e0[i : i + 1], emax[i : i + 1],
                              ec50[i : i + 1], h[i : i + 1]) for i in range(len(x))]  # fmt: skip
    np.testing.assert_array_equal(got, np.concatenate([o[0] for o in one]))
    np.testing.assert_array_equal(fb, np.concatenate([o[1] for o in one]))
    assert 0 < fb.sum() < len(fb)
