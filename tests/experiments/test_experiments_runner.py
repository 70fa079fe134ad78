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
    assert st["broken"].status == "error"  # a defect, not the model's failure
    assert st["broken"].reason.startswith(
        "ZeroDivisionError: upstream bug (at test_experiments_runner.py:"
    )
    claims = {c.id: c for c in res.claims}
    assert claims["S4"].holds and claims["S4"].evaluated
    assert not claims["S5"].holds and "experiment 'absent' not run" in claims["S5"].model
    assert "experiment 'broken' error: ZeroDivisionError" in claims["S6"].model
    assert claims["S6"].status == "not evaluated"
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
    keys = ["id", "claim", "seed", "model", "holds", "status", "readout_label", "readout"]
    assert all(list(d)[:8] == keys for d in doc)
    # the toy experiment bears on S4 only: only S4 has a negative control
    assert [d["id"] for d in doc if "negative_control" in d] == ["S4"]
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


def _stalls(ctx: Context) -> Output:
    """Like a protocol whose growth the model cannot compute under the run's overrides."""
    from letrolab.errors import ModelError

    if ctx.overrides.get("k_irs_act") == 0:
        raise ModelError("passage 1: the model gave non-finite or negative growth")
    return _synergy(ctx)


STALLS = Experiment("stalls", "Stalls under an override", ("S4",), (), _stalls)


def test_a_legal_set_that_breaks_an_experiment_is_a_failing_claim_with_its_reason(tmp_path):
    res = run_experiments([STALLS], outdir=tmp_path, overrides={"k_irs_act": 0})
    (run,) = res.runs
    assert run.status == "failed" and "non-finite or negative growth" in run.reason
    s4 = {c.id: c for c in res.claims}["S4"]
    assert s4.status == "fails" and s4.evaluated and not s4.holds
    assert s4.model.startswith("the experiment could not be simulated: experiment 'stalls'")
    assert "non-finite or negative growth" in s4.model
    # claims of experiments outside the run are not evaluated, never a defect
    assert {c.id: c.status for c in res.claims}["S1"] == "not evaluated"


def test_set_reaches_the_patient_model(tmp_path):
    from letrolab.pipeline import check_overrides, split_overrides

    both = check_overrides({"Emax_E2L": 0, "k_r1_act": 1.5})
    assert split_overrides(both) == ({"k_r1_act": 1.5}, {"Emax_E2L": 0.0})
    with pytest.raises(InputError, match=r"unknown model parameter 'nope'.*patient"):
        check_overrides({"nope": 1})
    seen = {}

    def spy(ctx: Context) -> Output:
        seen.update(network=dict(ctx.overrides), patient=dict(ctx.patient_overrides))
        return _synergy(ctx)

    run_experiments([Experiment("spy", "Spy", ("S4",), (), spy)], outdir=tmp_path, overrides=both)
    assert seen == {"network": {"k_r1_act": 1.5}, "patient": {"Emax_E2L": 0.0}}


def test_negative_control_runs_the_claims_experiments_with_its_ablation(tmp_path):
    """S4's ablation (IGF-1R kinase off) reaches the toy protocol as an override; a protocol
    that responds to it makes the claim fail, and the control says so."""

    def responds(ctx: Context) -> Output:
        out = _synergy(ctx)
        if ctx.overrides.get("k_r1_act") == 0:  # no IGF-1R signal: no synergy
            ci = out.tables["s4_ci_at_fa"].assign(ci=1.0)
            return Output(tables={"s4_ci_at_fa": ci})
        return out

    exp = Experiment("responds", "Responds", ("S4",), (), responds)
    res = run_experiments([exp], outdir=tmp_path, controls=True)
    (ctrl,) = res.controls
    assert ctrl.claim == "S4" and ctrl.ablation == "k_r1_act=0"
    assert ctrl.intact_status == "holds" and ctrl.ablated_status == "fails" and ctrl.fails
    assert ctrl.intact == pytest.approx(0.31, abs=0.01) and ctrl.ablated == 1.0
    assert res.tables["negative_controls"]["fails_without_mechanism"].tolist() == [True]
    assert not list(tmp_path.glob("control-*"))  # the controls' files went to a scratch folder
