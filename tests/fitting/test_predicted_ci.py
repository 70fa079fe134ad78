"""CI of a predicted combination matrix over the parameter sets (letrolab.fitting.predicted_ci).

Reference: on a surface built from the median-effect equation with
``fa / (1 - fa) = ((a / Dm_a + b / Dm_b) / gamma) ** m``, the Chou-Talalay combination index is
``gamma`` at every combination point (CI = a / Dx_a + b / Dx_b with Dx = Dm (fa / (1 - fa))^(1/m);
Chou & Talalay 1984, Adv Enzyme Regul 22:27), so each set's CI is known exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.fitting.predict import Prediction, predicted_ci

DM_A, DM_B, M = 10.0, 5.0, 1.3
DOSES_A = [0.0, 2.0, 5.0, 10.0, 20.0, 50.0]
DOSES_B = [0.0, 1.0, 2.5, 5.0, 10.0, 25.0]


def _viability(a: float, b: float, gamma: float) -> float:
    if a == 0 and b == 0:
        return 1.0
    # a single drug alone is its own median-effect curve (gamma applies to mixtures only)
    g = 1.0 if a == 0 or b == 0 else gamma
    odds = ((a / DM_A + b / DM_B) / g) ** M
    return 1.0 / (1.0 + odds)


def _prediction(gammas: np.ndarray) -> Prediction:
    grid = [(a, b) for a in DOSES_A for b in DOSES_B]
    sets = np.array([[_viability(a, b, g) for a, b in grid] for g in gammas])
    table = pd.DataFrame(
        {
            "conditionId": [f"c{i}" for i in range(len(grid))],
            "cell_line": "mcf7-aro",
            "letrozole_nM": [a for a, _ in grid],
            "everolimus_nM": [b for _, b in grid],
            "observableId": "viability",
            "percent_of_vehicle": 100.0 * np.median(sets, axis=0),
        }
    )
    return Prediction(table, len(gammas), "laplace", sets)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 1.6])
def test_known_ci_is_recovered_at_every_point(gamma):
    out = predicted_ci(_prediction(np.full(5, gamma)), "letrozole", "everolimus")
    assert len(out) == 25  # the 5 x 5 combination points, vehicle and single agents excluded
    np.testing.assert_allclose(out["ci_median"], gamma, rtol=1e-6)
    np.testing.assert_allclose(out["ci_low"], out["ci_high"], rtol=1e-9)
    assert (out["n_sets"] == 5).all()


def test_interval_is_the_spread_over_the_sets():
    gammas = np.linspace(0.4, 0.6, 21)
    out = predicted_ci(_prediction(gammas), "letrozole", "everolimus")
    lo, med, hi = np.quantile(gammas, [0.025, 0.5, 0.975])
    np.testing.assert_allclose(out["ci_low"], lo, rtol=1e-6)
    np.testing.assert_allclose(out["ci_median"], med, rtol=1e-6)
    np.testing.assert_allclose(out["ci_high"], hi, rtol=1e-6)


def test_no_viability_or_no_combination_is_refused():
    pred = _prediction(np.full(3, 1.0))
    with pytest.raises(InputError, match="no viability"):
        predicted_ci(Prediction(pred.table, 3), "letrozole", "everolimus")
    singles = pred.table[(pred.table["letrozole_nM"] == 0) | (pred.table["everolimus_nM"] == 0)]
    keep = singles.index.to_numpy()
    only = Prediction(singles.reset_index(drop=True), 3, "laplace", pred.viability_sets[:, keep])
    with pytest.raises(InputError, match="no combination"):
        predicted_ci(only, "letrozole", "everolimus")
