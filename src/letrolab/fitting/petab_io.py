"""PEtab v1 export and import of a fit problem (Schmiester et al. 2021, PLoS Comput Biol
17:e1008646; format spec at petab.readthedocs.io).

Written files: ``model.xml`` (the model's own SBML export, :func:`letrolab.model.sbml.export_sbml`),
``conditions.tsv``, ``observables.tsv``, ``measurements.tsv``, ``parameters.tsv`` and
``problem.yaml``. The files are checked with the ``petab`` library's linter before they are
moved into place (whole or not at all).

Mapping:

* a condition sets the drug parameters (``drug_<name>``, nM), the ``androstenedione`` parameter,
  ``igf1``/``insulin`` where given, and the parameters the cell line overrides;
  ``conditionName`` holds the cell line;
* a condition also sets the initial value of **every species** (PEtab v1 condition table: a
  column named after a species gives its initial value in that condition): the state letrolab
  integrates from, :meth:`FitProblem.initial_states <letrolab.fitting.FitProblem.initial_states>`
  — the end of that condition's own steroid deprivation (its cell line and ligands, the
  parameter table's nominal values), viable cells rescaled to one unit, ``A4`` dosed to the
  androstenedione of the condition. ``model.xml``'s own initial values are therefore never used;
* a ``scaled`` observable is ``scale_<id> * <model observable>``, with ``observableTransformation``
  ``log`` for log-normal noise; the noise SD is a number where the lab gave one, else the
  estimated parameter ``sd_<id>``;
* estimated model parameters have ``parameterScale`` log10 and their prior range as bounds;
* measurement rows are grouped by condition, conditions sorted by id. PEtab gives row order no
  meaning, but pyPESTO 0.7.0's RoadRunner importer pairs each condition's data (taken in order
  of first appearance) with the parameter mapping of ``petab``'s ``get_simulation_conditions``
  (sorted by id): in any other order it simulates a condition with another condition's inputs.

No ``preequilibrationConditionId``: PEtab pre-equilibration runs to a steady state, while
letrolab's deprivation is a fixed duration (``deprivation_h``, 240 h) during which the cell
population keeps changing, followed by a rescaling of the population that PEtab v1 has no step
for. The deprived state is written instead, so an outside tool that
applies the condition table reproduces :meth:`FitProblem.simulate
<letrolab.fitting.FitProblem.simulate>` **at the exported nominal values** to the integration
tolerance: on the test problem libroadrunner run directly (rtol 1e-10) and pyPESTO 0.7.0's
RoadRunner importer (rtol 1e-6) agree with letrolab (rtol 1e-6) to 4e-7 relative for every
measurement, both cell lines (``tests/fitting/test_petab_io.py``,
``benchmarks/petab_pypesto_check.py``).

Known approximation: the written initial states do not move when an outside tool changes the
estimated parameters, whereas letrolab re-runs the deprivation at every trial point (the
parameters change the cell-cycle distribution, the apoptotic fraction and Mcl1 at t = 0). Away
from the nominal values the two objectives therefore differ: at the parameters of the
``bench_fit.py`` virtual lab (7-65 % from the shipped values) day-6 viability differs by
~0.5 % and sub-G1 by ~0.05 %, below the measurement noise but systematic; on the test problem
pyPESTO's log-likelihood there is 0.73 above letrolab's (5e-5 at the nominal values; RESULTS.md,
section petab_pypesto). An outside fit therefore lands near, not on, letrolab's optimum. A PEtab
problem exported with ``estimates=`` (e.g. a fit result) is exact at those estimates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from letrolab._io import atomic_write_text, csv_text, staged_dir
from letrolab.errors import FormatError, InputError
from letrolab.fitting.data import FIT_OBSERVABLES, FitData, check_fit_data
from letrolab.fitting.problem import FitProblem
from letrolab.model.cell_lines import get_cell_line
from letrolab.model.drugs import load_catalogue
from letrolab.model.sbml import export_sbml

__all__ = ["PetabImport", "export_petab", "lint_petab", "read_petab"]

YAML_NAME = "problem.yaml"
SD_BOUNDS = (1e-4, 10.0)
#: PEtab observable ids may not shadow model entities (``p_akt`` is one): they carry a prefix.
OBS_PREFIX = "obs_"
_LIGANDS = ("igf1", "insulin")


def _condition_table(data: FitData, states: pd.DataFrame) -> pd.DataFrame:
    cat = load_catalogue()
    cond = data.conditions
    lines = {c: get_cell_line(c) for c in cond["cell_line"].unique()}
    overridden = sorted({k for cl in lines.values() for k in cl.overrides})
    model_defaults = _defaults()
    out = pd.DataFrame({"conditionId": cond["conditionId"], "conditionName": cond["cell_line"]})
    a4 = cond["androstenedione_nM"].to_numpy(dtype=float)
    out["androstenedione"] = a4
    for d in cat:
        col = f"{d.name}_nM"
        out[d.parameter] = cond[col].to_numpy(dtype=float) if col in cond else 0.0
    for lig in _LIGANDS:
        if f"{lig}_nM" in cond:
            out[lig] = cond[f"{lig}_nM"].to_numpy(dtype=float)
    for p in overridden:
        out[p] = [lines[c].overrides.get(p, model_defaults[p]) for c in cond["cell_line"]]
    # Every species' initial value (PEtab v1 condition table: a species column sets its initial
    # value in that condition): the end of the condition's own deprivation, A4 dosed.
    init = states.loc[cond["conditionId"]]
    for sp in states.columns:
        out[sp] = init[sp].to_numpy(dtype=float)
    return out


def _defaults() -> dict[str, float]:
    from letrolab.fitting.problem import fit_model

    return dict(fit_model().parameters)


def _observable_table(data: FitData, sd_given: set[str]) -> pd.DataFrame:
    rows = []
    for o in data.observables:
        spec = FIT_OBSERVABLES[o]
        formula = f"scale_{o} * {spec.model_id}" if spec.kind == "scaled" else spec.model_id
        rows.append(
            {
                "observableId": OBS_PREFIX + o,
                "observableFormula": formula,
                "observableTransformation": "log" if spec.noise == "lognormal" else "lin",
                "noiseFormula": f"noiseParameter1_{OBS_PREFIX}{o}",
                "noiseDistribution": "normal",
            }
        )
    return pd.DataFrame(rows)


def _measurement_table(data: FitData) -> pd.DataFrame:
    # Grouped by condition, sorted by id, stable within a condition (module docstring: pyPESTO).
    m = data.measurements.sort_values("simulationConditionId", kind="stable")
    m = m.reset_index(drop=True)
    noise = [
        f"sd_{o}" if np.isnan(sd) else repr(float(sd))
        for o, sd in zip(m["observableId"], m["noise"], strict=True)
    ]
    return pd.DataFrame(
        {
            "observableId": OBS_PREFIX + m["observableId"],
            "simulationConditionId": m["simulationConditionId"],
            "time": m["time"],
            "measurement": m["measurement"],
            "noiseParameters": noise,
        }
    )


def _parameter_table(problem: FitProblem, sd: dict[str, float] | None) -> pd.DataFrame:
    rows = [
        {
            "parameterId": p.id,
            "parameterScale": "log10",
            "lowerBound": p.low,
            "upperBound": p.high,
            "nominalValue": p.nominal,
            "estimate": 1,
        }
        for p in problem.parameters
    ]
    m = problem.data.measurements
    for o in sorted(set(m.loc[m["noise"].isna(), "observableId"])):
        nominal = (sd or {}).get(o, FIT_OBSERVABLES[o].default_sd)
        rows.append(
            {
                "parameterId": f"sd_{o}",
                "parameterScale": "log10",
                "lowerBound": SD_BOUNDS[0],
                "upperBound": SD_BOUNDS[1],
                "nominalValue": nominal,
                "estimate": 1,
            }
        )
    return pd.DataFrame(rows)


def lint_petab(directory: str | Path) -> list[str]:
    """Messages of the ``petab`` linter at warning level or above (empty = valid problem)."""
    import logging

    import petab.v1 as petab

    class _Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    keep = _Keep()
    log = logging.getLogger("petab")
    log.addHandler(keep)
    try:
        problem = petab.Problem.from_yaml(str(Path(directory) / YAML_NAME))
        failed = petab.lint_problem(problem)
    except ValueError as exc:  # the linter raises on some errors instead of logging them
        return [" ".join(str(exc).split())]
    finally:
        log.removeHandler(keep)
    msgs = [m for m in keep.messages if "Visualization table not available" not in m]
    return msgs or (["petab linter failed"] if failed else [])


def export_petab(
    problem: FitProblem,
    directory: str | Path,
    *,
    sd: dict[str, float] | None = None,
    estimates: dict[str, float] | None = None,
) -> Path:
    """Write ``problem`` as a PEtab v1 problem in ``directory`` (replaced as a whole).

    ``estimates`` (linear scale, by parameter id) become the nominal values, e.g. a fit result.

    Raises
    ------
    FormatError
        If the written problem does not pass the ``petab`` linter (nothing is written).
    """
    data = problem.data
    params = _parameter_table(problem, sd)
    if estimates:
        params["nominalValue"] = [
            estimates.get(p, v)
            for p, v in zip(params["parameterId"], params["nominalValue"], strict=True)
        ]
    nominal = dict(zip(params["parameterId"], params["nominalValue"].astype(float), strict=True))
    states = problem.initial_states({p: nominal[p] for p in problem.model_parameters})
    cond = _condition_table(data, states)
    first = cond.iloc[0]
    with staged_dir(directory) as stage:
        export_sbml(
            stage / "model.xml",
            cell_line=str(first["conditionName"]),
            parameters={**problem.fixed},
            deprivation_h=problem.deprivation_h,
        )
        tables = {
            "conditions.tsv": cond,
            "observables.tsv": _observable_table(data, set()),
            "measurements.tsv": _measurement_table(data),
            "parameters.tsv": params,
        }
        for name, df in tables.items():
            atomic_write_text(
                stage / name, csv_text(df, sep="\t", index=False, lineterminator="\n")
            )
        atomic_write_text(stage / YAML_NAME, _yaml())
        problems = lint_petab(stage)
        if problems:
            raise FormatError(f"the exported PEtab problem fails the petab linter: {problems[0]}")
    return Path(directory)


def _yaml() -> str:
    return (
        "format_version: 1\n"
        "parameter_file: parameters.tsv\n"
        "problems:\n"
        "- condition_files: [conditions.tsv]\n"
        "  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n"
        "  sbml_files: [model.xml]\n"
    )


class PetabImport:
    """A PEtab problem read back: the fit data and the estimated model parameters."""

    def __init__(
        self, data: FitData, parameters: tuple[str, ...], nominal: dict[str, float]
    ) -> None:
        self.data = data
        self.parameters = parameters
        self.nominal = nominal

    def problem(self) -> FitProblem:
        return FitProblem(self.data, self.parameters)


def read_petab(directory: str | Path) -> PetabImport:
    """Read a PEtab problem written by :func:`export_petab` (or shaped like one).

    Raises
    ------
    InputError, FormatError
        Missing files, or tables letrolab cannot map back (one line naming the row).
    """
    d = Path(directory)
    if not (d / YAML_NAME).is_file():
        raise InputError(f"{d}: no {YAML_NAME}; give the folder of a PEtab problem")
    import petab.v1 as petab

    try:
        pp = petab.Problem.from_yaml(str(d / YAML_NAME))
    except Exception as exc:
        raise FormatError(f"{d}: not a readable PEtab problem ({exc})") from None
    cat = load_catalogue()
    cdf = pp.condition_df.reset_index()
    if "conditionName" not in cdf.columns:
        raise FormatError(f"{d}: conditions table lacks conditionName (the cell line)")
    cond = pd.DataFrame({"conditionId": cdf["conditionId"], "cell_line": cdf["conditionName"]})
    cond["androstenedione_nM"] = cdf["androstenedione"].astype(float)
    for dr in cat:
        if dr.parameter in cdf.columns and (cdf[dr.parameter].astype(float) > 0).any():
            cond[f"{dr.name}_nM"] = cdf[dr.parameter].astype(float)
    for lig in _LIGANDS:
        if lig in cdf.columns:
            cond[f"{lig}_nM"] = cdf[lig].astype(float)
    mdf = pp.measurement_df
    noise = pd.to_numeric(mdf["noiseParameters"], errors="coerce")
    meas = pd.DataFrame(
        {
            "observableId": mdf["observableId"].str.removeprefix(OBS_PREFIX),
            "simulationConditionId": mdf["simulationConditionId"],
            "time": mdf["time"].astype(float),
            "timeUnit": "h",
            "measurement": mdf["measurement"].astype(float),
            "noise": noise,
        }
    )
    data = check_fit_data(meas, cond)
    par = pp.parameter_df.reset_index()
    est = par[(par["estimate"] == 1) & ~par["parameterId"].str.startswith(("scale_", "sd_"))]
    nominal = dict(zip(par["parameterId"], par["nominalValue"].astype(float), strict=True))
    return PetabImport(data, tuple(est["parameterId"]), nominal)
