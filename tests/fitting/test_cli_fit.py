"""``letrolab fit`` / ``predict`` on the command line: results, PEtab, and bad input (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import letrolab.fitting as fitting
from letrolab.fitting.predict import combination_design
from letrolab.fitting.virtual_lab import simulate_lab

TRUTH = {"k_g1s_max": 0.12, "K_surv": 0.7}


def _mixed_units(m: pd.DataFrame) -> list[str]:
    """Viability rows in relative units except the first, in % (a mixed-scale table)."""
    units = ["fraction" if o == "sub_g1" else "relative" for o in m["observableId"]]
    units[units.index("relative")] = "%"
    return units


@pytest.fixture(scope="module")
def lab_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("lab")
    lab = simulate_lab(TRUTH, doses={"everolimus": np.logspace(-2, 3, 5)}, seed=5)
    lab.measurements.to_csv(d / "m.csv", index=False)
    lab.conditions.to_csv(d / "c.csv", index=False)
    pd.DataFrame(
        {
            "conditionId": ["v", "e1", "lr0", "lr1"],
            "cell_line": ["mcf7-aro", "mcf7-aro", "mcf7-aro-lr", "mcf7-aro-lr"],
            "everolimus_nM": [0, 10, 0, 10],
        }
    ).to_csv(d / "design.csv", index=False)
    return d


def test_fit_writes_report_and_petab_then_predict(run_cli, lab_files, tmp_path):
    code, out, err = run_cli(
        "fit",
        lab_files / "m.csv",
        lab_files / "c.csv",
        "--out",
        tmp_path / "fit",
        "--petab",
        tmp_path / "pe",
        "--parameters",
        "k_g1s_max,K_surv",
        "--starts",
        "2",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["converged"] and {p["parameter"] for p in doc["parameters"]} >= set(TRUTH)
    assert doc["report"] == str(tmp_path / "fit" / "report.html")
    for f in (
        "report.html",
        "parameters.csv",
        "starts.csv",
        "residuals.csv",
        "fit.json",
        "fit.png",
        "waterfall.png",
    ):
        assert (tmp_path / "fit" / f).is_file(), f
    assert (tmp_path / "pe" / "problem.yaml").is_file()
    # the PEtab problem is written after the fit: its nominal values are the estimates
    nominal = pd.read_csv(tmp_path / "pe" / "parameters.tsv", sep="\t").set_index("parameterId")
    for p in doc["parameters"]:
        assert nominal.loc[p["parameter"], "nominalValue"] == pytest.approx(p["estimate"], rel=1e-9)
    code, out, err = run_cli(
        "predict",
        tmp_path / "fit",
        lab_files / "design.csv",
        "--out",
        tmp_path / "pred",
        "--sets",
        "10",
    )
    assert code == 0, err
    assert "parameter sets of the Laplace approximation" in out  # no ensemble was sampled
    pred = pd.read_csv(tmp_path / "pred" / "predictions.csv")
    assert (
        len(pred) == 8
        and (pred["pi_low"] <= pred["median"]).all()
        and (pred["median"] <= pred["pi_high"]).all()
    )
    # the predicted plate is read by the plate analysis like a lab's plate
    pred_dir = tmp_path / "pred"
    code, _out, err = run_cli(
        "plate",
        pred_dir / "plate.csv",
        "--layout",
        pred_dir / "layout.csv",
        "--read",
        "value",
        "--out",
        tmp_path / "pl",
    )
    assert code == 0, err
    assert (tmp_path / "pl" / "viability.csv").is_file()
    code, _out, err = run_cli("fit", "--from-petab", tmp_path / "pe")
    assert code == 0, err
    # a letrozole x everolimus matrix: the combination index of each point, with its interval
    combination_design("letrozole", [0, 10, 100, 1000], "everolimus", [0, 0.3, 3, 30]).to_csv(
        tmp_path / "matrix.csv", index=False
    )
    code, out, err = run_cli(
        "predict", tmp_path / "fit", tmp_path / "matrix.csv", "--out", tmp_path / "mx", "--json"
    )
    assert code == 0, err
    ci = pd.read_csv(tmp_path / "mx" / "ci.csv")
    assert len(ci) == 9 and len(json.loads(out)["combination_index"]) == 9
    assert ((ci["ci_low"] <= ci["ci_median"]) & (ci["ci_median"] <= ci["ci_high"])).all()
    assert (ci["ci_median"] > 0).all() and (ci["n_sets"] > 0).all()


def test_non_converged_fit_says_so_and_writes_nothing(run_cli, lab_files, tmp_path, monkeypatch):
    real = fitting.fit
    monkeypatch.setattr(fitting, "fit", lambda p, **kw: real(p, **{**kw, "max_nfev": 1}))
    code, _out, err = run_cli(
        "fit",
        lab_files / "m.csv",
        lab_files / "c.csv",
        "--out",
        tmp_path / "fit",
        "--parameters",
        "K_surv",
        "--starts",
        "2",
    )
    assert code == 2
    assert "did not converge" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "fit").exists()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda m: m.assign(observableId="ki67"), "row 1: unknown observable"),
        (lambda m: m.assign(timeUnit="weeks"), "row 1: unknown time unit"),
        (lambda m: m.assign(unit=_mixed_units(m)), "mixes scales"),
    ],
)
def test_bad_measurements_are_one_line_exit_2(run_cli, lab_files, tmp_path, edit, words):
    m = edit(pd.read_csv(lab_files / "m.csv"))
    m.to_csv(tmp_path / "m.csv", index=False)
    code, _out, err = run_cli(
        "fit", tmp_path / "m.csv", lab_files / "c.csv", "--out", tmp_path / "o"
    )
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_profiles_bound_the_estimate_and_name_flat_parameters():
    """Profile likelihood (Raue 2009): zero at the optimum, interval around the estimate."""
    from letrolab.fitting import FitProblem, check_fit_data, fit

    lab = simulate_lab(TRUTH, doses={"everolimus": np.logspace(-2, 3, 5)}, seed=5)
    pr = FitProblem(check_fit_data(lab.measurements, lab.conditions), ("k_g1s_max", "K_surv"))
    res = fit(pr, n_starts=2, profiles=True, profile_points=5)
    assert [p.parameter for p in res.profiles] == ["k_g1s_max", "K_surv"]
    t = res.intervals().set_index("parameter")
    assert (t.loc[["k_g1s_max", "K_surv"], "method"] == "profile").all()
    for p in res.profiles:
        k = int(np.argmin(np.abs(p.grid - res.x[pr.ids.index(p.parameter)])))
        assert p.delta[k] == pytest.approx(0.0, abs=0.05)
    assert (t["ci_low"] <= t["estimate"]).all() and (t["estimate"] <= t["ci_high"]).all()
    assert set(res.non_identifiable) == set(t.index[~t["identifiable"]])


def test_dask_starts_give_the_serial_result():
    """The starts as Dask tasks (local processes) reach the same optimum as in this process."""
    pytest.importorskip("dask")
    from letrolab.fitting import FitProblem, check_fit_data, fit

    lab = simulate_lab(TRUTH, doses={"everolimus": np.logspace(-2, 3, 5)}, seed=5)
    pr = FitProblem(check_fit_data(lab.measurements, lab.conditions), ("K_surv",))
    serial = fit(pr, n_starts=2, seed=4)
    parallel = fit(pr, n_starts=2, seed=4, dask=True)
    assert parallel.cost == pytest.approx(serial.cost, rel=1e-9)
    np.testing.assert_allclose(parallel.x, serial.x, rtol=1e-9)
