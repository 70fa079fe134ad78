"""The result types of a ``letrolab reproduce`` run, below both the experiments and the report.

:class:`Output` and :class:`Figure` are what one experiment produces; :class:`ExperimentRun` is
one experiment's fate in a run; :class:`RunResult` is the whole run. The experiments
(:mod:`letrolab.experiments`) build them, the pipeline (:mod:`letrolab.pipeline`) assembles them
and the report (:mod:`letrolab.report`) renders them, so the report depends on this module only
and never on the experiments package (no import cycle between the two).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from letrolab._results import jsonable

__all__ = [
    "ClaimOutcome",
    "EnsembleOutcome",
    "ExperimentRun",
    "Figure",
    "NegativeControl",
    "Output",
    "RunResult",
]


@dataclass(frozen=True)
class Figure:
    """A rendered figure: a file name stem, a caption, the image bytes and their MIME type."""

    name: str
    caption: str
    data: bytes
    mime: str = "image/png"


@dataclass(frozen=True)
class Output:
    """What one experiment produced.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Analysed results, by store table name. Claims are computed from these only.
    figures : tuple of Figure
    files : tuple of Path
        Instrument-like files written (plate reads, layouts, FCS files, blot images), relative
        to the run's output folder.
    notes : tuple of str
        Warnings and remarks raised by the analysis (QC warnings, fit warnings).
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: tuple[Figure, ...] = ()
    files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()


class ClaimOutcome(Protocol):
    """What the run and the report need of an evaluated claim (see ``experiments.claims``)."""

    id: str
    holds: bool
    evaluated: bool
    rule: str
    values: Mapping[str, Any]

    def summary(self) -> dict[str, Any]:
        """JSON-able dict (one entry of claims.json)."""

    def report(self) -> str:
        """One line of text."""


@dataclass(frozen=True, kw_only=True)
class NegativeControl:
    """A claim re-evaluated with its mechanism removed (the claim's ablation via ``--set``).

    Attributes
    ----------
    claim : str
        Claim id.
    mechanism : str
        What the ablation removes.
    ablation : str
        The parameter overrides, ``name=value, ...``.
    readout : str
        What the readout is.
    intact, ablated : float
        The readout with and without the mechanism (NaN when there is none).
    intact_status, ablated_status : str
        The claim's verdict with and without the mechanism.
    ablated_model : str
        The model's value under the ablation, in words.
    """

    claim: str
    mechanism: str
    ablation: str
    readout: str
    intact: float
    ablated: float
    intact_status: str
    ablated_status: str
    ablated_model: str

    @property
    def fails(self) -> bool:
        """Whether the claim fails without its mechanism (what a negative control must show)."""
        return self.ablated_status == "fails"

    @property
    def informative(self) -> bool:
        """Whether the control can show anything: a claim that already fails with its
        mechanism intact fails without it too, whatever its rule tests."""
        return self.intact_status == "holds"

    def summary(self) -> dict[str, Any]:
        """JSON-able dict (non-finite readouts as ``None``)."""
        return {
            "claim": self.claim,
            "mechanism": self.mechanism,
            "ablation": self.ablation,
            "readout": self.readout,
            "intact": self.intact if math.isfinite(self.intact) else None,
            "ablated": self.ablated if math.isfinite(self.ablated) else None,
            "intact_status": self.intact_status,
            "ablated_status": self.ablated_status,
            "fails_without_mechanism": self.fails,
            "informative": self.informative,
            "ablated_model": self.ablated_model,
        }


_EXPERIMENT_COLUMNS = [
    "id",
    "title",
    "claims",
    "status",
    "reason",
    "seconds",
    "tables",
    "figures",
    "files",
    "notes",
]


@dataclass(frozen=True)
class ExperimentRun:
    """One experiment's fate in a run.

    ``status`` is ``ok``; ``not run`` (a part of letrolab is missing); ``failed`` (the model
    could not simulate the protocol, e.g. under a ``--set``: its claims fail); or ``error`` (a
    defect in letrolab: its claims are not evaluated).
    """

    id: str
    title: str
    claims: tuple[str, ...]
    status: str
    reason: str
    seconds: float
    methods: str
    output: Output = field(default_factory=Output)

    def summary(self) -> dict[str, Any]:
        """JSON-able dict without the tables and figures."""
        return {
            "id": self.id,
            "title": self.title,
            "claims": list(self.claims),
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "tables": sorted(self.output.tables),
            "figures": [f.name for f in self.output.figures],
            "files": [str(p) for p in self.output.files],
            "notes": list(self.output.notes),
        }


@dataclass(frozen=True)
class EnsembleOutcome:
    """The claims on the calibrated parameter ensemble (``experiments.support``).

    Attributes
    ----------
    support : tuple
        One ``ClaimSupport`` per claim (``claim``, ``basis``, ``why``, ``support``, ``low95``,
        ``high95``, ``quantiles``, ``holds``, ``note``; ``summary()`` gives the claims.json
        fields).
    info : dict of str to str
        Where the ensemble came from (sampler, sets used).
    sobol : DataFrame or None
        ``claim, parameter, S1, S1_conf, ST, ST_conf`` (shipped with the ensemble).
    seconds : float
        Time spent evaluating the ensemble.
    note : str
        Why there is no ensemble evaluation, when ``support`` is empty.
    controls : tuple
        One ``ClaimSupport`` per sampled claim with the claim's mechanism removed on every set
        (``experiments.support.ablated_support``): the negative controls on the ensemble.
    """

    support: tuple[Any, ...] = ()
    info: dict[str, str] = field(default_factory=dict)
    sobol: pd.DataFrame | None = None
    seconds: float = 0.0
    note: str = ""
    controls: tuple[Any, ...] = ()

    def by_claim(self) -> dict[str, Any]:
        return {s.claim: s for s in self.support}

    def controls_by_claim(self) -> dict[str, Any]:
        return {s.claim: s for s in self.controls}


@dataclass(frozen=True)
class RunResult:
    """A whole run: experiments, claims, all tables and provenance.

    Attributes
    ----------
    runs : tuple of ExperimentRun
    claims : tuple of ClaimOutcome
    provenance : dict of str to str
    derived : mapping of str to DataFrame
        Tables computed from the experiments' tables as a whole (the seed's trials table).
    diagram : Figure or None
        The model's pathway diagram, when it could be drawn.
    diagram_note : str
        Why there is no diagram.
    controls : tuple of NegativeControl
        Each claim's negative control (empty when they were not run).
    ensemble : EnsembleOutcome
        The claims on the calibrated ensemble (empty when not evaluated).
    """

    runs: tuple[ExperimentRun, ...]
    claims: tuple[ClaimOutcome, ...]
    provenance: dict[str, str]
    derived: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    diagram: Figure | None = None
    diagram_note: str = ""
    controls: tuple[NegativeControl, ...] = ()
    ensemble: EnsembleOutcome = field(default_factory=EnsembleOutcome)

    def claims_document(self) -> list[dict[str, Any]]:
        """The claims.json entries: each claim's summary with ``basis`` and ``support``.

        Where the ensemble evaluated a claim, ``holds`` and ``status`` are the ensemble's
        verdict (the rule on ``support`` in ``support.rule``: ``status`` is ``"holds"``,
        ``"fails"`` or ``"undecided"``); ``holds_single_run`` and ``status_single_run`` are
        the shipped parameter set's.
        """
        sup = self.ensemble.by_claim()
        out = []
        for c in self.claims:
            d = dict(c.summary())
            s = sup.get(c.id)
            d["holds_single_run"] = bool(c.holds)
            d["status_single_run"] = c.status
            if s is not None:
                d.update(s.summary())
                if s.holds is not None:
                    d["holds"] = bool(s.holds)
                    d["status"] = s.verdict
            else:
                d.update({"basis": None, "support": None, "note": self.ensemble.note})
            out.append(d)
        return out

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every results table of the run, including ``claims`` and ``experiments``."""
        out: dict[str, pd.DataFrame] = {}
        for run in self.runs:
            out.update(run.output.tables)
        out.update(self.derived)
        out["claims"] = pd.DataFrame(
            [
                c.summary()
                | {
                    "evaluated": c.evaluated,
                    "rule": c.rule,
                    "values": json.dumps(jsonable(c.values), sort_keys=True),
                }
                for c in self.claims
            ]
        )
        if self.controls:
            out["negative_controls"] = pd.DataFrame([c.summary() for c in self.controls])
        if self.ensemble.support:
            out["claim_support"] = pd.DataFrame(
                [
                    {
                        "claim": c.claim,
                        "basis": c.basis,
                        "why": c.why,
                        "readout": c.readout,
                        "support": c.support,
                        "support_low95": c.low95,
                        "support_high95": c.high95,
                        "n_sets": c.n_sets,
                        "holds": c.holds,
                        "note": c.note,
                    }
                    for c in self.ensemble.support
                ]
            )
        out["experiments"] = pd.DataFrame(
            [
                {k: ("; ".join(v) if isinstance(v, list) else v) for k, v in r.summary().items()}
                for r in self.runs
            ],
            columns=_EXPERIMENT_COLUMNS,
        )
        return out

    @property
    def complete(self) -> bool:
        """Whether every experiment ran."""
        return all(r.status == "ok" for r in self.runs)

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: experiments, claims, provenance."""
        return {
            "experiments": [r.summary() for r in self.runs],
            "claims": [c.summary() | {"evaluated": c.evaluated} for c in self.claims],
            "provenance": dict(self.provenance),
        }

    def to_frame(self) -> pd.DataFrame:
        """The claims table: id, claim, seed, model, holds, evaluated, rule, values (JSON)."""
        return self.tables["claims"]

    def report(self) -> str:
        """Plain-text summary, one line per experiment and claim."""
        lines = [
            f"{r.id}: {r.status}{' (' + r.reason + ')' if r.reason else ''}" for r in self.runs
        ]
        lines += [c.report() for c in self.claims]
        return "\n".join(lines)
