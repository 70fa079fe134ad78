"""Reference synergy models: Bliss, HSA, Loewe and ZIP, vectorised over many blocks.

All four follow SynergyFinder's definitions (Ianevski et al. 2017 Bioinformatics 33:2413;
Ianevski et al. 2020 NAR 48:W488; Zheng et al. 2022 GPB 20:587) on the % inhibition scale.
A score is *observed minus expected*: positive is synergy, negative antagonism.

* **Bliss** independence (Bliss 1939 Ann Appl Biol 26:585): expected
  ``100 (1 - prod_i (1 - y_i / 100))`` from the *observed* single-agent responses ``y_i`` at the
  cell's doses; for two drugs ``y1 + y2 - y1 y2 / 100``.
* **HSA**, highest single agent (Berenbaum 1989 Pharmacol Rev 41:93): expected ``max_i y_i``.
* **Loewe** additivity (Loewe 1953 Arzneimittelforschung 3:285): the expected effect ``y``
  solves ``sum_i x_i / X_i(y) = 1`` where ``X_i`` is the inverse of drug ``i``'s fitted
  four-parameter log-logistic curve (:mod:`letrolab.doseresponse.hill`). It is solved
  numerically (bisection, then bracketed Newton steps on ``log sum_i x_i / X_i(y)``) inside the
  interval where every inverse exists. Where no solution lies there —
  the expected effect would be beyond a partner's maximum effect — the model is undefined;
  like SynergyFinder's code (``CalculateLoewe``) the expected effect then falls back to
  ``max_i E_i(sum_j x_j)`` (each drug's curve at the total dose, exact for equipotent drugs),
  and the number of such cells is reported as a warning of the block. (This is the Loewe of
  ``"free"`` and, with its own fits, of ``"synergyfinder2"``; the default ``"synergyfinder3"``
  uses SynergyFinder 3's grid search instead, below.)
* **ZIP**, zero interaction potency (Yadav et al. 2015 CSBJ 13:504): single agents are fitted
  by the log-logistic model (the zero-dose well included as the control); every row of the
  combination matrix is re-fitted as a log-logistic curve of the varied drug, and likewise
  every column. By default the re-fits follow SynergyFinder 3 (below); under Yadav et al.'s
  original rule (convention ``"free"``, as SynergyFinder 1-2) the bottom is fixed at the other
  drug's fitted single-agent effect and the top at 100, and
  delta = mean of the two re-fitted values minus the ZIP expectation
  ``f1 + f2 - f1 f2 / 100`` of the fitted single agents. A row with one point is not re-fitted
  (its observed value is used), and a re-fit that does not converge uses the observed values,
  as in SynergyFinder; such re-fits are counted in the block's warnings.

Three conventions (``convention=``). ``"synergyfinder3"`` (the default) is what today's
SynergyFinder (3.x / Plus) computes: single agents with all four log-logistic parameters fitted
(its ``Emin = NA, Emax = NA``), and two-drug ZIP by its R code (function ``ZIP``,
R/calculate_synergy_score.R of shuyuzheng/synergyfinder 3.x; Zheng et al. 2022 GPB 20:587):
every row and column, its zero-dose well included, is re-fitted with one asymptote fixed at that
well's observed response and the other free, and the reference is the Bliss combination of the
fitted single agents (:mod:`letrolab.synergy.reference.zip_nd`; regular grids via
:mod:`letrolab.synergy.reference.conventions.sf3`). Its Loewe is SynergyFinder 3's function ``Loewe`` (same file,
with ``.SolveLoewe`` and ``.SolveExpDoesLL4``; :func:`letrolab.synergy.reference.conventions.sf3.sf3_loewe_expected`,
any number of drugs), not the exact root above: where no drug's curve reaches the observed
response the expected effect is ``max_i E_i(sum_j x_j)``; otherwise it is the effect, among 100
equally spaced values from the lowest to the highest asymptote of the block's drugs, that
minimises ``|sum_i x_i / X_i(E) - 1|``, a drug beyond its maximum counting as an infinite dose
(term 0). It is exact only to that grid step (a drug combined with itself scores within one
step of 0) and is not capped at 100. On SynergyFinder's O'Neil example (4 replicates) the
block means are within 2.2 points of the published SynergyFinder 3 means: ZIP 35.4 and -77.9
against 35.6 and -75.8, Loewe 37.5 and -74.0 against 38.1 and -73.6 (the exact root with
its fallback, ``"free"``, gives 25.3 on block 1); see tests/synergy/test_convention_sf3.py.

``"free"`` keeps the same single agents, scores Loewe by the exact root (above), and two-drug
ZIP by Yadav et al.'s (2015) original re-fit rule, the one SynergyFinder 1-2 used: rows and
columns re-fitted with the bottom fixed at the partner's *fitted* single-agent effect and the
top at 100, the zero-dose well left out (described above). With free single agents this is a hybrid no released tool
produces; on the O'Neil example it misses SynergyFinder 3's second block mean by 51 points.
``"synergyfinder2"`` fixes the bottom at 0 and the top at 100 % inhibition, as SynergyFinder
1-2's ``CalculateSynergy(..., Emin = 0, Emax = 100)`` did, and caps the Loewe expectation at 100
as its ``CalculateLoewe`` did. Its two-drug Loewe follows ``CalculateLoewe`` step by step
(:mod:`letrolab.synergy.reference.rcompat`): single agents by drc's ``LL.4`` path on their non-zero doses
with the top fixed at 100 and the bottom at 0 (at the lowest response where a curve goes below
0, as the published table was computed), the Loewe equation solved by an emulation of
nleqslv's Newton / double-dogleg path (R's iterates to the bit), the max-of-curves fallback
where nleqslv gives up, the cap. It reproduces the published per-cell Loewe of SynergyFinder
2's example table: all 294 cells within 5.5e-10 points (tests/synergy/test_reference_sf2.py).
(The single-agent table lists letrolab's least-squares 0-100 fits, not these.) Its ZIP is
SynergyFinder 1-2's ``ZIP()`` as that table was computed (``correction = FALSE, Emin = NA,
Emax = NA``): single agents fitted by drc's free ``LL.4`` on their non-zero doses, rows and
columns re-fitted by drc's logistic ``L.4`` in linear dose with the bottom fixed at the
partner's fitted effect and the top free, no cap. These
re-fits sit on flat residual surfaces, so drc's fitting path is emulated step by step
(:mod:`letrolab.synergy.reference.rcompat`: its scaling, start values and R's BFGS), which reproduces the
published per-cell ZIP: median difference 4e-15, at most 0.023 points (two chaotic single-agent
fits; see tests/synergy/test_reference_sf2.py). That path is slower than the others (about
15 ms per 8 x 8 block against 0.5 ms).

Per block the summaries are the mean over the combination cells and the *most synergistic
area*: the largest mean over a 3 x 3 window of adjacent doses of the combination matrix (two
drugs; Ianevski 2017, 2020). Bliss, HSA, Loewe and ZIP are defined for N drugs (ZIP for three
or more drugs as SynergyFinder 3 defines it: :mod:`letrolab.synergy.reference.zip_nd`); the most
synergistic area only for two (no higher-order definition exists; it is NaN for N drugs).

Package layout: :mod:`~.equations` (the model equations as array functions),
:mod:`~.conventions` (one interface, one module per convention), :mod:`~.rcompat` (the emulation
of R's numerics that ``"synergyfinder2"`` needs), :mod:`~.zip_nd` (SynergyFinder 3's slice ZIP),
:mod:`~.grid` and :mod:`~.table` (the two vectorised scoring paths), :mod:`~.results` (result
objects with named fields).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from letrolab.synergy.reference.grid import grid_scores
from letrolab.synergy.reference.options import (
    CONVENTIONS,
    DEFAULT_CONVENTION,
    MODELS,
    check_convention,
    check_models,
)
from letrolab.synergy.reference.results import GridScores, ReferenceResult, TableScores
from letrolab.synergy.reference.table import score_table
from letrolab.synergy.tidy import CombinationData, read_combination

__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
    "MODELS",
    "GridScores",
    "ReferenceResult",
    "TableScores",
    "check_convention",
    "check_models",
    "grid_scores",
    "reference_scores",
    "score_table",
]


def reference_scores(
    data: CombinationData | pd.DataFrame | str | Path,
    *,
    models: str | Iterable[str] = MODELS,
    response: str = "inhibition",
    convention: str = DEFAULT_CONVENTION,
) -> ReferenceResult:
    """Score combination blocks with the Bliss, HSA, Loewe and ZIP reference models.

    Every block is scored in one vectorised pass: all single-agent curves of all blocks are
    fitted together, then all ZIP row and column re-fits together.

    Parameters
    ----------
    data : CombinationData, DataFrame or path
        A normalised table (:func:`letrolab.synergy.tidy.read_combination`), or a tidy table /
        CSV / Parquet file to read.
    models : str or iterable of str
        Any of ``"bliss", "hsa", "loewe", "zip"``, or ``"all"``.
    response : {"inhibition", "viability"}
        Used when ``data`` is read here.
    convention : {"synergyfinder3", "free", "synergyfinder2"}
        See :data:`CONVENTIONS`. ``"synergyfinder3"`` (default) fits all four single-agent
        parameters and scores two-drug ZIP by SynergyFinder 3's slice re-fits; ``"free"``
        likewise, with two-drug ZIP by Yadav et al.'s (2015) original re-fit rule;
        ``"synergyfinder2"`` fixes the bottom at 0 and the top at 100 and caps the Loewe
        expectation at 100, and scores ZIP by SynergyFinder 1-2's ``ZIP()`` with drc's fits
        emulated, reproducing SynergyFinder 2's published per-cell Loewe and ZIP scores
        (median differences 0.01 and 4e-15 points on its example table).

    Returns
    -------
    ReferenceResult

    Examples
    --------
    >>> df = pd.DataFrame({"block_id": 1, "drug_row": "A", "drug_col": "B",
    ...     "conc_r": [0, 1, 0, 1], "conc_c": [0, 0, 1, 1],
    ...     "response": [0.0, 20.0, 30.0, 60.0]})
    >>> r = reference_scores(df, models="bliss,hsa")
    >>> r.scores[["bliss", "hsa"]].to_numpy().round(6).tolist()
    [[16.0, 30.0]]
    """
    ms = check_models(models)
    check_convention(convention)
    if not isinstance(data, CombinationData):
        data = read_combination(data, response=response)
    t = score_table(data.table, data.n_drugs, ms, convention=convention)
    return ReferenceResult(
        models=ms,
        scores=t.scores,
        blocks=t.blocks,
        single_agents=t.single_agents,
        warnings=t.warnings,
    )
