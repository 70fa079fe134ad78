"""The runner: what ran, what did not and why; outputs staged atomically."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.pipeline import reproduce, run_experiments
from letrolab.store import read_provenance, read_table

# A 1x1 transparent PNG (tiny valid image) for the figure plumbing.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _synergy(ctx: Context) -> Output:
    ctx.progress(0.5, "half")
    rng = ctx.rng("toy")
    ci = pd.DataFrame(
        {"cell_line": ["a", "a", "b", "b"], "fa": [0.5, 0.75] * 2, "ci": 0.3 + 0.01 * rng.random(4)}
    )
    (ctx.rawdir("toy") / "plate.csv").write_text("x\n")
    return Output(
        tables={"s4_ci_at_fa": ci},
        figures=(Figure("f", "a figure", PNG),),
        files=(ctx.rawdir("toy").relative_to(ctx.outdir) / "plate.csv",),
    )


TOY = Experiment(
    "toy",
    "Toy synergy",
    ("S4",),
    ("letrolab.units:to_molar",),
    _synergy,
    "A toy protocol.\n\nSecond paragraph.",
)
ABSENT = Experiment(
    "absent", "Needs a missing part", ("S5",), ("letrolab.no_such_module:thing",), _synergy
)


def _boom(ctx: Context) -> Output:
    raise ZeroDivisionError("upstream bug")


BROKEN = Experiment("broken", "Broken", ("S6",), (), _boom)


def test_run_records_ok_not_run_and_failed(tmp_path):
    seen = []
    res = run_experiments(
        [TOY, ABSENT, BROKEN], outdir=tmp_path, on_progress=lambda i, f, m: seen.append((i, f, m))
    )
    st = {r.id: r for r in res.runs}
    assert st["toy"].status == "ok"
    assert st["absent"].status == "not run"
    assert "letrolab.no_such_module:thing (ModuleNotFoundError" in st["absent"].reason
    assert st["broken"].status == "failed"
    assert st["broken"].reason.startswith(
        "ZeroDivisionError: upstream bug (at test_experiments_runner.py:"
    )
    claims = {c.id: c for c in res.claims}
    assert claims["S4"].holds and claims["S4"].evaluated
    assert not claims["S5"].holds and "experiment 'absent' not run" in claims["S5"].model
    assert "experiment 'broken' failed: ZeroDivisionError" in claims["S6"].model
    assert ("toy", 0.5, "half") in seen
    assert not res.complete
    assert set(res.tables) == {"s4_ci_at_fa", "claims", "experiments", "trials"}


def test_same_seed_same_numbers(tmp_path):
    a = run_experiments([TOY], outdir=tmp_path / "a", seed=3).tables["s4_ci_at_fa"]
    b = run_experiments([TOY], outdir=tmp_path / "b", seed=3).tables["s4_ci_at_fa"]
    c = run_experiments([TOY], outdir=tmp_path / "c", seed=4).tables["s4_ci_at_fa"]
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_duplicate_experiment_and_bad_seed(tmp_path):
    with pytest.raises(InputError, match="listed twice"):
        run_experiments([TOY, TOY], outdir=tmp_path)
    with pytest.raises(InputError, match="seed must be a non-negative integer"):
        run_experiments([TOY], outdir=tmp_path, seed=-1)


def test_reproduce_writes_the_three_outputs(tmp_path):
    """An incomplete run (ABSENT cannot run) writes beside ``out``, never into it."""
    from letrolab.pipeline import incomplete_dir

    res = reproduce(tmp_path / "out", experiments=[TOY, ABSENT], seed=11)
    assert not res.complete and not (tmp_path / "out").exists()
    out = incomplete_dir(tmp_path / "out")
    assert out.name == "out.incomplete"
    doc = json.loads((out / "claims.json").read_text())
    assert [d["id"] for d in doc] == [f"S{i}" for i in range(1, 10)]
    assert all(list(d) == ["id", "claim", "seed", "model", "holds"] for d in doc)
    assert [d["holds"] for d in doc] == [c.holds for c in res.claims]
    stored = read_table(out / "results.duckdb", "claims")
    assert stored["model"].tolist() == [c.model for c in res.claims]
    assert read_table(out / "results.duckdb", "s4_ci_at_fa")["ci"].tolist() == pytest.approx(
        res.tables["s4_ci_at_fa"]["ci"].tolist()
    )
    assert read_provenance(out / "results.duckdb")["seed"] == "11"
    html = (out / "report.html").read_text()
    assert "Toy synergy" in html and "Second paragraph." in html
    assert (out / "raw" / "toy" / "plate.csv").is_file()


def test_failure_while_writing_leaves_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "out"
    reproduce(out, experiments=[TOY])
    before = (out / "claims.json").read_bytes()

    def bad_render(result):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr("letrolab.pipeline.render_report", bad_render)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        reproduce(out, experiments=[TOY], seed=99)
    assert (out / "claims.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # staging folder removed


def test_an_incomplete_run_leaves_the_last_complete_output_untouched(tmp_path):
    """README: the output folder is replaced only when the whole run succeeded (issue 16)."""
    from letrolab.pipeline import incomplete_dir

    out = tmp_path / "out"
    reproduce(out, experiments=[TOY], seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    res = reproduce(out, experiments=[TOY, ABSENT], seed=2)
    assert not res.complete
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert (incomplete_dir(out) / "claims.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.incomplete"]


def test_a_new_run_does_not_keep_files_of_an_earlier_one(tmp_path):
    out = tmp_path / "out"
    reproduce(out, experiments=[TOY], seed=1)
    (out / "raw" / "toy" / "stale.csv").write_text("from an earlier run")
    reproduce(out, experiments=[TOY], seed=1)
    assert not (out / "raw" / "toy" / "stale.csv").exists()


def test_run_result_renders_itself(tmp_path):
    res = run_experiments([TOY, ABSENT], outdir=tmp_path)
    doc = res.summary()
    assert json.loads(json.dumps(doc)) == doc  # JSON-able
    assert [e["status"] for e in doc["experiments"]] == ["ok", "not run"]
    text = res.report()
    assert "toy: ok" in text and "absent: not run (missing part(s): letrolab.no_such_module" in text
    assert "S4 holds:" in text and "S5 NOT EVALUATED:" in text
    frame = res.to_frame()
    assert list(frame["id"]) == [f"S{i}" for i in range(1, 10)]
    assert frame.loc[frame["id"] == "S4", "holds"].item()
