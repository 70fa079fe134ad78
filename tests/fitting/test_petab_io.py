"""PEtab export: the petab linter accepts it, it reads back equal, libroadrunner running the
exported files by the PEtab rules (no letrolab code) reproduces letrolab's model values, and
petab's own likelihood of the exported problem agrees with letrolab's cost."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import letrolab
from letrolab.errors import InputError
from letrolab.fitting.data import read_fit_data
from letrolab.fitting.petab_io import export_petab, lint_petab, read_petab
from letrolab.fitting.problem import FitProblem

EXAMPLES = Path(letrolab.__file__).parent / "data" / "examples"


@pytest.fixture(scope="module")
def problem():
    """Two cell lines, a drug in each, three readouts (src/letrolab/data/examples)."""
    return FitProblem(
        read_fit_data(EXAMPLES / "fit_measurements.csv", EXAMPLES / "fit_conditions.csv")
    )


#: Relative agreement of an outside simulation with FitProblem.simulate at the nominal values.
#: letrolab integrates with CVODE rtol 1e-6 (FIT_RTOL), the reference below with 1e-10 from the
#: same initial state (written to the condition table), so the difference is letrolab's
#: integration error: 4e-7 at most on this problem; 2e-6 leaves room across platforms.
RTOL_OUTSIDE = 2e-6


def _by_condition(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in the export's order: grouped by condition, sorted by id, stable within."""
    return df.sort_values("simulationConditionId", kind="stable").reset_index(drop=True)


def simulate_petab(directory) -> pd.DataFrame:
    """The PEtab problem in ``directory`` simulated with libroadrunner, from the PEtab v1 spec
    (petab.readthedocs.io, "PEtab data format specification", v1) and nothing of letrolab.

    Per simulation condition: the SBML model, parameter-table ``nominalValue`` (linear scale)
    for the model parameters it lists, then the condition table (a parameter column sets the
    parameter, a species column the species' initial value), integrated from t = 0; each
    measurement's ``observableFormula`` is evaluated at its time. Returns the measurement
    table with a ``simulation`` column. Numeric condition values only (all the export writes),
    no preequilibration (the export has none).
    """
    import roadrunner
    from petab.v1.math import sympify_petab

    pp = petab_problem(directory)
    rr = roadrunner.RoadRunner(str(Path(directory) / "model.xml"))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    rr.integrator.maximum_num_steps = 100000
    m = rr.model
    species = list(m.getFloatingSpeciesIds())
    model_par = list(m.getGlobalParameterIds())
    nominal = pp.parameter_df["nominalValue"].astype(float).to_dict()
    meas = pp.measurement_df.copy()
    assert "preequilibrationConditionId" not in meas.columns
    sim = np.full(len(meas), np.nan)
    for cid, rows in meas.groupby("simulationConditionId"):
        row = pp.condition_df.loc[cid].drop("conditionName")
        assert set(row.index) <= set(species) | set(model_par)
        par = {p: v for p, v in nominal.items() if p in model_par}
        par.update((c, float(v)) for c, v in row.items() if c in model_par)
        init = {c: float(v) for c, v in row.items() if c in species}
        rr.resetAll()
        m.setGlobalParameterValues([model_par.index(p) for p in par], list(par.values()))
        m.setFloatingSpeciesInitConcentrations(
            [species.index(c) for c in init], list(init.values())
        )
        rr.reset()  # species to their (new) initial values, time to 0
        formulas = {
            o: sympify_petab(pp.observable_df.loc[o, "observableFormula"])
            for o in rows["observableId"].unique()
        }
        ids = sorted({str(s) for f in formulas.values() for s in f.free_symbols} - set(nominal))
        times = sorted({0.0, *rows["time"].astype(float)})
        res = np.asarray(rr.simulate(times=times, selections=["time", *ids]))
        for i, (o, t) in zip(
            rows.index, zip(rows["observableId"], rows["time"], strict=True), strict=True
        ):
            at = dict(zip(ids, res[times.index(float(t)), 1:], strict=True))
            f = formulas[o]
            sim[meas.index.get_loc(i)] = float(
                f.subs({s: at.get(str(s), nominal.get(str(s))) for s in f.free_symbols})
            )
    meas["simulation"] = sim
    return meas


def petab_problem(directory):
    import petab.v1 as petab

    return petab.Problem.from_yaml(str(Path(directory) / "problem.yaml"))


def test_export_passes_the_petab_linter_and_reads_back_equal(problem, tmp_path):
    out = export_petab(problem, tmp_path / "pe")
    assert lint_petab(out) == []
    back = read_petab(out)
    pd.testing.assert_frame_equal(back.data.measurements, _by_condition(problem.data.measurements))
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
    order = _by_condition(problem.data.measurements.assign(row=np.arange(5)))["row"].to_numpy()
    sim["simulation"] = pr.predict_rows(x)[order]
    llh = calculate_llh(meas, sim, pp.observable_df, par)
    r = pr.residuals(x)
    y = problem.data.measurements["measurement"].to_numpy()
    log = problem.data.measurements["observableId"].isin(["viability", "p_akt"]).to_numpy()
    norm = np.sum(np.log(pr.sd) + 0.5 * math.log(2 * math.pi) + np.where(log, np.log(y), 0.0))
    assert llh == pytest.approx(-(0.5 * np.sum(r**2) + norm), rel=1e-9)


def test_roadrunner_on_the_exported_files_reproduces_letrolab(problem, tmp_path):
    """Every measurement, both cell lines: libroadrunner by the PEtab rules = FitProblem."""
    out = export_petab(problem, tmp_path / "pe")
    sim = simulate_petab(out)
    x = np.log10([p.nominal for p in problem.parameters])
    order = _by_condition(problem.data.measurements.assign(row=np.arange(5)))["row"].to_numpy()
    ours = problem.predict_rows(x)[order]
    np.testing.assert_allclose(sim["simulation"], ours, rtol=RTOL_OUTSIDE, atol=0)
    # pyPESTO 0.7.0 needs the conditions' first appearance in sorted order (module docstring)
    first = list(dict.fromkeys(sim["simulationConditionId"]))
    assert first == sorted(first)


def test_each_condition_starts_from_its_own_cell_lines_deprived_state(problem, tmp_path):
    out = export_petab(problem, tmp_path / "pe")
    cond = petab_problem(out).condition_df
    nominal = {p.id: p.nominal for p in problem.parameters if p.id in problem.model_parameters}
    states = problem.initial_states(nominal)
    pd.testing.assert_frame_equal(
        cond[states.columns].astype(float), states.rename_axis("conditionId"), rtol=0, atol=0
    )
    assert cond.loc["lr_evero", "pAKT"] > 1.5 * cond.loc["veh", "pAKT"]  # LR: AKT hyperactive
    assert (cond["A4"] == cond["androstenedione"]).all()


def test_reading_a_folder_without_petab_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"no problem\.yaml"):
        read_petab(tmp_path)
