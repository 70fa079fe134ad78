"""PEtab export: the petab linter accepts it, it reads back equal, and petab's own likelihood
of the exported problem agrees with letrolab's cost (the outside reference)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.fitting.data import check_fit_data
from letrolab.fitting.petab_io import export_petab, lint_petab, read_petab
from letrolab.fitting.problem import FitProblem


@pytest.fixture(scope="module")
def problem():
    cond = pd.DataFrame(
        {
            "conditionId": ["veh", "let", "lr_evero"],
            "cell_line": ["mcf7-aro", "mcf7-aro", "mcf7-aro-lr"],
            "letrozole_nM": [0, 100, 0],
            "everolimus_nM": [0, 0, 10],
        }
    )
    meas = pd.DataFrame(
        {
            "observableId": ["viability", "sub_g1", "viability", "p_akt", "p_akt"],
            "simulationConditionId": ["veh", "veh", "let", "veh", "lr_evero"],
            "time": [144, 144, 144, 24, 24],
            "measurement": [0.9, 0.03, 0.5, 0.2, 0.5],
            "noise": [np.nan, 0.01, np.nan, np.nan, np.nan],
        }
    )
    return FitProblem(check_fit_data(meas, cond))


def test_export_passes_the_petab_linter_and_reads_back_equal(problem, tmp_path):
    out = export_petab(problem, tmp_path / "pe")
    assert lint_petab(out) == []
    back = read_petab(out)
    pd.testing.assert_frame_equal(back.data.measurements, problem.data.measurements)
    a = back.data.conditions.sort_index(axis=1)
    b = problem.data.conditions.sort_index(axis=1)
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)
    assert back.parameters == problem.model_parameters


def test_petab_likelihood_matches_our_cost(problem, tmp_path):
    """petab.v1.calculate_llh on our model values = -(cost + normalisation terms), to 1e-9."""
    import petab.v1 as petab
    from petab.v1.calculate import calculate_llh

    out = export_petab(problem, tmp_path / "pe")
    pp = petab.Problem.from_yaml(str(out / "problem.yaml"))
    x = np.log10([p.nominal for p in problem.parameters])
    sd = {"viability": 0.1, "p_akt": 0.2}
    pr = problem.with_sd(sd)
    par = pp.parameter_df.copy()
    for o, v in sd.items():
        par.loc[f"sd_{o}", "nominalValue"] = v
    meas = pp.measurement_df.copy()
    meas["noiseParameters"] = [
        str(sd[o.removeprefix("obs_")]) if str(n).startswith("sd_") else n
        for o, n in zip(meas["observableId"], meas["noiseParameters"], strict=True)
    ]
    sim = meas.copy()
    sim["simulation"] = pr.predict_rows(x)
    llh = calculate_llh(meas, sim, pp.observable_df, par)
    r = pr.residuals(x)
    y = problem.data.measurements["measurement"].to_numpy()
    log = problem.data.measurements["observableId"].isin(["viability", "p_akt"]).to_numpy()
    norm = np.sum(np.log(pr.sd) + 0.5 * math.log(2 * math.pi) + np.where(log, np.log(y), 0.0))
    assert llh == pytest.approx(-(0.5 * np.sum(r**2) + norm), rel=1e-9)


def test_reading_a_folder_without_petab_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"no problem\.yaml"):
        read_petab(tmp_path)
