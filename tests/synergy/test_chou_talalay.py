"""Chou–Talalay CI, DRI, Fa-CI and labels against published and hand-computed values."""

import numpy as np
import pandas as pd
import pytest

from letrolab._results import Failed
from letrolab.errors import FitError, InputError
from letrolab.synergy import chou_talalay, ci_label, combination_index, combination_index_points


def _fa(dm, m, d):
    d = np.asarray(d, dtype=float)
    return 1.0 / (1.0 + (dm / d) ** m)


def _two_drug(singles, combos, *, block="1", names=("A", "B"), unit=None):
    """Tidy rows from exact median-effect singles ((dm, m, doses) per drug) and combos."""
    rows = []
    for j, (dm, m, doses) in enumerate(singles):
        for d in doses:
            c = [0.0, 0.0]
            c[j] = d
            rows.append((block, *names, *c, 100 * float(_fa(dm, m, d))))
    for d1, d2, fa in combos:
        rows.append((block, *names, d1, d2, 100 * fa))
    df = pd.DataFrame(
        rows, columns=["block_id", "drug_row", "drug_col", "conc_r", "conc_c", "response"]
    )
    if unit:
        df["conc_r_unit"] = unit
        df["conc_c_unit"] = unit
    return df


# --- published worked example --------------------------------------------------------------
def _published_rows(test_data):
    return pd.read_csv(test_data / "chou_talalay" / "molecules2020_table3.csv")


def test_published_compusyn_ci_and_dri_at_ic50(test_data):
    """Molecules 2020;25:200, Table 3: equal-mass mixtures, CI and DRI at fa = 0.5 (CompuSyn).

    Each drug and mixture is given exact median-effect data with the published IC50 as Dm
    (the slope does not matter at fa = 0.5); the mixture is detected as a constant-ratio
    series, fitted as a drug, and its CI and DRI at fa = 0.5 must match the published
    two-decimal values: CI and DRI to 0.01 absolute or 1 % (the published IC50s are rounded
    to two decimals too, e.g. 2.28 carries +-0.2 %, on top of the output's +-0.005).
    """
    table = _published_rows(test_data)
    frames = []
    for _, row in table.iterrows():
        ic50 = [row["ic50_1"], row["ic50_2"], row["ic50_3"]]
        k = 3 if np.isfinite(ic50[2]) else 2
        slopes = [0.8, 1.3, 1.9][:k]
        recs = []
        for j in range(k):
            for d in ic50[j] * np.array([0.25, 0.5, 1.0, 2.0, 4.0]):
                c = [0.0] * k
                c[j] = d
                recs.append((*c, 100 * float(_fa(ic50[j], slopes[j], d))))
        for t in row["ic50_mix"] * np.array([0.25, 0.5, 1.0, 2.0, 4.0]):
            recs.append((*([t / k] * k), 100 * float(_fa(row["ic50_mix"], 1.1, t))))
        df = pd.DataFrame(recs, columns=[*(f"conc{j + 1}" for j in range(k)), "response"])
        df["block_id"] = f"{row['assay']} {row['combination']}"
        for j, name in enumerate(row["combination"].split(":")):
            df[f"drug{j + 1}"] = name
        frames.append((k, df))
    for k in (2, 3):
        data = pd.concat([df for kk, df in frames if kk == k], ignore_index=True)
        res = chou_talalay(data)
        for bid, block in res.blocks.items():
            row = table[(table["assay"] + " " + table["combination"]) == bid].iloc[0]
            (mix,) = block.mixtures
            summary = mix.summary()
            assert summary["ci_at_fa"]["0.5"] == pytest.approx(row["ci"], abs=0.01), bid
            for j, drug in enumerate(mix.drugs):
                want = row[f"dri_{j + 1}"]
                got = summary["dri_at_fa"][drug]["0.5"]
                assert got == pytest.approx(want, rel=0.01, abs=0.01), (bid, drug)
            assert (
                ci_label(summary["ci_at_fa"]["0.5"]) == ci_label(row["ci"])
                or abs(row["ci"] - 1.1) < 0.02
            )


def test_agrees_with_the_synergy_package_per_point(test_data):
    """Per-point CI equals synergy 1.0.0's CombinationIndex on the same blocks to 1e-9."""
    ref = pd.read_csv(test_data / "chou_talalay" / "synergy_pkg_reference.csv")
    res = chou_talalay(ref.drop(columns=["ci_synergy"]))
    frame = res.to_frame()
    combos = ref[(ref["conc_r"] > 0) & (ref["conc_c"] > 0)].copy()
    combos["block_id"] = combos["block_id"].astype(str)
    merged = combos.merge(
        frame,
        left_on=["block_id", "conc_r", "conc_c"],
        right_on=["block_id", "conc1", "conc2"],
        how="left",
    )
    have = np.isfinite(merged["ci_synergy"].to_numpy())
    assert have.sum() >= 60
    # points synergy leaves without a CI (fa outside (0, 1)) have none here either
    assert merged.loc[~have, "ci"].isna().all()
    np.testing.assert_allclose(merged.loc[have, "ci"], merged.loc[have, "ci_synergy"], rtol=1e-9)


# --- hand-computed ---------------------------------------------------------------------------
def test_hand_computed_point_ci_dri_and_nonexclusive():
    # A: Dm 10, m 1; B: Dm 20, m 2. At fa = 0.5, Dx = Dm, so the point (2, 5) has
    # CI = 2/10 + 5/20 = 0.45; non-exclusive adds 0.2 * 0.25 = 0.05; DRI = 5 and 4.
    # At fa = 0.8 (fa/fu = 4): Dx_A = 40, Dx_B = 40; point (8, 10): CI = 0.2 + 0.25 = 0.45.
    df = _two_drug(
        [(10.0, 1.0, [2.5, 5, 10, 20, 40]), (20.0, 2.0, [5, 10, 20, 40, 80])],
        [(2.0, 5.0, 0.5), (8.0, 10.0, 0.8)],
    )
    block = chou_talalay(df)["1"]
    np.testing.assert_allclose(block.ci, [0.45, 0.45], rtol=1e-12)
    np.testing.assert_allclose(block.ci_nonexclusive, [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(block.dri, [[5.0, 4.0], [5.0, 4.0]], rtol=1e-12)
    assert list(block.labels) == ["synergism", "synergism"]
    iso = block.isobologram()
    np.testing.assert_allclose(iso["norm_A"], [0.2, 0.2], rtol=1e-12)
    np.testing.assert_allclose(iso["norm_B"], [0.25, 0.25], rtol=1e-12)


def test_hand_computed_mixture_fa_ci_table():
    # Mixture 1:1 built so that (Dx)mix = 2 * Dm_mix (fa/fu)^(1/m_mix) with Dm_mix = 10, m = 1.
    # A: Dm 10, m 1; B: Dm 20, m 1. At fa: (Dx)mix = 10 r, d_A = d_B = 5 r, Dx_A = 10 r,
    # Dx_B = 20 r (r = fa/fu) -> CI = 0.5 + 0.25 = 0.75 at every fa; DRI 2 and 4.
    t = np.array([2.0, 5.0, 10.0, 20.0, 50.0])
    combos = [(x / 2, x / 2, float(_fa(10.0, 1.0, x))) for x in t]
    df = _two_drug([(10.0, 1.0, [1, 3, 10, 30, 100]), (20.0, 1.0, [2, 6, 20, 60, 200])], combos)
    block = chou_talalay(df)["1"]
    (mix,) = block.mixtures
    assert mix.ratio == pytest.approx((1.0, 1.0))
    np.testing.assert_allclose(mix.ci, 0.75, rtol=1e-12)
    np.testing.assert_allclose(mix.dri, [[2.0, 4.0]] * 4, rtol=1e-12)
    # non-exclusive: + (0.5)(0.25)
    np.testing.assert_allclose(mix.ci_nonexclusive, 0.875, rtol=1e-12)
    assert mix.ci_at(0.3) == pytest.approx(0.75, rel=1e-12)
    curve = mix.curve()
    np.testing.assert_allclose(curve["ci"], 0.75, rtol=1e-12)
    assert set(mix.summary()["ci_at_fa"]) == {"0.5", "0.75", "0.9", "0.95"}


def test_three_drug_ci_is_the_sum_of_normalised_doses():
    # n-drug CI (Chou 2006 II.C.3): sum d_j/(Dx)_j; at fa = 0.5 with Dm 1, 2, 4 and doses
    # 0.1, 0.4, 1.2: 0.1 + 0.2 + 0.3 = 0.6.
    rows = []
    for j, dm in enumerate((1.0, 2.0, 4.0)):
        for d in dm * np.array([0.25, 0.5, 1, 2, 4]):
            c = [0.0, 0.0, 0.0]
            c[j] = d
            rows.append((*c, 100 * float(_fa(dm, 1.5, d))))
    rows.append((0.1, 0.4, 1.2, 50.0))
    df = pd.DataFrame(rows, columns=["conc1", "conc2", "conc3", "response"])
    df["drug1"], df["drug2"], df["drug3"] = "X", "Y", "Z"
    block = chou_talalay(df)["1"]
    assert block.ci == pytest.approx([0.6], rel=1e-12)
    summary = block.summary()
    assert "ci_nonexclusive" not in summary["points"][0]


def test_labels_follow_chou_2006_scale():
    cis = [0.05, 0.1, 0.29, 0.3, 0.69, 0.7, 0.84, 0.85, 0.89, 0.9, 1.0, 1.1, 1.19, 1.2, 1.44]
    cis += [1.45, 3.29, 3.3, 9.9, 10.0, 50.0]
    want = ["very strong synergism", "strong synergism", "strong synergism", "synergism"]
    want += ["synergism", "moderate synergism", "moderate synergism", "slight synergism"]
    want += ["slight synergism", "nearly additive", "nearly additive", "slight antagonism"]
    want += ["slight antagonism", "moderate antagonism", "moderate antagonism", "antagonism"]
    want += ["antagonism", "strong antagonism", "strong antagonism", "very strong antagonism"]
    want += ["very strong antagonism"]
    assert list(ci_label(cis)) == want
    with pytest.raises(InputError, match="finite number >= 0"):
        ci_label(float("nan"))


def test_combination_index_formula_checks():
    with pytest.raises(InputError, match="non-exclusive CI is defined here for two drugs"):
        combination_index([1, 1, 1], [2, 2, 2], exclusive=False)
    with pytest.raises(InputError, match="disagree in the number of drugs"):
        combination_index([1, 1], [2, 2, 2])
    with pytest.raises(InputError, match=r"conc must be \(blocks, points, drugs\)"):
        combination_index_points(np.ones((2, 3)), np.ones((2, 3)))


# --- warnings and failures ---------------------------------------------------------------------
def test_fa_outside_unit_interval_is_dropped_and_warned():
    df = _two_drug(
        [(10.0, 1.0, [2.5, 5, 10, 20, 40]), (20.0, 2.0, [5, 10, 20, 40, 80])],
        [(2.0, 5.0, 0.5), (8.0, 10.0, 1.0), (1.0, 1.0, -0.05)],
    )
    df.loc[len(df)] = ["1", "A", "B", 80.0, 0.0, 100.0]  # single agent at fa = 1
    block = chou_talalay(df)["1"]
    assert len(block.ci) == 1  # the two unusable combination points have no CI
    assert block.single_agents["A"].n == 5
    assert any("2 combination point(s) with fa outside (0, 1) dropped" in w for w in block.warnings)
    assert any("A: 1 point(s) with fa outside (0, 1) dropped" in w for w in block.warnings)


def test_low_r_and_extrapolation_are_warned():
    rng = np.random.default_rng(3)
    d = np.array([1.0, 2, 4, 8, 16])
    df = _two_drug([(4.0, 1.0, d), (4.0, 1.0, d)], [(0.5, 0.5, 0.97)])
    df.loc[df["conc_c"] == 0, "response"] += rng.normal(0, 12, (df["conc_c"] == 0).sum())
    df.loc[(df["conc_r"] == 0) & (df["conc_c"] > 0), "response"] += [20, -20, 15, -15, 10]
    block = chou_talalay(df)["1"]
    assert any("median-effect fit r = " in w and "< 0.95" in w for w in block.warnings)
    assert any("extrapolates a single-agent curve" in w for w in block.warnings)
    assert block.extrapolated.all()


def test_bad_blocks_fail_with_the_reason_and_others_go_on():
    good = _two_drug(
        [(10.0, 1.0, [2.5, 5, 10, 20]), (20.0, 2.0, [5, 10, 20, 40])],
        [(2.0, 5.0, 0.5)],
        block="good",
    )
    one_drug = _two_drug([(10.0, 1.0, [2.5, 5, 10, 20])], [], block="solo")
    few = _two_drug([(10.0, 1.0, [2.5, 5, 10]), (20.0, 2.0, [20])], [(2.0, 5.0, 0.5)], block="few")
    res = chou_talalay(pd.concat([good, one_drug, few], ignore_index=True))
    assert res["good"] and len(res["good"].ci) == 1
    assert isinstance(res["solo"], Failed)
    assert res["solo"].reason.startswith("block solo: only one drug (A) has doses > 0")
    assert not res["few"]
    assert res["few"].reason.startswith("block few: drug B: fewer than 2 usable points")
    with pytest.raises(FitError, match="block few: drug B"):
        _ = res["few"].ci
    summary = res.summary()["blocks"]
    assert [b["block_id"] for b in summary] == ["good", "solo", "few"]
    assert summary[1]["error"].startswith("block solo: only one drug")
    assert "FAILED" in res.report()


def test_bad_fa_levels_are_refused():
    df = _two_drug([(1.0, 1.0, [0.5, 1, 2]), (1.0, 1.0, [0.5, 1, 2])], [])
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        chou_talalay(df, fa_levels=(0.5, 1.0))


def test_replicates_are_averaged_and_counted():
    df = _two_drug([(10.0, 1.0, [2.5, 5, 10, 20]), (20.0, 2.0, [5, 10, 20, 40])], [(2.0, 5.0, 0.5)])
    df2 = df.copy()
    df.loc[df.index[-1], "response"] = 48.0
    df2.loc[df2.index[-1], "response"] = 52.0
    block = chou_talalay(pd.concat([df, df2]))["1"]
    assert block.n.tolist() == [2]
    assert block.fa.tolist() == [pytest.approx(0.5)]
    assert block.to_frame()["n"].tolist() == [2]


def test_results_render_as_text_dict_and_tables(tmp_path):
    df = _two_drug(
        [(10.0, 1.0, [1, 3, 10, 30, 100]), (20.0, 1.0, [2, 6, 20, 60, 200])],
        [(x / 2, x / 2, float(_fa(10.0, 1.0, x))) for x in (2.0, 5.0, 10.0, 20.0, 50.0)],
        unit="nM",
    )
    res = chou_talalay(df)
    block = res["1"]
    assert "mixture A+B (1:1)" in block.report()
    assert block.unit == "nM"
    assert res.to_frame().shape[0] == 5
    assert set(block.fa_ci_table()["fa"]) == {0.5, 0.75, 0.9, 0.95}
    res.write_tables(tmp_path)
    written = sorted(p.name for p in (tmp_path / "block_1").iterdir())
    assert written == [
        "block_id.txt",
        "fa_ci_curve.csv",
        "fa_ci_table.csv",
        "isobologram.csv",
        "points.csv",
        "single_agents.csv",
        "warnings.txt",
    ]
    assert "extrapolates" in (tmp_path / "block_1" / "warnings.txt").read_text()
    assert (tmp_path / "chou_talalay.json").is_file()


def test_published_constant_ratio_fa_ci_table_pnas1998(test_data):
    """PNAS 1998;95:8369, Table 3 (P388/DX cells): NAA + doxorubicin 5:1, CI at IC50-IC95.

    Exact median-effect data with the published Dm and m of each drug and of the mixture;
    the published CIs (means over experiments, parameters rounded to two digits) must be
    met to 0.01 absolute or 5 %, the DRIs at IC50 to 5 %.
    """
    p = pd.read_csv(test_data / "chou_talalay" / "pnas1998_table3_p388dx.csv")
    v = dict(zip(p["quantity"], p["value"], strict=True))
    dm_mix = v["mixture_doxorubicin_uM_at_ic50"] + v["mixture_naa_uM_at_ic50"]
    share = v["mixture_doxorubicin_uM_at_ic50"] / dm_mix
    rows = []
    for d in v["dm_doxorubicin_uM"] * np.geomspace(0.1, 10, 6):
        rows.append(("doxorubicin", "NAA", d, 0.0, 100 * _fa(v["dm_doxorubicin_uM"], 1.0, d)))
    for d in v["dm_naa_uM"] * np.geomspace(0.1, 10, 6):
        rows.append(("doxorubicin", "NAA", 0.0, d, 100 * _fa(v["dm_naa_uM"], v["m_naa"], d)))
    for t in dm_mix * np.geomspace(0.1, 10, 6):
        fa = float(_fa(dm_mix, v["m_mixture"], t))
        rows.append(("doxorubicin", "NAA", share * t, (1 - share) * t, 100 * fa))
    df = pd.DataFrame(rows, columns=["drug_row", "drug_col", "conc_r", "conc_c", "response"])
    df["conc_r_unit"] = df["conc_c_unit"] = "uM"
    (mix,) = chou_talalay(df)["1"].mixtures
    assert mix.ratio == pytest.approx((1.0, 5.0))
    got = mix.summary()
    levels = [("0.5", "ci_ic50"), ("0.75", "ci_ic75"), ("0.9", "ci_ic90"), ("0.95", "ci_ic95")]
    for key, name in levels:
        assert got["ci_at_fa"][key] == pytest.approx(v[name], rel=0.05, abs=0.01)
    assert got["dri_at_fa"]["doxorubicin"]["0.5"] == pytest.approx(
        v["dri_doxorubicin_ic50"], rel=0.05
    )
    assert got["dri_at_fa"]["NAA"]["0.5"] == pytest.approx(v["dri_naa_ic50"], rel=0.05)
    assert got["dm"] == pytest.approx(dm_mix, rel=1e-9)  # in the input's unit (uM)


def test_constant_ratio_detection_tolerates_rounded_dilutions_only():
    singles = [(10.0, 1.0, [1, 3, 10, 30, 100]), (20.0, 1.0, [2, 6, 20, 60, 200])]
    # a 1:2 series written with few digits (0.7812 for 0.78125) is one mixture ...
    series = [(0.78125 * 2**i, 1.5625 * 2**i) for i in range(5)]
    series[0] = (0.7812, 1.5625)
    # ... and three points at 1:2.2 (a different ratio, 4 % off) are another one
    other = [(1.0 * 3**i, 2.2 * 3**i) for i in range(3)]
    combos = [(a, b, 0.3 + 0.1 * i) for i, (a, b) in enumerate(series)]
    combos += [(a, b, 0.4 + 0.1 * i) for i, (a, b) in enumerate(other)]
    block = chou_talalay(_two_drug(singles, combos))["1"]
    ratios = sorted(round(m.ratio[1] / m.ratio[0], 2) for m in block.mixtures)
    assert ratios == [2.0, 2.2]
    assert sorted(m.fit.n for m in block.mixtures) == [3, 5]


def test_checkerboard_with_different_dilution_factors_has_no_mixture():
    d1 = [0.5, 1, 2, 4]  # 2-fold
    d2 = [1, 3, 9, 27]  # 3-fold: no two cells share a dose ratio
    combos = [(a, b, 0.5) for a in d1 for b in d2]
    block = chou_talalay(_two_drug([(2.0, 1.0, d1), (9.0, 1.0, d2)], combos))["1"]
    assert block.mixtures == ()
    assert len(block.ci) == 16


def test_mixed_units_are_converted_to_each_blocks_own_unit():
    """Doses are reported in each block's (first) unit; a mixed block is converted and warned."""
    singles = [(10.0, 1.0, [2.5, 5, 10, 20, 40]), (20.0, 2.0, [5, 10, 20, 40, 80])]
    nm = _two_drug(singles, [(2.0, 5.0, 0.5), (8.0, 10.0, 0.8)], block="n", unit="nM")
    um = _two_drug(singles, [(2.0, 5.0, 0.5), (8.0, 10.0, 0.8)], block="u", unit="nM")
    um[["conc_r", "conc_c"]] = um[["conc_r", "conc_c"]] / 1000.0
    um[["conc_r_unit", "conc_c_unit"]] = "uM"
    um.loc[1, ["conc_r", "conc_r_unit"]] = [5.0, "nM"]  # one row of block u written in nM
    nm.loc[1, ["conc_r", "conc_r_unit"]] = [0.005, "uM"]  # one row of block n written in uM
    res = chou_talalay(pd.concat([nm, um], ignore_index=True))
    assert res["n"].unit == "nM" and res["u"].unit == "uM"
    assert res["n"].single_agents["A"].dm == pytest.approx(10.0, rel=1e-9)
    assert res["u"].single_agents["A"].dm == pytest.approx(0.010, rel=1e-9)
    np.testing.assert_allclose(res["u"].ci, res["n"].ci, rtol=1e-9)
    assert "block n: mixed concentration units converted to nM" in res["n"].warnings
    assert "block u: mixed concentration units converted to uM" in res["u"].warnings


def test_fractions_given_instead_of_percentages_are_refused_unless_declared():
    """Fractions read as percentages gave 'very strong antagonism' (issue 16): refused, and
    with scale='fraction' the analysis equals the one of the percentages."""
    from letrolab.errors import InputError
    from letrolab.synergy.tidy import normalise_combination

    singles = [(10.0, 1.0, [2.5, 5, 10, 20, 40]), (20.0, 2.0, [5, 10, 20, 40, 80])]
    df = _two_drug(singles, [(2.0, 5.0, 0.5), (8.0, 10.0, 0.8)])
    ref = chou_talalay(df)["1"]
    assert not any("at most 1 %" in w for w in ref.warnings)
    df["response"] = df["response"] / 100.0
    with pytest.raises(InputError, match=r"looks like fractions .* --response-scale fraction"):
        chou_talalay(df)
    block = chou_talalay(normalise_combination(df, scale="fraction"))["1"]
    np.testing.assert_allclose(block.ci, ref.ci, rtol=1e-12)


def test_no_rows_at_all_is_a_clear_failure_message():
    from letrolab.synergy.ct import ChouTalalayResult

    assert "no usable rows" in ChouTalalayResult(blocks={}, drugs={}).failure_message()


def test_a_nearly_flat_curve_gives_no_infinite_ci():
    """Drug B with m = 5e-4: at fa = 0.4, (Dx)_B underflows to 0 and d/(Dx) would be inf.

    Such points get no CI and a warning; the block still renders (labels, JSON, report).
    """
    rows = [("A", "B", d, 0, 100 / (1 + 5 / d)) for d in (1, 2, 4, 8, 16)]
    rows += [("A", "B", 0, d, 100 / (1 + (50 / d) ** 5e-4)) for d in (1, 10, 100, 1000)]
    rows += [("A", "B", 2, 10, 95.0), ("A", "B", 2, 10.5, 40.0), ("A", "B", 3, 10, 50.0)]
    df = pd.DataFrame(rows, columns=["drug_row", "drug_col", "conc_r", "conc_c", "response"])
    res = chou_talalay(df)
    block = res["1"]
    assert np.all(np.isfinite(block.ci))
    assert "2 combination point(s) without a CI" in " ".join(block.warnings)
    assert res.summary()["blocks"][0]["points"][0]["fa"] == pytest.approx(0.5)
    assert "block 1" in res.report()


def test_combination_index_is_nan_where_a_dose_overflowed():
    ci = combination_index(
        [[1.0, 2.0], [1.0, 2.0], [1.0, 0.0]], [[2.0, np.inf], [2.0, 0.0], [2.0, 0.0]]
    )
    assert np.isnan(ci[0]) and np.isnan(ci[1])
    assert ci[2] == 0.5  # drug 2 absent: its (Dx) does not matter
