"""Regular dose grids: every block a full R x C matrix with its zero row and column.

The fast path of :func:`~letrolab.synergy.reference.reference_scores` and the whole of
:func:`grid_scores`: Bliss and HSA straight from the grid, single agents fitted in one batched
call, Loewe and ZIP by the convention (:mod:`letrolab.synergy.reference.conventions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from letrolab.errors import InputError
from letrolab.synergy.reference.arrays import fit_joint
from letrolab.synergy.reference.conventions import Convention, get_convention
from letrolab.synergy.reference.equations import bliss_expected, most_synergistic_area
from letrolab.synergy.reference.options import DEFAULT_CONVENTION, MODELS, check_models
from letrolab.synergy.reference.results import GridCore, GridScores

__all__ = ["grid_core", "grid_scores"]


def _single_agents(c1, c2, y, conv: Convention):
    """Least-squares fits of both single agents of every block, one batched call."""
    nb = y.shape[0]
    e0s = None if np.isnan(conv.sa_e0) else np.full(nb, conv.sa_e0)
    return fit_joint(
        [(c1, y[:, :, 0], e0s), (c2, y[:, 0, :], e0s)],
        emax=None if np.isnan(conv.sa_emax) else conv.sa_emax,
    )


def _bliss_hsa(y: np.ndarray, ms: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Bliss and HSA scores of the combination cells (observed single agents)."""
    comb = y[:, 1:, 1:]
    y1, y2 = np.broadcast_arrays(y[:, 1:, :1], y[:, :1, 1:])
    out = {}
    if "bliss" in ms:
        singles = np.stack([y1.ravel(), y2.ravel()], 1)
        out["bliss"] = comb - bliss_expected(singles, np.ones(singles.shape, bool)).reshape(
            comb.shape
        )
    if "hsa" in ms:  # Berenbaum 1989: highest single agent
        out["hsa"] = comb - np.maximum(y1, y2)
    return out


def grid_core(c1, c2, y, ms: tuple[str, ...], convention: str = DEFAULT_CONVENTION) -> GridCore:
    """Scores of regular grids ``c1`` (nb, R), ``c2`` (nb, C), ``y`` (nb, R, C)."""
    conv = get_convention(convention)
    nb = y.shape[0]
    out = _bliss_hsa(y, ms)
    f1 = f2 = None
    fallback = np.zeros(nb, dtype=np.int64)
    fit_ok = np.ones(nb, bool)
    own_ok = np.ones(nb, bool)
    n_observed = np.zeros(nb, dtype=np.int64)
    if "loewe" in ms or "zip" in ms:
        f1, f2 = _single_agents(c1, c2, y, conv)
        fit_ok = f1.ok & f2.ok
    if "loewe" in ms:
        lo = conv.loewe_grid(c1, c2, y, f1, f2)
        out["loewe"] = y[:, 1:, 1:] - lo.expected
        fallback = lo.fallback.reshape(nb, -1).sum(1)
        own_ok &= lo.ok if conv.own_sa_note else True
    if "zip" in ms:
        z = conv.zip_grid(c1, c2, y, f1, f2)
        out["zip"] = z.delta
        n_observed = z.n_observed
        own_ok &= z.ok if conv.own_sa_note else True
    out = {m: out[m] for m in ms}
    mean, msa = {}, {}
    for m in ms:
        with np.errstate(invalid="ignore"):
            mean[m] = out[m].reshape(nb, -1).mean(1)
        msa[m] = most_synergistic_area(out[m])
    return GridCore(out, mean, msa, fallback, fit_ok, f1, f2, n_observed, own_ok)


def _check_grid(c1: np.ndarray, c2: np.ndarray, y: np.ndarray) -> None:
    if c1.ndim != 2 or c2.ndim != 2 or y.shape != (c1.shape[0], c1.shape[1], c2.shape[1]):
        raise InputError(
            "grid_scores needs conc1 (n, R), conc2 (n, C) and response (n, R, C); got "
            f"{c1.shape}, {c2.shape}, {y.shape}"
        )
    if (c1[:, 0] != 0).any() or (c2[:, 0] != 0).any():
        raise InputError("the first dose of each grid axis must be 0 (the single-agent row/column)")
    if (np.diff(c1, axis=1) <= 0).any() or (np.diff(c2, axis=1) <= 0).any():
        raise InputError("grid doses must be strictly ascending along each axis")


def grid_scores(
    conc1: Any,
    conc2: Any,
    response: Any,
    *,
    models: str | Iterable[str] = MODELS,
    convention: str = DEFAULT_CONVENTION,
) -> GridScores:
    """Score many two-drug blocks given as dose grids (the fast path for regular screens).

    Same definitions and numbers as :func:`~letrolab.synergy.reference.reference_scores`,
    with no table handling.

    Parameters
    ----------
    conc1 : array_like, shape (n_blocks, R)
        Doses of drug 1 along the rows, ascending, ``conc1[:, 0] == 0`` (the control row).
    conc2 : array_like, shape (n_blocks, C)
        Doses of drug 2 along the columns, likewise.
    response : array_like, shape (n_blocks, R, C)
        % inhibition; ``response[:, 0, 0]`` is the untreated control.
    models : str or iterable of str
    convention : {"synergyfinder3", "free", "synergyfinder2"}
        Scoring convention, as in :func:`~letrolab.synergy.reference.reference_scores`.

    Returns
    -------
    GridScores

    Examples
    --------
    >>> c = np.array([[0.0, 1.0]])
    >>> y = np.array([[[0.0, 30.0], [20.0, 60.0]]])
    >>> float(grid_scores(c, c, y, models="bliss").scores["bliss"][0, 0, 0])
    16.0
    """
    ms = check_models(models)
    get_convention(convention)
    c1 = np.asarray(conc1, dtype=float)
    c2 = np.asarray(conc2, dtype=float)
    y = np.asarray(response, dtype=float)
    _check_grid(c1, c2, y)
    g = grid_core(c1, c2, y, ms, convention)
    return GridScores(
        models=ms,
        scores=g.scores,
        mean=g.mean,
        msa=g.msa,
        loewe_fallback=g.loewe_fallback,
        fit_ok=g.fit_ok,
    )
