"""`letrolab synergy --model bliss|hsa|loewe|zip|all` and the reference figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.synergy import ref_plots
from letrolab.synergy.reference import reference_scores
from letrolab.synergy.tidy import read_combination


@pytest.fixture
def example(shared_data):
    return shared_data / "synergy" / "synergyfinder_v1_exampleTable.csv"


@pytest.mark.shared_data
def test_json_has_scores_and_summary_of_the_models_asked_for(run_cli, example):
    code, out, err = run_cli("synergy", example, "--model", "bliss,zip", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["blocks"]) == 6
    b = doc["blocks"][0]
    assert set(b["scores"][0]) == {"conc", "response", "bliss", "zip"}
    assert set(b["scores"][0]["conc"]) == {"AT-406", "Navitoclax"} and len(b["scores"]) == 49
    assert {"bliss_mean", "bliss_msa", "zip_mean", "zip_msa"} <= set(b["summary"])
    assert "hsa_mean" not in b["summary"]
    # The JSON equals the library result.
    lib = reference_scores(read_combination(example), models="bliss,zip")
    assert b["summary"]["zip_mean"] == pytest.approx(lib.blocks["zip_mean"].iloc[0], abs=1e-12)


@pytest.mark.shared_data
def test_all_models_with_chou_talalay_keep_both(run_cli, example):
    code, out, err = run_cli("synergy", example, "--model", "all", "--json")
    assert code == 0, err
    b = json.loads(out)["blocks"][3]
    assert "points" in b and "scores" in b  # Chou-Talalay and the reference models together
    assert {"bliss", "hsa", "loewe", "zip"} <= set(b["scores"][0])
    assert isinstance(b["warnings"], list) and isinstance(b["reference_warnings"], list)


@pytest.mark.shared_data
def test_out_dir_gets_tables_and_figures(run_cli, example, tmp_path):
    one = tmp_path / "one.csv"
    pd.read_csv(example).query("PairIndex == 1").to_csv(one, index=False)
    out = tmp_path / "res"
    code, stdout, err = run_cli("synergy", one, "--model", "zip,loewe", "--out", out)
    assert code == 0, err
    assert "zip_mean" in stdout
    scores = pd.read_csv(out / "reference_scores.csv")
    assert {"zip", "loewe", "response"} <= set(scores.columns) and len(scores) == 49
    assert (out / "reference_blocks.csv").exists()
    assert (out / "ranking_zip.png").stat().st_size > 1000
    assert (out / "block_1" / "ref_heatmap_loewe.png").exists()
    assert (out / "block_1" / "ref_dose_response.png").exists()


def test_bad_model_exits_2(run_cli, tmp_path):
    src = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "block_id": [1],
            "drug_row": ["A"],
            "drug_col": ["B"],
            "conc_r": [0],
            "conc_c": [0],
            "response": [0.0],
        }
    ).to_csv(src, index=False)
    code, _out, err = run_cli("synergy", src, "--model", "zipp")
    assert code == 2 and err.startswith("error: unknown model 'zipp'")


def test_plots_refuse_unknown_blocks_and_models(tmp_path):
    df = pd.DataFrame(
        {
            "block_id": "b",
            "drug_row": "A",
            "drug_col": "B",
            "conc_r": np.repeat([0.0, 1, 3, 10], 4),
            "conc_c": np.tile([0.0, 1, 3, 10], 4),
            "response": np.linspace(0, 80, 16),
        }
    )
    r = reference_scores(df, models="bliss")
    with pytest.raises(InputError, match="model 'zip' was not scored"):
        ref_plots.plot_synergy_heatmap(r.scores, "b", "zip", tmp_path / "x.png")
    with pytest.raises(InputError, match="block 'nope' has no combination scores"):
        ref_plots.plot_synergy_heatmap(r.scores, "nope", "bliss", tmp_path / "x.png")
    p = ref_plots.plot_synergy_heatmap(r.scores, "b", "bliss", tmp_path / "h.svg")
    assert p.read_text().startswith("<?xml")


def test_three_drugs_get_zip_undefined_when_single_agents_cannot_be_fitted(run_cli, tmp_path):
    src = tmp_path / "three.csv"
    pd.DataFrame(
        {
            "block_id": "t",
            "drug1": "A",
            "drug2": "B",
            "drug3": "C",
            "conc1": [0, 1, 0, 0, 1],
            "conc2": [0, 0, 1, 0, 1],
            "conc3": [0, 0, 0, 1, 1],
            "response": [0.0, 10.0, 20.0, 50.0, 80.0],
        }
    ).to_csv(src, index=False)
    code, out, err = run_cli("synergy", src, "--model", "bliss,zip", "--json")
    assert code == 0, err
    b = json.loads(out)["blocks"][0]
    assert b["scores"][0]["bliss"] == pytest.approx(16.0)
    # N-drug ZIP is scored (letrolab.synergy.reference.zip_nd); one dose per drug cannot be fitted.
    assert b["scores"][0]["zip"] is None and b["summary"]["zip_mean"] is None
    assert any("single-agent fit of A failed" in w for w in b["reference_warnings"])
    code, _out, err = run_cli("synergy", src, "--model", "zip")
    assert code == 0, err


@pytest.mark.shared_data
def test_dask_engine_gives_the_numpy_numbers(run_cli, example, tmp_path):
    one = tmp_path / "two.csv"
    pd.read_csv(example).query("PairIndex <= 2").to_csv(one, index=False)
    code, out, err = run_cli("synergy", one, "--model", "bliss,zip", "--engine", "dask", "--json")
    assert code == 0, err
    _code2, out2, _ = run_cli("synergy", one, "--model", "bliss,zip", "--json")
    a, b = json.loads(out)["blocks"], json.loads(out2)["blocks"]
    assert len(a) == len(b) == 2
    for x, y in zip(a, b, strict=True):
        assert x["summary"] == pytest.approx(y["summary"], abs=1e-9)
