"""The fit problem: model parameters and observation parameters -> residuals of the data.

Parameters are estimated on log10 scale within bounds: the model parameters from
``model/priors.csv`` (each with its cited range), one scale per relative observable
(``scale_<observableId>``, bounds 1e-3 to 1e3). Standardised residuals follow the noise model of
each observable (:data:`letrolab.fitting.data.FIT_OBSERVABLES`)::

    normal:    r = (y - h) / sd
    lognormal: r = (ln y - ln h) / sd

so that ``sum r^2 / 2`` is the negative log-likelihood up to a constant (independent Gaussian
errors on the noise scale; Raue et al. 2013, PLoS ONE 8:e74335, eq. 2). Each condition runs the
model's own protocol (:meth:`letrolab.model.Model.preequilibrate` then :meth:`~Model.run`):
steroid deprivation, shared by conditions with the same cell line and medium, then
androstenedione and drugs from t = 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from letrolab.errors import InputError, ModelError
from letrolab.fitting.data import FIT_OBSERVABLES, FitData
from letrolab.model.cell_lines import get_cell_line
from letrolab.model.engine import DEFAULT_DEPRIVATION_H, Model
from letrolab.model.ensemble import Prior, load_priors

__all__ = [
    "DEFAULT_FIT_PARAMETERS",
    "FAILED_RESIDUAL",
    "SCALE_BOUNDS",
    "FitParameter",
    "FitProblem",
    "fit_model",
]

#: Parameters fitted by default: growth, death and survival parameters that single-agent
#: viability and sub-G1 data inform, and that the resistant line does not override. A fitted
#: parameter that a condition's cell line overrides keeps the line's value in that condition
#: (the fit estimates the parental cells; ``cell_lines.csv`` states how the others differ).
DEFAULT_FIT_PARAMETERS = ("k_g1s_max", "k_apo_max", "K_surv", "mcl1_mtor", "k_apo_basal")
SCALE_BOUNDS = (1e-3, 1e3)
#: CVODE tolerances of the fitting model: looser than the engine's default (1e-8) yet far below
#: any measurement noise (6-day cell numbers agree to ~2e-7 relative), ~1.3-1.5x faster.
FIT_RTOL, FIT_ATOL = 1e-6, 1e-9
_MODELS: dict[int, Model] = {}


def fit_model() -> Model:
    """The compiled network with the fitting tolerances, compiled once per process."""
    import os

    pid = os.getpid()
    if pid not in _MODELS:
        _MODELS[pid] = Model(rtol=FIT_RTOL, atol=FIT_ATOL)
    return _MODELS[pid]


#: Residual given to every datum when the model cannot be integrated at a trial point.
FAILED_RESIDUAL = 1e3


@dataclass(frozen=True)
class FitParameter:
    """One estimated parameter: id, bounds (linear scale), nominal value and its source."""

    id: str
    low: float
    high: float
    nominal: float
    source: str


class FitProblem:
    """Residuals of ``data`` as a function of log10 parameters.

    Parameters
    ----------
    data : FitData
    parameters : sequence of str
        Model parameters to estimate (each needs a row in ``priors.csv``).
    fixed : mapping, optional
        Model-parameter overrides held fixed (on top of each condition's cell line).
    deprivation_h : float
        Steroid-deprivation pre-equilibration (as in :func:`letrolab.model.simulate`).
    """

    def __init__(
        self,
        data: FitData,
        parameters: Sequence[str] = DEFAULT_FIT_PARAMETERS,
        *,
        fixed: Mapping[str, float] | None = None,
        deprivation_h: float = DEFAULT_DEPRIVATION_H,
    ) -> None:
        priors = {p.parameter: p for p in load_priors()}
        model = fit_model()
        unknown = [p for p in parameters if p not in priors]
        if unknown:
            raise InputError(
                f"cannot fit {', '.join(unknown)}: no prior range in priors.csv "
                f"(fittable: {', '.join(priors)})"
            )
        self.data = data
        self.fixed = dict(fixed or {})
        self.deprivation_h = float(deprivation_h)
        self.model_parameters = tuple(parameters)
        self.parameters: tuple[FitParameter, ...] = tuple(
            _from_prior(priors[p], model.parameters[p]) for p in parameters
        ) + tuple(
            FitParameter(f"scale_{o}", *SCALE_BOUNDS, 1.0, "observation scale (fitted)")
            for o in data.observables
            if FIT_OBSERVABLES[o].kind == "scaled"
        )
        m = data.measurements
        self._obs_idx = (
            m["observableId"].map({o: i for i, o in enumerate(data.observables)}).to_numpy()
        )
        self._log = np.array([FIT_OBSERVABLES[o].noise == "lognormal" for o in m["observableId"]])
        y = m["measurement"].to_numpy(dtype=float)
        self._y = np.where(self._log, np.log(np.where(self._log, y, 1.0)), y)
        self._given_sd = m["noise"].to_numpy(dtype=float)
        default = np.array([FIT_OBSERVABLES[o].default_sd for o in m["observableId"]])
        self.sd = np.where(np.isnan(self._given_sd), default, self._given_sd)
        self._times = {c: sorted(set(g["time"])) for c, g in m.groupby("simulationConditionId")}
        self._row_at = [
            (c, FIT_OBSERVABLES[o].model_id, self._times[c].index(t))
            for o, c, t in zip(
                m["observableId"], m["simulationConditionId"], m["time"], strict=True
            )
        ]
        self._row_scale = [
            f"scale_{o}" if FIT_OBSERVABLES[o].kind == "scaled" else None for o in m["observableId"]
        ]
        self._model_obs = sorted({FIT_OBSERVABLES[o].model_id for o in data.observables})

    # ------------------------------------------------------------------ parameter vectors
    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.parameters]

    @property
    def lower(self) -> np.ndarray:
        return np.log10([p.low for p in self.parameters])

    @property
    def upper(self) -> np.ndarray:
        return np.log10([p.high for p in self.parameters])

    def values(self, x: np.ndarray) -> dict[str, float]:
        """Linear-scale values of the log10 vector ``x``, by parameter id."""
        return {p.id: float(10.0**v) for p, v in zip(self.parameters, x, strict=True)}

    def with_sd(self, sd_by_observable: Mapping[str, float]) -> FitProblem:
        """A copy whose estimated SDs (rows without a given noise) are ``sd_by_observable``."""
        new = object.__new__(FitProblem)
        new.__dict__.update(self.__dict__)
        est = np.array(
            [sd_by_observable.get(o, math.nan) for o in self.data.measurements["observableId"]]
        )
        new.sd = np.where(np.isnan(self._given_sd) & np.isfinite(est), est, self.sd)
        return new

    @property
    def estimated_sd(self) -> np.ndarray:
        """True for rows whose SD is estimated (no ``noise`` given)."""
        return np.isnan(self._given_sd)

    # ------------------------------------------------------------------ simulation
    def _deprived(self, model_values: Mapping[str, float], cond: pd.DataFrame):
        """Per condition: run parameters (drugs, androstenedione) and the deprived state.

        The deprivation is shared by conditions with the same cell line and ligands.
        """
        model = fit_model()
        drug_cols = [
            c
            for c in cond.columns
            if c.endswith("_nM") and c[:-3] not in ("androstenedione", "igf1", "insulin")
        ]
        cache: dict[tuple, tuple[dict, np.ndarray]] = {}
        for r in cond.to_dict("records"):
            ligands = {k: float(r[f"{k}_nM"]) for k in ("igf1", "insulin") if f"{k}_nM" in r}
            key = (r["cell_line"], tuple(sorted(ligands.items())))
            if key not in cache:
                own = get_cell_line(r["cell_line"]).overrides  # a line's own values win
                fitted = {k: v for k, v in model_values.items() if k not in own}
                _cl, vals = model.resolve(r["cell_line"], {**self.fixed, **fitted})
                vals.update(ligands)
                cache[key] = (vals, model.preequilibrate(vals, hours=self.deprivation_h))
            vals, state = cache[key]
            run_vals = dict(vals, androstenedione=float(r["androstenedione_nM"]))
            for c in drug_cols:
                run_vals[model.drug_parameter(c[:-3])] = float(r[c])
            yield r["conditionId"], run_vals, state

    def initial_states(
        self, model_values: Mapping[str, float], conditions: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """State of every species at t = 0 of each condition's stimulation phase.

        The end of the condition's steroid deprivation (cell line, ligands, ``model_values``),
        the viable cells rescaled to one unit, with the medium substrate ``A4`` dosed to the
        condition's androstenedione (:meth:`letrolab.model.Model.dosed`): the state from which
        :meth:`simulate` integrates. The PEtab export writes it to the condition table.

        Parameters
        ----------
        model_values : mapping
            Estimated model parameters (linear scale), as for :meth:`simulate`.
        conditions : DataFrame, optional
            Conditions (default: those of the data).

        Returns
        -------
        DataFrame
            One row per condition id, one column per species id of the model.
        """
        model = fit_model()
        cond = self.data.conditions if conditions is None else conditions
        rows = {
            cid: model.dosed(state, run_vals)
            for cid, run_vals, state in self._deprived(model_values, cond)
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(model.species))

    def simulate(
        self,
        model_values: Mapping[str, float],
        conditions: pd.DataFrame | None = None,
        times: Mapping[str, Sequence[float]] | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """Model observables per condition at the requested times (h).

        Returns ``{conditionId: {model observable: values at times}}``; default conditions and
        times are those of the data.
        """
        model = fit_model()
        cond = self.data.conditions if conditions is None else conditions
        if times is None:
            times = self._times
        obs = (
            self._model_obs
            if conditions is None
            else sorted({s.model_id for s in FIT_OBSERVABLES.values()})
        )
        cond = cond[cond["conditionId"].isin(list(times))]
        out = {}
        for cid, run_vals, state in self._deprived(model_values, cond):
            t = np.array([0.0, *times[cid]])
            res = model.run(run_vals, state, t, obs)
            out[cid] = {o: res[1:, k] for k, o in enumerate(obs)}
        return out

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        """Model prediction of every measurement row (on the measurement's scale)."""
        vals = self.values(x)
        sim = self.simulate({p: vals[p] for p in self.model_parameters})
        h = np.array([sim[c][o][k] for c, o, k in self._row_at])
        scale = np.array([1.0 if s is None else vals[s] for s in self._row_scale])
        return h * scale

    def raw_residuals(self, x: np.ndarray) -> np.ndarray:
        """Residuals on the noise scale (not divided by the SD)."""
        try:
            h = self.predict_rows(x)
        except ModelError:
            return np.full(len(self._y), FAILED_RESIDUAL)
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(self._log, np.log(np.maximum(h, 1e-300)), h)
        r = self._y - hh
        return np.where(np.isfinite(r), r, FAILED_RESIDUAL)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Standardised residuals (see the module docstring)."""
        return self.raw_residuals(x) / self.sd

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.residuals(x)


def _from_prior(prior: Prior, nominal: float) -> FitParameter:
    nominal = min(max(nominal, prior.low), prior.high)
    return FitParameter(prior.parameter, prior.low, prior.high, nominal, prior.reason)
