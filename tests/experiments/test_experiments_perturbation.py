"""Claims depend on mechanisms: remove the IGF-1R → ER crosstalk and the affected claims fail.

The claims are computed from the model's outputs through the lab analysis code, so changing one
model parameter set — the AKT/S6K1 → ER S167 and ERK → ER S118 phosphorylation rates, set to
zero for every simulation of the run — must change the verdicts that rest on that mechanism.
"""

from __future__ import annotations

import pytest

from letrolab.experiments._model import CROSSTALK_PARAMETERS, crosstalk_off
from letrolab.experiments.registry import get_experiment
from letrolab.pipeline import run_experiments


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    exps = [get_experiment("crosstalk"), get_experiment("proliferation")]
    base = run_experiments(exps, outdir=tmp_path_factory.mktemp("base"), quick=True)
    cut = run_experiments(
        exps, outdir=tmp_path_factory.mktemp("cut"), quick=True, overrides=crosstalk_off()
    )
    bad = [(r.id, r.reason) for res in (base, cut) for r in res.runs if r.status != "ok"]
    assert not bad, bad
    return base, cut


def test_crosstalk_parameters_are_model_parameters():
    from letrolab.model import get_model

    params = get_model().parameters
    assert all(p in params and params[p] > 0 for p in CROSSTALK_PARAMETERS)


def test_s3_holds_with_the_crosstalk_and_fails_without(runs):
    base, cut = runs
    b = {c.id: c for c in base.claims}
    c = {c.id: c for c in cut.claims}
    assert all(r.status == "ok" for r in base.runs + cut.runs)
    assert b["S3"].holds, b["S3"].model
    assert not c["S3"].holds and c["S3"].evaluated, c["S3"].model
    # without ER phosphorylation IGF-1 no longer raises ER output (S3's negative control)
    assert c["S3"].values["rise"]["er_activity"] == pytest.approx(0.0, abs=1e-6)
    assert c["S3"].readout == pytest.approx(0.0, abs=1e-6)
    assert b["S3"].readout > 0.1
    assert (
        cut.provenance["overrides"]
        == '{"k_er118_erk": 0.0, "k_er167_akt": 0.0, "k_er167_s6k": 0.0}'
    )


def test_synergy_weakens_without_the_crosstalk(runs):
    """S4's CI (from the plate files) rises in both lines when ER cannot be phosphorylated."""
    base, cut = runs
    ci_b = base.tables["s4_ci_at_fa"].set_index(["cell_line", "fa"])["ci"]
    ci_c = cut.tables["s4_ci_at_fa"].set_index(["cell_line", "fa"])["ci"]
    for line in ("mcf7-aro", "t47d-aro"):
        assert ci_c[(line, 0.5)] > ci_b[(line, 0.5)] * 1.3, (
            line,
            ci_b[(line, 0.5)],
            ci_c[(line, 0.5)],
        )


def test_s6_fails_when_the_resistant_clones_are_parental_cells(monkeypatch, tmp_path):
    """S6 can fail: a founder population without IGF-1R, PI3K or ER-dependence variability and
    without adaptive upregulation gives "LR" clones with the parental parameters; their blots
    (same noise, same replicates, same analysis) must not show higher p-AKT and p-S6."""
    from letrolab.experiments import resistance

    monkeypatch.setattr(resistance, "SPREAD", dict.fromkeys(resistance.SPREAD, 0.0))
    monkeypatch.setattr(resistance, "ER_SHARE_SD", 0.0)
    monkeypatch.setattr(resistance, "ALPHA", 0.0)
    res = run_experiments([get_experiment("resistance")], outdir=tmp_path, quick=True)
    assert [r.status for r in res.runs] == ["ok"], [r.reason for r in res.runs]
    s6 = {c.id: c for c in res.claims}["S6"]
    assert s6.evaluated and not s6.holds, s6.model
    for readout in s6.values["readouts"].values():
        assert all(r == pytest.approx(1.0, abs=1e-6) for r in readout["model_ratio"].values())
