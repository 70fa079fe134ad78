"""SynergyFinder 3's two-drug ZIP on regular dose grids (``convention="synergyfinder3"``).

Under this convention the ZIP delta of a two-drug block is SynergyFinder 3's (R package
shuyuzheng/synergyfinder 3.x, ``R/calculate_synergy_score.R``, function ``ZIP``; Zheng et al.
2022 GPB 20:587; Ianevski et al. 2022 NAR 50:W739), which :mod:`letrolab.synergy.zip_nd`
implements for any ``k >= 2`` drugs: every row and column of the dose matrix, *including* its
zero-dose well, is re-fitted by a log-logistic curve with one asymptote fixed at that well's
observed response and the other free, and the reference is the Bliss combination of the fitted
single agents (Yadav et al. 2015 CSBJ 13:504 for the delta score). SynergyFinder 1-2's rule,
which the ``"free"`` and ``"synergyfinder2"`` conventions keep, fixes the bottom of each
re-fit at the partner's *fitted* single-agent effect and the top at 100 and leaves the
zero-dose well out.

This module is the fast path for regular grids (:func:`letrolab.synergy.reference.grid_scores`
and the grid branch of :func:`~letrolab.synergy.reference.reference_scores`): Bliss, HSA and
Loewe come from the ordinary grid code, ZIP from :func:`~letrolab.synergy.zip_nd.zip_nd_scores`
on the flattened grids, so both paths give the same numbers. The most synergistic area is the
best 3 x 3 window of the combination matrix, as for the other models (Ianevski et al. 2017
Bioinformatics 33:2413).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from letrolab.doseresponse.hill import HillFits

__all__ = ["sf3_grid_core"]


def _curves(fits: HillFits, idx: np.ndarray) -> HillFits:
    """The curves ``idx`` of a batch of fits, as a HillFits of their own."""
    return HillFits(**{f.name: getattr(fits, f.name)[idx] for f in fields(fits)})


def sf3_grid_core(c1: np.ndarray, c2: np.ndarray, y: np.ndarray, ms: tuple[str, ...]):
    """:func:`letrolab.synergy.reference._grid_core` with ZIP by SynergyFinder 3's rule.

    Same arguments (``c1`` (nb, R), ``c2`` (nb, C), ``y`` (nb, R, C), models ``ms``) and the
    same return tuple (``scores, mean, msa, loewe_fallback, fit_ok, f1, f2, n_raw``, then any
    further items ``_grid_core`` returns, passed through); ``n_raw`` here counts the ZIP
    re-fitted values per block that fell back to the observed response because the slice fit
    failed (every slice of a full grid has its zero-dose well).
    """
    from letrolab.synergy.reference import _grid_core, _window_max
    from letrolab.synergy.zip_nd import zip_nd_scores

    others = tuple(m for m in ms if m != "zip")
    res = list(_grid_core(c1, c2, y, others, "synergyfinder3"))
    out, mean, msa, _fallback, _fit_ok, f1, f2 = res[:7]
    nb, r, c = y.shape
    x1 = np.broadcast_to(c1[:, :, None], y.shape).ravel()
    x2 = np.broadcast_to(c2[:, None, :], y.shape).ravel()
    z = zip_nd_scores(np.repeat(np.arange(nb), r * c), np.c_[x1, x2], y.ravel())
    delta = z.delta.reshape(nb, r, c)[:, 1:, 1:]
    out["zip"] = delta
    with np.errstate(invalid="ignore"):
        mean["zip"] = delta.reshape(nb, -1).mean(1)
    msa["zip"] = _window_max(delta)
    if f1 is None:  # Loewe not asked for: the single agents are zip_nd's (same data, same fit)
        sa = z.single_agents
        f1, f2 = _curves(sa, np.arange(0, 2 * nb, 2)), _curves(sa, np.arange(1, 2 * nb, 2))
        res[4:7] = z.block_ok, f1, f2
    res[7] = z.n_observed
    return tuple(res)
