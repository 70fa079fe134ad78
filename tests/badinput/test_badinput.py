"""The bad-input corpus of issue 16, through the command line.

Every case gives exit status 2, exactly one ``error: ...`` line on stderr naming the problem,
nothing on stdout, and nothing written (the ``--out`` folder, where there is one, never
appears and no staging folder is left). The corpus files are made by ``make_corpus.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "src" / "letrolab" / "data" / "examples" / "letrozole_nvp_aew541.csv"

# (id, arguments with {d} = corpus folder, {out} = output path, {ex} = the example, message)
CASES = [
    ("inf concentration", "synergy {d}/inf_concentration.csv", "infinite concentrations"),
    ("dose 1e308", "synergy {d}/dose_1e308.csv", r"1e\+299 M, above the 10 M"),
    ("duplicate columns", "synergy {d}/duplicate_columns.csv", "'response' appears more than"),
    ("duplicate by case", "synergy {d}/duplicate_columns_case.csv", "name the same column"),
    ("fractions", "synergy {d}/fractions.csv", "looks like fractions"),
    ("empty block_id", "synergy {d}/empty_block_id.csv", r"'block_id' is empty on file rows"),
    ("unknown unit column", "synergy {d}/unknown_unit_column.csv", "'dose_units' is not a unit"),
    ("unknown unit", "synergy {d}/unknown_unit.csv", "unknown concentration unit 'furlongs'"),
    ("raw reads", "synergy {d}/raw_reads.csv", "raw instrument reads, not percentages"),
    ("scale not fractions", "synergy {ex} --response-scale fraction", "not fractions"),
    ("bad scale", "synergy {ex} --response-scale permille", "'percent' or 'fraction'"),
    ("bootstrap 1e9", "synergy {ex} -m bliss --bootstrap 1000000000", "--bootstrap must be"),
    (
        "inf in plate layout",
        "synergy --plate {d}/plate_96.csv --layout {d}/layout_inf.csv",
        "conc1 'inf' is not a concentration",
    ),
    ("simulate days 1e308", "simulate --days 1e308", r"--days must be a finite number > 0"),
    ("simulate days nan", "simulate --days nan", r"--days must be a finite number"),
    ("points-per-day 1e9", "simulate --points-per-day 1000000000", "<= 1440"),
    ("sbml deprivation nan", "model sbml {out}.xml --deprivation-h nan", "--deprivation-h"),
    ("sbml deprivation -5", "model sbml {out}.xml --deprivation-h -5", "--deprivation-h"),
    ("trial dose 1e308", "trial --arm a:letrozole:1e308mg/day", "mg per dose is more than"),
    ("trial conc 1e308", "trial --arm a:kw-2450:1e308nM", "not a possible concentration"),
    ("trial patients 1e9", "trial --arm a:letrozole:2.5mg/day --patients 1000000000", "<= 1000000"),
    ("blot radius 1e300", "blot {d}/bomb.png --radius 1e300", r"--radius must be .* <= 1000 px"),
    ("decompression bomb", "blot {d}/bomb.png", r"bomb.png: not a readable PNG"),
]


@pytest.mark.parametrize(("args", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_nothing_written(run_cli, tmp_path, args, match):
    import re

    corpus = tmp_path / "corpus"
    shutil.copytree(HERE, corpus, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    out = tmp_path / "out"
    argv = args.format(d=corpus, out=out, ex=EXAMPLE).split()
    if argv[0] != "model":
        argv += ["--out", str(out)]
    code, stdout, err = run_cli(*argv)
    assert code == 2, err
    assert stdout == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert re.search(match, err), err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus"]  # nothing written


def test_c_library_output_is_folded_into_the_one_error_line(capfd):
    """What a C library writes to fd 2 (CVODE's [ERROR] lines) joins the error line."""
    import os

    import typer

    from letrolab import cli
    from letrolab.errors import ModelError

    probe = typer.Typer()

    @probe.command()
    def fail() -> None:
        os.write(2, b"[ERROR] CVODE Error: CV_CONV_FAILURE\n[ERROR] at t = 3.2\n")
        raise ModelError("the simulation failed")

    @probe.command()
    def succeed() -> None:
        os.write(2, b"[WARNING] step size small\n")

    original = cli.app
    cli.app = probe
    try:
        assert cli.main(["fail"]) == 2
        err = capfd.readouterr().err
        assert err == (
            "error: the simulation failed [captured: [ERROR] CVODE Error: CV_CONV_FAILURE; "
            "[ERROR] at t = 3.2]\n"
        )
        assert cli.main(["succeed"]) == 0
        assert capfd.readouterr().err == "warning: [WARNING] step size small\n"
    finally:
        cli.app = original
