"""The interface every scoring convention implements, and the cell context it works on.

A convention decides how the single agents are fitted (fixed bottom/top or free), which Loewe
solver is used, and how two-drug ZIP re-fits rows and columns. Bliss and HSA need no fits and
are the same under every convention (:mod:`letrolab.synergy.reference.equations`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from letrolab.doseresponse.hill import HillFits

__all__ = ["Cells", "Convention", "LoeweOut", "SliceFit", "ZipOut"]


@dataclass(frozen=True)
class Cells:
    """Rows of a normalised combination table, as arrays (the table path).

    Attributes
    ----------
    bcode : ndarray of int
        Block code (0..nb-1) of every row.
    nb, k : int
        Number of blocks and of drugs.
    conc : ndarray, shape (n, k)
        Doses (molar).
    y : ndarray, shape (n,)
        Responses (% inhibition).
    ci : ndarray of int
        Rows that are combination cells (two or more drugs present).
    """

    bcode: np.ndarray
    nb: int
    k: int
    conc: np.ndarray
    y: np.ndarray
    ci: np.ndarray

    @property
    def bc(self) -> np.ndarray:
        """Block code of every combination cell."""
        return self.bcode[self.ci]

    @property
    def xc(self) -> np.ndarray:
        """Doses of every combination cell, (n_cells, k)."""
        return self.conc[self.ci]

    @property
    def yc(self) -> np.ndarray:
        """Response of every combination cell."""
        return self.y[self.ci]

    def single_rows(self, i: int) -> np.ndarray:
        """Rows where drug ``i`` is the only drug present."""
        nz = self.conc > 0
        return np.flatnonzero(nz[:, i] & (nz.sum(1) == 1))


@dataclass(frozen=True)
class LoeweOut:
    """Loewe expectation: ``expected`` and ``fallback`` (mask) per cell, ``ok`` per block."""

    expected: np.ndarray
    fallback: np.ndarray
    ok: np.ndarray


@dataclass(frozen=True)
class ZipOut:
    """ZIP delta per cell, re-fitted values that fell back to the observed response per block
    (``n_observed``), and whether the block's ZIP single agents are defined (``ok``)."""

    delta: np.ndarray
    n_observed: np.ndarray
    ok: np.ndarray


@dataclass(frozen=True)
class SliceFit:
    """Re-fits of padded slices (ng, P): fitted ``values`` at the slice doses, ``ok`` and
    ``single`` (one point only) per slice."""

    values: np.ndarray
    ok: np.ndarray
    single: np.ndarray


class Convention(ABC):
    """A scoring convention (see :data:`letrolab.synergy.reference.options.CONVENTIONS`).

    Class attributes: ``name``; ``sa_e0``/``sa_emax`` the single agents' fixed bottom and top
    (NaN = fitted); ``cap_loewe`` caps the Loewe expectation at 100; ``slice_zip`` scores
    two-drug ZIP by SynergyFinder 3's slice re-fits (:mod:`letrolab.synergy.reference.zip_nd`)
    on tables that are not regular grids; ``own_sa_note`` the warning of a block whose
    convention-specific single-agent fits failed.
    """

    name: ClassVar[str]
    sa_e0: ClassVar[float] = np.nan
    sa_emax: ClassVar[float] = np.nan
    cap_loewe: ClassVar[bool] = False
    slice_zip: ClassVar[bool] = False
    own_sa_note: ClassVar[str] = ""

    @abstractmethod
    def loewe_expected(self, x, y_obs, e0, emax, ec50, h) -> tuple[np.ndarray, np.ndarray]:
        """Loewe expected effect and fallback mask of cells with doses ``x`` (n, k) and the
        least-squares curve parameters of their drugs (n, k each)."""

    def loewe_cells(self, x, y_obs, par: np.ndarray, ok: np.ndarray) -> LoeweOut:
        """Loewe on cells given the per-cell parameters ``par`` (n, k, 4) and per-cell ``ok``."""
        e, fb = self.loewe_expected(x, y_obs, par[..., 0], par[..., 1], par[..., 2], par[..., 3])
        if self.cap_loewe:
            e = np.minimum(e, 100.0)
        return LoeweOut(np.where(ok, e, np.nan), fb & ok, ok)

    def loewe_table(self, cells: Cells, par: np.ndarray, fit_ok: np.ndarray) -> LoeweOut:
        """Loewe of every combination cell of a table; ``par`` (nb, k, 4), ``fit_ok`` (nb,)."""
        bc = cells.bc
        out = self.loewe_cells(cells.xc, cells.yc, par[bc], fit_ok[bc])
        return LoeweOut(out.expected, out.fallback, fit_ok)

    def loewe_grid(self, c1, c2, y, f1: HillFits, f2: HillFits) -> LoeweOut:
        """Loewe of regular grids ``c1`` (nb, R), ``c2`` (nb, C), ``y`` (nb, R, C)."""
        nb, r, c = y.shape
        ncell = (r - 1) * (c - 1)
        x1 = np.broadcast_to(c1[:, 1:, None], (nb, r - 1, c - 1)).ravel()
        x2 = np.broadcast_to(c2[:, None, 1:], (nb, r - 1, c - 1)).ravel()
        p1 = np.stack([f1.e0, f1.emax, f1.ec50, f1.h], -1)
        p2 = np.stack([f2.e0, f2.emax, f2.ec50, f2.h], -1)
        par = np.stack([np.repeat(p1, ncell, 0), np.repeat(p2, ncell, 0)], 1)  # (n, 2, 4)
        ok = f1.ok & f2.ok
        out = self.loewe_cells(
            np.stack([x1, x2], 1), y[:, 1:, 1:].ravel(), par, np.repeat(ok, ncell)
        )
        shape = (nb, r - 1, c - 1)
        return LoeweOut(out.expected.reshape(shape), out.fallback.reshape(shape), ok)

    @abstractmethod
    def zip_grid(self, c1, c2, y, f1: HillFits, f2: HillFits) -> ZipOut:
        """Two-drug ZIP of regular grids, given the least-squares single-agent fits."""

    def zip_table(self, cells: Cells, par: np.ndarray, fit_ok: np.ndarray) -> ZipOut:
        """Two-drug ZIP of a table that is not a regular grid (conventions with
        ``slice_zip = False``)."""
        raise NotImplementedError(f"{self.name}: two-drug tables use the slice ZIP")
