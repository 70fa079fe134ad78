"""Densitometry on what makes real gels hard (issue 14): touching lanes, doublets, smears, tilt,
smiles, crop edges and dust; lane grids and fixed windows; and one real published gel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import curve_fit
from scipy.stats import norm

from letrolab._io import MARKER  # the marker of a letrolab output folder
from letrolab.assays.blot import analyse_blot, read_blot_image, read_lane_boxes
from letrolab.errors import FormatError, InputError
from letrolab.instruments.blot import render_blot

TOL = 0.05  # the 5 %
NOISY = {"noise": 10.0, "gradient": (400.0, 300.0)}


def _areas(res):
    return res.bands.pivot(index="lane", columns="band", values="area").to_numpy()


def _vol(seed, shape=(6, 3), lo=1.5e5, hi=3.5e5):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


# ------------------------------------------------------------------------------ synthetic gels
HARD = {
    "touching": {"gap": 0},
    "touching, bands filling 90 %": {"gap": 0, "fill": 0.9},
    "tilted": {"gap": 2, "tilt": 0.05},  # lanes drift 8 px from top to bottom
    "smiling": {"gap": 0, "smile": 8.0},
    "crop edge": {"gap": 0, "crop_edge": 3000.0},
    "dust": {"gap": 2, "specks": 12},
}


@pytest.mark.parametrize("case", list(HARD))
@pytest.mark.parametrize("seed", [0, 1])
def test_hard_gels_under_baseline_within_5_percent(case, seed):
    """Lane count inferred, every band within 5 % of its rendered volume, no extra bands."""
    vol = _vol(10 + seed)
    blot = render_blot(vol, seed=seed, **NOISY, **HARD[case])
    res = analyse_blot(blot.image)
    assert res.background == "baseline" and res.n_lanes == 6 and res.n_bands == 3
    centres = np.array([(a + b) / 2 for a, b in res.lanes])
    truth = np.array([(a + b) / 2 for a, b in blot.lanes])
    np.testing.assert_allclose(centres, truth, atol=2.0)
    np.testing.assert_allclose(_areas(res), vol, rtol=TOL)
    if case == "crop edge":
        assert any("gel's edge" in w or "crop edge" in w for w in res.warnings)
    if case == "dust":
        assert any("dust speck" in w for w in res.warnings)


def test_tilted_lanes_are_followed():
    blot = render_blot(_vol(3), seed=3, gap=2, tilt=0.05, **NOISY)
    res = analyse_blot(blot.image)
    drift = res.lane_centres[:, -1] - res.lane_centres[:, 0]
    np.testing.assert_allclose(drift, 0.05 * 159, atol=1.5)  # 7.95 px, the rendered drift


@pytest.mark.parametrize("seed", [0, 1])
def test_region_background_on_touching_tilted_and_edge_gels(seed):
    """``region``: background rows above and below the bands (a line fitted through both per
    lane removes the vertical gradient); volumes within 5 %."""
    vol = _vol(20 + seed)
    rows = {"height": 200, "band_rows": [60, 100, 140]}
    for extra in ({"gap": 0}, {"gap": 2, "tilt": 0.04}, {"gap": 0, "crop_edge": 3000.0}):
        blot = render_blot(vol, seed=seed, **NOISY, **rows, **extra)
        res = analyse_blot(blot.image, background="region", region=[(4, 30), (166, 186)])
        assert res.background == "region" and res.n_bands == 3
        np.testing.assert_allclose(_areas(res), vol, rtol=TOL)


@pytest.mark.parametrize("background", ["baseline", "region"])
def test_doublet_split_at_its_valley(background):
    """Two bands 12 rows apart (4 sd): one doublet, split at the valley. A Gaussian band passes
    Phi(-2) = 2.3 % of its volume across the valley to its neighbour, so with volumes within
    2x of each other each band is within 2.3 % of its own (plus noise)."""
    vol = _vol(5, (6, 2), 1.5e5, 3e5)
    blot = render_blot(vol, seed=5, gap=0, band_rows=[74, 86], **NOISY)
    region = [(0, 30), (130, 160)] if background == "region" else None
    res = analyse_blot(blot.image, background=background, region=region)
    assert res.n_bands == 2
    b1 = res.bands[res.bands["band"] == 1]
    b2 = res.bands[res.bands["band"] == 2]
    assert (b1["row_end"].to_numpy() + 1 == b2["row_start"].to_numpy()).all()  # split, no gap
    assert (np.abs(b1["row_end"] - 80) <= 2).all()  # at the valley
    np.testing.assert_allclose(_areas(res), vol, rtol=TOL)
    assert norm.cdf(-12 / 2 / 3.0) == pytest.approx(0.0228, abs=1e-4)


def test_bands_on_a_smear_under_baseline():
    """A smear down every lane (0.3 x the lane's band volume, sd 0.3 x height) is not band:
    the line under each band leaves it out; within 5 %. The line is straight and the smear is
    not: under a band on the smear's curved shoulder the line passes below it, so the bias
    grows with the smear (measured +3 % at 0.3, +5 % at 0.5 of the band volume)."""
    vol = _vol(7)
    blot = render_blot(vol, seed=7, gap=0, smear=0.3, **NOISY)
    res = analyse_blot(blot.image)
    np.testing.assert_allclose(_areas(res), vol, rtol=TOL)
    none = analyse_blot(blot.image, background="none", window=[(70, 91)])
    assert (none.band_areas(1) > 1.2 * vol[:, 1]).all()  # without a baseline the smear counts


def test_matching_follows_a_smile():
    """Outer lanes' bands run 8 px lower: still one band 2 across all lanes, at the truth."""
    blot = render_blot(_vol(8), seed=8, gap=0, smile=8.0, **NOISY)
    res = analyse_blot(blot.image)
    rows = res.bands.pivot(index="lane", columns="band", values="row").to_numpy()
    np.testing.assert_allclose(rows, np.rint(blot.band_rows), atol=1)
    assert res.bands["detected"].all()


def test_fixed_window_in_every_lane():
    vol = _vol(9)
    blot = render_blot(vol, seed=9, gap=0, **NOISY)
    res = analyse_blot(blot.image, window=[(62, 99)])  # band 2 at row 80, +-6 sd
    assert res.n_bands == 1 and (res.bands["row_start"] == 62).all()
    assert (res.bands["row_end"] == 98).all()
    np.testing.assert_allclose(res.band_areas(1), vol[:, 1], rtol=TOL)
    with pytest.raises(InputError, match=r"band window 150:170 must lie within rows 0:160"):
        analyse_blot(blot.image, window=[(150, 170)])


def test_lane_grid_given_as_count_and_width_or_boxes(tmp_path):
    vol = _vol(11)
    blot = render_blot(vol, seed=11, gap=0, **NOISY)
    res = analyse_blot(blot.image, lanes=6, lane_width=20)
    assert all(b - a == 20 for a, b in res.lanes)
    truth = np.array([(a + b) / 2 for a, b in blot.lanes])
    np.testing.assert_allclose([(a + b) / 2 for a, b in res.lanes], truth, atol=1.5)
    boxes = tmp_path / "lanes.csv"
    rows = [(k + 1, a, b) for k, (a, b) in enumerate(blot.lanes)]
    pd.DataFrame(rows[::-1], columns=["lane", "x0", "x1"]).to_csv(boxes, index=False)
    assert read_lane_boxes(boxes) == list(blot.lanes)  # sorted by lane
    res = analyse_blot(blot.image, lanes=boxes)
    assert res.lanes == blot.lanes
    np.testing.assert_allclose(_areas(res), vol, rtol=TOL)
    (tmp_path / "bad.csv").write_text("left,right\n1,2\n")
    with pytest.raises(FormatError, match=r"bad.csv: lane boxes need columns x0 and x1"):
        read_lane_boxes(tmp_path / "bad.csv")
    (tmp_path / "frac.csv").write_text("x0,x1\n1.5,20\n")
    with pytest.raises(FormatError, match=r"frac.csv: x0, x1 \(and lane\) must be whole"):
        read_lane_boxes(tmp_path / "frac.csv")


def test_rolling_ball_smaller_than_the_band_is_warned():
    blot = render_blot(_vol(12), seed=12, **NOISY)
    res = analyse_blot(blot.image, background="rolling_ball", radius=4)
    assert res.radius == 4.0
    assert any("smaller than the largest band" in w for w in res.warnings)
    res = analyse_blot(blot.image, background="rolling_ball")
    assert res.radius >= 12 and not any("smaller than" in w for w in res.warnings)


def test_region_and_window_options_are_checked():
    img = render_blot([[1e5], [2e5]]).image
    with pytest.raises(InputError, match=r"background='region' needs the background rows"):
        analyse_blot(img, background="region")
    with pytest.raises(InputError, match=r"background rows apply to background='region'"):
        analyse_blot(img, region=[(0, 10)])
    with pytest.raises(InputError, match=r"background rows 0:999 are outside the image"):
        analyse_blot(img, background="region", region=[(0, 999)])
    with pytest.raises(InputError, match=r"lane width must be 3..82 px"):
        analyse_blot(img, lane_width=2)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(2, 9),
    width=st.integers(16, 40),
    gap=st.integers(0, 6),
    seed=st.integers(0, 10_000),
)
def test_lane_count_inferred_for_touching_and_packed_lanes(n, width, gap, seed):
    """Property: whatever the lane count, width and gap (0 = touching), the count is found
    and the lanes' centres are within 2 px of the truth."""
    vol = np.random.default_rng(seed).uniform(1e5, 4e5, (n, 2))
    blot = render_blot(vol, lane_width=width, gap=gap, seed=seed, **NOISY)
    res = analyse_blot(blot.image)
    assert res.n_lanes == n
    got = np.array([(a + b) / 2 for a, b in res.lanes])
    np.testing.assert_allclose(got, [(a + b) / 2 for a, b in blot.lanes], atol=2.0)


# ----------------------------------------------------------------------------- a real gel
def _published(test_data):
    return pd.read_csv(test_data / "blot" / "published_relative.csv")


WINDOWS = {1: (75, 155), 2: (75, 145), 3: (70, 140), 4: (70, 140)}


def test_real_gel_lanes_found_where_they_touch(test_data):
    """Harman et al. 2020 (eLife 9:e54100): five touching lanes in each of four crops; the
    count is inferred, and the lanes are within 5 px of the authors' equal fifths."""
    for crop in (1, 2, 3, 4):
        img = read_blot_image(test_data / "blot" / f"harman2020_crop{crop}.png")
        res = analyse_blot(img, window=[WINDOWS[crop]])
        assert res.n_lanes == 5 and res.inverted
        w = img.shape[1]
        fifths = [w * (k + 0.5) / 5 for k in range(5)]
        np.testing.assert_allclose([(a + b) / 2 for a, b in res.lanes], fifths, atol=5)


def test_real_gel_matches_the_published_band_areas(test_data):
    """Outside reference: the authors' relative band areas (their gelquant notebook, the
    windows and background rows they used; tests/data/blot/README.md).

    Same windows, lanes found by letrolab (theirs: equal fifths, Gaussian-weighted toward the
    lane's middle; ours: a plain sum over the lane box), straight baseline between the
    window's ends (theirs: the same after subtracting the background rows' mean, which the
    line absorbs). Tolerances: per lane 0.07 on crops 1-3 and 0.16 on crop 4 (measured
    0.064, 0.063, 0.046 and 0.138: crop 4's bands are doublets narrower than the lanes, so the
    weighting of the lane edges, where neighbours bleed in, matters most there); the
    half-life the authors derived, the decay rate k of a*exp(-k t) fitted to both replicates,
    within one standard error of their own fit (measured 0.329 vs 0.311 +- 0.097 /min for
    protein a, 0.0154 vs 0.0123 +- 0.0045 /min for b)."""
    pub = _published(test_data)
    ours = {}
    for crop, tol in ((1, 0.07), (2, 0.07), (3, 0.07), (4, 0.16)):
        img = read_blot_image(test_data / "blot" / f"harman2020_crop{crop}.png")
        res = analyse_blot(img, lanes=5, window=[WINDOWS[crop]])
        ours[crop] = res.bands.sort_values("lane")["relative"].to_numpy()
        theirs = pub[pub["crop"] == crop].sort_values("lane")["relative"].to_numpy()
        np.testing.assert_allclose(ours[crop], theirs, atol=tol)
    assert (np.diff(ours[1]) < 0).all()  # the lane 1 doublet: a monotone decay

    def rate(values):
        t = np.tile([0.0, 1.0, 2.0, 5.0, 30.0], 2)
        p, cov = curve_fit(lambda x, a, k: a * np.exp(-k * x), t, values, p0=[1.0, 0.2])
        return p[1], float(np.sqrt(cov[1, 1]))

    for a, b in ((1, 2), (3, 4)):
        both = pub[pub["crop"].isin([a, b])].sort_values(["crop", "lane"])["relative"]
        k_pub, se_pub = rate(both.to_numpy())
        k_ours, _ = rate(np.concatenate([ours[a], ours[b]]))
        assert abs(k_ours - k_pub) < se_pub


def test_real_gel_crop_edge_is_not_a_band(test_data):
    """Crop 1 takes in the gel's bottom edge (rows ~165-180): no band is reported there."""
    img = read_blot_image(test_data / "blot" / "harman2020_crop1.png")
    res = analyse_blot(img, lanes=5)
    assert res.bands["row"].max() < 160
    assert any("crop edge" in w for w in res.warnings)


# ------------------------------------------------------------------------------------ CLI
def test_blot_cli_json_and_out(run_cli, tmp_path):
    vol = np.array([[1e5, 2e5], [2e5, 2e5], [3e5, 1e5]])
    render_blot(vol, noise=5.0, gradient=(200.0, 100.0), gap=0).save(tmp_path / "b.tif")
    code, out, err = run_cli(
        "blot", tmp_path / "b.tif", "--lanes", "3", "--json", "--out", tmp_path / "o"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["background"] == "baseline"
    bands = pd.DataFrame(doc["bands"])
    got = bands.pivot(index="lane", columns="band", values="area").to_numpy()
    np.testing.assert_allclose(got, vol, rtol=0.05)
    rel = bands.pivot(index="lane", columns="band", values="relative").to_numpy()
    np.testing.assert_allclose(rel, vol / vol[0], rtol=0.05)
    assert sorted(p.name for p in (tmp_path / "o").iterdir() if p.name != MARKER) == [
        "bands.csv",
        "blot.json",
        "blot.png",
    ]
    code, out, err = run_cli(
        "blot", tmp_path / "b.tif", "--background", "region", "--region", "0:30",
        "--window", "100:120", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["background"] == "region" and {b["band"] for b in doc["bands"]} == {1}
    code, out, _ = run_cli("blot", tmp_path / "b.tif")
    assert code == 0 and "lane 3 band 2" in out and "background baseline" in out


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--window", "20"), "--window must be rows Y0:Y1"),
        (("--window", "30:10"), "must have 0 <= Y0 < Y1"),
        (("--background", "region"), "needs the background rows"),
        (("--lanes", "nope.csv"), "lane boxes 'nope.csv' do not exist"),
    ],
)
def test_blot_cli_errors_are_one_line(run_cli, tmp_path, args, match):
    render_blot([[1e5], [2e5]]).save(tmp_path / "b.tif")
    code, out, err = run_cli("blot", tmp_path / "b.tif", *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and match in err


@settings(max_examples=15, deadline=None)
@given(gy=st.floats(0.0, 3000.0), gx=st.floats(-2000.0, 2000.0))
def test_baseline_removes_any_planar_background(gy, gx):
    """Property: under ``baseline``, a planar background (any vertical and horizontal ramp)
    leaves every band's area as it is on a flat background (noise-free float images): the
    line under each peak touches the profile from below on both sides, exact for a
    background linear along the lane. (With the plain flanking minima, a steep ramp pulled
    the minimum on the rising side into the band's tail and lost up to 3.6 %.)"""
    vol = _vol(13, (4, 3))
    flat = analyse_blot(render_blot(vol, gap=0, dtype="float", background=5000.0).image)
    ramp = render_blot(vol, gap=0, dtype="float", background=5000.0, gradient=(gy, gx))
    res = analyse_blot(ramp.image)
    np.testing.assert_allclose(_areas(res), _areas(flat), rtol=0.005)
    np.testing.assert_allclose(_areas(res), vol, rtol=0.01)
