"""The seed's experiments as code, run virtually on the model, and the claims they test.

- :func:`all_experiments`, :func:`get_experiment`: the registered protocols (S3 crosstalk, S4
  proliferation, S5 apoptosis, S6/S7 resistance, S1/S2 patients, S8 metabolic, S9 strategies);
- :data:`CLAIMS`, :func:`evaluate_claims`: the claims S1–S9 and their rules, applied to tables;
- :func:`trials_table`: the seed's trials table with the model's predictions;
- :class:`Experiment`, :class:`Context`, :class:`Output`, :class:`Figure`: to write a protocol;
- :func:`model_provenance`, :func:`pathway_diagram`: which model made the numbers, and its map.

Running them and writing the report is the pipeline's job (:mod:`letrolab.pipeline`:
``reproduce``, ``run_experiments``), which sits above this package.
"""

from __future__ import annotations

from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.experiments._model import pathway_diagram
from letrolab.experiments._model import provenance as model_provenance
from letrolab.experiments.claims import (
    CLAIMS,
    Claim,
    ClaimError,
    ClaimResult,
    ClaimStatus,
    RuleOutcome,
    evaluate_claims,
)
from letrolab.experiments.registry import all_experiments, get_experiment
from letrolab.experiments.trials import trials_table

__all__ = [
    "CLAIMS",
    "Claim",
    "ClaimError",
    "ClaimResult",
    "ClaimStatus",
    "Context",
    "Experiment",
    "Figure",
    "Output",
    "RuleOutcome",
    "all_experiments",
    "evaluate_claims",
    "get_experiment",
    "model_provenance",
    "pathway_diagram",
    "trials_table",
]
