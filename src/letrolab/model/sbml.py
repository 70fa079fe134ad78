"""SBML export of one simulated condition.

The exported file is the compiled network (SBML Level 3 Version 2, written by Antimony from
``network.ant`` plus the drug catalogue) with its initial state set to the end of the steroid-
deprivation phase and its parameters set to the condition (cell line, androstenedione, IGF-1,
insulin, drug concentrations). Integrating it from t = 0 for ``days * 24`` hours in any SBML
simulator reproduces :func:`letrolab.model.simulate` for that condition; the documented
observables are assignment-rule parameters with the same ids as in the JSON output.
Species carry MIRIAM identifiers (UniProt, ChEBI) as ``bqbiol:is`` CV terms; model units are
nmol, litre and hour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from letrolab._io import atomic_write_text
from letrolab.errors import ModelError
from letrolab.model.cell_lines import CellLine
from letrolab.model.engine import (
    DEFAULT_ANDROSTENEDIONE_M,
    DEFAULT_DEPRIVATION_H,
    Model,
    _drug_inputs,
    _molar,
    get_model,
)

__all__ = ["export_sbml", "validate_sbml"]


def validate_sbml(text: str) -> list[str]:
    """Errors (not warnings) libsbml finds in ``text``: reading plus the consistency checks."""
    import libsbml

    doc = libsbml.readSBMLFromString(text)
    doc.checkConsistency()
    errs = []
    for i in range(doc.getNumErrors()):
        e = doc.getError(i)
        if e.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            errs.append(f"{e.getErrorId()}: {' '.join(e.getMessage().split())}")
    return errs


def export_sbml(
    path: str | os.PathLike | None = None,
    *,
    cell_line: str | CellLine = "mcf7-aro",
    androstenedione: float = DEFAULT_ANDROSTENEDIONE_M,
    igf1: float | None = None,
    insulin: float | None = None,
    drugs: Mapping[str, float] | None = None,
    deprivation_h: float = DEFAULT_DEPRIVATION_H,
    parameters: Mapping[str, float] | None = None,
    model: Model | None = None,
) -> str:
    """SBML text reproducing one condition (written atomically to ``path`` if given).

    Parameters are those of :func:`letrolab.model.simulate` (concentrations in molar). Drug
    schedules are not exportable (constant concentrations only).

    Raises
    ------
    ModelError
        If libsbml reports an error in the document (never expected; a packaging defect).
    """
    import libsbml

    model = model or get_model()
    cl, values = model.resolve(cell_line, parameters)
    if igf1 is not None:
        values["igf1"] = _molar("igf1", igf1) * 1e9
    if insulin is not None:
        values["insulin"] = _molar("insulin", insulin) * 1e9
    const, schedule, report = _drug_inputs(model, drugs)
    if schedule:
        from letrolab.errors import InputError

        raise InputError("SBML export takes constant drug concentrations; give one value per drug")
    state = model.preequilibrate(values, hours=deprivation_h)
    values.update(const)
    values["androstenedione"] = _molar("androstenedione", androstenedione) * 1e9
    state = model.dosed(state, values)

    doc = libsbml.readSBMLFromString(model.sbml)
    m = doc.getModel()
    for sid, conc in zip(model.species, state.tolist(), strict=True):
        m.getSpecies(sid).setInitialConcentration(float(conc))
    for pid, v in values.items():
        p = m.getParameter(pid)
        if p is not None and p.getConstant():
            p.setValue(float(v))
    m.setName(f"letrolab {cl.name} condition")
    desc = _notes(cl.name, values, report, deprivation_h)
    m.setNotes(desc, True)
    text = libsbml.writeSBMLToString(doc)
    errors = validate_sbml(text)
    if errors:
        raise ModelError(f"exported SBML is invalid: {errors[0]}")
    if path is not None:
        atomic_write_text(path, text)
    return text


def _notes(name: str, values: dict[str, Any], drugs: dict, deprivation_h: float) -> str:
    from html import escape

    items = [
        f"cell line {name}",
        f"androstenedione {values['androstenedione']:g} nM, IGF-1 {values['igf1']:g} nM, "
        f"insulin {values['insulin']:g} nM",
        "drugs (nM): " + (", ".join(f"{k} {v:g}" for k, v in drugs.items()) or "none"),
        f"initial state: end of {deprivation_h:g} h steroid deprivation, viable cells rescaled to 1",
        "time unit hour; integrate from t = 0 to reproduce letrolab simulate",
    ]
    body = "".join(f"<p>{escape(s)}</p>" for s in items)
    return f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>'
