"""letrolab.model: the mechanistic model of the letrozole - estrogen - IGF-1 system.

- ``network.ant``: the Antimony source of truth (every parameter with unit, status, source);
- ``drugs.csv``: the drug catalogue (targets, potency, mode, MW, references);
- ``cell_lines.csv``: MCF-7/Aro, T47D/Aro and a letrozole-resistant example as justified overrides;
- :func:`simulate`, :func:`simulate_grid`, :func:`run_ensemble`: the libroadrunner engine;
- :mod:`letrolab.model.calibration` (targets, measures, least squares) and
  :mod:`letrolab.model.ensemble` (``Likelihood``, ``load_priors``, ``sample_ensemble``,
  ``load_ensemble``, ``identifiability``): the calibration and its Bayesian ensemble.

Heavy libraries (libroadrunner, antimony, pandas) are imported only when a model is built.
"""

from letrolab.model.cell_lines import CellLine, get_cell_line, load_cell_lines
from letrolab.model.drugs import DrugCatalogue, load_catalogue
from letrolab.model.engine import (
    OBSERVABLES,
    EnsembleResult,
    GridResult,
    Model,
    SimulationResult,
    get_model,
    run_ensemble,
    simulate,
    simulate_grid,
)
from letrolab.model.patient import TrialResult, drive_tumour, patient_exposure, run_trial

__all__ = [
    "OBSERVABLES",
    "CellLine",
    "DrugCatalogue",
    "EnsembleResult",
    "GridResult",
    "Model",
    "SimulationResult",
    "TrialResult",
    "drive_tumour",
    "get_cell_line",
    "get_model",
    "load_catalogue",
    "load_cell_lines",
    "patient_exposure",
    "run_ensemble",
    "run_trial",
    "simulate",
    "simulate_grid",
]
