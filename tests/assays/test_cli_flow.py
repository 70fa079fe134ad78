"""``letrolab fcs`` and ``letrolab cellcycle``: JSON contracts, batches with bad files, outputs."""

from __future__ import annotations

import json

import pytest

from letrolab.instruments.flow import PI_CHANNELS, simulate_dna_content, write_fcs

ENTRY_KEYS = {
    "file", "events", "singlets", "sub_g1_pct", "g1_pct", "s_pct", "g2m_pct",
    "g1_mean", "g2_mean", "g2_g1_ratio", "g1_cv", "rcs", "model",
}  # fmt: skip


@pytest.fixture(scope="module")
def pi_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    a = write_fcs(
        root / "a.fcs",
        simulate_dna_content(6000, g1=0.6, s=0.25, g2m=0.15, sub_g1=0.1, rng=1),
        channels=PI_CHANNELS,
    )
    b = write_fcs(
        root / "b.fcs",
        simulate_dna_content(6000, g1=0.2, s=0.3, g2m=0.5, rng=2),
        channels=PI_CHANNELS,
    )
    bad = root / "bad.fcs"
    bad.write_bytes(b"FCS3.1    this is not really an FCS file")
    return a, b, bad


def test_fcs_json_contract(run_cli, pi_files):
    code, out, err = run_cli("fcs", pi_files[0], "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"version", "events", "channels", "datasets"}
    assert doc["version"] == "3.1" and doc["events"] == 6000 and doc["datasets"] == 1
    assert [c["name"] for c in doc["channels"]] == list(PI_CHANNELS)
    assert all(
        set(c) == {"name", "label", "range"} and isinstance(c["range"], float)
        for c in doc["channels"]
    )


def test_fcs_real_multi_dataset_file(run_cli, shared_data):
    code, out, _ = run_cli("fcs", shared_data / "fcs/vendors/flowio_tests/coulter.lmd", "--json")
    assert code == 0 and json.loads(out)["datasets"] == 2
    code, out, _ = run_cli("fcs", shared_data / "fcs/vendors/flowio_tests/coulter.lmd")
    assert code == 0 and "dataset 1 of 2" in out


def test_fcs_bad_file_is_one_error_line(run_cli, pi_files):
    code, out, err = run_cli("fcs", pi_files[2], "--json")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cellcycle_json_contract(run_cli, pi_files):
    code, out, err = run_cli("cellcycle", pi_files[0], pi_files[1], "--model", "watson", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["files"] and len(doc["files"]) == 2
    for entry in doc["files"]:
        assert set(entry) == ENTRY_KEYS
        assert entry["model"] == "watson"
        assert entry["g1_pct"] + entry["s_pct"] + entry["g2m_pct"] == pytest.approx(100)
    assert doc["files"][0]["sub_g1_pct"] == pytest.approx(10, abs=1.5)


def test_cellcycle_batch_with_a_bad_file(run_cli, pi_files, tmp_path):
    a, b, bad = pi_files
    out_dir = tmp_path / "out"
    code, out, err = run_cli("cellcycle", a, bad, b, "--json", "--out", out_dir)
    assert code == 2
    doc = json.loads(out)
    # every input keeps its place; the bad one has null numbers and a one-line error
    assert [e["file"] for e in doc["files"]] == [str(a), str(bad), str(b)]
    good_a, failed, good_b = doc["files"]
    assert set(good_a) == set(good_b) == ENTRY_KEYS
    assert set(failed) == ENTRY_KEYS | {"error"}
    assert all(failed[k] is None for k in ENTRY_KEYS - {"file", "model"})
    assert failed["model"] == "djf" and "\n" not in failed["error"]
    assert "FCS" in failed["error"] and failed["error"] in err
    assert good_a["g1_pct"] == pytest.approx(60, abs=3) and good_b["g2m_pct"] > 40
    lines = err.strip().splitlines()
    assert all(line.startswith("error: ") for line in lines)
    assert any(str(bad) in line for line in lines)
    saved = json.loads((out_dir / "cellcycle.json").read_text())
    assert len(saved["files"]) == 2 and saved["errors"][0]["file"] == str(bad)
    assert (out_dir / "a.fcs.png").exists() and (out_dir / "cellcycle.csv").exists()


def test_cellcycle_single_bad_file_and_options(run_cli, pi_files):
    code, out, err = run_cli("cellcycle", pi_files[2], "--json")
    assert code == 2 and err.count("\n") == 1
    (entry,) = json.loads(out)["files"]
    assert entry["file"] == str(pi_files[2]) and entry["g1_pct"] is None
    assert entry["error"] in err
    code, _, err = run_cli("cellcycle", pi_files[0], "--model", "modfit")
    assert code == 2 and "djf or watson" in err
    code, _, err = run_cli("cellcycle", pi_files[0], "--channel", "FL9-A")
    assert code == 2 and "no channel 'FL9-A'" in err


def test_cellcycle_control_and_channel_by_label(run_cli, shared_data):
    rpe = shared_data / "fcs/dna/rpe_pi_synchronized"
    code, out, err = run_cli(
        "cellcycle", rpe / "Data.003", "--control", rpe / "Data.016", "--channel", "fl2-a", "--json"
    )
    assert code == 0, err
    entry = json.loads(out)["files"][0]
    assert entry["s_pct"] > 60 and entry["g1_mean"] < 190


def test_fcs_keywords_option(run_cli, shared_data):
    path = (
        shared_data / "fcs/vendors/fcsparser_tests/FCS3.1/EY_2013-07-19_PBS_FCS_3.1_Well_A1.001.fcs"
    )
    code, out, _ = run_cli("fcs", path, "--keywords", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["keywords"]["$TOT"] == "10000"
    assert any("one byte past" in q for q in doc["quirks"])
    code, out, _ = run_cli("fcs", path, "--keywords")
    assert code == 0 and "$TOT = 10000" in out


def test_cellcycle_bad_cv_is_one_error_for_the_batch(run_cli, pi_files):
    code, out, err = run_cli("cellcycle", pi_files[0], pi_files[1], "--cv", "weird", "--json")
    assert (code, out) == (2, "")
    assert err == "error: cv must be 'shared' or 'free', not 'weird'\n"


def test_cellcycle_error_lines_name_each_file_once(run_cli, pi_files):
    code, _, err = run_cli("cellcycle", pi_files[0], "--channel", "FL9-A")
    assert code == 2 and err.count("\n") == 1
    assert err.count(str(pi_files[0])) == 1


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "too short to be FCS"), (b"\x00\xff" * 200, "not an FCS file")],
    ids=["empty", "binary"],
)
def test_fcs_and_cellcycle_reject_non_fcs_with_one_line(run_cli, tmp_path, content, match):
    path = tmp_path / "x.fcs"
    path.write_bytes(content)
    for cmd in ("fcs", "cellcycle"):
        code, out, err = run_cli(cmd, path, "--json")
        assert code == 2
        assert err.startswith("error: ") and match in err and err.count("\n") == 1
        if cmd == "fcs":
            assert out == ""
        else:  # the batch JSON keeps the file with its error
            (entry,) = json.loads(out)["files"]
            assert match in entry["error"] and entry["rcs"] is None


def test_fcs_truncated_data_is_one_line(run_cli, pi_files, tmp_path):
    raw = pi_files[0].read_bytes()
    path = tmp_path / "cut.fcs"
    path.write_bytes(raw[: len(raw) // 2])
    code, out, err = run_cli("fcs", path, "--json")
    assert (code, out) == (2, "")
    assert "truncated" in err and err.count("\n") == 1


def test_fcs_cut_inside_text_says_truncated(run_cli, pi_files, tmp_path):
    path = tmp_path / "cut.fcs"
    path.write_bytes(pi_files[0].read_bytes()[:400])  # TEXT starts at 256
    code, out, err = run_cli("fcs", path)
    assert (code, out) == (2, "")
    assert "ends inside its TEXT segment (truncated?)" in err and err.count("\n") == 1


def test_cellcycle_out_that_is_a_file_is_one_error_line(run_cli, pi_files, tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("")
    code, out, err = run_cli("cellcycle", pi_files[0], "--json", "--out", blocker)
    assert (code, out) == (2, "")
    assert err == f"error: output folder '{blocker}' is an existing file; give a folder path\n"


def test_fcs_a_device_is_not_read(run_cli):
    code, out, err = run_cli("fcs", "/dev/zero", "--json")  # endless: must not be read
    assert (code, out) == (2, "")
    assert err == "error: /dev/zero is not a regular file; give an FCS file\n"


def test_cellcycle_text_report_names_a_failed_file_once(run_cli, pi_files):
    a, _, bad = pi_files
    code, out, _ = run_cli("cellcycle", a, bad)
    assert code == 2
    (line,) = [x for x in out.splitlines() if "FAILED" in x]
    assert line.startswith("FAILED: ") and line.count(str(bad)) == 1


def test_cellcycle_help_documents_failed_entries(run_cli):
    code, out, _ = run_cli("cellcycle", "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0
    assert "keeps its place in that list" in text and "every number null" in text


def test_cellcycle_text_mode_with_nothing_analysed_prints_only_the_error(run_cli, pi_files):
    """One file, and it fails: stdout stays empty (no report of nothing), stderr one line."""
    bad = pi_files[2]
    code, out, err = run_cli("cellcycle", bad)
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and str(bad) in err and err.count("\n") == 1
