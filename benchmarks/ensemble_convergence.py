"""Convergence study of the calibrated ensemble (issue 12): has the chain mixed, and are the
claims' verdicts settled?

emcee's own convergence test asks for a chain some 50 integrated autocorrelation times long
(Foreman-Mackey et al. 2013, PASP 125:306, sec. 3, and the emcee documentation's
"Autocorrelation analysis"). This study reads a long chain saved by
``python -m letrolab.model.ensemble`` (the shipped one was sampled in two pieces)::

    python -m letrolab.model.ensemble --walkers 40 --steps 700 --burn 100 --thin 2 \
        --seed 41 --workers 2 --moves de --out /tmp/conv/ens_de.csv
    python -m letrolab.model.ensemble --steps 3000 --burn 0 --thin 4 --seed 43 --workers 2 \
        --moves de --resume /tmp/conv/ens_de.csv --checkpoint-every 25 \
        --out /tmp/conv2/ens_de_cont.csv

and ``python benchmarks/ensemble_convergence.py --long /tmp/conv2/ens_de_cont.csv
--discard 1200 --readout-steps 40`` computes, on its kept steps:

- the integrated autocorrelation time of each parameter (``emcee.autocorr.integrated_time``,
  ``tol=0``: an estimate even where the chain is shorter than 50 tau) and the chain's length in
  units of it;
- split-R-hat over the walkers (Gelman et al. 2013, *Bayesian Data Analysis*, 3rd ed.,
  eq. 11.4, each walker's kept steps split into halves), checked against ArviZ's, with
  ArviZ's rank-normalised R-hat and bulk ESS (Vehtari et al. 2021). The walkers of an ensemble
  sampler are not independent chains, so this is a check of mixing, not a proof;
- which parameters the targets identify (:func:`letrolab.model.ensemble.identifiability`);
- with ``--readout-steps``, the claims' own mixing (:func:`claim_mixing`): what the report's
  verdicts rest on;

and compares the chain with another ensemble (``--shipped``, default the shipped file):
each parameter's posterior median and 95 % interval (log10) and each claim's support
(``letrolab.experiments.support.claim_support``, on at most ``--sets`` sets of each, whole
steps taken evenly through the kept steps).

Writes the section ``ensemble_convergence`` of RESULTS.md (``--section`` names another).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section


def _chain(ens) -> np.ndarray:
    """The kept steps as (steps, walkers, parameters), log scale (rows are step-major)."""
    walkers = int(ens.info["walkers"])
    x = np.log(ens.parameters.to_numpy(float))
    if x.shape[0] % walkers:
        raise SystemExit(f"{x.shape[0]} sets is not a whole number of {walkers}-walker steps")
    return x.reshape(-1, walkers, x.shape[1])


def split_rhat(chain: np.ndarray) -> np.ndarray:
    """Split-R-hat per parameter (BDA3 eq. 11.4) with each walker's steps cut in two halves."""
    n = chain.shape[0] // 2
    halves = np.concatenate([chain[:n], chain[n : 2 * n]], axis=1)  # (n, 2 W, d)
    means = halves.mean(axis=0)
    b = n * means.var(axis=0, ddof=1)
    w = halves.var(axis=0, ddof=1).mean(axis=0)
    var_plus = (n - 1) / n * w + b / n
    return np.sqrt(var_plus / w)


def arviz_diagnostics(chain: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ArviZ's split R-hat (classic), rank-normalised split R-hat and bulk ESS per parameter.

    ArviZ is the reference implementation of Vehtari et al. 2021 (Bayesian Anal 16:667): the
    rank-normalised R-hat and the multi-chain effective sample size, whose autocorrelation is
    computed about the pooled mean of all walkers (emcee's tau uses each walker's own mean).
    Its classic split R-hat also checks :func:`split_rhat` above.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arviz's notice of its coming refactor
        import arviz as az

    data = az.convert_to_dataset(np.transpose(chain, (1, 0, 2)))  # (walker, step, parameter)
    split = az.rhat(data, method="split")["x"].to_numpy()
    rank = az.rhat(data, method="rank")["x"].to_numpy()
    ess = az.ess(data, method="bulk")["x"].to_numpy()
    return split, rank, ess


def claim_mixing(chain: np.ndarray, names: list[str], steps: int, workers: int) -> list[str]:
    """Convergence of what the report uses: each claim's readout and verdict over the chain.

    The readouts (``letrolab.experiments.support.evaluate_readouts``) are computed on
    ``steps`` kept steps taken evenly through the chain, every walker, keeping the
    (step, walker) layout. Per claim: the rank-normalised R-hat of the readout, the support
    (fraction of sets where the rule holds), its Monte Carlo standard error from the bulk ESS
    of the 0/1 verdict (Vehtari et al. 2021; ArviZ), and the support in the first and the
    second half of those steps. Returns the section's table lines.
    """
    import warnings

    import pandas as pd

    from letrolab.experiments.support import CLAIM_READOUTS, SUPPORT_HOLDS, evaluate_readouts

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az

    pick = np.unique(np.linspace(0, chain.shape[0] - 1, steps).round().astype(int))
    sub = chain[pick]  # (steps, walkers, parameters), log scale
    frame = pd.DataFrame(np.exp(sub.reshape(-1, sub.shape[2])), columns=names)
    values, holds = evaluate_readouts(frame, workers=workers)
    shape = (len(pick), chain.shape[1])
    lines = [
        "",
        f"Claims over the long chain ({len(pick)} kept steps evenly spaced x "
        f"{chain.shape[1]} walkers = {len(frame)} sets):",
        "",
        "| claim | support | MC se (from bulk ESS of the verdict) | support 1st / 2nd half | "
        "readout rank R-hat | verdict |",
        "|---|---:|---:|---|---:|---|",
    ]
    half = len(pick) // 2
    for j, cid in enumerate(CLAIM_READOUTS):
        h = holds[:, j].reshape(shape).astype(float)
        v = values[:, j].reshape(shape)
        p = float(h.mean())
        ess_h = float(az.ess(np.transpose(h), method="bulk"))
        se = float(np.sqrt(p * (1 - p) / ess_h)) if 0 < p < 1 and np.isfinite(ess_h) else 0.0
        finite = np.where(np.isfinite(v), v, np.nanmedian(v))
        rk = float(az.rhat(np.transpose(finite), method="rank"))
        lo, hi = p - 1.96 * se, p + 1.96 * se
        verdict = (
            "holds" if lo > SUPPORT_HOLDS else ("fails" if hi < SUPPORT_HOLDS else "undecided")
        )
        lines.append(
            f"| {cid} | {p:.2f} | {se:.3f} | {h[:half].mean():.2f} / {h[half:].mean():.2f} | "
            f"{rk:.3f} | {verdict} |"
        )
    lines += ["", _lr_direction(frame, holds[:, list(CLAIM_READOUTS).index("S7")])]
    return lines


def _lr_direction(frame, s7_holds: np.ndarray) -> str:
    """S7's support on the sets where the LR line's absolute values keep their stated direction
    against the sampled parental ones (cell_lines.csv values are absolute)."""
    from letrolab.model import get_cell_line

    own = get_cell_line("mcf7-aro-lr").overrides
    shared = [k for k in own if k in frame.columns]
    # the LR line lowers these relative to parental cells (cell_lines.csv reasons)
    keep = np.ones(len(frame), dtype=bool)
    for k in shared:
        keep &= frame[k].to_numpy(float) > own[k]
    if not shared:
        return "The LR line overrides no sampled parameter."
    return (
        f"S7 on the {keep.sum()} of {len(frame)} sets where the parental value of "
        + ", ".join(f"{k} exceeds the LR line's {own[k]:g}" for k in shared)
        + f": support {s7_holds[keep].mean():.2f} (all sets: {s7_holds.mean():.2f})."
    )


def _every(ens, most: int):
    """At most ``most`` sets: whole steps (every walker) evenly spaced through the chain.

    Taking every k-th row instead would keep only the walkers k steps apart in the
    step-major rows (every 90th of 40 walkers is walkers 0, 10, 20, 30): unmixed walkers
    then bias the support.
    """
    walkers = int(ens.info.get("walkers", 1))
    frame = ens.parameters
    steps = len(frame) // walkers
    keep = max(1, min(steps, most // walkers))
    pick = np.unique(np.linspace(0, steps - 1, keep).round().astype(int))
    rows = (pick[:, None] * walkers + np.arange(walkers)).ravel()
    return frame.iloc[rows].reset_index(drop=True)


def _support_table(shipped, long, workers: int, most: int) -> list[tuple]:
    from letrolab.experiments.support import claim_support

    a = claim_support(_every(shipped, most), workers=workers)
    b = claim_support(_every(long, most), workers=workers)
    rows = []
    for sa, sb in zip(a, b, strict=True):
        if sa.support is None:
            continue
        rows.append((sa.claim, sa, sb))
    return rows


def _command(info: dict, args) -> str:
    """The two commands behind a section: the long chain's sampling (from its header), then
    this study."""
    moves = " --moves de" if "DE" in info.get("sampler", "") else ""
    sample = (
        f"python -m letrolab.model.ensemble --walkers {info['walkers']} --steps {info['steps']} "
        f"--burn {info['burn']} --thin {info['thin']} --seed {info['seed']} --workers 2{moves}"
        + (f" --resume {info['resumed_from']}" if info.get("resumed_from") else "")
        + f" --out {args.long}"
    )
    first = info.get("resumed_from")
    if first and Path(first).is_file():  # the piece it continues, from that file's header
        from letrolab.model.ensemble import load_ensemble

        before = load_ensemble(first).info
        moves0 = " --moves de" if "DE" in before.get("sampler", "") else ""
        sample = (
            f"python -m letrolab.model.ensemble --walkers {before['walkers']} --steps "
            f"{before['steps']} --burn {before['burn']} --thin {before['thin']} --seed "
            f"{before['seed']} --workers 2{moves0} --out {first}; " + sample
        )
    study = f"python benchmarks/ensemble_convergence.py --long {args.long}"
    for flag, value, default in (
        ("--sets", args.sets, 200),
        ("--discard", args.discard, 0),
        ("--shipped", args.shipped, None),
        ("--label", args.label, "shipped"),
        ("--readout-steps", args.readout_steps, 0),
        ("--section", args.section, "ensemble_convergence"),
    ):
        if value != default:
            study += f" {flag} {shlex.quote(str(value))}"
    return f"{sample}; {study}"


def main(argv=None) -> int:
    import emcee

    from letrolab.model.ensemble import (
        IDENTIFIED_MAX_SHARE,
        identifiability,
        load_ensemble,
        load_priors,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", required=True, help="the longer chain's ensemble CSV")
    ap.add_argument("--shipped", default=None, help="default: the shipped ensemble.csv")
    ap.add_argument("--sets", type=int, default=200, help="sets of each for claim support")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--section", default="ensemble_convergence", help="RESULTS.md section")
    ap.add_argument(
        "--discard", type=int, default=0, help="sampler steps of the long chain to drop first"
    )
    ap.add_argument("--label", default="shipped", help="what the compared ensemble is")
    ap.add_argument(
        "--readout-steps",
        type=int,
        default=0,
        help="also check the claims' readouts on this many kept steps of the long chain",
    )
    args = ap.parse_args(argv)

    shipped = load_ensemble(args.shipped)
    long = load_ensemble(args.long)
    sampled = dict(long.info)  # the sampling run's settings, before --discard
    if args.discard:
        long = long.subsample(burn=args.discard, thin=int(long.info["thin"]))
    names = list(long.parameters.columns)
    chain = _chain(long)
    thin = int(long.info["thin"])
    tau = emcee.autocorr.integrated_time(chain, tol=0, quiet=True) * thin  # in sampler steps
    kept_steps = chain.shape[0] * thin
    rhat = split_rhat(chain)
    az_split, az_rank, ess = arviz_diagnostics(chain)
    if not np.allclose(rhat, az_split, rtol=1e-6):  # the outside check of our formula
        raise SystemExit(f"split R-hat differs from ArviZ's: {rhat} vs {az_split}")
    # how far a walker travels: its own sd over the kept steps, against the ensemble's sd
    travel = float(
        np.median(chain.std(axis=0).mean(axis=0) / chain.reshape(-1, len(names)).std(axis=0))
    )

    t0 = time.perf_counter()
    support = _support_table(shipped, long, args.workers, args.sets)
    t_support = time.perf_counter() - t0

    ls = np.log10(shipped.parameters[names].to_numpy(float))
    ll = np.log10(long.parameters[names].to_numpy(float))
    qs = np.quantile(ls, [0.025, 0.5, 0.975], axis=0)
    ql = np.quantile(ll, [0.025, 0.5, 0.975], axis=0)
    shift = np.abs(qs[1] - ql[1]) / ll.std(axis=0, ddof=1)

    lab = args.label
    resumed = long.info.get("resumed_from")
    lines = [
        f"## Convergence of a long chain ({long.info.get('sampler')}), against the {lab} ensemble",
        "",
        f"{lab.capitalize()}: {shipped.info.get('walkers')} walkers x "
        f"{shipped.info.get('steps')} steps, burn-in {shipped.info.get('burn')}, thin "
        f"{shipped.info.get('thin')} ({len(shipped)} sets, acceptance "
        f"{shipped.info.get('acceptance_fraction')}). Long, independent chain (seed "
        f"{long.info.get('seed')}"
        + (f", continuing {resumed} from its last step" if resumed else "")
        + f"): {long.info.get('walkers')} walkers x {long.info.get('steps')} steps, burn-in "
        f"{long.info.get('burn')}, thin {thin} ({len(long)} sets, acceptance "
        f"{long.info.get('acceptance_fraction')}).",
        "",
        f"| parameter | {lab} median [95 %] (log10) | long median [95 %] (log10) | "
        "median shift (long sd) | tau (steps) | kept steps / tau | split R-hat | "
        "rank R-hat (ArviZ) | bulk ESS (ArviZ) | long 95 % / prior width |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ident = identifiability(long, load_priors()).table.set_index("parameter")
    for j, n in enumerate(names):
        share = float(ident.loc[n, "share"])
        lines.append(
            f"| {n} | {qs[1, j]:.2f} [{qs[0, j]:.2f}, {qs[2, j]:.2f}] | {ql[1, j]:.2f} "
            f"[{ql[0, j]:.2f}, {ql[2, j]:.2f}] | {shift[j]:.2f} | {tau[j]:.1f} | "
            f"{kept_steps / tau[j]:.1f} | {rhat[j]:.3f} | {az_rank[j]:.3f} | {ess[j]:.0f} | "
            f"{share:.2f}{'' if share < IDENTIFIED_MAX_SHARE else ' (not identified)'} |"
        )
    lines += [
        "",
        f"| claim | {lab} support [95 % CI] (sets) | long support [95 % CI] (sets) | holds "
        f"({lab} / long) |",
        "|---|---|---|---|",
    ]
    for cid, sa, sb in support:
        lines.append(
            f"| {cid} | {sa.support:.2f} [{sa.low95:.2f}, {sa.high95:.2f}] ({sa.n_sets}) | "
            f"{sb.support:.2f} [{sb.low95:.2f}, {sb.high95:.2f}] ({sb.n_sets}) | "
            f"{'yes' if sa.holds else 'no'} / {'yes' if sb.holds else 'no'} |"
        )
    same = all(sa.holds == sb.holds for _, sa, sb in support)
    worst = max(rhat.max(), az_rank.max())
    lines += [
        "",
        f"Longest autocorrelation time {tau.max():.1f} steps: the long chain's {kept_steps} kept "
        f"steps are {kept_steps / tau.max():.1f} of them (emcee's rule of thumb asks for about "
        f"50); largest split R-hat {rhat.max():.3f} (equal to ArviZ's), largest rank-normalised "
        f"R-hat {az_rank.max():.3f} (1.01-1.1 is the usual threshold); smallest bulk ESS "
        f"{ess.min():.0f} ({names[int(np.argmin(ess))]}); largest median shift between the "
        f"ensembles {shift.max():.2f} posterior sd ({names[int(np.argmax(shift))]}). Claim "
        "verdicts "
        + ("are the same on both ensembles." if same else "DIFFER between the ensembles.")
        + f" A walker's own sd over the kept steps is {travel:.2f} of the ensemble's (median "
        "over parameters). "
        + (
            "Both R-hats are under 1.1 for every parameter: the walkers have mixed."
            if worst < 1.1
            else "An R-hat, which compares walkers, is above 1.1: the walkers have not "
            "mixed, and emcee's tau, computed about each walker's own mean, understates the "
            "chain's correlation. This chain is therefore not shown converged."
        )
        + f" Claim support took {t_support:.0f} s on {args.workers} workers. Not identified "
        f"by the calibration targets (long chain's 95 % interval over {IDENTIFIED_MAX_SHARE:g} "
        "of the prior's log width): "
        + (", ".join(ident.index[~ident["identified"]]) or "none")
        + ".",
    ]
    if args.readout_steps:
        t1 = time.perf_counter()
        lines += claim_mixing(chain, names, args.readout_steps, args.workers)
        lines += [
            "",
            f"Verdict here: support +- 1.96 MC se against {0.5:g}, the MC error computed from "
            f"the verdict's own effective sample size. Took {time.perf_counter() - t1:.0f} s.",
        ]
    body = "\n".join(lines)
    print(body)
    write_section(args.section, body, command=_command(sampled, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
