"""Bayesian calibration: likelihood of the targets, log-uniform priors, an emcee ensemble.

The posterior of the network's uncertain parameters ``theta`` given the calibration targets
(``targets.csv``, none of which a claim rule tests) is

    log p(theta | data) = sum_i -1/2 r_i(theta)^2 + log prior(theta) + const,

with ``r_i = (y_i(theta) - value_i) / sd_i`` the standardised residual of target ``i`` on its
scale (natural log for ratio-like targets): independent Gaussian errors with each target's own
SD (:func:`letrolab.model.calibration.residuals`; Gelman et al. 2013, *Bayesian Data Analysis*,
3rd ed., ch. 1). Priors are log-uniform over the range in ``priors.csv`` (one reason per
parameter), i.e. uniform in ``log theta`` — the scale-free prior for positive rate constants.

Sampler: **emcee**, the affine-invariant ensemble sampler (Goodman & Weare 2010, Commun Appl
Math Comput Sci 5:65; Foreman-Mackey et al. 2013, PASP 125:306). Chosen over pyPESTO and pyABC
because (i) it needs only the log-posterior, no gradients — our likelihood is a set of ODE
virtual experiments with IC50 interpolation, whose gradients are not smooth; (ii) its
affine invariance copes with the strongly correlated, badly scaled rate constants of a
signalling model without tuning a proposal; (iii) each of our likelihood evaluations is
cheap (~0.25 s), so a full-likelihood MCMC is affordable and ABC's approximation is not
needed; (iv) it is a small, pure-Python dependency already in the project. Walkers start in a
small ball around the shipped (least-squares) set, the standard emcee initialisation.

The shipped ensemble (``ensemble.csv``, 400 sets) comes from one chain sampled in two
pieces with the differential-evolution moves (``moves="de"``): 700 steps from the Laplace ball
(seed 41), then 3,000 steps continuing from its last step (``--resume``, seed 43); every
180th step of the continuation's steps 1,200-3,000 is kept (``--subsample``). Its header
says so (``history``).

It is not converged parameter by parameter, and the README and
``benchmarks/RESULTS.md`` (section ``ensemble_convergence``) say so with numbers:

- Over the kept 1,800 steps, split R-hat over walkers is 1.31-1.72 (ArviZ's rank-normalised
  R-hat 1.28-1.69); bulk ESS is 63-117; emcee's tau is 140-170 steps. The DE acceptance is
  0.035. The 15 parameters the targets do not identify (:func:`identifiability`) drift
  slowly across their prior ranges.
- What the report uses is each claim's verdict, and that is stable. The claims' support
  agrees between the first and second halves of the kept steps (S7 0.22 and 0.22, S5 0.86
  and 0.82). Its Monte Carlo error, from the effective sample size of the verdict itself,
  is at most 0.03, and every support is at least 9 such errors from the 0.5 of the rule.
- The earlier shipped chain (stretch move, 40 steps) had stuck walkers (repeated rows), and
  S7's support on it was 0.01. A 700-step DE chain gave 0.58 before it had mixed. The
  continued chain gives 0.22.
- emcee's autocorrelation time is computed about each walker's own mean, so it does not show
  the walkers' separation; the convergence study therefore uses R-hat and ESS (ArviZ) as
  well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from letrolab._io import comment_header
from letrolab.errors import FormatError, InputError
from letrolab.model.calibration import evaluate_measures, load_targets, residuals
from letrolab.model.engine import Model, get_model

__all__ = [
    "DEFAULT_ENSEMBLE",
    "DEFAULT_PRIORS",
    "Ensemble",
    "Identifiability",
    "Likelihood",
    "Prior",
    "identifiability",
    "last_positions",
    "load_ensemble",
    "load_priors",
    "sample_ensemble",
]

DEFAULT_PRIORS = Path(__file__).with_name("priors.csv")
DEFAULT_ENSEMBLE = Path(__file__).with_name("ensemble.csv")
#: A parameter is identified when its posterior 95 % interval (log scale) covers less than this
#: share of its prior range; otherwise the data leave it (nearly) as uncertain as the prior.
IDENTIFIED_MAX_SHARE = 0.5


@dataclass(frozen=True)
class Prior:
    """Log-uniform prior of one parameter on ``[low, high]``, with the reason for the range."""

    parameter: str
    low: float
    high: float
    reason: str

    @property
    def log_width(self) -> float:
        return math.log(self.high / self.low)


def load_priors(path: str | Path | None = None, *, model: Model | None = None) -> list[Prior]:
    """Read ``priors.csv`` (``parameter, low, high, reason``) and check it against the model."""
    import pandas as pd

    p = Path(path) if path is not None else DEFAULT_PRIORS
    if not p.is_file():
        raise InputError(f"priors table {p} not found")
    df = pd.read_csv(p)
    missing = sorted({"parameter", "low", "high", "reason"} - set(df.columns))
    if missing:
        raise FormatError(f"priors table {p}: missing column(s) {', '.join(missing)}")
    known = (model or get_model()).parameters
    out = []
    for r in df.itertuples():
        if r.parameter not in known:
            raise FormatError(f"priors table {p}: unknown model parameter {r.parameter!r}")
        if not (0 < r.low < r.high and math.isfinite(r.high)):
            raise FormatError(f"priors table {p}: {r.parameter} needs 0 < low < high")
        if not isinstance(r.reason, str) or len(r.reason) < 10:
            raise FormatError(f"priors table {p}: {r.parameter} needs a reason for its range")
        out.append(Prior(str(r.parameter), float(r.low), float(r.high), r.reason))
    return out


class Likelihood:
    """Gaussian log-likelihood of the calibration targets, on log-parameters.

    Parameters
    ----------
    priors : sequence of Prior
        The sampled parameters and their log-uniform priors.
    targets : DataFrame, optional
        Targets table (default: shipped ``targets.csv``).
    fixed : mapping, optional
        Parameter values held fixed on top of the shipped set (e.g. a ``--set``).

    Examples
    --------
    >>> lik = Likelihood(load_priors())          # doctest: +SKIP
    >>> lik.log_posterior(lik.x0)                # doctest: +SKIP
    """

    def __init__(
        self,
        priors: Sequence[Prior],
        *,
        targets=None,
        fixed: Mapping[str, float] | None = None,
        model: Model | None = None,
    ) -> None:
        if not priors:
            raise InputError("Likelihood needs at least one prior")
        self.priors = tuple(priors)
        self.names = tuple(p.parameter for p in self.priors)
        self.targets = load_targets() if targets is None else targets
        self.fixed = dict(fixed or {})
        self.model = model or get_model()
        self.lo = np.log([p.low for p in self.priors])
        self.hi = np.log([p.high for p in self.priors])

    @property
    def x0(self) -> np.ndarray:
        """Log of the shipped values (clipped into the prior box)."""
        cur = np.log([self.model.parameters[n] for n in self.names])
        return np.clip(cur, self.lo, self.hi)

    def parameters(self, x: np.ndarray) -> dict[str, float]:
        """Parameter dict of log-vector ``x`` (plus the fixed values)."""
        return {**self.fixed, **dict(zip(self.names, np.exp(x).tolist(), strict=True))}

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Standardised residual of every target at log-parameters ``x``."""
        sim = evaluate_measures(self.targets, parameters=self.parameters(x), model=self.model)
        return residuals(self.targets, sim)

    def laplace_covariance(self, x: np.ndarray, *, step: float = 0.02) -> np.ndarray:
        """Gauss-Newton covariance ``(J^T J)^-1`` of the log-parameters at ``x``.

        ``J`` is the residuals' Jacobian by central differences (``2 d`` evaluations): the
        Laplace approximation of the posterior near its mode (Gelman et al. 2013, ch. 4).
        Directions the targets do not constrain get the prior's variance instead of an
        infinite one (pseudo-inverse, then capped at the log-uniform variance width^2 / 12).
        """
        x = np.asarray(x, dtype=float)
        d = x.size
        J = np.empty((len(self.targets), d))
        for j in range(d):
            e = np.zeros(d)
            e[j] = step
            J[:, j] = (self.residuals(x + e) - self.residuals(x - e)) / (2 * step)
        cov = np.linalg.pinv(J.T @ J, rcond=1e-10)
        cap = (self.hi - self.lo) ** 2 / 12.0
        sd = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
        scale = np.minimum(1.0, np.sqrt(cap) / sd)
        cov = cov * np.outer(scale, scale)
        w, v = np.linalg.eigh((cov + cov.T) / 2)  # symmetric PSD up to round-off: make it exact
        return (v * np.clip(w, 0.0, None)) @ v.T

    def log_likelihood(self, x: np.ndarray) -> float:
        return float(-0.5 * np.sum(self.residuals(x) ** 2))

    def log_prior(self, x: np.ndarray) -> float:
        """Log-uniform prior: constant inside the box (up to normalisation), -inf outside."""
        x = np.asarray(x, dtype=float)
        return 0.0 if bool(np.all((x >= self.lo) & (x <= self.hi))) else -math.inf

    def log_posterior(self, x: np.ndarray) -> float:
        lp = self.log_prior(x)
        return lp if not math.isfinite(lp) else lp + self.log_likelihood(x)

    def __call__(self, x: np.ndarray) -> float:
        return self.log_posterior(x)


@dataclass(frozen=True)
class Ensemble:
    """Accepted parameter sets of a posterior sample.

    Attributes
    ----------
    parameters : DataFrame
        One row per set, one column per sampled parameter (linear scale).
    log_posterior : ndarray
        Log-posterior of each set.
    info : dict
        Sampler settings and diagnostics (walkers, steps, burn-in, thinning, acceptance
        fraction, autocorrelation estimate).
    """

    parameters: Any
    log_posterior: np.ndarray
    info: dict[str, Any]

    def __len__(self) -> int:
        return len(self.parameters)

    def summary(self) -> dict[str, Any]:
        q = self.parameters.quantile([0.025, 0.5, 0.975]).T
        return {
            "n_sets": len(self),
            "info": self.info,
            "quantiles_2.5_50_97.5": {k: r.tolist() for k, r in q.iterrows()},
        }

    def report(self) -> str:
        q = self.parameters.quantile([0.025, 0.5, 0.975]).T
        head = f"{len(self)} sets; " + ", ".join(f"{k} {v}" for k, v in self.info.items())
        rows = [f"  {k:14s} {a:.4g} [{lo:.4g}, {hi:.4g}]" for k, (lo, a, hi) in q.iterrows()]
        return "\n".join([head, *rows])

    def with_info(self, **info: Any) -> Ensemble:
        """The same sets with ``info`` added to the header (e.g. how the chain was sampled)."""
        return Ensemble(self.parameters, self.log_posterior, {**self.info, **info})

    def subsample(self, *, burn: int, thin: int) -> Ensemble:
        """The same chain with ``burn`` more sampler steps dropped and every ``thin``-th kept.

        Both are in sampler steps, like the sampler's own ``burn`` and ``thin``, and must be
        multiples of this chain's ``thin``. Rows are step-major (emcee's flat chain), so whole
        steps of all walkers are kept or dropped. Used to ship a thinned ensemble from a long
        chain (``python -m letrolab.model.ensemble --subsample FILE``).
        """
        walkers, have = int(self.info["walkers"]), int(self.info["thin"])
        if burn < 0 or thin < have or burn % have or thin % have:
            raise InputError(f"burn and thin must be multiples of the chain's thin {have}")
        kept = len(self) // walkers
        steps = np.arange(burn // have, kept, thin // have)
        if steps.size == 0:
            raise InputError(f"burn {burn} leaves no step of the chain's {kept * have}")
        rows = (steps[:, None] * walkers + np.arange(walkers)).ravel()
        info = {**self.info, "burn": int(self.info["burn"]) + burn, "thin": thin}
        return Ensemble(
            self.parameters.iloc[rows].reset_index(drop=True), self.log_posterior[rows], info
        )

    def save(self, path: str | Path) -> None:
        """CSV with ``# key: value`` header lines carrying :attr:`info`."""
        from letrolab._io import atomic_write_text

        df = self.parameters.copy()
        df["log_posterior"] = self.log_posterior
        head = "".join(f"# {k}: {v}\n" for k, v in self.info.items())
        atomic_write_text(Path(path), head + df.to_csv(index=False, float_format="%.6g"))


def load_ensemble(path: str | Path | None = None) -> Ensemble:
    """Read an ensemble written by :meth:`Ensemble.save` (default: the shipped one)."""
    import pandas as pd

    p = Path(path) if path is not None else DEFAULT_ENSEMBLE
    if not p.is_file():
        raise InputError(f"ensemble file {p} not found; run python -m letrolab.model.ensemble")
    info = comment_header(p)
    df = pd.read_csv(p, comment="#")
    if "log_posterior" not in df.columns or df.empty:
        raise FormatError(f"ensemble file {p}: needs a log_posterior column and at least one set")
    lp = df.pop("log_posterior").to_numpy(float)
    if not np.all(np.isfinite(df.to_numpy(float))) or np.any(df.to_numpy(float) <= 0):
        raise FormatError(f"ensemble file {p}: parameter values must be finite and > 0")
    return Ensemble(parameters=df, log_posterior=lp, info=info)


def sample_ensemble(
    likelihood: Likelihood,
    *,
    n_walkers: int | None = None,
    n_steps: int = 100,
    burn: int = 50,
    thin: int = 1,
    seed: int = 0,
    spread: float | None = None,
    x0: np.ndarray | None = None,
    pool: Any = None,
    progress: bool = False,
    checkpoint: Callable[[Ensemble], None] | None = None,
    checkpoint_every: int = 5,
    moves: str = "stretch",
    start: np.ndarray | None = None,
) -> Ensemble:
    """Sample the posterior with emcee's affine-invariant ensemble sampler.

    Parameters
    ----------
    likelihood : Likelihood
        Log-posterior on log-parameters.
    n_walkers : int, optional
        Walkers (default ``max(2 d + 2, 16)``, ``d`` parameters; emcee needs ``> 2 d``).
    n_steps, burn, thin : int
        Steps per walker; the first ``burn`` are discarded, then every ``thin``-th is kept.
    spread : float, optional
        SD of an isotropic initial ball around ``x0`` (log scale). Default: walkers start from
        the Laplace approximation at ``x0`` (:meth:`Likelihood.laplace_covariance`), which
        puts them near the posterior's shape and shortens burn-in.
    x0 : ndarray, optional
        Centre of the initial ball (default: the shipped values, :attr:`Likelihood.x0`).
    pool : object with ``map``, optional
        Passed to emcee to evaluate walkers in parallel (e.g. ``multiprocessing.Pool``).
    checkpoint : callable, optional
        Called with the ensemble so far every ``checkpoint_every`` steps after burn-in (e.g. to
        write it to disk, so that a long run can be stopped and still be used).
    moves : {"stretch", "de"}
        emcee's proposal: the stretch move (Goodman & Weare 2010), or differential evolution
        (80 % ``DEMove``, 20 % ``DESnookerMove``; ter Braak & Vrugt 2008, Stat Comput 18:435),
        which moves walkers along differences of other walkers' positions and mixes faster
        where the stretch move's acceptance falls with the dimension.
    start : ndarray, optional
        Walker positions to start from, shape ``(n_walkers, d)``, log scale: continues an
        earlier chain (e.g. the last step of a saved ensemble, :func:`last_positions`) instead
        of drawing a new initial ball.

    Returns
    -------
    Ensemble
        ``n_walkers * (n_steps - burn) / thin`` sets.
    """
    import emcee

    d = len(likelihood.names)
    n_walkers = n_walkers or max(2 * d + 2, 16)
    if n_walkers <= 2 * d:
        raise InputError(f"emcee needs more than 2 x {d} walkers, got {n_walkers}")
    if not 0 <= burn < n_steps:
        raise InputError(f"burn must satisfy 0 <= burn < n_steps, got {burn} and {n_steps}")
    if start is None:
        start = _initial_ball(likelihood, n_walkers, seed=seed, spread=spread, x0=x0)
    else:
        start = np.asarray(start, dtype=float)
        if start.shape != (n_walkers, d):
            raise InputError(f"start must have shape ({n_walkers}, {d}), got {start.shape}")
        if not all(math.isfinite(likelihood.log_prior(s)) for s in start):
            raise InputError("every start position must lie inside the prior box")
    if moves not in MOVES:
        raise InputError(f"moves must be one of {', '.join(MOVES)}, got {moves!r}")
    sampler = emcee.EnsembleSampler(n_walkers, d, likelihood, pool=pool, moves=_moves(moves))
    sampler.random_state = np.random.RandomState(seed).get_state()  # emcee's own RNG, seeded
    for step, _state in enumerate(sampler.sample(start, iterations=n_steps, progress=progress)):
        done = step + 1
        if checkpoint is not None and done > burn and (done - burn) % checkpoint_every == 0:
            checkpoint(
                _collect(sampler, likelihood.names, burn=burn, thin=thin, seed=seed, moves=moves)
            )
    return _collect(sampler, likelihood.names, burn=burn, thin=thin, seed=seed, moves=moves)


def _initial_ball(
    likelihood: Likelihood,
    n_walkers: int,
    *,
    seed: int,
    spread: float | None,
    x0: np.ndarray | None,
) -> np.ndarray:
    """Walkers around ``x0``: the Laplace approximation, or an isotropic ball of SD ``spread``."""
    d = len(likelihood.names)
    rng = np.random.default_rng(seed)
    centre = likelihood.x0 if x0 is None else np.asarray(x0, dtype=float)
    if spread is None:
        cov = likelihood.laplace_covariance(centre)
        start = rng.multivariate_normal(centre, cov, size=n_walkers, method="eigh")
    else:
        start = centre + spread * rng.standard_normal((n_walkers, d))
    # reflect into the prior box so that every walker starts with a finite posterior
    width = likelihood.hi - likelihood.lo
    start = likelihood.lo + np.abs(np.mod(start - likelihood.lo + width, 2 * width) - width)
    return np.clip(start, likelihood.lo + 1e-9, likelihood.hi - 1e-9)


def last_positions(ensemble: Ensemble, names: Sequence[str]) -> np.ndarray:
    """The walkers' positions at the last kept step of a saved chain (log scale).

    Rows of an :class:`Ensemble` are step-major (emcee's flat chain), so the last ``walkers``
    rows are the final step. Used to continue a chain (``python -m letrolab.model.ensemble
    --resume FILE``).
    """
    walkers = int(ensemble.info.get("walkers", 0))
    if walkers <= 0 or len(ensemble) < walkers:
        raise InputError("the ensemble does not record its walkers, so it cannot be resumed")
    missing = [n for n in names if n not in ensemble.parameters.columns]
    if missing:
        raise InputError(f"the ensemble lacks sampled parameter(s) {', '.join(missing)}")
    return np.log(ensemble.parameters[list(names)].to_numpy(float)[-walkers:])


#: Proposal mixtures :func:`sample_ensemble` offers, by name (described in ``info["sampler"]``).
MOVES = {"stretch": "stretch move", "de": "DE 0.8 + DE snooker 0.2"}


def _moves(name: str) -> Any:
    import emcee

    if name == "de":
        return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    return emcee.moves.StretchMove()


def _collect(
    sampler, names: Sequence[str], *, burn: int, thin: int, seed: int, moves: str = "stretch"
) -> Ensemble:
    """The chain after ``burn`` steps, every ``thin``-th step, with the sampler's diagnostics."""
    import emcee
    import pandas as pd

    steps = sampler.iteration
    chain = sampler.get_chain(discard=burn, thin=thin, flat=True)
    lp = sampler.get_log_prob(discard=burn, thin=thin, flat=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # a walker that never moved: nan
        tau = (
            sampler.get_autocorr_time(quiet=True, tol=0)
            if steps >= 20
            else np.full(len(names), np.nan)
        )
    info = {
        "sampler": f"emcee {emcee.__version__} EnsembleSampler ({MOVES[moves]})",
        "walkers": sampler.nwalkers,
        "steps": steps,
        "burn": burn,
        "thin": thin,
        "seed": seed,
        "acceptance_fraction": round(float(np.mean(sampler.acceptance_fraction)), 3),
        # a chain under 20 steps has no estimate (nan), not a warning
        "max_autocorr_steps": round(float(np.nanmax(tau)), 1)
        if np.isfinite(tau).any()
        else math.nan,
    }
    frame = pd.DataFrame(np.exp(chain), columns=list(names))
    return Ensemble(parameters=frame, log_posterior=lp, info=info)


@dataclass(frozen=True)
class Identifiability:
    """Posterior versus prior width of each sampled parameter.

    ``share`` is the posterior's central 95 % interval (log scale) over the prior's log width;
    a parameter is identified when ``share <`` :data:`IDENTIFIED_MAX_SHARE`.
    """

    table: Any  # DataFrame: parameter, median, low95, high95, share, identified

    @property
    def non_identifiable(self) -> list[str]:
        return self.table.loc[~self.table["identified"], "parameter"].tolist()

    def report(self) -> str:
        lines = [
            f"{r.parameter:14s} {r.median:.4g} [{r.low95:.4g}, {r.high95:.4g}] "
            f"{100 * r.share:.0f} % of prior {'identified' if r.identified else 'NOT IDENTIFIED'}"
            for r in self.table.itertuples()
        ]
        return "\n".join(lines)


def identifiability(ensemble: Ensemble, priors: Sequence[Prior]) -> Identifiability:
    """Which parameters the calibration data constrain (posterior much narrower than prior)."""
    import pandas as pd

    rows = []
    for p in priors:
        v = np.log(ensemble.parameters[p.parameter].to_numpy(float))
        lo, med, hi = np.quantile(v, [0.025, 0.5, 0.975])
        share = float((hi - lo) / p.log_width)
        rows.append(
            {
                "parameter": p.parameter,
                "median": float(np.exp(med)),
                "low95": float(np.exp(lo)),
                "high95": float(np.exp(hi)),
                "share": share,
                "identified": share < IDENTIFIED_MAX_SHARE,
            }
        )
    return Identifiability(table=pd.DataFrame(rows))


def main(argv: Sequence[str] | None = None) -> int:
    """Sample and write the shipped ensemble: ``python -m letrolab.model.ensemble``."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--walkers", type=int, default=40)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--burn", type=int, default=60)
    ap.add_argument("--thin", type=int, default=2)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--moves", choices=sorted(MOVES), default="stretch")
    ap.add_argument("--out", default=str(DEFAULT_ENSEMBLE))
    ap.add_argument("--resume", help="continue the chain saved in this file from its last step")
    ap.add_argument("--checkpoint-every", type=int, default=5, help="steps between writes")
    ap.add_argument("--history", help="with --subsample: how the chain was sampled, for the header")
    ap.add_argument(
        "--subsample",
        help="no sampling: write this chain with --burn more steps dropped, thinned to --thin",
    )
    args = ap.parse_args(argv)
    if args.subsample:
        ens = load_ensemble(args.subsample).subsample(burn=args.burn, thin=args.thin)
        if args.history:
            ens = ens.with_info(history=args.history)
        ens.save(args.out)
        print(ens.report())
        return 0
    priors = load_priors()
    lik = Likelihood(priors)
    kw = {
        "n_walkers": args.walkers,
        "n_steps": args.steps,
        "burn": args.burn,
        "checkpoint": lambda e: e.save(args.out),
        "moves": args.moves,
        "checkpoint_every": args.checkpoint_every,
    }
    if args.resume:
        kw["start"] = last_positions(load_ensemble(args.resume), lik.names)
        kw["n_walkers"] = kw["start"].shape[0]
        kw["checkpoint"] = lambda e: e.with_info(resumed_from=args.resume).save(args.out)
    if args.workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.workers) as pool:
            ens = sample_ensemble(lik, thin=args.thin, seed=args.seed, pool=pool, **kw)
    else:
        ens = sample_ensemble(lik, thin=args.thin, seed=args.seed, **kw)
    if args.resume:
        ens = ens.with_info(resumed_from=args.resume)
    ens.save(args.out)
    print(ens.report())
    print(identifiability(ens, priors).report())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
