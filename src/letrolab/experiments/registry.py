"""The registered experiments, in the order ``letrolab reproduce`` runs them."""

from __future__ import annotations

import importlib

from letrolab.errors import InputError
from letrolab.experiments._framework import Experiment

__all__ = ["all_experiments", "get_experiment"]

#: Protocol modules of :mod:`letrolab.experiments`, each defining ``EXPERIMENT``.
PROTOCOLS: tuple[str, ...] = (
    "crosstalk",
    "proliferation",
    "apoptosis",
    "resistance",
    "patients",
    "metabolic",
    "strategies",
)


def all_experiments() -> list[Experiment]:
    """Every registered experiment, in run order."""
    return [
        importlib.import_module(f"letrolab.experiments.{name}").EXPERIMENT for name in PROTOCOLS
    ]


def get_experiment(experiment_id: str) -> Experiment:
    """The registered experiment with id ``experiment_id``.

    Raises
    ------
    InputError
        For an unknown id (the message lists the known ones).
    """
    exps = {e.id: e for e in all_experiments()}
    if experiment_id not in exps:
        raise InputError(
            f"unknown experiment {experiment_id!r}; choose one of {', '.join(exps) or '(none)'}"
        )
    return exps[experiment_id]
