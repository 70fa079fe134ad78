"""The patient around the tumour: letrozole PK, endocrine feedback, IGF-1, glucose; cohorts.

- ``patient.ant``: the Antimony source of truth (every parameter with unit and status);
- ``pk.csv``: the clinical PK catalogue (:func:`load_pk_catalogue`), extensible by a user;
- :func:`sample_cohort`: virtual patients with inter-individual variability and CYP2A6 genotype;
- :func:`run_trial` -> :class:`TrialResult`: arms given to a cohort (``letrolab trial``);
- :func:`patient_exposure`, :func:`drive_tumour`: what the tumour sees, and the cell-level model
  of :mod:`letrolab.model` driven by it.

Heavy libraries (libroadrunner, pandas, matplotlib, dask) are imported only when used.
"""

from letrolab.model.patient._model import (
    parameter_table,
    patient_model_source,
    patient_sbml,
    simulate_reference,
)
from letrolab.model.patient.cohort import Cohort, sample_cohort
from letrolab.model.patient.exposure import Exposure, drive_tumour, patient_exposure
from letrolab.model.patient.pk import DrugPK, load_pk_catalogue
from letrolab.model.patient.schedule import Arm, parse_arm
from letrolab.model.patient.trial import TrialResult, run_trial

__all__ = [
    "Arm",
    "Cohort",
    "DrugPK",
    "Exposure",
    "TrialResult",
    "drive_tumour",
    "load_pk_catalogue",
    "parameter_table",
    "parse_arm",
    "patient_exposure",
    "patient_model_source",
    "patient_sbml",
    "run_trial",
    "sample_cohort",
    "simulate_reference",
]
