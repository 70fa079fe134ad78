"""The seed's experiments as code, run virtually on the model, and the claims they test.

- :func:`reproduce`: run every experiment and write ``report.html``, ``claims.json`` and
  ``results.duckdb`` (the ``letrolab reproduce`` command);
- :func:`run_experiments`: run some experiments and evaluate the claims, in memory;
- :func:`all_experiments`, :func:`get_experiment`: the registered protocols (S3 crosstalk, S4
  proliferation, S5 apoptosis, S6/S7 resistance, S1/S2 patients, S8 metabolic, S9 strategies);
- :data:`CLAIMS`, :func:`evaluate_claims`: the claims S1–S9 and their rules, applied to tables;
- :class:`Experiment`, :class:`Context`, :class:`Output`, :class:`Figure`: to write a protocol.
"""

from letrolab.experiments._framework import Context, Experiment, Figure, Output
from letrolab.experiments.claims import CLAIMS, ClaimResult, evaluate_claims
from letrolab.experiments.registry import all_experiments, get_experiment
from letrolab.experiments.runner import RunResult, reproduce, run_experiments

__all__ = [
    "CLAIMS",
    "ClaimResult",
    "Context",
    "Experiment",
    "Figure",
    "Output",
    "RunResult",
    "all_experiments",
    "evaluate_claims",
    "get_experiment",
    "reproduce",
    "run_experiments",
]
