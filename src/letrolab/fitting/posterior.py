"""A posterior ensemble of a fit, sampled with emcee (``letrolab fit --sampler emcee``).

The log-posterior is the fit's own: ``-sum(r^2) / 2`` of the standardised residuals
(:class:`letrolab.fitting.problem.FitProblem`, with the noise SDs the fit estimated) under a
uniform prior on the log-parameters within the prior box. It is sampled by the project's emcee
sampler, :func:`letrolab.model.ensemble.sample_ensemble` (affine-invariant stretch move;
Goodman & Weare 2010, Commun Appl Math Comput Sci 5:65), with the walkers started from the
Laplace approximation at the multi-start optimum, so that burn-in is short.

A chain tells its own reliability only when it is long against its integrated autocorrelation
time ``tau``: emcee's authors advise at least 50 ``tau`` (Foreman-Mackey et al. 2013, PASP
125:306, sec. 3, and the emcee autocorrelation guide). :attr:`FitEnsemble.long_enough` applies
that rule to the steps kept after burn-in; the command line warns when it fails, and the report
and ``letrolab predict`` say which uncertainty they used.

Each step costs one model evaluation per walker, so the ensemble costs far more than the fit
(``walkers x steps`` evaluations, one at a time in this process).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from letrolab.errors import InputError
from letrolab.model.ensemble import sample_ensemble

if TYPE_CHECKING:  # pragma: no cover
    from letrolab.fitting.estimate import FitResult
    from letrolab.fitting.problem import FitProblem

__all__ = [
    "MIN_STEPS",
    "MIN_TAU_MULTIPLE",
    "FitEnsemble",
    "check_sampler_settings",
    "sample_posterior",
]

#: Steps kept after burn-in, in integrated autocorrelation times, for a trustworthy chain.
MIN_TAU_MULTIPLE = 50
#: Fewest steps per walker: below them emcee's sampler here gives no autocorrelation estimate.
MIN_STEPS = 20
_LN10 = math.log(10.0)


@dataclass(frozen=True)
class FitEnsemble:
    """Parameter sets (log10) from the posterior, with the sampler's diagnostics.

    Attributes
    ----------
    x : ndarray
        ``(walkers * (steps - burn), d)`` log10 parameter vectors, columns as ``problem.ids``.
    walkers, steps, burn : int
        Sampler settings; the first ``burn`` steps of every walker are discarded.
    acceptance_fraction : float
        Mean acceptance fraction over the walkers (0.2-0.5 is the usual healthy range).
    tau : float
        Largest integrated autocorrelation time over the parameters, in steps (NaN when the
        chain is too short to estimate it).
    """

    x: np.ndarray
    walkers: int
    steps: int
    burn: int
    acceptance_fraction: float
    tau: float

    @property
    def long_enough(self) -> bool:
        """At least :data:`MIN_TAU_MULTIPLE` autocorrelation times kept after burn-in."""
        return math.isfinite(self.tau) and self.steps - self.burn >= MIN_TAU_MULTIPLE * self.tau

    def info(self) -> dict[str, Any]:
        """Settings and diagnostics, JSON-ready (for fit.json, the report and ``--json``)."""
        return {
            "sampler": "emcee",
            "walkers": self.walkers,
            "steps": self.steps,
            "burn": self.burn,
            "sets": int(self.x.shape[0]),
            "acceptance_fraction": self.acceptance_fraction,
            "autocorr_time": self.tau if math.isfinite(self.tau) else None,
            "long_enough": self.long_enough,
        }


class _LogPosterior:
    """The fit's log-posterior in natural-log coordinates, the interface of
    :func:`letrolab.model.ensemble.sample_ensemble` (``names``, ``lo``, ``hi``, ``x0``,
    ``laplace_covariance`` and a call returning the log-posterior)."""

    def __init__(self, problem: FitProblem, x_log10: np.ndarray, cov_log10: np.ndarray) -> None:
        self.problem = problem
        self.names = tuple(problem.ids)
        self.lo = problem.lower * _LN10
        self.hi = problem.upper * _LN10
        self.x0 = np.asarray(x_log10) * _LN10
        self._cov = np.asarray(cov_log10) * _LN10**2

    def laplace_covariance(self, _x: np.ndarray) -> np.ndarray:
        return self._cov

    def __call__(self, z: np.ndarray) -> float:
        if not np.all((z >= self.lo) & (z <= self.hi)):
            return -math.inf
        r = self.problem.residuals(np.asarray(z) / _LN10)
        return -0.5 * float(np.sum(r**2))


def check_sampler_settings(n_params: int, walkers: int, steps: int, burn: int) -> None:
    """Refuse settings emcee cannot use: walkers at most ``2 d``, fewer than
    :data:`MIN_STEPS` steps (no autocorrelation estimate), or no step after burn-in.

    Raises
    ------
    InputError
        Naming the setting and the bound.
    """
    if walkers <= 2 * n_params:
        raise InputError(
            f"--walkers must be more than 2 x {n_params} fitted parameters, got {walkers}"
        )
    if steps < MIN_STEPS:
        raise InputError(f"--steps must be at least {MIN_STEPS}, got {steps}")
    if not 0 <= burn < steps:
        raise InputError(f"--burn must be at least 0 and below --steps ({steps}), got {burn}")


def sample_posterior(
    result: FitResult, *, walkers: int, steps: int, burn: int, seed: int = 0
) -> FitResult:
    """``result`` with a posterior ensemble from emcee started around its optimum.

    Parameters
    ----------
    result : FitResult
        A fit (its noise SDs are kept fixed at their estimates).
    walkers : int
        More than twice the number of fitted parameters.
    steps, burn : int
        Steps per walker, of which the first ``burn`` are discarded.
    seed : int
        Seed of the initial ball and of emcee's moves.

    Returns
    -------
    FitResult
        The same fit with :attr:`~letrolab.fitting.estimate.FitResult.ensemble` set; its
        :meth:`~letrolab.fitting.estimate.FitResult.sample` then draws from the ensemble.
    """
    check_sampler_settings(len(result.x), walkers, steps, burn)
    target = _LogPosterior(result.problem, result.x, result.covariance)
    ens = sample_ensemble(target, n_walkers=walkers, n_steps=steps, burn=burn, seed=seed)
    x = np.log10(ens.parameters[list(target.names)].to_numpy(dtype=float))
    tau = float(ens.info["max_autocorr_steps"])
    fe = FitEnsemble(x, walkers, steps, burn, float(ens.info["acceptance_fraction"]), tau)
    if not fe.long_enough:
        warnings.warn(short_chain_message(fe), ShortChainWarning, stacklevel=2)
    return replace(result, ensemble=fe)


class ShortChainWarning(UserWarning):
    """The chain kept fewer than :data:`MIN_TAU_MULTIPLE` autocorrelation times."""


def short_chain_message(ens: FitEnsemble) -> str:
    """One line saying how short the chain is and what to do."""
    kept = ens.steps - ens.burn
    tau = f"{ens.tau:.1f}" if math.isfinite(ens.tau) else "not estimable"
    return (
        f"the emcee chain kept {kept} steps after burn-in, fewer than {MIN_TAU_MULTIPLE} "
        f"autocorrelation times (tau = {tau} steps): its sets may not represent the posterior; "
        "run with more --steps"
    )
