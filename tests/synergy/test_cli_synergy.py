"""`letrolab synergy`: the JSON contract, output folders, errors, real SynergyFinder files."""

import json
from pathlib import Path

import pandas as pd
import pytest

import letrolab

EXAMPLE = Path(letrolab.__file__).parent / "data" / "examples" / "letrozole_nvp_aew541.csv"
FA_KEYS = {"0.5", "0.75", "0.9", "0.95"}


def _check_shape(doc):
    assert set(doc) == {"blocks"}
    for b in doc["blocks"]:
        if "error" in b:
            assert b["error"].startswith(f"block {b['block_id']}: ")
            continue
        assert set(b) == {"block_id", "drugs", "single_agents", "mixtures", "points", "warnings"}
        assert isinstance(b["block_id"], str)
        assert set(b["single_agents"]) == set(b["drugs"])
        for fit in b["single_agents"].values():
            assert set(fit) == {"m", "dm", "r", "n"} and isinstance(fit["n"], int)
        for mix in b["mixtures"]:
            keys = {"drugs", "ratio", "m", "dm", "r", "ci_at_fa", "dri_at_fa"}
            if len(mix["drugs"]) == 2:
                keys.add("ci_nonexclusive_at_fa")
                assert set(mix["ci_nonexclusive_at_fa"]) == FA_KEYS
            assert set(mix) == keys
            assert set(mix["ci_at_fa"]) == FA_KEYS
            assert set(mix["dri_at_fa"]) == set(mix["drugs"])
            assert all(set(v) == FA_KEYS for v in mix["dri_at_fa"].values())
            assert len(mix["ratio"]) == len(mix["drugs"])
        for p in b["points"]:
            assert set(p) - {"ci_nonexclusive"} == {"conc", "fa", "ci", "label"}
            assert set(p["conc"]) == set(b["drugs"])
            assert 0 < p["fa"] < 1
            assert ("ci_nonexclusive" in p) == (sum(v > 0 for v in p["conc"].values()) == 2)
        assert all(isinstance(w, str) for w in b["warnings"])


def test_json_of_the_bundled_example(run_cli):
    code, out, err = run_cli("synergy", EXAMPLE, "--model", "chou-talalay", "--json")
    assert code == 0, err
    doc = json.loads(out)
    _check_shape(doc)
    (block,) = doc["blocks"]
    assert block["block_id"] == "MCF-7aro"
    assert block["drugs"] == ["letrozole", "NVP-AEW541"]
    # doses in the input's unit (nM): letrozole's Dm near the generating 75 nM
    assert 60 < block["single_agents"]["letrozole"]["dm"] < 90
    (mix,) = block["mixtures"]
    assert mix["ratio"] == pytest.approx([1.0, 10.0])
    # the example was generated with CI = 0.5 at every combination (plus 2 % noise)
    assert all(0.4 < v < 0.65 for v in mix["ci_at_fa"].values())
    assert all(0.4 < p["ci"] < 0.65 and p["label"] == "synergism" for p in block["points"])
    assert {p["conc"]["letrozole"] for p in block["points"]} >= {5.0, 100.0, 20.0, 80.0}
    assert any("extrapolates" in w for w in block["warnings"])


def test_text_report_and_out_folder(run_cli, tmp_path):
    out_dir = tmp_path / "ct"
    code, out, err = run_cli("synergy", EXAMPLE, "--out", out_dir)
    assert code == 0, err
    assert "block MCF-7aro: letrozole + NVP-AEW541, doses in nM" in out
    assert f"wrote {out_dir}" in out
    files = sorted(p.name for p in (out_dir / "block_MCF-7aro").iterdir())
    for name in ("median_effect.png", "fa_ci.png", "isobologram.png", "points.csv"):
        assert name in files
    assert pd.read_csv(out_dir / "block_MCF-7aro" / "fa_ci_table.csv")["fa"].tolist() == [
        0.5,
        0.75,
        0.9,
        0.95,
    ]
    assert json.loads((out_dir / "chou_talalay.json").read_text())["blocks"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("no/such/file.csv",), "error: input file 'no/such/file.csv' does not exist"),
        ((str(EXAMPLE), "--model", "cox"), "error: unknown model 'cox'; use one of"),
        ((str(EXAMPLE), "--response", "percent"), "error: --response must be 'inhibition'"),
        ((str(EXAMPLE), "--engine", "spark"), "error: --engine must be 'numpy' or 'dask'"),
        (("--plate", "read.csv"), "error: --plate and --layout go together"),
        ((str(EXAMPLE), "--plate", "r", "--layout", "l"), "error: give either INPUT or --plate"),
        ((), "error: no input; give a tidy table as INPUT"),
    ],
)
def test_bad_input_is_one_error_line(run_cli, args, message):
    code, out, err = run_cli("synergy", *args)
    assert code == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_unreadable_table_is_an_error(run_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("block_id,drug_row\n1,A\n")
    code, _, err = run_cli("synergy", bad)
    assert code == 2
    assert err.startswith("error: no 'response' column")


def _grid(**edit):
    """A 2-drug 5x4 grid in nM (response = % inhibition), with optional per-row edits."""
    rows = [
        {"block_id": "1", "drug_row": "A", "drug_col": "B", "conc_r": a, "conc_c": b,
         "response": min(99.0, 10 + 2 * a + 3 * b), "conc_r_unit": "nM", "conc_c_unit": "nM"}
        for a in (0, 1, 3, 10, 30) for b in (0, 1, 3, 10)
    ]  # fmt: skip
    for i, (col, val) in edit.items():
        rows[int(i[1:])][col] = val
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "error: bad.csv is empty; give a table with a header row"),
        (b"\xf7\xfe\x00\x01garbage\xff", "error: cannot read bad.csv as a table"),
        (b"a\n", "error: bad.csv holds no rows"),
        (_grid(r2=("conc_r_unit", "ng/ml")), "error: unknown concentration unit 'ng/ml'"),
        (_grid(r6=("conc_r", -3)), "error: column 'conc_r' has negative concentrations"),
        (_grid(r6=("conc_r", float("inf"))), "error: column 'conc_r' has infinite concentrations"),
        (_grid().assign(response=float("nan")), "error: no row has a numeric response"),
        (_grid().assign(response="50%"), "error: no row has a numeric response"),
        (
            _grid().query("conc_c == 0"),
            "error: no block could be analysed: block 1: only one drug (A)",
        ),
    ],
    ids=["empty", "binary", "one-column", "unit", "negative", "inf-dose", "nan", "pct", "one-drug"],
)
def test_nasty_tables_are_one_error_line(run_cli, tmp_path, content, message):
    bad = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        content.to_csv(bad, index=False)
    code, out, err = run_cli("synergy", bad, "--json")
    assert (code, out) == (2, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_a_folder_as_input_is_an_error(run_cli, tmp_path):
    code, out, err = run_cli("synergy", tmp_path, "--json")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: input {str(tmp_path)!r} is a folder") and err.count("\n") == 1


def test_nan_and_out_of_range_responses_are_dropped_with_warnings(run_cli, tmp_path):
    df = _grid(r3=("response", "nan"), r5=("response", 120.0), r9=("response", 100.0))
    path = tmp_path / "grid.csv"
    df.to_csv(path, index=False)
    code, out, err = run_cli("synergy", path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    _check_shape(doc)
    (block,) = doc["blocks"]
    warnings = "\n".join(block["warnings"])
    assert "1 well(s) with missing or non-numeric response dropped" in warnings
    assert "2 combination point(s) with fa outside (0, 1) dropped" in warnings
    # dropped, never clipped: no point carries the 1.2 or 1.0 of the bad rows
    concs = {(p["conc"]["A"], p["conc"]["B"]) for p in block["points"]}
    assert (1.0, 1.0) not in concs and (3.0, 1.0) not in concs
    assert all(0 < p["fa"] < 1 for p in block["points"])
    code, out, _ = run_cli("synergy", path)
    assert "warning: block 1: 2 combination point(s) with fa outside (0, 1) dropped" in out


def test_a_failed_block_is_reported_and_the_others_go_on(run_cli, tmp_path):
    good = _grid()
    solo = good.query("conc_c == 0").assign(block_id="solo")
    path = tmp_path / "two.csv"
    pd.concat([good, solo]).to_csv(path, index=False)
    code, out, err = run_cli("synergy", path, "--json")
    assert code == 0
    assert (
        err
        == "error: block solo: only one drug (A) has doses > 0; a combination needs at least two\n"
    )
    doc = json.loads(out)
    _check_shape(doc)
    ok, failed = doc["blocks"]
    assert "error" not in ok and ok["points"]
    assert failed["error"].startswith("block solo: only one drug")
    code, out, _ = run_cli("synergy", path)
    assert "FAILED: block solo: only one drug (A)" in out and "block solo: FAILED" not in out
    assert set(failed) == {
        "block_id", "drugs", "single_agents", "mixtures", "points", "warnings", "error"
    }  # fmt: skip


def test_plate_and_layout_go_through_the_plate_reader(run_cli, monkeypatch):
    from letrolab.assays import plates

    table = pd.read_csv(EXAMPLE)
    table["response"] = 100 - table["response"]  # the plate reader gives % viability
    table.attrs["warnings"] = ["plate 1: Z' = 0.4 below 0.5"]
    seen = {}

    def fake(read_path, layout_path, *, read_label=None):
        seen["args"] = (Path(read_path).name, Path(layout_path).name, read_label)
        return table

    monkeypatch.setattr(plates, "read_plate_combination", fake)
    code, out, err = run_cli("synergy", "--plate", "r.txt", "--layout", "l.csv", "--json")
    assert code == 0, err
    assert seen["args"] == ("r.txt", "l.csv", None)
    assert "warning: plate 1: Z' = 0.4 below 0.5" in err
    doc = json.loads(out)
    assert 0.4 < doc["blocks"][0]["mixtures"][0]["ci_at_fa"]["0.5"] < 0.65


# --- the SynergyFinder example files ---------------------------------------------------------
SYNERGYFINDER = {
    # file: (response, expected exit status)
    "synergyfinder_v1_exampleTable.csv": ("inhibition", 0),
    "synergyfinder_ReplExample_3replicates.csv": ("inhibition", 0),
    "synergyfinder_ONEIL_screening_data.csv": ("inhibition", 0),
    "synergyfinder2_reference_scores_exampleTable.csv": ("inhibition", 0),
    "synergyfinder_NCATS_screening_data.csv": ("viability", 0),
    "synergyfinder_mathews_screening_data.csv": ("viability", 2),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(SYNERGYFINDER))
def test_synergyfinder_examples_run_through_the_command(run_cli, shared_data, name):
    response, status = SYNERGYFINDER[name]
    path = shared_data / "synergy" / name
    code, out, err = run_cli("synergy", path, "--response", response, "--json")
    assert "Traceback" not in err
    assert code == status, err
    if status == 2:
        # Mathews: ispinesib plateaus at ~40 % viability (flat median-effect plot) and
        # canertinib's single-agent wells read above 100 % viability: nothing to fit.
        assert out == ""
        assert err.startswith("error: no block could be analysed: block 1: drug ispinesib: ")
        assert err.count("\n") == 1
        return
    doc = json.loads(out)
    _check_shape(doc)
    ok = [b for b in doc["blocks"] if "error" not in b]
    assert ok and all(b["points"] for b in ok)
    failed = [b for b in doc["blocks"] if "error" in b]
    assert err.count("\n") == len(failed)  # one error line per failed block, on stderr


@pytest.mark.shared_data
def test_synergyfinder_every_file_is_covered(shared_data):
    names = {p.name for p in (shared_data / "synergy").glob("synergyfinder*.csv")}
    assert names == set(SYNERGYFINDER)


@pytest.mark.shared_data
def test_ncats_three_drug_blocks(run_cli, shared_data):
    path = shared_data / "synergy" / "synergyfinder_NCATS_screening_data.csv"
    code, out, err = run_cli("synergy", path, "--response", "viability", "--json")
    assert code == 0
    doc = json.loads(out)
    by_id = {b["block_id"]: b for b in doc["blocks"]}
    assert by_id["1"]["error"].startswith("block 1: drug Darunavir Ethanolate: median-effect")
    assert err == f"error: {by_id['1']['error']}\n"
    good = by_id["2"]
    assert len(good["drugs"]) == 3
    n_three = sum(all(v > 0 for v in p["conc"].values()) for p in good["points"])
    # The same three-drug points as the library's analysis of block 2 (879 of 1137 points).
    from letrolab.synergy import chou_talalay
    from letrolab.synergy.tidy import read_combination

    lib = chou_talalay(read_combination(path, response="viability"))["2"].to_frame()
    conc = lib[[c for c in lib.columns if c.startswith("conc_")]].to_numpy()
    assert len(good["points"]) == len(lib)
    assert n_three == int((conc > 0).all(axis=1).sum()) > 0


def test_plate_reader_missing_is_a_clear_error(run_cli, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "letrolab.assays.plates", None)  # import fails
    code, out, err = run_cli("synergy", "--plate", "r.txt", "--layout", "l.csv")
    assert code == 2 and out == ""
    assert err.startswith("error: --plate/--layout needs the plate reader")


def test_a_device_is_not_read(run_cli):
    code, out, err = run_cli("synergy", "/dev/zero", "--json")  # endless: must not be read
    assert (code, out) == (2, "")
    assert err == "error: input '/dev/zero' is not a regular file; give a table file\n"


def test_figures_limits_the_chou_talalay_figures_to_the_most_synergistic_blocks(run_cli, tmp_path):
    """Two copies of the example, one made antagonistic (combination responses cut to a third):
    --figures 1 draws only the synergistic block, says so, and still writes every table."""
    df = pd.read_csv(EXAMPLE)
    other = df.copy()
    other["block_id"] = "weak"
    combo = (other["conc_r"] > 0) & (other["conc_c"] > 0)
    other.loc[combo, "response"] = other.loc[combo, "response"] / 3
    src = tmp_path / "two.csv"
    pd.concat([df, other]).to_csv(src, index=False)
    out_dir = tmp_path / "ct"
    code, _, err = run_cli("synergy", src, "--out", out_dir, "--figures", "1")
    assert code == 0, err
    assert "Chou-Talalay figures for the 1 blocks with the lowest median CI of 2" in err
    strong, weak = out_dir / "block_MCF-7aro", out_dir / "block_weak"
    assert (strong / "fa_ci.png").is_file() and not list(weak.glob("*.png"))
    assert (weak / "points.csv").is_file()
