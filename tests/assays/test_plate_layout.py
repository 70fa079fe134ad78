"""Layouts, viability, QC and the combination table; writers; bad files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letrolab.assays.plates import (
    analyse_plate,
    plate_qc,
    read_layout,
    read_plate,
    read_plate_combination,
    row_letters,
)
from letrolab.errors import FormatError, InputError, UnitError
from letrolab.instruments.plates import write_layout, write_plate

BLANK, VEHICLE = 0.08, 1.60


def _fraction(a_nm, b_nm):
    """Bliss-independent two-drug surface (fraction of vehicle signal) used to make reads."""
    return 1.0 / (1.0 + np.asarray(a_nm) / 10.0) / (1.0 + np.asarray(b_nm) / 100.0)


def _combo_wells(layout_df: pd.DataFrame, plate: str, *, scale=1.0, edge=1.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for x in layout_df.itertuples():
        if x.role == "blank":
            v = BLANK
        elif x.role == "vehicle":
            v = VEHICLE
        else:
            v = BLANK + (VEHICLE - BLANK) * _fraction(x.conc1, x.conc2)
        r, c = x.well[0], int(x.well[1:])
        if edge != 1.0 and x.role == "vehicle" and (r in "AH" or c in (1, 12)):
            v *= edge
        v = scale * v * (1 + noise * rng.standard_normal())
        rows.append({"plate": plate, "well": x.well, "read": "A490", "value": v})
    return pd.DataFrame(rows)


@pytest.fixture
def combo_layout(test_data):
    path = test_data / "plates" / "combo_6x6.layout.csv"
    return path, pd.read_csv(path, keep_default_na=False)


@pytest.fixture
def combo_read(tmp_path, combo_layout):
    _, lay = combo_layout
    wells = pd.concat(
        [_combo_wells(lay, "Plate 1"), _combo_wells(lay, "Plate 2", scale=1.3)],
        ignore_index=True,
    )
    path = tmp_path / "read.txt"
    write_plate(path, wells, format="gen5")
    return path


# ----------------------------------------------------------------------------- real vendor file
def test_viability_on_real_envision_file_by_hand(shared_data, test_data):
    """Blank and vehicle means and B4/B5 of both plates, read by eye from the raw CSV."""
    read = (
        shared_data / "plates" / "perkinelmer_envision" / "PE_Envision_absorbance_A450_example.csv"
    )
    res = analyse_plate(read, test_data / "plates" / "envision_a450.layout.csv")
    v = res.viability.set_index(["plate", "well"])["viability"]
    b1, v1 = np.mean([0.15, 0.085, 0.10]), np.mean([1.85, 1.80, 1.75])
    b2, v2 = np.mean([0.30, 0.27, 0.32]), np.mean([2.00, 1.95, 2.05])
    assert v["Plate 1", "B4"] == pytest.approx(100 * (1.00 - b1) / (v1 - b1), rel=1e-12)
    assert v["Plate 1", "B5"] == pytest.approx(100 * (1.05 - b1) / (v1 - b1), rel=1e-12)
    assert v["Plate 2", "B4"] == pytest.approx(100 * (1.45 - b2) / (v2 - b2), rel=1e-12)
    assert v["Plate 2", "B5"] == pytest.approx(100 * (1.80 - b2) / (v2 - b2), rel=1e-12)
    comb = res.combination
    # single agents get the other drug's name from the plate; vehicles are the 0,0 dose
    assert set(comb["drug_row"]) == {"letrozole"} and set(comb["drug_col"]) == {"NVP-AEW541"}
    assert ((comb["conc_r"] == 0) & (comb["conc_c"] == 0)).sum() == 6
    qc = {q.plate: q for q in res.qc}
    sd = np.std([1.85, 1.80, 1.75], ddof=1) + np.std([0.15, 0.085, 0.10], ddof=1)
    assert qc["Plate 1"].z_prime == pytest.approx(1 - 3 * sd / (v1 - b1), rel=1e-12)


# ----------------------------------------------------------------------------- combination
def test_combination_table_recovers_the_generating_surface(combo_read, combo_layout):
    layout_path, _ = combo_layout
    comb = read_plate_combination(combo_read, layout_path)
    assert list(comb.columns[:9]) == [
        "block_id", "drug_row", "drug_col", "conc_r", "conc_c", "conc_r_unit", "conc_c_unit",
        "response", "replicate",
    ]  # fmt: skip
    assert comb.attrs["read"] == "A490"
    treated = comb[(comb["conc_r"] > 0) | (comb["conc_c"] > 0)]
    expected = 100 * _fraction(treated["conc_r"], treated["conc_c"])
    # the Gen5 writer keeps full float precision, so the recovery is exact up to rounding
    np.testing.assert_allclose(treated["response"], expected, rtol=1e-9)
    assert set(comb["plate"]) == {"Plate 1", "Plate 2"}  # one map, applied to both plates
    assert (comb.groupby(["conc_r", "conc_c"]).size().loc[(1.0, 10.0)]) == 2  # 2 replicates
    assert comb.attrs["warnings"] == []


def test_combination_feeds_the_synergy_reader(combo_read, combo_layout):
    from letrolab.synergy.tidy import normalise_combination

    comb = read_plate_combination(combo_read, combo_layout[0])
    data = normalise_combination(comb, response="viability")
    t = data.table
    assert data.n_drugs == 2 and len(t) == 36
    zero = t[(t["conc1"] == 0) & (t["conc2"] == 0)]
    assert zero["response"].item() == pytest.approx(0.0, abs=1e-9)  # vehicle: 0 % inhibition
    assert t["conc2"].max() == pytest.approx(1e-6)  # 1000 nM in molar


def test_multi_plate_layout_by_name_and_position(tmp_path, combo_layout):
    _, lay = combo_layout
    wells = pd.concat(
        [_combo_wells(lay, "Plate 1"), _combo_wells(lay, "Plate 2", scale=0.5)], ignore_index=True
    )
    read = tmp_path / "r.csv"
    write_plate(read, wells)
    two = pd.concat([lay.assign(plate="Plate 1"), lay.assign(plate="2")], ignore_index=True)
    write_layout(tmp_path / "two.csv", two)
    res = analyse_plate(read, tmp_path / "two.csv")
    assert [q.plate for q in res.qc] == ["Plate 1", "Plate 2"]
    veh = res.viability[res.viability["role"] == "vehicle"]
    assert veh.groupby("plate")["viability"].mean().to_numpy() == pytest.approx([100, 100])


def test_flagged_wells_are_dropped_with_a_warning(tmp_path, combo_layout):
    _, lay = combo_layout
    wells = _combo_wells(lay, "Plate 1")
    wells["flag"] = "ok"
    wells.loc[wells["well"] == "C3", ["flag", "value"]] = ["saturated", np.nan]
    wells.loc[wells["well"] == "B12", ["flag", "value"]] = ["non_numeric", np.nan]
    read = tmp_path / "r.txt"
    write_plate(read, wells, format="gen5")
    comb = read_plate_combination(read, combo_layout[0])
    assert "C3" not in set(comb["well"])
    warns = " ".join(comb.attrs["warnings"])
    assert "C3 saturated" in warns and "B12 non_numeric" in warns


# ----------------------------------------------------------------------------- QC
def test_qc_warns_on_edge_effect_and_low_z(tmp_path, combo_layout):
    _, lay = combo_layout
    wells = pd.concat(
        [
            _combo_wells(lay, "Plate 1", noise=0.01, seed=1),
            _combo_wells(lay, "Plate 2", edge=0.8, noise=0.01, seed=2),
            _combo_wells(lay, "Plate 3", noise=0.3, seed=3),
        ],
        ignore_index=True,
    )
    write_plate(tmp_path / "r.csv", wells)
    res = analyse_plate(tmp_path / "r.csv", combo_layout[0])
    q1, q2, q3 = res.qc
    assert q1.warnings == () and q1.z_prime > 0.9
    assert q2.edge_ratio == pytest.approx(0.8, abs=0.02) and q2.edge_p < 1e-6
    assert any("edge effect" in w for w in q2.warnings)
    assert q3.z_prime < 0.5 and any("Z'" in w for w in q3.warnings)
    assert any("CV of vehicle" in w for w in q3.warnings)


def test_plate_qc_matches_zhang_1999_definition():
    pos = np.array([10.0, 12.0, 11.0, 9.0])
    neg = np.array([1.0, 1.5, 0.5, 1.0])
    q = plate_qc("P", "r", pos, neg)
    ref = 1 - 3 * (pos.std(ddof=1) + neg.std(ddof=1)) / abs(pos.mean() - neg.mean())
    assert q.z_prime == pytest.approx(ref, rel=1e-12)
    assert q.cv_vehicle == pytest.approx(100 * pos.std(ddof=1) / pos.mean())
    assert set(q.summary()) >= {"z_prime", "cv_vehicle", "cv_blank", "edge_ratio", "warnings"}


# ----------------------------------------------------------------------------- property tests
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    blank=st.floats(0.0, 1.0),
    span=st.floats(0.05, 5.0),
    a=st.floats(0.1, 100.0),
    b=st.floats(-10.0, 10.0),
    seed=st.integers(0, 2**16),
)
def test_viability_invariants(tmp_path, blank, span, a, b, seed):
    """Vehicle mean = 100, blank mean = 0; viability unchanged by an affine change of the signal."""
    rng = np.random.default_rng(seed)
    letters = row_letters(8)
    rows, lay = [], []
    for i, r in enumerate(letters):
        for c in range(1, 13):
            role = "blank" if c == 1 else "vehicle" if c == 12 else "treated"
            base = blank + span * (
                1.0 if role == "vehicle" else 0.0 if role == "blank" else rng.uniform()
            )
            val = base * (1 + 0.02 * rng.standard_normal()) + 0.001 * rng.standard_normal()
            rows.append({"well": f"{r}{c}", "value": val})
            lay.append({"well": f"{r}{c}", "role": role, "drug1": "A" if role == "treated" else "",
                        "conc1": i + c, "unit": "nM"})  # fmt: skip
    wells = pd.DataFrame(rows)
    lay = pd.DataFrame(lay)
    res = analyse_plate(
        wells.assign(plate="P", read="r", time_s=np.nan, flag="ok"), read_layout(lay)
    )
    v = res.viability
    assert v.loc[v["role"] == "vehicle", "viability"].mean() == pytest.approx(100.0, abs=1e-9)
    assert v.loc[v["role"] == "blank", "viability"].mean() == pytest.approx(0.0, abs=1e-7)
    moved = wells.assign(
        value=a * wells["value"] + b, plate="P", read="r", time_s=np.nan, flag="ok"
    )
    res2 = analyse_plate(moved, read_layout(lay))
    np.testing.assert_allclose(res2.viability["viability"], v["viability"], rtol=1e-7, atol=1e-7)


# ----------------------------------------------------------------------------- writers
@pytest.mark.parametrize("fmt", ["matrix", "tidy", "gen5"])
def test_writer_round_trip(tmp_path, fmt):
    rng = np.random.default_rng(0)
    n384 = [(r, c) for r in row_letters(16) for c in range(1, 25)]
    wells = pd.DataFrame(
        {
            "plate": "Screen 7",
            "well": [f"{r}{c}" for r, c in n384],
            "read": "Abs 490",
            "value": rng.uniform(0, 3, len(n384)),
            "flag": "ok",
        }
    )
    wells.loc[5, ["flag", "value"]] = ["saturated", np.nan]
    wells.loc[6, ["flag", "value"]] = ["missing", np.nan]
    second = wells.assign(read="Abs 650", value=wells["value"] / 2)
    src = pd.concat([wells, second], ignore_index=True)
    path = tmp_path / f"plate.{fmt}.txt"
    write_plate(path, src, format=fmt)
    back = read_plate(path)
    assert len(back) == 2 * 384 and set(back["read"]) == {"Abs 490", "Abs 650"}
    m = back.merge(src, on=["read", "well"], suffixes=("", "_in"))
    assert (m["flag"] == m["flag_in"]).all()
    np.testing.assert_array_equal(m["value"].to_numpy(), m["value_in"].to_numpy())
    assert set(back["wavelength"]) == {490.0, 650.0}


def test_layout_round_trip(tmp_path, combo_layout):
    path, _ = combo_layout
    a = read_layout(path)
    write_layout(tmp_path / "l.csv", a, read="A490")
    b = read_layout(tmp_path / "l.csv")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert b.read == "A490" and b.n_drugs == 2


# ----------------------------------------------------------------------------- bad input
def _layout_file(tmp_path, text):
    p = tmp_path / "layout.csv"
    p.write_text(text)
    return p


def test_layout_and_read_that_disagree(tmp_path, combo_read, combo_layout):
    _, lay = combo_layout
    big = pd.concat([lay, pd.DataFrame([{"well": "P24", "role": "vehicle"}])], ignore_index=True)
    write_layout(tmp_path / "big.csv", big)
    with pytest.raises(FormatError, match=r"layout and read disagree: layout well P24 .* 96-well"):
        read_plate_combination(combo_read, tmp_path / "big.csv")
    write_layout(tmp_path / "p9.csv", lay.assign(plate="Plate 9"))
    with pytest.raises(FormatError, match=r"layout plate 'Plate 9' is not in"):
        read_plate_combination(combo_read, tmp_path / "p9.csv")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("well,role\nA1,control\n", r"role 'control' is not one of blank, vehicle, treated"),
        ("well,kind\nA1,blank\n", r"needs 'well' and 'role' columns"),
        ("well,role\n9Z,blank\n", r"'9Z' is not a well name"),
        ("well,role\nA1,blank\nA01,vehicle\n", r"well A1 .* listed twice"),
        ("well,role,drug1,conc1,drug2,conc2\nA1,treated,x,5,y,1\n", r"conc1 has no unit"),
        (
            "well,role,drug1,conc1,unit\nA1,treated,x,5,furlongs\n",
            r"unknown concentration unit 'furlongs'",
        ),
        ("well,role,drug1,conc1,unit\nA1,treated,x,-5,nM\n", r"conc1 '-5' is not a concentration"),
        ("well,role,drug1,conc1,unit\nA1,treated,,5,nM\n", r"treated well names no drug"),
    ],
)
def test_bad_layouts(tmp_path, text, match):
    with pytest.raises((InputError, UnitError), match=match):
        read_layout(_layout_file(tmp_path, text))


def test_no_vehicle_and_one_drug(tmp_path, combo_read):
    lay = _layout_file(tmp_path, "well,role\nA1,blank\nA2,blank\n")
    with pytest.raises(InputError, match=r"no usable vehicle wells"):
        analyse_plate(combo_read, lay)
    lay = _layout_file(
        tmp_path, "well,role,drug1,conc1,unit\nA1,blank,,,\nA2,vehicle,,,\nB2,treated,x,1,nM\n"
    )
    with pytest.raises(InputError, match=r"fewer than two drugs"):
        read_plate_combination(combo_read, lay)


def test_several_reads_need_a_choice(shared_data, tmp_path):
    read = shared_data / "plates" / "biotek_gen5" / "multiple_read_modes.txt"
    lay = _layout_file(tmp_path, "well,role\nA1,blank\nB1,vehicle\n")
    with pytest.raises(InputError, match=r"several reads .*'# read: LABEL'"):
        analyse_plate(read, lay)
    res = analyse_plate(read, lay, read_label="absorbance 600")
    assert res.read == "absorbance 600"
    with pytest.raises(InputError, match=r"has no read 'od:600'; its reads are \['absorbance 600'"):
        analyse_plate(read, lay, read_label="od:600")


def test_truncated_and_wrong_files(shared_data, tmp_path):
    src = shared_data / "plates"
    gen5 = (src / "biotek_gen5" / "endpoint_singleplate.txt").read_text()
    results = gen5.index("Results")
    cut = gen5[: gen5.index("\nD\t", results)]  # the Results matrix stops after row C
    (tmp_path / "cut.txt").write_text(cut)
    with pytest.raises(FormatError, match=r"cut.txt: the Gen5 export ends mid-line \(truncated"):
        read_plate(tmp_path / "cut.txt")
    soft = (src / "moldev_softmax_pro" / "MD_SMP_absorbance_endpoint_example01.txt").read_bytes()
    text = soft.decode("utf-16").replace("\r\n", "\n")
    (tmp_path / "soft.txt").write_text("\n".join(text.split("\n")[:6]))
    with pytest.raises(FormatError, match=r"allotropy cannot read it: Expected 8 rows .* got 3"):
        read_plate(tmp_path / "soft.txt")
    env = (src / "perkinelmer_envision" / "PE_Envision_absorbance_A450_example.csv").read_text()
    (tmp_path / "env.csv").write_text(env[: env.index("Background information")].rstrip() + "\n")
    with pytest.raises(FormatError, match=r"env.csv: allotropy cannot read it: Expected non-null"):
        read_plate(tmp_path / "env.csv")
    (tmp_path / "notes.txt").write_text("hello\nthis is not a plate\n")
    with pytest.raises(FormatError, match=r"not a plate-reader export letrolab knows"):
        read_plate(tmp_path / "notes.txt")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(FormatError, match=r"the file is empty"):
        read_plate(tmp_path / "empty.csv")
    (tmp_path / "fake.xlsx").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(FormatError, match=r"not a readable Excel workbook"):
        read_plate(tmp_path / "fake.xlsx")
    with pytest.raises(InputError, match=r"does not exist"):
        read_plate(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"unknown plate format 'csv'"):
        read_plate(src / "bmg_mars" / "BMG Labtech format.CSV", format="csv")


def test_qc_numbers_that_cannot_be_computed_are_failed_values():
    from letrolab.errors import FitError

    q = plate_qc("P", "r", np.array([1.0, 1.1, 0.9]), np.array([0.1]))
    assert not q.z_prime and not q.cv_blank and not q.edge_ratio
    with pytest.raises(FitError, match=r"Z'-factor of plate P failed: 1 blank and 3 vehicle wells"):
        float(q.z_prime)
    doc = q.summary()
    assert doc["z_prime"] is None and "needs >= 2 of each" in doc["not_assessed"]["z_prime"]
    assert doc["cv_vehicle"] == pytest.approx(10.0)
    assert "n/a (1 well(s); needs >= 2)" in q.report()


def test_three_drug_layout_gives_the_n_drug_table(tmp_path):
    from letrolab.synergy.tidy import normalise_combination

    lay = [{"well": "A1", "role": "blank"}, {"well": "A2", "role": "blank"}]
    lay += [{"well": w, "role": "vehicle"} for w in ("A3", "A4")]
    wells = {"A1": 0.1, "A2": 0.1, "A3": 1.1, "A4": 1.1}
    for k, (a, b, c) in enumerate([(1, 0, 0), (0, 2, 0), (0, 0, 3), (1, 2, 3)]):
        w = f"B{k + 1}"
        lay.append({"well": w, "role": "treated", "drug1": "letrozole", "conc1": a,
                    "drug2": "everolimus", "conc2": b, "drug3": "palbociclib", "conc3": c,
                    "unit": "nM"})  # fmt: skip
        wells[w] = 0.1 + 0.25 * (k + 1)
    write_layout(tmp_path / "l.csv", pd.DataFrame(lay))
    write_plate(
        tmp_path / "r.csv", pd.DataFrame({"well": list(wells), "value": list(wells.values())})
    )
    comb = read_plate_combination(tmp_path / "r.csv", tmp_path / "l.csv")
    assert [c for c in comb.columns if c.startswith(("drug", "conc"))] == [
        "drug1", "drug2", "drug3", "conc1", "conc2", "conc3", "conc_unit1", "conc_unit2", "conc_unit3",
    ]  # fmt: skip
    b4 = comb[comb["well"] == "B4"]
    assert b4["response"].item() == pytest.approx(100.0)  # 0.1 + 1.0 = vehicle level
    data = normalise_combination(comb, response="viability")
    assert data.n_drugs == 3 and len(data.table) == 5


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fmt=st.sampled_from(["matrix", "tidy", "gen5"]),
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.sampled_from(["saturated", "missing"]),
        ),
        min_size=96,
        max_size=96,
    ),
)
def test_writer_round_trip_property(tmp_path, fmt, values):
    """Any finite float survives write_plate -> read_plate exactly; flags survive too."""
    wells = pd.DataFrame(
        {
            "well": [f"{r}{c}" for r in row_letters(8) for c in range(1, 13)],
            "value": [v if isinstance(v, float) else np.nan for v in values],
            "flag": ["ok" if isinstance(v, float) else v for v in values],
        }
    )
    if (wells["flag"] != "ok").all():
        wells.loc[0, ["value", "flag"]] = [1.0, "ok"]
    path = tmp_path / f"p.{fmt}"
    write_plate(path, wells, format=fmt)
    back = read_plate(path).set_index("well").loc[wells["well"]]
    np.testing.assert_array_equal(back["flag"].to_numpy(), wells["flag"].to_numpy())
    np.testing.assert_array_equal(back["value"].to_numpy(), wells["value"].to_numpy())


def test_welch_p_matches_scipy():
    from scipy import stats

    from letrolab.assays.plates.analysis import _welch_p

    rng = np.random.default_rng(4)
    x, y = rng.normal(1.0, 0.1, 7), rng.normal(1.1, 0.3, 12)
    assert _welch_p(x, y) == pytest.approx(stats.ttest_ind(x, y, equal_var=False).pvalue, rel=1e-10)
    assert _welch_p(np.ones(3), np.ones(4)) == 1.0
    assert _welch_p(np.ones(3), np.full(4, 2.0)) == 0.0


def test_layout_summary(combo_layout):
    doc = read_layout(combo_layout[0]).summary()
    assert doc["roles"] == {"vehicle": 52, "treated": 36, "blank": 8}  # 96 wells
    assert doc["drugs"] == ["NVP-AEW541", "letrozole"] and doc["plates"] == ["(all)"]
