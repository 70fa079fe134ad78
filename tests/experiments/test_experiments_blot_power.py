"""The replicate-blot count of the resistance experiment is sized a priori by a power analysis."""

import numpy as np
import pytest

from letrolab.experiments.claims import _blocked_contrast_greater
from letrolab.experiments.resistance import BLOT_CV, BLOT_REPLICATES, blot_replicates_for_power


def _rejection_rate(n_blots: int, fold: float, *, reps: int = 3000, seed: int = 7) -> float:
    """Monte Carlo power of the S6 test on simulated blocked blots (parental + 3 LR lanes)."""
    rng = np.random.default_rng(seed)
    lanes = np.array([0.0, 1.0, 1.0, 1.0]) * np.log(fold)
    hits = 0
    for _ in range(reps):
        block = rng.normal(0.0, 0.3, size=n_blots)  # whatever a blot shares cancels out
        # phospho/total of each lane: two independent log-normal band errors of SD BLOT_CV
        noise = rng.normal(0.0, BLOT_CV, size=(2, 4, n_blots))
        y = lanes[:, None] + block[None, :] + noise[0] - noise[1]
        hits += _blocked_contrast_greater(y)[3] < 0.05
    return hits / reps


def test_the_experiment_uses_the_powered_count():
    assert BLOT_REPLICATES == blot_replicates_for_power() == 16


def test_analytic_power_matches_the_rules_own_test_by_simulation():
    # 3000 replicates: binomial SE of a 0.90 rate is 0.0055; 0.025 is 4.5 SE.
    assert _rejection_rate(BLOT_REPLICATES, 1.2) == pytest.approx(0.90, abs=0.025)
    # and the old three-blot design had about 31 % power for the same effect
    assert _rejection_rate(3, 1.2) == pytest.approx(0.31, abs=0.03)


def test_no_effect_is_rejected_at_the_nominal_rate():
    assert _rejection_rate(BLOT_REPLICATES, 1.0) == pytest.approx(0.05, abs=0.012)


def test_power_analysis_is_monotone_and_refuses_the_impossible():
    assert blot_replicates_for_power(power=0.8) < blot_replicates_for_power(power=0.9)
    assert blot_replicates_for_power(min_fold=1.5) < blot_replicates_for_power(min_fold=1.2)
    assert blot_replicates_for_power(cv=0.05) == 3  # never fewer than three blots
    with pytest.raises(ValueError, match="more than 50 blots"):
        blot_replicates_for_power(min_fold=1.01)
