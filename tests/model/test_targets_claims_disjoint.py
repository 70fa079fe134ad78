"""Issue 12 §1: the calibration targets hold no measure that a claim rule tests.

Reads ``targets.csv`` (through :func:`load_targets`) and the claim rules (the claims of
:mod:`letrolab.experiments.claims` and the readouts their rules judge,
:data:`letrolab.experiments.support.CLAIM_READOUTS`) and shows that no target looks at the
same cell line, drug combination and readout as any claim. The declared drug/readout of each
calibration measure is itself checked by recording what the measure simulates.
"""

from __future__ import annotations

import re

import pytest

from letrolab.experiments.claims import CLAIMS
from letrolab.experiments.support import CLAIM_READOUTS, PATIENT_BASIS
from letrolab.model import get_model
from letrolab.model.calibration import (
    MEASURE_CONDITIONS,
    MEASURES,
    PREDICTIONS,
    MeasureContext,
    load_targets,
)
from letrolab.model.patient import parameter_table


def _overlaps(cell_line: str, measure: str) -> list[str]:
    cond = MEASURE_CONDITIONS[measure]
    hits = []
    for cid, ro in CLAIM_READOUTS.items():
        for lines, claim_cond in ro.conditions:
            if (
                cell_line in lines
                and cond.drugs == claim_cond.drugs
                and cond.readouts & claim_cond.readouts
            ):
                hits.append(cid)
    return hits


def test_no_target_measures_what_a_claim_rule_tests():
    targets = load_targets()
    clash = {
        r.id: _overlaps(r.cell_line, r.measure)
        for r in targets.itertuples()
        if _overlaps(r.cell_line, r.measure)
    }
    assert clash == {}
    # none of the predictions (CI, combination sub-G1, LR p-AKT, LR everolimus) is a target
    assert not set(targets["measure"]) & set(PREDICTIONS)
    assert "mcf7-aro-lr" not in set(targets["cell_line"])
    # no target is sourced from the claims' own papers or the +24 % IGF-I
    sources = " ".join(targets["source"])
    for paper in ("Lisztwan", "Cavazzoni", "Bajetta", "+24"):
        assert paper not in sources


def test_a_claim_readout_as_target_would_be_caught():
    """The check is not vacuous: the old combination-CI and LR targets clash."""
    assert _overlaps("mcf7-aro", "growth_ic50_letrozole_nM") == []
    from letrolab.model.calibration import Condition

    MEASURE_CONDITIONS["_probe"] = Condition(
        frozenset({"letrozole", "nvp-aew541"}), frozenset({"mts_relative"})
    )
    try:
        assert _overlaps("t47d-aro", "_probe") == ["S4"]
    finally:
        del MEASURE_CONDITIONS["_probe"]


def test_every_claim_has_a_basis_and_an_ensemble_readout_or_a_reason():
    assert set(CLAIMS) == set(CLAIM_READOUTS) | set(PATIENT_BASIS)
    for ro in CLAIM_READOUTS.values():
        assert ro.basis in {"predicted", "calibrated", "structural"} and len(ro.why) > 30
    for basis, why in PATIENT_BASIS.values():
        assert basis in {"predicted", "calibrated", "structural"} and len(why) > 30


def test_patient_igf1_restraint_is_not_set_from_bajetta():
    info = parameter_table()["Emax_E2L"]
    assert info.status == "A"
    assert not re.search(r"calibrated so that|\+24", info.note)


class _Recorder(MeasureContext):
    """A context that records the drugs each simulation gives."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.drugs: set[str] = set()

    def sim(self, cell_line, **kw):
        self.drugs |= {d for d, c in (kw.get("drugs") or {}).items() if c}
        return super().sim(cell_line, **kw)

    def grid(self, cell_line, **kw):
        import numpy as np

        self.drugs |= {d for d, c in (kw.get("drugs") or {}).items() if np.any(np.asarray(c))}
        return super().grid(cell_line, **kw)


@pytest.mark.parametrize("measure", sorted(MEASURES))
def test_declared_conditions_are_what_the_measure_simulates(measure):
    ctx = _Recorder(get_model(), {})
    MEASURES[measure](ctx, "mcf7-aro")
    assert ctx.drugs == set(MEASURE_CONDITIONS[measure].drugs)
