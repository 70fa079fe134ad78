"""The seed's experiments as code, run virtually on the model, and the claims they test.

- :func:`all_experiments`, :func:`get_experiment`: the registered protocols (S3 crosstalk, S4
  proliferation, S5 apoptosis, S6/S7 resistance, S1/S2 patients, S8 metabolic, S9 strategies);
- :data:`CLAIMS`, :func:`evaluate_claims`: the claims S1–S9 and their rules, applied to tables;
- :func:`trials_table`: the seed's trials table with the model's predictions;
- :class:`Experiment`, :class:`Context`, :class:`Output`, :class:`Figure`: to write a protocol;
- :func:`model_provenance`, :func:`pathway_diagram`: which model made the numbers, and its map.

Running them and writing the report is the pipeline's job (:mod:`letrolab.pipeline`:
``reproduce``, ``run_experiments``); the old names here still work, with a deprecation warning.
"""

from __future__ import annotations

import warnings
from typing import Any

from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.experiments._model import pathway_diagram
from letrolab.experiments._model import provenance as model_provenance
from letrolab.experiments.claims import CLAIMS, ClaimResult, evaluate_claims
from letrolab.experiments.registry import all_experiments, get_experiment
from letrolab.experiments.trials import trials_table

__all__ = [
    "CLAIMS",
    "ClaimResult",
    "Context",
    "Experiment",
    "Figure",
    "Output",
    "all_experiments",
    "evaluate_claims",
    "get_experiment",
    "model_provenance",
    "pathway_diagram",
    "trials_table",
]

_MOVED_TO_PIPELINE = ("RunResult", "reproduce", "run_experiments")


def __getattr__(name: str) -> Any:
    """Deprecated names that moved to :mod:`letrolab.pipeline` (lazy, to avoid a cycle)."""
    if name in _MOVED_TO_PIPELINE:
        import letrolab.pipeline

        warnings.warn(
            f"letrolab.experiments.{name} moved to letrolab.pipeline.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(letrolab.pipeline, name)
    raise AttributeError(f"module 'letrolab.experiments' has no attribute {name!r}")
