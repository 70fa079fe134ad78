"""Identifiability study (issue 12): recover known parameters from model-simulated targets.

Truth: the shipped network values of every sampled parameter (``priors.csv``). Data: every
calibration measure of ``targets.csv`` simulated at the truth, with each target's own SD (so
the study asks what the real calibration design can identify). The posterior is sampled with
the same emcee settings family as the shipped ensemble, started away from the truth (a
random point of the prior box's middle half), and compared with the truth:

- recovered: the truth lies within the parameter's central 95 % posterior interval;
- identified: that interval spans < ``IDENTIFIED_MAX_SHARE`` of the prior's log width.

``--method laplace`` is the quick local version (2 d model evaluations instead of
thousands): the Gauss-Newton covariance of the log-parameters at the truth
(:meth:`Likelihood.laplace_covariance`, prior-capped) gives each parameter's 95 % width, hence
the same identified/non-identified split, without a recovery test.

The CI-sized version is ``tests/model/test_identifiability.py``. Writes the section
``identifiability`` of RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section


def main(argv=None) -> None:
    from letrolab.model import get_model
    from letrolab.model.calibration import evaluate_measures, load_targets
    from letrolab.model.ensemble import (
        IDENTIFIED_MAX_SHARE,
        Likelihood,
        identifiability,
        load_priors,
        sample_ensemble,
    )

    ap = argparse.ArgumentParser()
    ap.add_argument("--walkers", type=int, default=40)
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--burn", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--method", choices=("emcee", "laplace"), default="emcee")
    args = ap.parse_args(argv)
    model = get_model()
    priors = load_priors()
    truth = {p.parameter: model.parameters[p.parameter] for p in priors}
    targets = load_targets()
    targets["value"] = evaluate_measures(targets, parameters=truth)
    lik = Likelihood(priors, targets=targets)
    if args.method == "laplace":
        return _laplace(lik, priors, truth, len(targets), IDENTIFIED_MAX_SHARE)
    rng = np.random.default_rng(3)
    x0 = lik.lo + (0.25 + 0.5 * rng.random(len(priors))) * (lik.hi - lik.lo)
    t0 = time.perf_counter()
    kw = {"n_walkers": args.walkers, "n_steps": args.steps, "burn": args.burn, "seed": 4}
    if args.workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.workers) as pool:
            ens = sample_ensemble(lik, x0=x0, pool=pool, **kw)
    else:
        ens = sample_ensemble(lik, x0=x0, **kw)
    secs = time.perf_counter() - t0
    ident = identifiability(ens, priors).table.set_index("parameter")
    rows = []
    for p in priors:
        r = ident.loc[p.parameter]
        ok = r["low95"] <= truth[p.parameter] <= r["high95"]
        rows.append(
            f"| {p.parameter} | {truth[p.parameter]:.4g} | {r['median']:.4g} "
            f"[{r['low95']:.4g}, {r['high95']:.4g}] | {100 * r['share']:.0f} % | "
            f"{'yes' if ok else 'NO'} | {'yes' if r['identified'] else 'no'} |"
        )
    non = [p for p in ident.index if not ident.loc[p, "identified"]]
    body = "\n".join(
        [
            "## Identifiability study (identifiability_study.py)",
            "",
            f"Truth: the shipped values of the {len(priors)} sampled parameters; data: the "
            f"{len(targets)} calibration measures simulated at the truth with their own SDs. "
            f"emcee {args.walkers} walkers x {args.steps} steps (burn {args.burn}), started "
            f"away from the truth; {secs / 60:.1f} min; acceptance "
            f"{ens.info['acceptance_fraction']}, largest autocorrelation estimate "
            f"{ens.info['max_autocorr_steps']} steps (chains this short are not converged).",
            "",
            "| parameter | truth | posterior median [95 %] | share of prior | truth "
            "inside | identified |",
            "|---|---:|---:|---:|:-:|:-:|",
            *rows,
            "",
            f"Identified: posterior 95 % interval < {100 * IDENTIFIED_MAX_SHARE:.0f} % of the "
            "prior's log width. **Not identifiable from the calibration targets: "
            + (", ".join(non) if non else "none")
            + ".**",
        ]
    )
    write_section(
        "identifiability",
        body,
        command="PYTHONPATH=src python benchmarks/identifiability_study.py",
    )
    print(body)


def _laplace(lik, priors, truth, n_targets, max_share) -> None:
    t0 = time.perf_counter()
    x = np.log([truth[p.parameter] for p in priors])
    sd = np.sqrt(np.diag(lik.laplace_covariance(x)))
    secs = time.perf_counter() - t0
    rows, non = [], []
    for p, s in zip(priors, sd, strict=True):
        share = 2 * 1.959964 * s / p.log_width
        ident = share < max_share
        if not ident:
            non.append(p.parameter)
        lo, hi = (
            truth[p.parameter] * np.exp(-1.959964 * s),
            truth[p.parameter] * np.exp(1.959964 * s),
        )
        rows.append(
            f"| {p.parameter} | {truth[p.parameter]:.4g} | [{lo:.4g}, {hi:.4g}] | "
            f"{100 * min(share, 1):.0f} % | {'yes' if ident else 'no'} |"
        )
    body = "\n".join(
        [
            "## Identifiability, local (identifiability_study.py --method laplace)",
            "",
            f"Truth: the shipped values of the {len(priors)} sampled parameters; data: the "
            f"{n_targets} calibration measures simulated at the truth with their own SDs. "
            "Gauss-Newton (Laplace) covariance of the log-parameters at the truth, capped at "
            f"the prior's variance; {secs:.0f} s. No recovery test in this mode (the sampler "
            "version is the default method; its CI-sized form is "
            "tests/model/test_identifiability.py).",
            "",
            "| parameter | truth | Laplace 95 % interval | share of prior | identified |",
            "|---|---:|---:|---:|:-:|",
            *rows,
            "",
            f"Identified: 95 % interval < {100 * max_share:.0f} % of the prior's log width. "
            "**Not identifiable from the calibration targets: "
            + (", ".join(non) if non else "none")
            + ".**",
        ]
    )
    write_section(
        "identifiability_laplace",
        body,
        command="PYTHONPATH=src python benchmarks/identifiability_study.py --method laplace",
    )
    print(body)


if __name__ == "__main__":
    main()
