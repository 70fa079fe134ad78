"""``letrolab trial``: JSON contract, output folder, one-line errors."""

import json

import pandas as pd
import pytest

from letrolab.errors import InputError, UnitError
from letrolab.model.patient import parse_arm

KEYS = {
    "name",
    "n",
    "letrozole_css_nM",
    "aromatase_inhibition_pct",
    "e2_change_pct",
    "fsh_change_pct",
    "igf1_change_pct",
    "igfbp3_change_pct",
    "fasting_glucose_mM",
    "hyperglycemia_pct",
}
#: The documented extensions (``trial --help``), postmenopausal cohort.
EXTENSIONS = {
    "lh_change_pct",
    "gh_change_pct",
    "insulin_change_pct",
    "igf1r_inhibition_pct",
    "ir_inhibition_pct",
    "spec",
}


def test_json_has_the_documented_shape(run_cli):
    code, out, err = run_cli(
        "trial",
        "--arm",
        "std:letrozole:2.5mg/day",
        "--arm",
        "dual:letrozole:2.5mg/day+kw-2450:100nM",
        "--patients",
        "60",
        "--months",
        "1",
        "--seed",
        "4",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"arms"}
    assert [a["name"] for a in doc["arms"]] == ["std", "dual"]
    for arm in doc["arms"]:
        assert set(arm) == KEYS | EXTENSIONS
        assert arm["n"] == 60
        for k in (KEYS | EXTENSIONS) - {"name", "n", "hyperglycemia_pct", "spec"}:
            assert set(arm[k]) == {"median", "p5", "p95"}
            assert arm[k]["p5"] <= arm[k]["median"] <= arm[k]["p95"]
        assert isinstance(arm["hyperglycemia_pct"], float)
    assert doc["arms"][1]["hyperglycemia_pct"] > doc["arms"][0]["hyperglycemia_pct"]


def test_out_folder_holds_tables_and_figures(run_cli, tmp_path):
    out = tmp_path / "trial"
    code, stdout, err = run_cli(
        "trial", "--arm", "a:letrozole:0.5mg/day", "--patients", "40", "--months", "0.5",
        "--seed", "1", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "Css" in stdout
    names = {p.name for p in out.iterdir()}
    assert {"patients.parquet", "arms.csv", "summary.json"} <= names
    assert {"profiles.png", "igf1.png", "glucose.png"} <= names
    table = pd.read_parquet(out / "patients.parquet")
    assert len(table) == 40 and "igf1_change_pct" in table.columns
    assert not any(p.name.endswith(".staging") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("arm", "match"),
    [
        ("std", "write NAME:DRUG:DOSE"),
        ("std:letrozole", "is not DRUG:DOSE"),
        ("std:aspirin:1uM", "unknown drug 'aspirin'"),
        ("std:letrozole:2.5kg/day", "unknown unit 'kg'"),
        ("std:letrozole:2.5mg", "needs a schedule"),
        ("std:letrozole:2.5mg/fortnight", "unknown dosing interval"),
        ("std:letrozole:2.5mg/day,sometimes", "unknown schedule modifier"),
        ("std:letrozole:2.5mg/day,adherence=1.5", "adherence must be in"),
        ("std:nvp-aew541:400mg/day", "no clinical PK"),
        ("std:kw-2450:10nM/day", "takes no schedule"),
        ("std:letrozole:-1mg/day", "cannot read the dose"),
        ("std:letrozole:2.5mg/day+letrozole:1uM", "appears twice"),
        ("s t:letrozole:2.5mg/day", "may use letters"),
    ],
)
def test_bad_arm_is_one_error_line(run_cli, arm, match):
    code, out, err = run_cli("trial", "--arm", arm, "--patients", "5", "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert match in err
    with pytest.raises((InputError, UnitError), match=match.replace("(", r"\(")):
        parse_arm(arm)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("--months", "0"), "--months must be in"),
        (("--patients", "0"), "--patients must be"),
        (("--menopause", "peri"), "menopause must be"),
        (("--population", "martian"), "unknown population"),
        (("--backend", "spark", "--workers", "2"), "backend must be"),
    ],
)
def test_bad_options_are_one_error_line(run_cli, args, match):
    code, _, err = run_cli("trial", "--arm", "a:letrozole:2.5mg/day", "--patients", "5", *args)
    assert code == 2 and match in err and err.count("\n") == 1


def test_duplicate_arm_names(run_cli):
    code, _, err = run_cli("trial", "--arm", "a:placebo", "--arm", "a:letrozole:2.5mg/day")
    assert code == 2 and "arm names must be unique" in err


def test_schedules_parse():
    arm = parse_arm("x:letrozole:1.25mg/12h,miss=3-4;10,start=2d")
    s = arm.doses[0].schedule
    assert (s.interval_h, s.missed, s.start_h) == (12, (3, 4, 10), 48)
    t = arm.doses[0].dose_times_h(24 * 10)
    assert t[0] == 48 and 48 + 2 * 12 not in t and t.size == 16 - 3
    week = parse_arm("w:letrozole:17.5mg/week").doses[0].schedule
    assert week.interval_h == 168


def test_help_renders(run_cli):
    code, out, err = run_cli("trial", "--help")
    assert code == 0, err
    assert "--arm" in out and "--patients" in out and "--engine" in out


def test_user_pk_catalogue_from_the_command_line(run_cli, tmp_path):
    from letrolab.model.patient.pk import DEFAULT_PK

    path = tmp_path / "pk.csv"
    # a hypothetical oral row for NVP-AEW541 (a user extension, not clinical data)
    path.write_text(
        DEFAULT_PK.read_text() + 'nvp-aew541,oral,1,30,200,,,0.5,439.6,,,0.2,0.1,0.2,A,"test"\n'
    )
    code, out, err = run_cli(
        "trial", "--arm", "a:nvp-aew541:400mg/day", "--patients", "20", "--months", "0.5",
        "--pk", str(path), "--json",
    )  # fmt: skip
    assert code == 0, err
    arm = json.loads(out)["arms"][0]
    assert arm["ir_inhibition_pct"]["median"] > 5
    code, _, err = run_cli(
        "trial", "--arm", "a:letrozole:2.5mg/day", "--pk", str(tmp_path / "none.csv")
    )
    assert code == 2 and "none.csv" in err


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\xf7\xfe\x00garbage", "not a readable CSV PK catalogue"),
        (b"", "missing column"),
        (b"drug\n", r"missing column\(s\) route"),
    ],
)
def test_unreadable_pk_catalogue_is_one_error_line(run_cli, tmp_path, content, match):
    import re

    path = tmp_path / "pk.csv"
    path.write_bytes(content)
    code, out, err = run_cli("trial", "--arm", "a:letrozole:2.5mg/day", "--pk", str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: pk.csv: ") and err.count("\n") == 1
    assert re.search(match, err)


def test_out_that_is_a_file_fails_before_the_simulation(run_cli, tmp_path, monkeypatch):
    import letrolab.model.patient as patient

    def no_run(*args, **kwargs):
        raise AssertionError("the trial ran although --out was unusable")

    monkeypatch.setattr(patient, "run_trial", no_run)
    blocker = tmp_path / "out"
    blocker.write_text("")
    code, out, err = run_cli("trial", "--arm", "a:letrozole:2.5mg/day", "--out", blocker)
    assert (code, out) == (2, "")
    assert err == f"error: output folder '{blocker}' is an existing file; give a folder path\n"


@pytest.mark.parametrize("path", ["/dev/zero", "/tmp"])
def test_pk_catalogue_that_is_not_a_file(run_cli, path):
    code, out, err = run_cli("trial", "--arm", "a:letrozole:2.5mg/day", "--pk", path)
    assert (code, out) == (2, "")
    assert err == f"error: {path}: not a regular file; give a CSV PK catalogue like pk.csv\n"


def test_running_out_of_memory_is_one_error_line(run_cli, monkeypatch):
    import letrolab.model.patient as patient

    def oom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(patient, "run_trial", oom)
    code, out, err = run_cli("trial", "--arm", "a:letrozole:2.5mg/day", "--patients", "100000")
    assert (code, out) == (2, "")
    assert err == (
        "error: not enough memory for 100000 patients x 1 arm(s); give fewer --patients\n"
    )  # (1e9 patients are refused by the --patients bound: tests/badinput)


@pytest.mark.parametrize("modifier", ["start=100d", "miss=1-40"])
def test_an_arm_whose_doses_all_fall_outside_the_trial_is_an_error(run_cli, modifier):
    code, out, err = run_cli(
        "trial", "--arm", f"a:letrozole:2.5mg/day,{modifier}", "--patients", "5", "--months", "1"
    )
    assert (code, out) == (2, "")
    assert err == (
        "error: arm 'a': no dose of letrozole falls within the 30.42-day trial; check start=, "
        "miss= and --months\n"
    )
