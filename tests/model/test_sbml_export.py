"""SBML export: valid, annotated, and reproduced by an independent integrator.

The independent route reads the exported file with libsbml only, turns every kinetic law and
assignment rule into a Python expression (libsbml's L3 infix formula), and integrates the ODEs
with SciPy's BDF (rtol 1e-10, atol 1e-12). It shares no code with libroadrunner. Comparison
tolerance: 1e-4 relative (plus 1e-7 absolute), far above both solvers' tolerances.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

libsbml = pytest.importorskip("libsbml")

from letrolab.model import OBSERVABLES, simulate  # noqa: E402
from letrolab.model.sbml import export_sbml, unit_warnings, validate_sbml  # noqa: E402

CONDITION = {"cell_line": "t47d-aro", "androstenedione": 10e-9, "drugs": {"letrozole": 3e-8}}


@pytest.fixture(scope="module")
def exported() -> str:
    return export_sbml(**CONDITION)


def _independent_integrator(text: str, times: np.ndarray, observe: list[str]) -> np.ndarray:
    """Integrate an SBML model (reactions + assignment rules only) with scipy's BDF."""
    from scipy.integrate import solve_ivp

    doc = libsbml.readSBMLFromString(text)
    m = doc.getModel()
    assert m.getNumEvents() == 0 and all(
        m.getRule(i).isAssignment() for i in range(m.getNumRules())
    )
    assert all(m.getCompartment(i).getSize() == 1 for i in range(m.getNumCompartments()))
    env: dict[str, float] = {c.getId(): c.getSize() for c in m.getListOfCompartments()}
    env.update({p.getId(): p.getValue() for p in m.getListOfParameters() if p.isSetValue()})
    species = [s.getId() for s in m.getListOfSpecies() if not s.getBoundaryCondition()]
    y0 = np.array([m.getSpecies(s).getInitialConcentration() for s in species])

    settings = libsbml.L3ParserSettings()
    settings.setParseUnits(False)  # literals carry sbml:units; write the numbers only

    def py(math) -> str:
        return re.sub(r"\^", "**", libsbml.formulaToL3StringWithSettings(math, settings))

    rules = [
        (r.getVariable(), compile(py(r.getMath()), r.getVariable(), "eval"))
        for r in m.getListOfRules()
    ]
    reactions = []
    for r in m.getListOfReactions():
        stoich = {}
        for sr in r.getListOfReactants():
            stoich[sr.getSpecies()] = stoich.get(sr.getSpecies(), 0) - sr.getStoichiometry()
        for sr in r.getListOfProducts():
            stoich[sr.getSpecies()] = stoich.get(sr.getSpecies(), 0) + sr.getStoichiometry()
        law = compile(py(r.getKineticLaw().getMath()), r.getId(), "eval")
        reactions.append((law, [(species.index(s), v) for s, v in stoich.items() if s in species]))

    def evaluate(y: np.ndarray) -> dict:
        ns = dict(env)
        ns.update(zip(species, y, strict=True))
        for _ in range(len(rules)):  # rules may reference each other: iterate to a fixed order
            pending = False
            for var, code in rules:
                try:
                    ns[var] = eval(code, {"__builtins__": {}}, ns)
                except NameError:
                    pending = True
            if not pending:
                break
        return ns

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        ns = evaluate(y)
        dy = np.zeros_like(y)
        for law, st in reactions:
            v = eval(law, {"__builtins__": {}}, ns)
            for i, s in st:
                dy[i] += s * v
        return dy

    sol = solve_ivp(
        rhs, (times[0], times[-1]), y0, method="BDF", t_eval=times, rtol=1e-10, atol=1e-12
    )
    assert sol.success, sol.message
    return np.array([[evaluate(y)[o] for o in observe] for y in sol.y.T])


def test_export_validates_without_errors(exported):
    assert validate_sbml(exported) == []


def test_export_has_zero_unit_consistency_warnings(exported):
    """libsbml's checkConsistency with the unit checks on finds nothing (was 101 findings when
    fractions were declared as nM species)."""
    assert unit_warnings(exported) == []
    doc = libsbml.readSBMLFromString(exported)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    assert doc.checkConsistency() == 0  # no finding of any category or severity either
    # the compiled network's own SBML (fractions as nM) is what the export repairs
    from letrolab.model import get_model

    assert len(unit_warnings(get_model().sbml)) > 50


def test_export_carries_units_identifiers_and_observables(exported):
    doc = libsbml.readSBMLFromString(exported)
    m = doc.getModel()
    assert m.getTimeUnits() == "time_unit" and m.getSubstanceUnits() == "dimensionless"
    assert m.getUnitDefinition("time_unit").getUnit(0).getMultiplier() * 10 ** m.getUnitDefinition(
        "time_unit"
    ).getUnit(0).getScale() == pytest.approx(3600)

    def resources(sid):
        out = []
        cvs = m.getElementBySId(sid).getCVTerms()
        for cv in cvs:
            out += [cv.getResourceURI(i) for i in range(cv.getNumResources())]
        return out

    assert "http://identifiers.org/chebi/CHEBI:16469" in resources("E2")
    assert "http://identifiers.org/uniprot/P08069" in resources("pR1")
    assert "http://identifiers.org/uniprot/P31749" in resources("pAKT")
    assert "http://identifiers.org/chebi/CHEBI:6413" in resources("drug_letrozole")
    assert all(p.isSetUnits() for p in m.getListOfParameters())
    assert m.getParameter("k_apo_max").getUnits() == "per_h"
    assert m.getParameter("e2_nM").getUnits() == "dimensionless"  # multiples of 1 nM
    assert m.getParameter("arom_vmax").getUnits() == "per_h"
    rule_vars = {m.getRule(i).getVariable() for i in range(m.getNumRules())}
    assert set(OBSERVABLES) <= rule_vars
    # the condition is in the file
    assert m.getParameter("drug_letrozole").getValue() == pytest.approx(30.0)
    assert m.getParameter("androstenedione").getValue() == pytest.approx(10.0)


def test_independent_integrator_reproduces_letrolab(exported):
    res = simulate(**CONDITION, days=3, points_per_day=4)
    observe = ["viable_cells", "sub_g1_fraction", "e2_nM", "p_akt", "p_s6", "p_erk", "p_rb"]
    ref = _independent_integrator(exported, res.time_h, observe)
    ours = np.column_stack([res[o] for o in observe])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)


def test_roadrunner_on_exported_file_matches(exported):
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(exported)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    res = simulate(**CONDITION, days=6, points_per_day=1)
    out = rr.simulate(0, 144, 7, selections=["viable_cells", "mts_relative"])
    np.testing.assert_allclose(out[:, 0], res["viable_cells"], rtol=1e-5)


def test_export_writes_file_atomically(tmp_path):
    p = tmp_path / "m.xml"
    text = export_sbml(p, cell_line="mcf7-aro", drugs={"everolimus": 1e-8})
    assert p.read_text() == text
    assert not [f for f in tmp_path.iterdir() if f.name != "m.xml"]
