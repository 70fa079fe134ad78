"""Round trip: a virtual lab with non-shipped parameters (single agents, noisy) is fitted, then
the untested letrozole + everolimus matrix and the LR everolimus response are predicted.

Reference: the truth the data were simulated from. Goals (issue 19): >= 90 % of new noisy
measurements inside their 95 % prediction intervals, and the 95 % intervals of identifiable
parameters contain the truth. This is the small version (3 drugs x 6 doses, 3 starts); the
full one is ``benchmarks/bench_fit.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from letrolab.fitting import FitProblem, check_fit_data, fit
from letrolab.fitting.predict import combination_design, predict
from letrolab.fitting.virtual_lab import (
    EXAMPLE_TRUTH,
    SMALL_SINGLE_AGENT_DOSES,
    measure,
    simulate_lab,
)

TRUTH = EXAMPLE_TRUTH
DOSES = SMALL_SINGLE_AGENT_DOSES


def _design() -> pd.DataFrame:
    return combination_design(
        "letrozole",
        [0, 0.1, 10, 1000],
        "everolimus",
        [0, 0.1, 1, 100],
        lr_col_nM=[0, 0.1, 1, 10, 100],
    )


@pytest.fixture(scope="module")
def fitted():
    lab = simulate_lab(TRUTH, doses=DOSES, seed=3)
    problem = FitProblem(check_fit_data(lab.measurements, lab.conditions), tuple(TRUTH))
    return lab, fit(problem, n_starts=3, seed=1)


def test_fit_converges_and_identifiable_intervals_contain_truth(fitted):
    lab, result = fitted
    assert result.converged
    t = result.intervals().set_index("parameter")
    truth = {**TRUTH, "scale_viability": lab.scale_viability}
    for p, v in truth.items():
        if t.loc[p, "identifiable"]:
            assert t.loc[p, "ci_low"] <= v <= t.loc[p, "ci_high"], p


def test_predictions_cover_new_measurements(fitted):
    lab, result = fitted
    design = _design()
    pred = predict(result, design, n_sets=40, seed=2).table
    meas = measure(lab, design, seed=11)  # the same virtual lab measuring the design
    keys = list(zip(meas["observableId"], meas["simulationConditionId"], strict=True))
    p = pred.set_index(["observableId", "conditionId"]).loc[keys]
    y = meas["measurement"].to_numpy()
    inside = (y >= p["pi_low"].to_numpy()) & (y <= p["pi_high"].to_numpy())
    assert inside.mean() >= 0.9, inside.mean()
