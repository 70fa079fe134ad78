"""``letrolab fit --sampler emcee``: a posterior ensemble around the optimum, its diagnostics,
and ``letrolab predict`` using it (issue 19: predictions take the fitted ensemble)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import letrolab.fitting as fitting
from letrolab.errors import InputError
from letrolab.fitting import FitProblem, check_fit_data
from letrolab.fitting.posterior import (
    FitEnsemble,
    ShortChainWarning,
    check_sampler_settings,
    sample_posterior,
)
from letrolab.fitting.predict import load_fit
from letrolab.fitting.virtual_lab import simulate_lab

WALKERS, STEPS, BURN = 6, 30, 10


@pytest.fixture(scope="module")
def lab():
    return simulate_lab({"K_surv": 0.7}, doses={"everolimus": np.logspace(-2, 3, 5)}, seed=5)


@pytest.fixture(scope="module")
def fitted(lab):
    pr = FitProblem(check_fit_data(lab.measurements, lab.conditions), ("K_surv",))
    result = fitting.fit(pr, n_starts=2, seed=1)
    assert result.converged
    return result


@pytest.fixture(scope="module")
def sampled(fitted):
    with pytest.warns(ShortChainWarning, match="fewer than 50 autocorrelation times"):
        return sample_posterior(fitted, walkers=WALKERS, steps=STEPS, burn=BURN, seed=3)


def test_ensemble_sets_lie_in_the_prior_box_and_carry_diagnostics(fitted, sampled):
    ens = sampled.ensemble
    pr = fitted.problem
    assert ens.x.shape == (WALKERS * (STEPS - BURN), len(pr.ids))
    assert np.all(ens.x >= pr.lower) and np.all(ens.x <= pr.upper)
    assert 0.0 < ens.acceptance_fraction <= 1.0 and np.isfinite(ens.tau)
    assert not ens.long_enough  # 20 kept steps cannot be 50 autocorrelation times
    # started around the optimum, the ensemble stays near it on these informative data
    assert np.all(np.abs(np.median(ens.x, axis=0) - fitted.x) < 0.2)
    assert sampled.uncertainty == "emcee" and fitted.uncertainty == "laplace"
    drawn = sampled.sample(15, seed=0)
    assert all(any(np.array_equal(d, row) for row in ens.x) for d in drawn)


@pytest.mark.parametrize(
    ("walkers", "steps", "burn", "words"),
    [
        (4, 30, 10, "--walkers must be more than 2 x 2"),
        (6, 10, 0, "--steps must be at least"),
        (6, 30, 30, "--burn must be"),
        (6, 30, -1, "--burn must be"),
    ],
)
def test_settings_emcee_cannot_use_are_refused(walkers, steps, burn, words):
    with pytest.raises(InputError, match=words):
        check_sampler_settings(2, walkers, steps, burn)


@pytest.mark.parametrize(
    ("tau", "long_enough"), [(1.0, True), (1.3, True), (1.4, False), (np.nan, False)]
)
def test_a_chain_is_long_enough_at_50_autocorrelation_times(tau, long_enough):
    ens = FitEnsemble(
        np.zeros((4, 1)), walkers=4, steps=105, burn=40, acceptance_fraction=0.3, tau=tau
    )
    assert ens.long_enough is long_enough  # 65 kept steps = 50 tau at tau = 1.3


# the short chain's warning is expected here: the command prints it as a ``warning:`` line
@pytest.mark.filterwarnings("default::letrolab.fitting.posterior.ShortChainWarning")
def test_cli_samples_saves_and_predict_uses_the_ensemble(
    run_cli, lab, fitted, tmp_path, monkeypatch
):
    lab.measurements.to_csv(tmp_path / "m.csv", index=False)
    lab.conditions.to_csv(tmp_path / "c.csv", index=False)
    pd.DataFrame(
        {"conditionId": ["v", "e1"], "cell_line": "mcf7-aro", "everolimus_nM": [0, 10]}
    ).to_csv(tmp_path / "design.csv", index=False)
    monkeypatch.setattr(fitting, "fit", lambda p, **kw: fitted)
    fit_dir = tmp_path / "fit"
    code, out, err = run_cli(
        "fit", tmp_path / "m.csv", tmp_path / "c.csv", "--out", fit_dir, "--parameters", "K_surv",
        "--sampler", "emcee",
        "--walkers", WALKERS, "--steps", STEPS, "--burn", BURN, "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)["uncertainty"]
    assert doc["sampler"] == "emcee" and doc["sets"] == WALKERS * (STEPS - BURN)
    assert doc["long_enough"] is False
    assert "warning: ShortChainWarning:" in err and "autocorrelation times" in err
    saved = pd.read_csv(fit_dir / "ensemble.csv")
    assert list(saved.columns) == fitted.problem.ids and len(saved) == doc["sets"]
    np.testing.assert_array_equal(load_fit(fit_dir).ensemble.x, saved.to_numpy())
    html = (fit_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="posterior-K_surv"' in html and "shorter than 50 autocorrelation times" in html
    code, out, err = run_cli(
        "predict", fit_dir, tmp_path / "design.csv", "--out", tmp_path / "pred", "--sets", "10"
    )
    assert code == 0, err
    assert "emcee posterior ensemble" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sampler", "mcmc"], "--sampler must be laplace or emcee"),
        (["--sampler", "emcee", "--walkers", "4"], "--walkers must be more than 2 x 2"),
    ],
)
def test_cli_refuses_bad_sampler_settings_before_fitting(
    run_cli, lab, tmp_path, monkeypatch, args, words
):
    lab.measurements.to_csv(tmp_path / "m.csv", index=False)
    lab.conditions.to_csv(tmp_path / "c.csv", index=False)

    def no_fit(*_a, **_k):
        raise AssertionError("the fit ran before the settings were checked")

    monkeypatch.setattr(fitting, "fit", no_fit)
    code, _out, err = run_cli(
        "fit", tmp_path / "m.csv", tmp_path / "c.csv", "--out", tmp_path / "o",
        "--parameters", "K_surv", *args,
    )  # fmt: skip
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
