"""Multi-start least squares, parameter intervals, identifiability and profiles.

Optimiser: **scipy.optimize.least_squares**, trust-region reflective (``method="trf"``;
Branch, Coleman & Li 1999, SIAM J Sci Comput 21:1), from Latin-hypercube starts in the log10
box of the priors (multi-start local optimisation, the approach Raue et al. 2013, PLoS ONE
8:e74335 and Villaverde et al. 2019, Bioinformatics 35:830 found most reliable for ODE fits).
Chosen over pyPESTO + fides because (i) the objective is a plain sum of squared standardised
residuals, which trf exploits directly through its Gauss-Newton/Jacobian model — fides would
need the same least-squares structure handed to it through pyPESTO's objective layer;
(ii) gradients come from finite differences either way here (the model runs in libroadrunner
without forward sensitivities in our engine), so fides' advantage with exact sensitivities
does not apply; (iii) trf handles the prior bounds natively; (iv) scipy is already a core
dependency, while pyPESTO would pull a large stack into every install. The problem is still
exported as PEtab (:mod:`letrolab.fitting.petab_io`), so pyPESTO/fides can run it unchanged.

Noise SDs that the data do not give are estimated after the fit by their maximum-likelihood
value on each observable's noise scale, ``sd^2 = mean(r^2)`` (Raue 2013, eq. 3), and the fit is
repeated once from its optimum with them (two-stage estimation).

Intervals: the 95 % profile-likelihood interval of each parameter (Raue et al. 2009,
Bioinformatics 25:1923): the parameter is fixed on a grid, the others re-optimised, and the
interval is where ``2 (nll_profile - nll_min)`` stays below the chi-square(1) 95 % quantile,
3.84. Without profiles (``profiles=False``) the Wald interval from the Gauss-Newton Fisher
information ``J^T J`` is given. A parameter whose interval reaches a prior bound on either
side is **non-identifiable** from these data (Raue 2009's definition: a flat profile).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from letrolab.errors import FitError
from letrolab.fitting.problem import FAILED_RESIDUAL, FitProblem

if TYPE_CHECKING:  # pragma: no cover
    from letrolab.fitting.posterior import FitEnsemble

__all__ = [
    "CHI2_95_1DF",
    "FitResult",
    "Profile",
    "StartResult",
    "fit",
    "profile",
    "profile_bounds",
]

#: chi-square quantile, 1 degree of freedom, 0.95 (Raue 2009, eq. 7).
CHI2_95_1DF = 3.841458820694124
#: Two starts reach "the same optimum" when their costs differ by less than this (nll units).
SAME_OPTIMUM = 0.5


@dataclass(frozen=True)
class StartResult:
    """One local optimisation: start and end (log10), cost (= nll up to a constant), status.

    ``polish`` marks the second-stage run from the best start with the estimated noise SDs
    (not one of the ``n_starts`` starts).
    """

    x0: np.ndarray
    x: np.ndarray
    cost: float
    status: int
    nfev: int
    message: str
    polish: bool = False

    @property
    def converged(self) -> bool:
        return self.status > 0


@dataclass(frozen=True)
class Profile:
    """Profile likelihood of one parameter: grid (log10) and ``2 * (nll - nll_min)``."""

    parameter: str
    grid: np.ndarray
    delta: np.ndarray


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit`.

    Attributes
    ----------
    problem : FitProblem
        The problem with its final (estimated or given) SDs.
    starts : tuple of StartResult
        All starts, best first.
    x : ndarray
        Best estimate (log10).
    covariance : ndarray
        Inverse Gauss-Newton Fisher information at ``x`` (log10 scale).
    sd : dict
        Noise SD per observable (estimated or given).
    profiles : tuple of Profile
        Empty when profiles were not computed.
    agreeing : int
        Converged starts of the first stage (same noise SDs for all) whose cost is within
        :data:`SAME_OPTIMUM` of the best one.
    ensemble : FitEnsemble or None
        Posterior sets from emcee (:func:`letrolab.fitting.posterior.sample_posterior`); when
        absent, :meth:`sample` uses the Laplace approximation.
    """

    problem: FitProblem
    starts: tuple[StartResult, ...]
    x: np.ndarray
    covariance: np.ndarray
    sd: dict[str, float]
    profiles: tuple[Profile, ...] = field(default=())
    agreeing: int = 1
    ensemble: FitEnsemble | None = None

    @property
    def converged(self) -> bool:
        """The best start ended on a convergence criterion, and (with several starts) another
        start of the first stage reached the same optimum."""
        return self.starts[0].converged and (
            self.agreeing >= 2 or sum(not s.polish for s in self.starts) == 1
        )

    @property
    def cost(self) -> float:
        return self.starts[0].cost

    def intervals(self) -> pd.DataFrame:
        """Estimate, 95 % interval (linear scale), method, prior range and identifiability."""
        prof = {p.parameter: p for p in self.profiles}
        rows = []
        for i, par in enumerate(self.problem.parameters):
            lo_b, hi_b = math.log10(par.low), math.log10(par.high)
            if par.id in prof:
                lo, hi = profile_bounds(prof[par.id], self.x[i])
                method = "profile"
            else:
                se = math.sqrt(max(self.covariance[i, i], 0.0))
                lo, hi = self.x[i] - 1.96 * se, self.x[i] + 1.96 * se
                method = "wald"
            lo, hi = max(lo, lo_b), min(hi, hi_b)
            ident = not (lo <= lo_b + 1e-9 or hi >= hi_b - 1e-9) or not math.isfinite(lo)
            rows.append(
                {
                    "parameter": par.id,
                    "estimate": 10 ** self.x[i],
                    "ci_low": 10**lo,
                    "ci_high": 10**hi,
                    "method": method,
                    "identifiable": bool(ident and math.isfinite(hi)),
                    "nominal": par.nominal,
                    "prior_low": par.low,
                    "prior_high": par.high,
                    "source": par.source,
                }
            )
        return pd.DataFrame(rows)

    @property
    def non_identifiable(self) -> list[str]:
        t = self.intervals()
        return t.loc[~t["identifiable"], "parameter"].tolist()

    @property
    def uncertainty(self) -> str:
        """Where :meth:`sample` draws from: ``"emcee"`` or ``"laplace"``."""
        return "emcee" if self.ensemble is not None else "laplace"

    def sample(self, n: int, *, seed: int = 0) -> np.ndarray:
        """``n`` parameter vectors (log10) from the posterior.

        With an :attr:`ensemble`, ``n`` of its sets drawn at random (without replacement while
        it has enough). Otherwise the Gaussian approximation ``N(x, covariance)`` restricted to
        the prior box (rejection; Laplace approximation, Gelman et al. 2013, BDA3 sec. 4.1),
        whose first vector is the optimum.
        """
        rng = np.random.default_rng(seed)
        if self.ensemble is not None:
            sets = self.ensemble.x
            return sets[rng.choice(len(sets), size=n, replace=n > len(sets))]
        cov = 0.5 * (self.covariance + self.covariance.T)
        lo, hi = self.problem.lower, self.problem.upper
        out: list[np.ndarray] = [self.x.copy()]
        for _ in range(200):
            d = rng.multivariate_normal(self.x, cov, size=4 * n, method="eigh")
            out.extend(d[np.all((d >= lo) & (d <= hi), axis=1)])
            if len(out) >= n:
                break
        return np.array(out[:n])

    def summary(self) -> dict:
        return {
            "converged": self.converged,
            "cost": self.cost,
            "n_starts": sum(not s.polish for s in self.starts),
            "n_converged": sum(s.converged for s in self.starts if not s.polish),
            "n_at_best": self.agreeing,
            "sd": self.sd,
            "non_identifiable": self.non_identifiable,
            "uncertainty": self.ensemble.info() if self.ensemble else {"sampler": "laplace"},
            "parameters": self.intervals().drop(columns="source").to_dict("records"),
        }


def _one_start(problem: FitProblem, x0: np.ndarray, max_nfev: int) -> StartResult:
    from scipy.optimize import least_squares

    res = least_squares(
        problem.residuals,
        x0,
        bounds=(problem.lower, problem.upper),
        method="trf",
        diff_step=1e-3,
        x_scale=1.0,
        max_nfev=max_nfev,
        xtol=1e-6,
        ftol=1e-6,
    )
    status, message = int(res.status), str(res.message)
    if np.any(res.fun == FAILED_RESIDUAL):
        # the model could not be simulated where the start ended: its flat penalty residuals
        # stop least_squares at once with a "converged" status that means nothing
        status, message = 0, "the model could not be simulated at this start's end point"
    return StartResult(np.asarray(x0), res.x, float(res.cost), status, int(res.nfev), message)


def _starts(problem: FitProblem, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    lo, hi = problem.lower, problem.upper
    u = qmc.LatinHypercube(d=lo.size, seed=seed).random(n)
    x = lo + u * (hi - lo)
    nominal = np.log10([p.nominal for p in problem.parameters])
    x[0] = np.clip(nominal, lo, hi)  # the first start is the shipped parameter set
    return x


def _run_starts(
    problem: FitProblem, x0s: np.ndarray, max_nfev: int, dask: bool
) -> list[StartResult]:
    if not dask:
        return [_one_start(problem, x0, max_nfev) for x0 in x0s]
    import dask as dk

    tasks = [dk.delayed(_one_start)(problem, x0, max_nfev) for x0 in x0s]
    try:  # a distributed Client, if one is active, runs the tasks on its workers
        from distributed import get_client

        get_client()
        scheduler = None
    except (ImportError, ValueError):
        scheduler = "processes"  # libroadrunner instances are per process, not thread-safe
    return list(dk.compute(*tasks, scheduler=scheduler))


def _estimate_sd(problem: FitProblem, x: np.ndarray) -> dict[str, float]:
    r = problem.raw_residuals(x)
    obs = problem.data.measurements["observableId"].to_numpy()
    out = {}
    for o in problem.data.observables:
        sel = (obs == o) & problem.estimated_sd
        given = (obs == o) & ~problem.estimated_sd
        if sel.any():
            out[o] = float(max(math.sqrt(np.mean(r[sel] ** 2)), 1e-6))
        elif given.any():
            out[o] = float(np.median(problem.sd[given]))
    return out


def _covariance(problem: FitProblem, x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Inverse of ``J^T J`` with a central-difference Jacobian (steps kept inside the box)."""
    lo, hi = problem.lower, problem.upper
    cols = []
    for k in range(x.size):
        a, b = x.copy(), x.copy()
        a[k], b[k] = max(x[k] - step, lo[k]), min(x[k] + step, hi[k])
        cols.append((problem.residuals(b) - problem.residuals(a)) / (b[k] - a[k]))
    jac = np.column_stack(cols)
    return np.linalg.pinv(jac.T @ jac, rcond=1e-10)


def fit(
    problem: FitProblem,
    *,
    n_starts: int = 20,
    seed: int = 0,
    max_nfev: int = 60,
    dask: bool = False,
    profiles: bool = False,
    profile_points: int = 7,
) -> FitResult:
    """Multi-start fit of ``problem`` (see the module docstring).

    Parameters
    ----------
    n_starts : int
        Local optimisations (Latin hypercube in the prior box; the first at the shipped values).
    max_nfev : int
        Function-evaluation budget per start (a start that exhausts it has not converged).
    dask : bool
        Run the starts as Dask tasks (an active ``distributed.Client`` or local processes).
    profiles : bool
        Compute profile likelihoods of the model parameters (slower; else Wald intervals).

    Raises
    ------
    FitError
        When no start produced a finite cost.
    """
    if n_starts < 1:
        raise FitError("n_starts must be >= 1")
    runs = _run_starts(problem, _starts(problem, n_starts, seed), max_nfev, dask)
    runs.sort(key=lambda s: s.cost)
    if not math.isfinite(runs[0].cost):
        raise FitError("no start of the fit produced a finite cost")
    agreeing = sum(s.converged and s.cost - runs[0].cost < SAME_OPTIMUM for s in runs)
    sd = _estimate_sd(problem, runs[0].x)
    problem2 = problem.with_sd(sd)
    if np.any(problem.estimated_sd):  # second stage with the estimated SDs
        polished = replace(_one_start(problem2, runs[0].x, max_nfev), polish=True)
        runs = [polished] + [_rescore(problem2, s) for s in runs]
        runs.sort(key=lambda s: s.cost)
    x = runs[0].x
    result = FitResult(problem2, tuple(runs), x, _covariance(problem2, x), sd, agreeing=agreeing)
    if profiles:
        profs = tuple(
            profile(result, name, points=profile_points) for name in problem.model_parameters
        )
        result = FitResult(problem2, tuple(runs), x, result.covariance, sd, profs, agreeing)
    return result


def _rescore(problem: FitProblem, s: StartResult) -> StartResult:
    cost = 0.5 * float(np.sum(problem.residuals(s.x) ** 2))
    return replace(s, cost=cost)


def profile(result: FitResult, name: str, *, points: int = 7, max_nfev: int = 30) -> Profile:
    """Profile likelihood of parameter ``name`` on ``points`` grid values across its prior box.

    Each grid point fixes ``name`` and re-optimises the other parameters from the optimum
    (Raue 2009). Returns ``2 * (nll - nll_min)`` per point.
    """
    from scipy.optimize import least_squares

    pr = result.problem
    i = pr.ids.index(name)
    lo, hi = pr.lower, pr.upper
    grid = np.unique(np.concatenate([np.linspace(lo[i], hi[i], points), [result.x[i]]]))
    free = np.arange(lo.size) != i
    delta = []
    for g in grid:

        def res(z, g=g):
            x = result.x.copy()
            x[free] = z
            x[i] = g
            return pr.residuals(x)

        r = least_squares(
            res,
            result.x[free],
            bounds=(lo[free], hi[free]),
            method="trf",
            diff_step=1e-3,
            max_nfev=max_nfev,
            xtol=1e-5,
            ftol=1e-5,
        )
        delta.append(2.0 * (r.cost - result.cost))
    d = np.maximum(np.array(delta), 0.0)
    return Profile(name, grid, d)


def profile_bounds(p: Profile, xhat: float) -> tuple[float, float]:
    """Where the profile crosses the chi-square(1) 95 % threshold, on log10 scale.

    Interpolated linearly in ``sqrt(delta)``, which is linear in the parameter where the
    profile is quadratic (the signed root of the likelihood-ratio statistic; Venzon & Moolgavkar
    1988, Appl Stat 37:87): exact for a quadratic profile however coarse the grid, where
    interpolating ``delta`` itself would put the crossing far too close to the optimum when the
    grid point beyond it is steep. Without a crossing, the bound is the grid's (prior's) end.
    """
    g, r = p.grid, np.sqrt(np.maximum(p.delta, 0.0))
    cut = math.sqrt(CHI2_95_1DF)
    k = int(np.argmin(np.abs(g - xhat)))
    lo = g[0]
    for j in range(k, 0, -1):
        if r[j - 1] > cut:
            lo = g[j - 1] + (cut - r[j - 1]) * (g[j] - g[j - 1]) / (r[j] - r[j - 1])
            break
    hi = g[-1]
    for j in range(k, len(g) - 1):
        if r[j + 1] > cut:
            hi = g[j] + (cut - r[j]) * (g[j + 1] - g[j]) / (r[j + 1] - r[j])
            break
    return float(lo), float(hi)


def parameter_sets(result: FitResult, xs: Sequence[np.ndarray]) -> pd.DataFrame:
    """Linear-scale parameter table of log10 vectors ``xs``."""
    return pd.DataFrame([result.problem.values(x) for x in xs])
