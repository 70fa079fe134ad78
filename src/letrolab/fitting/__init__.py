"""letrolab.fitting: fit the model to a lab's own data and predict its next experiment.

- :mod:`~letrolab.fitting.data`: measurements and conditions tables (PEtab layout), checked;
- :mod:`~letrolab.fitting.problem`: the residuals of those data as a function of parameters;
- :mod:`~letrolab.fitting.estimate`: multi-start least squares, profiles, identifiability;
- :mod:`~letrolab.fitting.petab_io`: PEtab export and import;
- :mod:`~letrolab.fitting.predict`: prediction intervals for a new design.
"""

from letrolab.fitting.data import FIT_OBSERVABLES, FitData, check_fit_data, read_fit_data
from letrolab.fitting.estimate import FitResult, fit
from letrolab.fitting.problem import DEFAULT_FIT_PARAMETERS, FitProblem

__all__ = [
    "DEFAULT_FIT_PARAMETERS",
    "FIT_OBSERVABLES",
    "FitData",
    "FitProblem",
    "FitResult",
    "check_fit_data",
    "fit",
    "read_fit_data",
]
