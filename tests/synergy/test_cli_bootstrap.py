"""``letrolab synergy --bootstrap N --seed S``: replicate intervals on the command line.

The command must give exactly the numbers of :func:`letrolab.synergy.bootstrap_summaries`
(same wells, seed and convention), merged into each block's ``summary``. The data are
SynergyFinder's replicate example (three wells per cell; shared data).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from letrolab.synergy import bootstrap_summaries

REPL = "synergyfinder_ReplExample_3replicates.csv"


@pytest.mark.shared_data
def test_cli_bootstrap_equals_the_api(shared_data, run_cli, tmp_path):
    path = shared_data / "synergy" / REPL
    out_dir = tmp_path / "o"
    code, out, err = run_cli(
        "synergy", path, "--model", "bliss,loewe", "--bootstrap", "30", "--seed", "7",
        "--json", "--out", out_dir,
    )  # fmt: skip
    assert code == 0, err
    blocks = {b["block_id"]: b for b in json.loads(out)["blocks"]}
    api = bootstrap_summaries(path, models="bliss,loewe", n_boot=30, seed=7)
    assert set(blocks) == set(api.blocks["block_id"].astype(str)) == {"1", "2"}
    for row in api.blocks.to_dict(orient="records"):
        s = blocks[str(row["block_id"])]["summary"]
        for m in ("bliss", "loewe"):
            for k in ("mean", "msa"):
                for e in ("lo", "hi", "p"):
                    key = f"{m}_{k}_{e}"
                    assert s[key] == pytest.approx(row[key], rel=1e-12), key
                # The point estimate of the scores and of the bootstrap are the same number.
                assert s[f"{m}_{k}"] == pytest.approx(row[f"{m}_{k}"], abs=1e-9)
                assert s[f"{m}_{k}_lo"] <= s[f"{m}_{k}_hi"]
        assert s["bootstrap"] == {"n_boot": 30, "seed": 7, "level": 0.95}
    written = pd.read_csv(out_dir / "reference_bootstrap.csv")
    np.testing.assert_allclose(
        written["bliss_mean_lo"].to_numpy(), api.blocks["bliss_mean_lo"].to_numpy(), rtol=1e-12
    )


@pytest.mark.shared_data
def test_cli_bootstrap_passes_the_convention(shared_data, run_cli):
    path = shared_data / "synergy" / REPL
    args = ("synergy", path, "--model", "loewe", "--bootstrap", "20", "--json")
    code, out, err = run_cli(*args, "--convention", "synergyfinder2")
    assert code == 0, err
    got = json.loads(out)["blocks"][0]["summary"]["loewe_mean_lo"]
    api = bootstrap_summaries(path, models="loewe", n_boot=20, convention="synergyfinder2")
    assert got == pytest.approx(api.blocks["loewe_mean_lo"].iloc[0], rel=1e-12)
    free = bootstrap_summaries(path, models="loewe", n_boot=20, convention="free")
    assert got != pytest.approx(free.blocks["loewe_mean_lo"].iloc[0], abs=1e-6)


@pytest.mark.parametrize("n", ["5", "-1"])
def test_cli_bootstrap_too_few_resamples(run_cli, tmp_path, n):
    table = tmp_path / "t.csv"
    table.write_text("block_id,drug_row,drug_col,conc_r,conc_c,response\n1,A,B,0,0,0\n")
    code, out, err = run_cli("synergy", table, "--model", "bliss", "--bootstrap", n)
    assert code == 2
    assert err.strip() == f"error: --bootstrap must be 0 (off) or at least 20 resamples, not {n}"
    assert out == ""


def test_reference_models_alone_carry_the_input_warnings(run_cli, tmp_path):
    """Without Chou-Talalay (whose warnings list carried them), a dropped NaN well is named in
    the block's reference_warnings (--json) or on stderr (text)."""
    rows = ["block_id,drug_row,drug_col,conc_r,conc_c,response"]
    for a, b, y in [(0, 0, 0), (1, 0, 20), (3, 0, 40), (0, 1, 10), (0, 3, 30), (1, 1, 40),
                    (1, 3, "nan"), (3, 1, 60), (3, 3, 70)]:  # fmt: skip
        rows.append(f"1,A,B,{a},{b},{y}")
    path = tmp_path / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    code, out, err = run_cli("synergy", path, "--model", "bliss", "--json")
    assert code == 0, err
    (block,) = json.loads(out)["blocks"]
    assert block["reference_warnings"][0] == (
        "block 1: 1 well(s) with missing or non-numeric response dropped"
    )
    code, out, err = run_cli("synergy", path, "--model", "bliss")
    assert code == 0
    assert err == "warning: block 1: 1 well(s) with missing or non-numeric response dropped\n"


@pytest.mark.shared_data
def test_out_scores_carry_the_replicate_sd_and_count(shared_data, run_cli, tmp_path):
    """reference_scores.csv per cell: response is the mean of the wells, sd their sample sd
    (ddof 1), n their count (SynergyFinder's replicate example: three wells per cell). The
    --json scores keep exactly the keys of the issue's contract."""
    path = shared_data / "synergy" / REPL
    code, _, err = run_cli("synergy", path, "--model", "bliss", "--out", tmp_path / "o")
    assert code == 0, err
    got = pd.read_csv(tmp_path / "o" / "reference_scores.csv")
    raw = pd.read_csv(path)
    raw = raw[(raw["Conc1"] > 0) & (raw["Conc2"] > 0)]
    hand = raw.groupby(["PairIndex", "Conc1", "Conc2"])["Response"].agg(["mean", "std", "count"])
    got = got.assign(conc1=got["conc1"].round(6), conc2=got["conc2"].round(6))  # nM->M->nM
    m = got.merge(hand, left_on=["block_id", "conc1", "conc2"], right_index=True)
    assert len(m) == len(got) == 98
    np.testing.assert_allclose(m["response"], m["mean"], rtol=1e-12)
    np.testing.assert_allclose(m["sd"], m["std"], rtol=1e-12)
    assert (m["n"] == 3).all() and (m["count"] == 3).all()
