"""The shape of a virtual experiment: what it needs, what it is given, what it returns.

An :class:`Experiment` is a protocol as code. It declares the seed claims it bears on and the
letrolab parts it needs (``"module:attribute"`` strings, checked by import before it runs), and its
``run`` function takes a :class:`Context` and returns an :class:`Output`: the analysed tables (the
same tables that go into the results store and from which the claims are computed), figures, and
the instrument-like files it wrote.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from letrolab.runs import Figure, Output

__all__ = ["Context", "Experiment", "Figure", "Output", "missing_requirements"]


def _no_progress(fraction: float, message: str = "") -> None:
    return None


@dataclass(frozen=True)
class Context:
    """What an experiment is given.

    Attributes
    ----------
    outdir : Path
        The run's (staged) output folder; instrument files go under ``outdir / "raw" / <id>``.
    quick : bool
        Smaller grids, cohorts and event counts (the ``--quick`` mode).
    seed : int
        Seed of the run; each experiment derives its own generator with :meth:`rng`.
    overrides : mapping of str to float
        Cell-network parameter overrides applied to every simulation of the run (used to show
        that a claim depends on a mechanism, e.g. the IGF-1R → ER crosstalk set to zero).
    patient_overrides : mapping of str to float
        Patient-model (``patient.ant``) parameter overrides applied to every virtual patient.
    progress : callable
        ``progress(fraction_done, message)``; the command line draws it as a progress bar.
    """

    outdir: Path
    quick: bool = False
    seed: int = 20080101
    overrides: Mapping[str, float] = field(default_factory=dict)
    patient_overrides: Mapping[str, float] = field(default_factory=dict)
    progress: Callable[[float, str], None] = _no_progress

    def rng(self, stream: str) -> np.random.Generator:
        """A generator for ``stream`` (an experiment id), independent of the other streams."""
        salt = int.from_bytes(stream.encode("utf-8")[:16].ljust(16, b"\0"), "little")
        return np.random.default_rng([self.seed, salt])

    def rawdir(self, experiment: str) -> Path:
        """Folder for the instrument files of ``experiment`` (created)."""
        path = self.outdir / "raw" / experiment
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass(frozen=True)
class Experiment:
    """A protocol as code.

    Attributes
    ----------
    id : str
        Short identifier (``"proliferation"``).
    title : str
    claims : tuple of str
        Seed claims (``"S4"``) whose evaluation uses this experiment's tables.
    requires : tuple of str
        ``"module:attribute"`` parts of letrolab the protocol needs.
    run : callable
        ``run(ctx) -> Output``.
    methods : str
        Methods paragraph for the report (plain text; paragraphs separated by blank lines).
    """

    id: str
    title: str
    claims: tuple[str, ...]
    requires: tuple[str, ...]
    run: Callable[[Context], Output]
    methods: str = ""

    def missing(self) -> list[str]:
        """The required parts that cannot be imported (empty when the experiment can run)."""
        return missing_requirements(self.requires)


def missing_requirements(requires: tuple[str, ...] | list[str]) -> list[str]:
    """Return a message for each ``"module:attribute"`` in ``requires`` that is not importable.

    Examples
    --------
    >>> missing_requirements(["letrolab.units:to_molar"])
    []
    >>> missing_requirements(["letrolab.units:no_such_thing"])
    ['letrolab.units:no_such_thing (module has no attribute no_such_thing)']
    """
    out: list[str] = []
    for req in requires:
        module_name, _, attr = req.partition(":")
        try:
            module: Any = importlib.import_module(module_name)
        except Exception as exc:  # an upstream part absent or broken: say which and why
            out.append(f"{req} ({type(exc).__name__}: {exc})")
            continue
        if attr and not hasattr(module, attr):
            out.append(f"{req} (module has no attribute {attr})")
    return out
