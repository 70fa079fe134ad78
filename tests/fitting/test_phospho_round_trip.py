"""Round trip with a phospho readout: p-AKT blots, viability and sub-G1 of a virtual lab.

The lab's cells differ from the shipped model in six parameters, among them the S6K1 -| IRS-1
feedback strength ``k_irs_s6k`` (twice the shipped value), which only the p-AKT data inform:
everolimus relieves the feedback and p-AKT rises by a factor that grows with it. The p-AKT data
come through the lab's instruments and analysis: one gel (vehicle, letrozole, NVP-AEW541 and
everolimus at two doses, lysed at 1, 6 and 24 h) scanned as p-AKT and total-AKT blots
(:func:`letrolab.instruments.blot.render_blot`), measured by
:func:`letrolab.assays.blot.analyse_blot` and :func:`~letrolab.assays.blot.normalise_bands`
(phospho / total, relative to lane 1) and tabled by :func:`letrolab.fitting.data.from_blot`.

Checks and their tolerances:

* (a) the Wald 95 % interval of every identifiable parameter contains the truth. With six
  model parameters all intervals cover together in only ~0.95^6 ~ 0.74 of data sets, so the
  noise seeds are fixed; ``k_irs_s6k`` must be among the identifiable ones, or the p-AKT data
  did not inform it.
* (b) p-AKT of a second gel with NEW conditions (everolimus 3 and 100 nM, alpelisib 1 uM,
  NVP-AEW541 100 nM, letrozole + everolimus) at NEW times (2, 12, 48 h) is predicted, and the
  noise-free ratio lies inside the 95 % prediction interval in >= 90 % of the cells: the
  issue's goal. The noise-free value should be inside more often than a noisy one (the
  interval adds the fitted measurement noise, log-SD ~0.08), so 90 % is not lenient for a
  correct fit; with 23 cells, 90 % allows two misses. The check can fail: the same
  predictions scored against a lab whose feedback is at its prior's upper bound (40 /h, 2.5x
  the truth) cover ~65 % (last test). It is not sharp: a lab at the shipped value (8.5 /h,
  half the truth) is still covered, since the intervals are about +-15 % wide, and a fit to a
  gel from the 40 /h lab still covers this lab's new cells; (a) catches that fit instead
  (``k_irs_s6k`` reaches its prior bound and ``mcl1_mtor``'s interval misses the truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from letrolab.fitting import FitProblem, FitResult, check_fit_data, fit
from letrolab.fitting.predict import predict
from letrolab.fitting.virtual_lab import (
    EXAMPLE_TRUTH,
    SMALL_SINGLE_AGENT_DOSES,
    BlotScanner,
    PhosphoData,
    VirtualLab,
    blot_conditions,
    measure_phospho,
    simulate_lab,
)

TRUTH = {**EXAMPLE_TRUTH, "k_irs_s6k": 16.0}
DOSES = SMALL_SINGLE_AGENT_DOSES
#: The second gel: vehicle first (lane 1 at 1 h, the reference the fitted gel shares).
NEW_DOSES = {
    "new_vehicle": {},
    "new_everolimus_3": {"everolimus": 3.0},
    "new_everolimus_100": {"everolimus": 100.0},
    "new_alpelisib": {"alpelisib": 1000.0},
    "new_nvp_aew541": {"nvp-aew541": 100.0},
    "new_letrozole_everolimus": {"letrozole": 100.0, "everolimus": 10.0},
}
NEW_TIMES_H = (1.0, 2.0, 12.0, 48.0)


@dataclass(frozen=True)
class Fitted:
    """The virtual lab, its p-AKT gel and the fit of viability + sub-G1 + p-AKT."""

    lab: VirtualLab
    phospho: PhosphoData
    result: FitResult


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    lab = simulate_lab(TRUTH, doses=DOSES, seed=3)
    ph = measure_phospho(lab, seed=4)
    meas = pd.concat([lab.measurements, ph.measurements.drop(columns="truth")])
    cond = pd.concat([lab.conditions, ph.conditions]).fillna(0.0)
    problem = FitProblem(check_fit_data(meas, cond), tuple(TRUTH))
    return Fitted(lab, ph, fit(problem, n_starts=3, seed=1))


def _new_cells(result, measured) -> pd.DataFrame:
    """Prediction intervals of the new gel's cells joined to its noise-free ratios."""
    cond = blot_conditions(NEW_DOSES)
    pred = pd.concat(
        predict(result, cond, observables=("p_akt",), time_h=t, n_sets=40, seed=2).table
        for t in NEW_TIMES_H
    )
    key = ["conditionId", "time"]
    m = measured.rename(columns={"simulationConditionId": "conditionId"})
    cells = m.merge(pred, on=key, validate="1:1")
    # lane 1 (vehicle at 1 h) is the reference, ratio 1 by construction and in the fit
    return cells[(cells["conditionId"] != "new_vehicle") | (cells["time"] != NEW_TIMES_H[0])]


def _inside(cells: pd.DataFrame) -> np.ndarray:
    y = cells["truth"].to_numpy()
    return (y >= cells["pi_low"].to_numpy()) & (y <= cells["pi_high"].to_numpy())


def test_blot_reading_recovers_ratio_without_scanner_noise():
    """Without pixel noise the lab's densitometry returns the model's ratio: the lane loading
    error cancels in phospho / total, and band finding and baselines add < 1 %."""
    lab = simulate_lab(TRUTH, doses={"letrozole": [1.0]}, seed=0)
    m = measure_phospho(lab, scanner=BlotScanner(noise=0.0, loading_cv=0.3)).measurements
    assert np.allclose(m["measurement"], m["truth"], rtol=0.01)


def test_identifiable_intervals_contain_truth(fitted):
    result = fitted.result
    assert result.converged
    t = result.intervals().set_index("parameter")
    assert t.loc["k_irs_s6k", "identifiable"]
    truth = {
        **TRUTH,
        "scale_viability": fitted.lab.scale_viability,
        "scale_p_akt": fitted.phospho.scale_p_akt,
    }
    for p, v in truth.items():
        if t.loc[p, "identifiable"]:
            assert t.loc[p, "ci_low"] <= v <= t.loc[p, "ci_high"], (p, v, t.loc[p].to_dict())


def test_new_conditions_cover_noise_free_p_akt(fitted):
    new_gel = measure_phospho(fitted.lab, NEW_DOSES, NEW_TIMES_H, seed=5)
    cells = _new_cells(fitted.result, new_gel.measurements)
    assert len(cells) == len(NEW_DOSES) * len(NEW_TIMES_H) - 1
    assert _inside(cells).mean() >= 0.9, cells[~_inside(cells)]


def test_wrong_feedback_is_not_covered(fitted):
    result = fitted.result
    strong = result.intervals().set_index("parameter").loc["k_irs_s6k", "prior_high"]
    wrong = simulate_lab({**TRUTH, "k_irs_s6k": strong}, doses={"letrozole": [1.0]}, seed=0)
    cells = _new_cells(result, measure_phospho(wrong, NEW_DOSES, NEW_TIMES_H, seed=5).measurements)
    assert _inside(cells).mean() < 0.9
