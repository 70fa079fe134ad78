"""Issue 12: the sampler recovers known parameters from model-simulated data (small version).

Data: 6-day growth and sub-G1 of androstenedione-stimulated MCF-7/Aro, simulated at known
values of three parameters, with a 5 % SD (log scale). ``k_g1s_max`` (G1 -> S) and
``k_apo_basal`` (spontaneous apoptosis) shape these readouts; ``k_s6_act`` (S6 phosphorylation)
does not touch them (local sensitivity < 1e-6), so it must come out non-identifiable — the
check that names what the data cannot tell. The full study over all targets and sampled
parameters is ``benchmarks/identifiability_study.py``.

Tolerances: posterior medians within 10 % of the truth (the data's 5 % SD on two readouts
with two identified parameters gives posterior SDs of a few per cent; 10 % covers that and
the short chain), and the identified/non-identified split of
:data:`letrolab.model.ensemble.IDENTIFIED_MAX_SHARE`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import FormatError, InputError
from letrolab.model.calibration import evaluate_measures
from letrolab.model.ensemble import (
    Ensemble,
    Likelihood,
    Prior,
    identifiability,
    last_positions,
    load_ensemble,
    load_priors,
    sample_ensemble,
)

TRUTH = {"k_g1s_max": 0.09, "k_apo_basal": 0.002, "k_s6_act": 10.0}
PRIORS = [
    Prior("k_g1s_max", 0.03, 0.3, "test range"),
    Prior("k_apo_basal", 0.0003, 0.005, "test range"),
    Prior("k_s6_act", 0.5, 100.0, "test range"),
]


@pytest.fixture(scope="module")
def synthetic_targets():
    rows = [
        ["growth", "control_growth_6d", "mcf7-aro", 1.0, 0.05, "log", "A", "synthetic"],
        ["subg1", "control_subg1_fraction", "mcf7-aro", 1.0, 0.05, "log", "A", "synthetic"],
    ]
    cols = ["id", "measure", "cell_line", "value", "sd", "scale", "status", "source"]
    t = pd.DataFrame(rows, columns=cols)
    t["value"] = evaluate_measures(t, parameters=TRUTH)
    return t


@pytest.fixture(scope="module")
def posterior(synthetic_targets):
    lik = Likelihood(PRIORS, targets=synthetic_targets)
    x0 = np.log([0.12, 0.001, 3.0])  # start away from the truth
    return sample_ensemble(lik, n_walkers=8, n_steps=70, burn=40, seed=5, spread=0.1, x0=x0)


def test_sampler_recovers_the_identified_parameters(posterior):
    med = posterior.parameters.median()
    assert med["k_g1s_max"] == pytest.approx(TRUTH["k_g1s_max"], rel=0.10)
    assert med["k_apo_basal"] == pytest.approx(TRUTH["k_apo_basal"], rel=0.10)
    assert len(posterior) == 8 * 30
    assert 0.1 < float(posterior.info["acceptance_fraction"]) < 0.9


def test_identifiability_names_the_parameter_the_data_cannot_see(posterior):
    ident = identifiability(posterior, PRIORS)
    assert ident.non_identifiable == ["k_s6_act"]
    assert "NOT IDENTIFIED" in ident.report()


def test_likelihood_is_the_gaussian_of_the_standardised_residuals(synthetic_targets):
    lik = Likelihood(PRIORS, targets=synthetic_targets)
    x = np.log([TRUTH[p.parameter] for p in PRIORS])
    assert lik.log_likelihood(x) == pytest.approx(0.0, abs=1e-9)
    # 10 % more G1 -> S: each residual is its log change / 0.05
    x2 = x.copy()
    x2[0] += np.log(1.1)
    sim = evaluate_measures(synthetic_targets, parameters=lik.parameters(x2))
    r = np.log(sim / synthetic_targets["value"].to_numpy()) / 0.05
    assert lik.log_likelihood(x2) == pytest.approx(-0.5 * np.sum(r**2), rel=1e-9)
    assert lik.log_posterior(np.log([1.0, 0.001, 3.0])) == -np.inf  # outside the prior


def test_bad_inputs_are_clear_errors(tmp_path, synthetic_targets):
    with pytest.raises(InputError, match="more than 2 x 3 walkers"):
        sample_ensemble(Likelihood(PRIORS, targets=synthetic_targets), n_walkers=6)
    with pytest.raises(InputError, match="moves must be one of"):
        sample_ensemble(Likelihood(PRIORS, targets=synthetic_targets), moves="gibbs")
    p = tmp_path / "priors.csv"
    p.write_text("parameter,low,high,reason\nk_s,0.2,0.1,some reason here\n")
    with pytest.raises(FormatError, match="0 < low < high"):
        load_priors(p)
    p.write_text("parameter,low,high,reason\nnope,0.1,0.2,some reason here\n")
    with pytest.raises(FormatError, match="unknown model parameter"):
        load_priors(p)
    e = tmp_path / "e.csv"
    e.write_text("# sampler: x\nk_s,log_posterior\n-1,0\n")
    with pytest.raises(FormatError, match="finite and > 0"):
        load_ensemble(e)


def test_shipped_ensemble_has_200_sets_inside_the_priors():
    ens = load_ensemble()
    priors = {p.parameter: p for p in load_priors()}
    assert len(ens) >= 200
    assert set(ens.parameters.columns) == set(priors)
    for name, col in ens.parameters.items():
        assert (col >= priors[name].low * (1 - 1e-6)).all()
        assert (col <= priors[name].high * (1 + 1e-6)).all()
    assert np.isfinite(ens.log_posterior).all()


def test_de_moves_sample_inside_the_prior_and_say_so(synthetic_targets):
    """The differential-evolution proposal (ter Braak & Vrugt 2008) is the sampler's other
    option: every set it keeps lies in the prior box and the file header names the moves."""
    lik = Likelihood(PRIORS, targets=synthetic_targets)
    ens = sample_ensemble(lik, n_walkers=8, n_steps=12, burn=6, seed=2, spread=0.1, moves="de")
    assert len(ens) == 8 * 6 and "DE 0.8 + DE snooker 0.2" in ens.info["sampler"]
    x = np.log(ens.parameters[list(lik.names)].to_numpy(float))
    assert np.all((x >= lik.lo) & (x <= lik.hi))
    assert np.all(np.isfinite(ens.log_posterior))


def test_a_chain_resumes_from_its_last_step(tmp_path, synthetic_targets):
    """A long run is sampled in pieces: the next piece starts where the saved one stopped."""
    lik = Likelihood(PRIORS, targets=synthetic_targets)
    first = sample_ensemble(lik, n_walkers=8, n_steps=6, burn=2, seed=3, spread=0.1)
    first.save(tmp_path / "first.csv")
    saved = load_ensemble(tmp_path / "first.csv")
    start = last_positions(saved, lik.names)
    # the last 8 rows are the final step's walkers (step-major rows), to the file's precision
    np.testing.assert_allclose(
        np.exp(start), first.parameters[list(lik.names)].to_numpy()[-8:], rtol=1e-5
    )
    more = sample_ensemble(lik, n_walkers=8, n_steps=4, burn=0, seed=4, start=start)
    assert len(more) == 8 * 4
    assert np.all(np.isfinite(more.log_posterior))
    with pytest.raises(InputError, match="shape"):
        sample_ensemble(lik, n_walkers=10, n_steps=4, burn=0, start=start)
    outside = start.copy()
    outside[0, 0] = np.log(10.0)  # k_g1s_max prior is 0.03-0.3
    with pytest.raises(InputError, match="inside the prior box"):
        sample_ensemble(lik, n_walkers=8, n_steps=4, burn=0, start=outside)


def test_subsample_keeps_whole_steps_and_records_them():
    """Rows are step-major: dropping 4 sampler steps of a thin-2 chain drops its first two
    kept steps, and thinning to 4 keeps every other kept step after that."""
    walkers, kept = 3, 5
    step = np.repeat(np.arange(kept), walkers)  # which kept step each row belongs to
    walker = np.tile(np.arange(walkers), kept)
    frame = pd.DataFrame({"a": 1.0 + step, "b": 1.0 + walker})
    ens = Ensemble(frame, -step.astype(float), {"walkers": 3, "thin": 2, "burn": 10})
    sub = ens.subsample(burn=4, thin=4)
    assert sub.parameters["a"].tolist() == [3.0, 3.0, 3.0, 5.0, 5.0, 5.0]
    assert sub.parameters["b"].tolist() == [1.0, 2.0, 3.0] * 2
    assert sub.log_posterior.tolist() == [-2.0] * 3 + [-4.0] * 3
    assert sub.info["burn"] == 14 and sub.info["thin"] == 4
    with pytest.raises(InputError, match="multiples"):
        ens.subsample(burn=3, thin=4)
    with pytest.raises(InputError, match="leaves no step"):
        ens.subsample(burn=10, thin=2)


def test_subsample_command_writes_the_thinned_chain_with_its_history(tmp_path, capsys):
    from letrolab.model.ensemble import main

    walkers, kept = 2, 6
    frame = pd.DataFrame({"k_s": 0.1 + 0.001 * np.arange(walkers * kept)})
    info = {"walkers": walkers, "thin": 2, "burn": 0, "steps": 12}
    Ensemble(frame, np.zeros(walkers * kept), info).save(tmp_path / "chain.csv")
    args = ["--subsample", str(tmp_path / "chain.csv"), "--burn", "4", "--thin", "4"]
    assert main([*args, "--history", "two pieces", "--out", str(tmp_path / "out.csv")]) == 0
    out = load_ensemble(tmp_path / "out.csv")
    assert len(out) == walkers * 2  # kept steps 2 and 4 of 0..5
    assert out.info["history"] == "two pieces" and out.info["burn"] == "4"
    assert out.parameters["k_s"].tolist() == pytest.approx([0.104, 0.105, 0.108, 0.109])
