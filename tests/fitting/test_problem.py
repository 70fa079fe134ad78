"""The fit problem simulates the model's own protocol; cell lines keep their own overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.fitting import FitProblem, check_fit_data
from letrolab.model import simulate


def _problem(params):
    c = pd.DataFrame(
        {
            "conditionId": ["a", "b"],
            "cell_line": ["mcf7-aro", "mcf7-aro-lr"],
            "everolimus_nM": [10, 10],
        }
    )
    m = pd.DataFrame(
        {
            "observableId": ["sub_g1", "sub_g1"],
            "simulationConditionId": ["a", "b"],
            "time": [144, 144],
            "measurement": [0.05] * 2,
        }
    )
    return FitProblem(check_fit_data(m, c), params)


def test_prediction_equals_the_engines_simulate():
    """Reference: letrolab.model.simulate (engine tolerances 1e-8) for the same condition."""
    pr = _problem(("K_surv",))
    h = pr.predict_rows(np.log10([0.5]))
    for k, line in enumerate(("mcf7-aro", "mcf7-aro-lr")):
        ref = simulate(
            line,
            drugs={"everolimus": 10e-9},
            parameters={"K_surv": 0.5},
            observables=["sub_g1_fraction"],
        )
        assert h[k] == pytest.approx(ref.final("sub_g1_fraction"), rel=1e-5)


def test_a_cell_lines_own_value_wins_over_the_fitted_one():
    pr = _problem(("cd_er",))
    low, high = pr.predict_rows(np.log10([0.1])), pr.predict_rows(np.log10([2.0]))
    assert low[0] != pytest.approx(high[0], rel=1e-3)  # parental cells feel cd_er
    assert low[1] == pytest.approx(high[1], rel=1e-9)  # LR sets its own cd_er


def test_parameters_without_a_prior_are_refused():
    with pytest.raises(InputError, match="no prior range"):
        _problem(("igf1",))
