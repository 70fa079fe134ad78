"""Chou–Talalay combination analysis: combination index (CI), dose-reduction index (DRI), Fa-CI.

The method (Chou & Talalay 1984, Adv Enzyme Regul 22:27; Chou 2006, Pharmacol Rev 58:621;
Chou 2010, Cancer Res 70:440) rests on the median-effect equation of each drug alone and of
each mixture (:mod:`letrolab.doseresponse.median_effect`). For a combination that produces the
effect ``fa`` with doses ``d_j`` of drugs ``j``, and ``(Dx)_j`` the dose of drug ``j`` alone that
produces the same ``fa``:

* CI, mutually exclusive drugs, any number of drugs (Chou & Talalay 1984; Chou 2006,
  sections II.C.2–3, the general combination index equation for n drugs)::

      CI = sum_j d_j / (Dx)_j

* CI, mutually non-exclusive drugs (two drugs; Chou & Talalay 1984; Chou 2006, II.C.2)::

      CI = d1/(Dx)1 + d2/(Dx)2 + d1 d2 / ((Dx)1 (Dx)2)

* DRI (Chou & Talalay 1984; Chou 2006, II.D)::

      DRI_j = (Dx)_j / d_j

CI < 1, = 1, > 1 indicate synergism, additive effect and antagonism; the graded labels are
Chou's (Chou 2006, II.C.7 and its table of symbols, used by CompuSyn): see :data:`CI_SCALE`.

Designs (Chou 2006, III.B–C), both detected from the data:

* **Constant ratio**: combination points whose doses keep one ratio (at least three dose
  levels) form a mixture that is fitted as a drug of its own, its dose the sum of the
  component doses. At any ``fa`` the mixture dose ``(Dx)_mix`` splits into ``d_j = P_j
  (Dx)_mix`` (``P_j`` the fraction of drug ``j``), so CI and DRI follow at every ``fa``: the
  Fa-CI table at 0.5, 0.75, 0.9, 0.95 and the Fa-CI curve.
* **Non-constant ratio** (any design): every combination point gets a CI from its measured
  ``fa`` and doses, DRI per drug, and normalised isobologram coordinates ``d_j / (Dx)_j``
  (Chou 2006, II.C.6).

Points with ``fa`` outside (0, 1) are dropped, never clipped, and counted in the warnings;
a fit with r < 0.95 and a CI that needs a drug's or mixture's curve beyond its measured fa
range (extrapolation) are warned about. A block that cannot be analysed (one drug only,
fewer than 2 usable single-agent points for a drug, ...) becomes a
:class:`~letrolab._results.Failed` value naming the block and the reason, and the other
blocks go on.

All fitting and CI arithmetic of all blocks runs in vectorised NumPy over padded arrays; only
the assembly of per-block result objects loops over blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from letrolab._results import Failed, jsonable
from letrolab.doseresponse.median_effect import (
    R_WARN,
    MedianEffectFit,
    MedianEffectFits,
    dx_from_params,
    fit_median_effect,
)
from letrolab.errors import InputError
from letrolab.synergy.tidy import CombinationData, read_combination, unit_factors

__all__ = [
    "CI_SCALE",
    "FA_LEVELS",
    "BlockCI",
    "ChouTalalayResult",
    "MixtureCI",
    "PointCI",
    "chou_talalay",
    "ci_label",
    "combination_index",
    "combination_index_points",
    "dose_reduction_index",
]

#: Effect levels of the Fa-CI table (Chou 2006 reports CI at ED50, ED75, ED90, ED95).
FA_LEVELS: tuple[float, ...] = (0.5, 0.75, 0.9, 0.95)
#: Effect levels of the Fa-CI curve.
FA_CURVE: np.ndarray = np.round(np.arange(2, 99) / 100.0, 2)

#: Chou's graded description of CI values (Chou 2006, section II.C.7, table of symbols; the
#: CompuSyn report): (upper bound, label, symbol). Ranges are half-open, [lower, upper).
CI_SCALE: tuple[tuple[float, str, str], ...] = (
    (0.1, "very strong synergism", "+++++"),
    (0.3, "strong synergism", "++++"),
    (0.7, "synergism", "+++"),
    (0.85, "moderate synergism", "++"),
    (0.9, "slight synergism", "+"),
    (1.1, "nearly additive", "±"),
    (1.2, "slight antagonism", "-"),
    (1.45, "moderate antagonism", "--"),
    (3.3, "antagonism", "---"),
    (10.0, "strong antagonism", "----"),
    (np.inf, "very strong antagonism", "-----"),
)
_BOUNDS = np.array([b for b, _, _ in CI_SCALE[:-1]])
_LABELS = np.array([lab for _, lab, _ in CI_SCALE], dtype=object)

#: Two combination points belong to one constant-ratio series when every drug's fraction of
#: the total dose agrees within this many log10 units (0.01 = 2.3 %), which absorbs the
#: rounding of serial dilutions written with few digits (0.7812 for 0.78125).
RATIO_TOL_LOG10 = 0.01
#: Fewest dose levels for a constant-ratio series to be fitted as a mixture.
MIN_MIXTURE_LEVELS = 3


# ---------------------------------------------------------------------------------------------
# Elementary, vectorised formulas
# ---------------------------------------------------------------------------------------------
def ci_label(ci: Any) -> Any:
    """CompuSyn / Chou (2006) description of CI values; vectorised.

    Examples
    --------
    >>> ci_label(0.05), ci_label(0.5), ci_label(1.0), ci_label(12.0)
    ('very strong synergism', 'synergism', 'nearly additive', 'very strong antagonism')
    >>> ci_label([0.1, 0.9, 1.1]).tolist()
    ['strong synergism', 'nearly additive', 'slight antagonism']
    """
    arr = np.asarray(ci, dtype=float)
    if np.any(~np.isfinite(arr) | (arr < 0)):
        raise InputError("CI must be a finite number >= 0 to be labelled")
    idx = np.searchsorted(_BOUNDS, arr, side="right")
    return str(_LABELS[int(idx)]) if arr.ndim == 0 else _LABELS[idx]


def combination_index(dose: Any, dx: Any, *, exclusive: bool = True) -> np.ndarray:
    """Combination index from combination doses and equi-effective single doses; vectorised.

    Parameters
    ----------
    dose : array_like, shape (..., k)
        Dose of each drug in the combination (0 for a drug not in it).
    dx : array_like, shape (..., k)
        Dose of each drug alone giving the same effect, ``(Dx)_j``.
    exclusive : bool
        True: ``sum_j d_j/(Dx)_j`` (mutually exclusive; any k; Chou & Talalay 1984, Chou 2006
        II.C.3). False: adds ``d1 d2/((Dx)1 (Dx)2)`` (mutually non-exclusive; k = 2 only;
        Chou & Talalay 1984).

    Returns
    -------
    ndarray, shape (...)
        The CI; NaN where a drug with ``d_j > 0`` has no finite positive ``(Dx)_j`` (a dose
        that over- or underflowed), never inf.

    Examples
    --------
    Chou 2006's textbook case: half the equi-effective dose of each drug is additive.

    >>> float(combination_index([5.0, 10.0], [10.0, 20.0]))
    1.0
    >>> float(combination_index([5.0, 10.0], [10.0, 20.0], exclusive=False))
    1.25
    """
    d = np.asarray(dose, dtype=float)
    x = np.asarray(dx, dtype=float)
    if d.shape[-1:] != x.shape[-1:]:
        raise InputError(f"dose and dx disagree in the number of drugs: {d.shape} vs {x.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        # a drug in the combination whose (Dx)_j is not a finite positive dose (it over- or
        # underflowed) leaves the CI undefined: NaN, never inf or a silent 0 term
        u = np.where(d == 0, 0.0, np.where(np.isfinite(x) & (x > 0), d / x, np.nan))
    ci = u.sum(axis=-1)
    if not exclusive:
        if d.shape[-1] != 2:
            raise InputError(
                "the mutually non-exclusive CI is defined here for two drugs; use exclusive=True"
            )
        ci = ci + u[..., 0] * u[..., 1]
    return ci


def dose_reduction_index(dose: Any, dx: Any) -> np.ndarray:
    """DRI ``(Dx)_j / d_j`` (Chou & Talalay 1984; Chou 2006, II.D); NaN where ``d_j`` is 0."""
    d = np.asarray(dose, dtype=float)
    x = np.asarray(dx, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, x / np.where(d > 0, d, 1.0), np.nan)


# ---------------------------------------------------------------------------------------------
# Batched per-point CI (the hot path)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PointCI:
    """Per-point Chou–Talalay CI of many blocks at once (from :func:`combination_index_points`).

    Attributes
    ----------
    fits : MedianEffectFits
        Single-agent fits, curve ``b * k + j`` is drug ``j`` of block ``b``.
    combo : ndarray of bool, shape (n_blocks, n_points)
        Points with at least two drugs at dose > 0.
    valid : ndarray of bool, shape (n_blocks, n_points)
        Combination points with 0 < fa < 1 whose drugs all have a fit: the points with a CI.
    dx : ndarray, shape (n_blocks, n_points, k)
        ``(Dx)_j`` at each point's fa (NaN where not valid).
    ci, ci_nonexclusive : ndarray, shape (n_blocks, n_points)
        CI (NaN where not ``valid``; ``ci_nonexclusive`` NaN unless exactly two drugs are in
        the combination).
    """

    fits: MedianEffectFits
    combo: np.ndarray
    valid: np.ndarray
    dx: np.ndarray
    ci: np.ndarray
    ci_nonexclusive: np.ndarray


def _sum_last(a: np.ndarray) -> np.ndarray:
    """Sum over a short last axis (the drugs) by slices: much faster than a NumPy reduce."""
    out = a[..., 0].astype(float if a.dtype != bool else np.int64)
    for j in range(1, a.shape[-1]):
        out = out + a[..., j]
    return out


def _single_agent_arrays(conc: np.ndarray, fa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, P, K) doses and (B, P) fa -> compact single-agent curves, shape (B*K, Q).

    Curve ``b*K + j`` holds the points of block ``b`` where drug ``j`` alone is > 0, in input
    order, padded with NaN to the longest curve ``Q`` (not to ``P``: fits then touch only
    single-agent points).
    """
    b, p, k = conc.shape
    pos = conc > 0  # NaN compares False
    single = pos & (_sum_last(pos) == 1)[:, :, None]  # (B, P, K): point is drug j alone
    st = np.ascontiguousarray(single.transpose(0, 2, 1)).reshape(b * k, p)
    counts = st.sum(axis=1)
    q = max(int(counts.max()) if counts.size else 0, 1)
    rows, cols = np.nonzero(st)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    dose = np.full((b * k, q), np.nan)
    f = np.full((b * k, q), np.nan)
    bb, jj = np.divmod(rows, k)
    dose[rows, rank] = conc[bb, cols, jj]
    f[rows, rank] = fa[bb, cols]
    return dose, f


def combination_index_points(
    conc: Any, fa: Any, *, labels: list[str] | None = None, unit: str = ""
) -> PointCI:
    """Fit every block's single agents and give the CI at every combination point.

    One set of NumPy operations for all blocks: no Python loop per block or per curve.
    Single-agent points are those with exactly one drug at dose > 0; combination points have
    two or more. ``CI = sum_j d_j/(Dx)_j`` at the point's measured fa (Chou & Talalay 1984;
    Chou 2006 II.C.2-3), plus ``d1 d2/((Dx)1 (Dx)2)`` for the non-exclusive CI of two-drug
    points. This is the definition of CompuSyn's "non-constant ratio" CI and of the
    ``synergy`` package's ``CombinationIndex`` (Wooten & Albert 2021).

    Parameters
    ----------
    conc : array_like, shape (n_blocks, n_points, k)
        Doses (>= 0; NaN pads blocks with fewer points).
    fa : array_like, shape (n_blocks, n_points)
        Fraction affected (NaN pads).
    labels : list of str, optional
        ``n_blocks * k`` curve names for the fits (default "curve i", i = b*k + j).
    unit : str
        Dose unit (carried into the fits).

    Returns
    -------
    PointCI
    """
    c = np.asarray(conc, dtype=float)
    f = np.asarray(fa, dtype=float)
    if c.ndim != 3 or f.shape != c.shape[:2]:
        raise InputError(
            f"conc must be (blocks, points, drugs) and fa (blocks, points); got {c.shape}, "
            f"{f.shape}"
        )
    b, _, k = c.shape
    dose, fsingle = _single_agent_arrays(c, f)
    fits = fit_median_effect(dose, fsingle, labels=labels, unit=unit)

    pos = c > 0  # NaN compares False
    npos = _sum_last(pos)
    combo = npos >= 2
    inside = (f > 0) & (f < 1)  # NaN compares False
    # ln (Dx)_j = ln Dm_j + ln(fa/fu) / m_j  (Chou 2006, II.B.1), only where needed
    fi = np.where(inside, f, 0.5)
    logit = np.log(fi / (1.0 - fi))
    with np.errstate(over="ignore", invalid="ignore"):
        dx = np.exp(np.log(fits.dm).reshape(b, 1, k) + logit[:, :, None] / fits.m.reshape(b, 1, k))
    dx = np.where(pos & inside[:, :, None], dx, np.nan)  # only drugs in the combination
    # (Dx)_j must be a finite positive dose: a nearly flat curve can over- or underflow
    with np.errstate(invalid="ignore"):
        ok_drugs = _sum_last((np.isfinite(dx) & (dx > 0)) | ~pos) == k
    valid = combo & inside & ok_drugs
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(pos, c / dx, 0.0)
    ci = np.where(valid, _sum_last(u), np.nan)
    two = valid & (npos == 2)
    # product of the two non-zero normalised doses (absent drugs count as 1 in the product)
    prod = u[:, :, 0] * u[:, :, 1] if k == 2 else np.where(pos, u, 1.0).prod(axis=2)
    ci_ne = np.where(two, ci + prod, np.nan)
    return PointCI(fits=fits, combo=combo, valid=valid, dx=dx, ci=ci, ci_nonexclusive=ci_ne)


# ---------------------------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------------------------
def _fa_key(fa: float) -> str:
    return f"{fa:g}"


@dataclass(frozen=True, eq=False)
class MixtureCI:
    """A constant-ratio mixture fitted as a drug, with CI and DRI at any fa.

    Attributes
    ----------
    drugs : tuple of str
        Drugs in the mixture.
    ratio : tuple of float
        Dose ratio of the drugs (in the block's unit), scaled so the smallest is 1.
    fraction : tuple of float
        Fraction ``P_j`` of the total dose that is drug ``j``.
    fit : MedianEffectFit
        Median-effect fit of the mixture (dose = total dose).
    singles : tuple of MedianEffectFit
        The single-agent fits of ``drugs``.
    fa_levels : tuple of float
        Effect levels of :attr:`ci` etc. (the Fa-CI table).
    ci, ci_nonexclusive : ndarray
        CI at ``fa_levels`` (``ci_nonexclusive`` is None unless two drugs are mixed).
    dri : ndarray, shape (len(fa_levels), n_drugs)
    extrapolated : ndarray of bool
        Where the mixture or a single drug is used beyond its measured fa range.
    data : (ndarray, ndarray)
        The mixture's measured points: total dose and fa.
    """

    drugs: tuple[str, ...]
    ratio: tuple[float, ...]
    fraction: tuple[float, ...]
    fit: MedianEffectFit
    singles: tuple[MedianEffectFit, ...]
    fa_levels: tuple[float, ...]
    ci: np.ndarray
    ci_nonexclusive: np.ndarray | None
    dri: np.ndarray
    extrapolated: np.ndarray
    data: tuple[np.ndarray, np.ndarray] = field(default=(np.empty(0), np.empty(0)))

    @property
    def name(self) -> str:
        """E.g. ``"A+B (1:2)"``."""
        return f"{'+'.join(self.drugs)} ({':'.join(f'{r:.4g}' for r in self.ratio)})"

    def doses_at(self, fa: Any) -> np.ndarray:
        """Component doses ``P_j (Dx)_mix`` giving effect ``fa``; shape (..., n_drugs)."""
        dmix = np.asarray(self.fit.dx(fa), dtype=float)
        return dmix[..., None] * np.asarray(self.fraction)

    def _single_dx(self, fa: Any) -> np.ndarray:
        fa = np.asarray(fa, dtype=float)
        return np.stack([np.asarray(s.dx(fa), dtype=float) for s in self.singles], axis=-1)

    def ci_at(self, fa: Any, *, exclusive: bool = True) -> Any:
        """CI of the mixture at any ``fa`` in (0, 1) (scalar or array)."""
        out = combination_index(self.doses_at(fa), self._single_dx(fa), exclusive=exclusive)
        return float(out) if out.ndim == 0 else out

    def dri_at(self, fa: Any) -> np.ndarray:
        """DRI of each drug at ``fa``; shape (..., n_drugs)."""
        return dose_reduction_index(self.doses_at(fa), self._single_dx(fa))

    def extrapolates(self, fa: Any) -> Any:
        """True where ``fa`` is outside the measured fa range of the mixture or a drug."""
        out = np.asarray(self.fit.extrapolates(fa))
        for s in self.singles:
            out = out | np.asarray(s.extrapolates(fa))
        return bool(out) if out.ndim == 0 else out

    def curve(self, fa: Any = None) -> pd.DataFrame:
        """The Fa-CI curve: fa, ci, ci_nonexclusive, dri_<drug>, dose_<drug>, extrapolated."""
        fa = FA_CURVE if fa is None else np.asarray(fa, dtype=float)
        doses = self.doses_at(fa)
        sdx = self._single_dx(fa)
        cols: dict[str, Any] = {"fa": fa, "ci": combination_index(doses, sdx)}
        if len(self.drugs) == 2:
            cols["ci_nonexclusive"] = combination_index(doses, sdx, exclusive=False)
        dri = dose_reduction_index(doses, sdx)
        for j, d in enumerate(self.drugs):
            cols[f"dose_{d}"] = doses[:, j]
            cols[f"dri_{d}"] = dri[:, j]
        cols["extrapolated"] = self.extrapolates(fa)
        return pd.DataFrame(cols)

    def summary(self) -> dict[str, Any]:
        """The mixture's JSON object (shape of the ``letrolab synergy --json`` contract)."""
        keys = [_fa_key(f) for f in self.fa_levels]
        out: dict[str, Any] = {
            "drugs": list(self.drugs),
            "ratio": list(self.ratio),
            "m": self.fit.m,
            "dm": self.fit.dm,
            "r": self.fit.r,
            "ci_at_fa": dict(zip(keys, self.ci.tolist(), strict=True)),
        }
        if self.ci_nonexclusive is not None:
            out["ci_nonexclusive_at_fa"] = dict(
                zip(keys, self.ci_nonexclusive.tolist(), strict=True)
            )
        out["dri_at_fa"] = {
            d: dict(zip(keys, self.dri[:, j].tolist(), strict=True))
            for j, d in enumerate(self.drugs)
        }
        return out

    def to_frame(self) -> pd.DataFrame:
        """The Fa-CI table: one row per fa level."""
        return self.curve(np.asarray(self.fa_levels))

    def report(self) -> str:
        """Text: the mixture's fit and its Fa-CI table."""
        lines = [f"mixture {self.name}: {self.fit.report().split(': ', 1)[1]}"]
        for i, f in enumerate(self.fa_levels):
            ne = (
                f", non-exclusive {self.ci_nonexclusive[i]:.3g}"
                if self.ci_nonexclusive is not None
                else ""
            )
            dri = ", ".join(f"{d} {self.dri[i, j]:.3g}" for j, d in enumerate(self.drugs))
            flag = " (extrapolated)" if self.extrapolated[i] else ""
            ok = np.isfinite(self.ci[i]) and self.ci[i] >= 0
            label = ci_label(self.ci[i]) if ok else "(undefined: a dose over- or underflows)"
            lines.append(f"  fa {f:<4g}  CI {self.ci[i]:.3g} {label}{ne}; DRI {dri}{flag}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class BlockCI:
    """Chou–Talalay analysis of one block.

    Attributes
    ----------
    block_id : str
    drugs : tuple of str
    unit : str
        Dose unit of every dose reported (the input's unit).
    single_agents : dict of str to MedianEffectFit
    mixtures : tuple of MixtureCI
        Constant-ratio series fitted as drugs.
    conc : ndarray, shape (n_points, k)
        Doses of the combination points that have a CI.
    fa, ci, ci_nonexclusive : ndarray, shape (n_points,)
        ``ci_nonexclusive`` is NaN for points with more than two drugs.
    dx : ndarray, shape (n_points, k)
        Equi-effective single doses (NaN for drugs not in the point).
    n : ndarray of int
        Replicates averaged into each point.
    extrapolated : ndarray of bool
        Points whose fa lies outside a drug's measured fa range.
    warnings : tuple of str
    single_data : dict of str to (dose, fa) arrays
        The measured single-agent points of each drug (all of them, before dropping).
    """

    block_id: str
    drugs: tuple[str, ...]
    unit: str
    single_agents: dict[str, MedianEffectFit]
    mixtures: tuple[MixtureCI, ...]
    conc: np.ndarray
    fa: np.ndarray
    ci: np.ndarray
    ci_nonexclusive: np.ndarray
    dx: np.ndarray
    n: np.ndarray
    extrapolated: np.ndarray
    warnings: tuple[str, ...] = field(default=())
    single_data: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return True

    @property
    def dirname(self) -> str:
        """A file-system-safe folder name for the block's output, on its own.

        Two ids can give the same name here (``a/b`` and ``a_b``); writers of several blocks
        use :meth:`ChouTalalayResult.dirnames`, which keeps them apart.
        """
        return "block_" + (re.sub(r"[^A-Za-z0-9._-]+", "_", self.block_id).strip("._") or "x")

    @property
    def labels(self) -> np.ndarray:
        """CompuSyn label of each point's CI."""
        return ci_label(self.ci) if len(self.ci) else np.array([], dtype=object)

    @property
    def dri(self) -> np.ndarray:
        """DRI of each drug at each point, shape (n_points, k) (NaN where a drug is absent)."""
        return dose_reduction_index(self.conc, self.dx)

    def isobologram(self) -> pd.DataFrame:
        """Normalised isobologram data (Chou 2006, II.C.6): ``d_j/(Dx)_j`` per point.

        Points below the line ``x + y = 1`` (two drugs) are synergistic. Mixture points at the
        Fa-CI table's levels are included with ``source = "mixture <name>"``.
        """
        rows: dict[str, list[Any]] = {"source": [], "fa": [], "ci": []}
        norm = {d: [] for d in self.drugs}
        with np.errstate(divide="ignore", invalid="ignore"):
            nd = np.where(self.conc > 0, self.conc / self.dx, 0.0)
        for i in range(len(self.fa)):
            rows["source"].append("point")
            rows["fa"].append(self.fa[i])
            rows["ci"].append(self.ci[i])
            for j, d in enumerate(self.drugs):
                norm[d].append(nd[i, j])
        for mix in self.mixtures:
            doses = mix.doses_at(np.asarray(mix.fa_levels))
            sdx = mix._single_dx(np.asarray(mix.fa_levels))
            for i, f in enumerate(mix.fa_levels):
                rows["source"].append(f"mixture {mix.name}")
                rows["fa"].append(f)
                rows["ci"].append(mix.ci[i])
                for d in self.drugs:
                    j = mix.drugs.index(d) if d in mix.drugs else -1
                    norm[d].append(doses[i, j] / sdx[i, j] if j >= 0 else 0.0)
        return pd.DataFrame({**rows, **{f"norm_{d}": v for d, v in norm.items()}})

    def to_frame(self, *, by_position: bool = False) -> pd.DataFrame:
        """One row per combination point: doses, fa, CI, label, DRI, replicates.

        Columns are ``conc_<drug>``/``dri_<drug>``, or with ``by_position=True`` ``drug1``,
        ``conc1``, ... ``dri1``, ... (so blocks of different drugs stack into one table).
        """
        cols: dict[str, Any] = {"block_id": self.block_id}
        for j, d in enumerate(self.drugs):
            if by_position:
                cols[f"drug{j + 1}"] = d
            cols[f"conc{j + 1}" if by_position else f"conc_{d}"] = self.conc[:, j]
        cols["unit"] = self.unit
        cols["fa"] = self.fa
        cols["ci"] = self.ci
        cols["ci_nonexclusive"] = self.ci_nonexclusive
        cols["label"] = self.labels
        dri = self.dri
        for j, d in enumerate(self.drugs):
            cols[f"dri{j + 1}" if by_position else f"dri_{d}"] = dri[:, j]
        cols["n"] = self.n
        cols["extrapolated"] = self.extrapolated
        return pd.DataFrame(cols, index=pd.RangeIndex(len(self.fa)))

    def _repr_html_(self) -> str:
        head = f"<p><b>block {self.block_id}</b>: {' + '.join(self.drugs)}</p>"
        return head + self.to_frame()._repr_html_()

    def fa_ci_table(self) -> pd.DataFrame:
        """Fa-CI tables of all mixtures, stacked (column ``mixture``)."""
        if not self.mixtures:
            return pd.DataFrame(columns=["mixture", "fa", "ci"])
        return pd.concat(
            [m.to_frame().assign(mixture=m.name) for m in self.mixtures], ignore_index=True
        )

    def summary(self) -> dict[str, Any]:
        """The block's JSON object (the ``letrolab synergy --json`` contract)."""
        labels = self.labels
        two = len(self.drugs) == 2
        points = []
        for i in range(len(self.fa)):
            present = self.conc[i] > 0
            pt: dict[str, Any] = {
                "conc": {d: float(self.conc[i, j]) for j, d in enumerate(self.drugs)},
                "fa": float(self.fa[i]),
                "ci": float(self.ci[i]),
            }
            if two or present.sum() == 2:
                pt["ci_nonexclusive"] = float(self.ci_nonexclusive[i])
            pt["label"] = str(labels[i])
            points.append(pt)
        return {
            "block_id": self.block_id,
            "drugs": list(self.drugs),
            "single_agents": {
                d: {"m": f.m, "dm": f.dm, "r": f.r, "n": f.n} for d, f in self.single_agents.items()
            },
            "mixtures": [m.summary() for m in self.mixtures],
            "points": points,
            "warnings": list(self.warnings),
        }

    def report(self) -> str:
        """Text report of the block."""
        u = f", doses in {self.unit}" if self.unit else ""
        lines = [f"block {self.block_id}: {' + '.join(self.drugs)}{u}"]
        lines += ["  " + f.report() for f in self.single_agents.values()]
        for m in self.mixtures:
            lines += ["  " + line for line in m.report().splitlines()]
        if len(self.ci):
            lines.append(
                f"  {len(self.ci)} combination point(s): CI median {np.median(self.ci):.3g} "
                f"(range {self.ci.min():.3g}-{self.ci.max():.3g}); "
                f"{int((self.ci < 1).sum())} with CI < 1"
            )
        lines += ["  warning: " + w for w in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class ChouTalalayResult:
    """Chou–Talalay analysis of many blocks (from :func:`chou_talalay`).

    Attributes
    ----------
    blocks : dict of str to BlockCI or Failed
        In input order; a block that could not be analysed is a :class:`Failed` whose
        ``reason`` names the block and why.
    drugs : dict of str to tuple of str
        Drugs of every block (also of failed ones).
    """

    blocks: dict[str, BlockCI | Failed]
    drugs: dict[str, tuple[str, ...]]
    input_warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __getitem__(self, block_id: str) -> BlockCI | Failed:
        return self.blocks[str(block_id)]

    def dirnames(self) -> dict[str, str]:
        """``{block_id: folder name}``: file-system safe and unique, a short hash where two
        ids would otherwise share a folder (:func:`letrolab._io.safe_names`)."""
        from letrolab._io import safe_names

        return safe_names(self.blocks, prefix="block_")

    def __len__(self) -> int:
        return len(self.blocks)

    @property
    def failed(self) -> dict[str, Failed]:
        """The blocks that could not be analysed, each a :class:`Failed` saying why."""
        return {k: v for k, v in self.blocks.items() if not v}

    def failure_message(self) -> str:
        """One line saying why no block could be analysed."""
        if not self.blocks:
            return "no block could be analysed: the table holds no usable rows"
        failed = self.failed
        if not failed:
            return ""
        first = next(iter(failed.values()))
        more = f" (and {len(failed) - 1} more block(s) failed)" if len(failed) > 1 else ""
        return f"no block could be analysed: {first.reason}{more}"

    def summary(self) -> dict[str, Any]:
        """``{"blocks": [...]}``, exactly the ``letrolab synergy --json`` shape."""
        out = []
        for bid, res in self.blocks.items():
            if res:
                out.append(res.summary())
            else:
                out.append(
                    {
                        "block_id": bid,
                        "drugs": list(self.drugs[bid]),
                        "single_agents": {},
                        "mixtures": [],
                        "points": [],
                        "warnings": list(self.input_warnings.get(bid, ())),
                        "error": res.reason,
                    }
                )
        return {"blocks": out}

    def to_frame(self) -> pd.DataFrame:
        """All combination points of all analysed blocks (drug columns by position)."""
        frames = [res.to_frame(by_position=True) for res in self.blocks.values() if res]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def report(self) -> str:
        """Text report of every block."""
        # a failure's reason already names its block
        return "\n\n".join(
            res.report() if res else f"FAILED: {res.reason}" for res in self.blocks.values()
        )

    def write_tables(self, out_dir: Any) -> None:
        """Write ``chou_talalay.json`` and per-block CSV tables under ``out_dir``.

        Each file is written atomically; use :func:`letrolab._io.staged_dir` around it for an
        atomic folder.
        """
        import json
        from pathlib import Path

        from letrolab._io import atomic_write_text, csv_text

        names = self.dirnames()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            out / "chou_talalay.json",
            json.dumps(jsonable(self.summary()), indent=2, allow_nan=False) + "\n",
        )
        for res in self.blocks.values():
            if not res:
                continue
            d = out / names[res.block_id]
            atomic_write_text(d / "block_id.txt", res.block_id + "\n")
            tables = {
                "single_agents.csv": pd.DataFrame(
                    [f.summary() for f in res.single_agents.values()]
                ).drop(columns=["ok"]),
                "points.csv": res.to_frame(),
                "isobologram.csv": res.isobologram(),
            }
            if res.mixtures:
                tables["fa_ci_table.csv"] = res.fa_ci_table()
                tables["fa_ci_curve.csv"] = pd.concat(
                    [m.curve().assign(mixture=m.name) for m in res.mixtures], ignore_index=True
                )
            for name, df in tables.items():
                atomic_write_text(d / name, csv_text(df, index=False))
            if res.warnings:
                atomic_write_text(d / "warnings.txt", "\n".join(res.warnings) + "\n")


# ---------------------------------------------------------------------------------------------
# The analysis of a combination table
# ---------------------------------------------------------------------------------------------
def _padded(table: pd.DataFrame, k: int) -> dict[str, Any]:
    """Table (one row per block and dose combination) -> padded (B, P, ...) arrays."""
    codes, uniques = pd.factorize(table["block_id"], sort=False)
    pidx = table.groupby(codes, sort=False).cumcount().to_numpy()
    nb = len(uniques)
    npts = int(pidx.max()) + 1 if len(pidx) else 0
    conc_m = table[[f"conc{j + 1}" for j in range(k)]].to_numpy(dtype=float)
    units = table["unit"].astype(str).to_numpy()
    factor = unit_factors(units)
    conc = np.full((nb, npts, k), np.nan)
    conc[codes, pidx] = conc_m / factor[:, None]
    fa = np.full((nb, npts), np.nan)
    fa[codes, pidx] = table["response"].to_numpy(dtype=float) / 100.0
    n = np.zeros((nb, npts), dtype=int)
    n[codes, pidx] = table["n"].to_numpy(dtype=int)
    first = np.zeros(nb, dtype=int)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    drugs = table[[f"drug{j + 1}" for j in range(k)]].to_numpy(dtype=object)[first]
    return {
        "block_ids": [str(u) for u in uniques],
        "conc": conc,
        "fa": fa,
        "n": n,
        "unit": units[first],
        "drugs": [tuple(str(x) for x in row) for row in drugs],
    }


def _cluster_1d(keys: np.ndarray, values: np.ndarray, tol: float) -> np.ndarray:
    """Labels grouping ``values`` within ``keys`` where sorted neighbours differ by <= tol."""
    order = np.lexsort((values, keys))
    kv, vv = keys[order], values[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (kv[1:] != kv[:-1]) | (np.diff(vv) > tol)
    lab = np.empty(len(order), dtype=np.int64)
    lab[order] = np.cumsum(new) - 1
    return lab


def _mixture_groups(conc: np.ndarray, fa: np.ndarray, combo: np.ndarray) -> pd.DataFrame:
    """Constant-ratio series among the combination points of all blocks (vectorised).

    Returns one row per point of a series with >= MIN_MIXTURE_LEVELS dose levels: block,
    point, group id.
    """
    b_idx, p_idx = np.nonzero(combo)
    if len(b_idx) == 0:
        return pd.DataFrame({"block": [], "point": [], "group": []}, dtype=int)
    c = conc[b_idx, p_idx]  # (n, K)
    k = c.shape[1]
    pos = c > 0
    pattern = (pos * (1 << np.arange(k))).sum(axis=1)
    total = c.sum(axis=1)
    with np.errstate(divide="ignore"):
        logp = np.where(pos, np.log10(np.where(pos, c, 1.0) / total[:, None]), -99.0)
    key = b_idx.astype(np.int64) * (1 << k) + pattern
    labs = [key]
    for j in range(k):
        labs.append(_cluster_1d(key, logp[:, j], RATIO_TOL_LOG10))
    group = pd.DataFrame(np.column_stack(labs)).groupby(list(range(k + 1))).ngroup().to_numpy()
    df = pd.DataFrame(
        {"block": b_idx, "point": p_idx, "group": group, "ltot": np.round(np.log10(total), 6)}
    )
    levels = df.groupby("group")["ltot"].transform("nunique")
    return df.loc[levels >= MIN_MIXTURE_LEVELS, ["block", "point", "group"]]


def chou_talalay(
    data: CombinationData | pd.DataFrame | str | Any,
    *,
    response: str = "inhibition",
    fa_levels: tuple[float, ...] = FA_LEVELS,
) -> ChouTalalayResult:
    """Chou–Talalay analysis of every block of a combination table.

    Parameters
    ----------
    data : CombinationData, DataFrame or path
        The tidy layout of DESIGN.md (two or N drugs); a DataFrame or path is read with
        :func:`letrolab.synergy.tidy.read_combination` (replicates averaged, units converted).
    response : {"inhibition", "viability"}
        What the response column holds, when ``data`` is not yet a CombinationData.
    fa_levels : tuple of float
        Effect levels of the mixtures' Fa-CI tables (each strictly in (0, 1)).

    Returns
    -------
    ChouTalalayResult
        Per block a :class:`BlockCI` (or a :class:`Failed` naming the block and the reason).

    Examples
    --------
    A 1:1 constant-ratio mixture whose median-effect dose is the harmonic mean of the two
    drugs' is additive at fa = 0.5 (CI = 1):

    >>> import pandas as pd
    >>> rows = [("A", "B", d, 0, 100 / (1 + 10 / d)) for d in (2.0, 5.0, 20.0, 50.0)]
    >>> rows += [("A", "B", 0, d, 100 / (1 + 30 / d)) for d in (5.0, 15.0, 60.0, 150.0)]
    >>> rows += [("A", "B", d, d, 100 / (1 + 7.5 / d)) for d in (1.0, 3.75, 15.0)]
    >>> df = pd.DataFrame(rows, columns=["drug_row", "drug_col", "conc_r", "conc_c", "response"])
    >>> res = chou_talalay(df)
    >>> round(res["1"].mixtures[0].ci_at(0.5), 9)
    1.0
    """
    for f in fa_levels:
        if not 0 < f < 1:
            raise InputError(f"fa levels must lie strictly between 0 and 1, got {f}")
    if not isinstance(data, CombinationData):
        data = read_combination(data, response=response)
    table = data.table
    k = data.n_drugs
    arr = _padded(table, k)
    conc, fa, nrep = arr["conc"], arr["fa"], arr["n"]
    bids, drugs_of, units = arr["block_ids"], arr["drugs"], arr["unit"]
    nb = len(bids)
    labels = [f"{drugs_of[b][j]} (block {bids[b]})" for b in range(nb) for j in range(k)]
    pts = combination_index_points(conc, fa, labels=labels)
    fits = pts.fits

    # --- per-point flags (vectorised)
    c0 = np.nan_to_num(conc)
    pos = c0 > 0
    present = np.isfinite(fa)
    fa_out = present & ~((fa > 0) & (fa < 1))
    fmin = fits.fa_min.reshape(nb, 1, k)
    fmax = fits.fa_max.reshape(nb, 1, k)
    extrap = (pos & ((fa[:, :, None] < fmin) | (fa[:, :, None] > fmax))).any(axis=2)

    # --- constant-ratio mixtures, all blocks at once
    groups = _mixture_groups(c0, fa, pts.combo)
    mix = _fit_mixtures(groups, c0, fa, fits, nb, k, drugs_of, bids, fa_levels, units)

    # --- assemble per block
    input_warn: dict[str, list[str]] = {b: list(data.block_warnings.get(b, ())) for b in bids}
    blocks: dict[str, BlockCI | Failed] = {}
    n_fa_out_combo = (fa_out & pts.combo).sum(axis=1)
    # combination points inside (0, 1) that still get no CI: some (Dx)_j is not a finite
    # positive number (a single-agent curve so flat that its dose overflows at that fa)
    n_no_dx = (pts.combo & (fa > 0) & (fa < 1) & ~pts.valid).sum(axis=1)
    drug_used = pos.any(axis=1)  # (B, K)
    single = pos & (pos.sum(axis=2) == 1)[:, :, None]  # (B, P, K)
    n_used = drug_used.sum(axis=1)
    any_combo = pts.combo.any(axis=1)
    n_extrap = (extrap & pts.valid).sum(axis=1)
    max_fa = np.where(present, fa, -np.inf).max(axis=1)
    for b, bid in enumerate(bids):
        names = drugs_of[b]
        what = f"Chou-Talalay analysis of block {bid}"
        warns = list(input_warn[bid])
        reason = None
        if n_used[b] < 2:
            used = [names[j] for j in range(k) if drug_used[b, j]]
            reason = (
                f"block {bid}: only one drug ({', '.join(used) or 'none'}) has doses > 0; "
                "a combination needs at least two"
            )
        elif len(set(names)) < len(names):
            reason = (
                f"block {bid}: drug names repeat ({', '.join(names)}); give each drug its own name"
            )
        else:
            bad = [j for j in range(k) if drug_used[b, j] and not fits.ok[b * k + j]]
            if bad:
                j = bad[0]
                reason = f"block {bid}: drug {names[j]}: {fits.reason[b * k + j]}"
        if reason is not None:
            blocks[bid] = Failed(reason, what=what)
            input_warn[bid] = warns
            continue
        unit = str(units[b]) if str(units[b]) not in ("nan", "None") else ""
        singles = {
            names[j]: fits.get(b * k + j, label=names[j], unit=unit)
            for j in range(k)
            if drug_used[b, j]
        }
        for f in singles.values():
            warns.extend(f"block {bid}: {w}" for w in f.warnings)
        if n_fa_out_combo[b]:
            warns.append(
                f"block {bid}: {n_fa_out_combo[b]} combination point(s) with fa outside (0, 1) "
                "dropped (no CI)"
            )
        valid = pts.valid[b]
        if n_no_dx[b]:
            warns.append(
                f"block {bid}: {n_no_dx[b]} combination point(s) without a CI: the dose of a "
                "single drug for their fa over- or underflows floating point (a nearly flat "
                "median-effect curve)"
            )
        if max_fa[b] <= 0.01:
            warns.append(
                f"block {bid}: every response is at most 1 %; if they are fractions (0-1) "
                "rather than percentages, multiply them by 100"
            )
        if not any_combo[b]:
            warns.append(f"block {bid}: no combination points (two or more drugs at dose > 0)")
        nex = int(n_extrap[b])
        if nex:
            warns.append(
                f"block {bid}: the CI of {nex} point(s) extrapolates a single-agent curve "
                "beyond its measured fa range"
            )
        mixtures = tuple(mix.get(b, {}).get("results", ()))
        warns.extend(mix.get(b, {}).get("warnings", ()))
        blocks[bid] = BlockCI(
            block_id=bid,
            drugs=names,
            unit=unit,
            single_agents=singles,
            mixtures=mixtures,
            conc=c0[b][valid],
            fa=fa[b][valid],
            ci=pts.ci[b][valid],
            ci_nonexclusive=pts.ci_nonexclusive[b][valid],
            dx=pts.dx[b][valid],
            n=nrep[b][valid],
            extrapolated=extrap[b][valid],
            warnings=tuple(warns),
            single_data={
                names[j]: (c0[b][single[b, :, j], j], fa[b][single[b, :, j]])
                for j in range(k)
                if drug_used[b, j]
            },
        )
    return ChouTalalayResult(
        blocks=blocks,
        drugs={bid: drugs_of[b] for b, bid in enumerate(bids)},
        input_warnings={b: tuple(w) for b, w in input_warn.items()},
    )


def _fit_mixtures(
    groups: pd.DataFrame,
    conc: np.ndarray,
    fa: np.ndarray,
    fits: MedianEffectFits,
    nb: int,
    k: int,
    drugs_of: list[tuple[str, ...]],
    bids: list[str],
    fa_levels: tuple[float, ...],
    units: np.ndarray,
) -> dict[int, dict[str, list]]:
    """Fit every constant-ratio series as a drug and compute its Fa-CI table (vectorised)."""
    out: dict[int, dict[str, list]] = {}
    if groups.empty:
        return out
    gcodes, guniq = pd.factorize(groups["group"], sort=True)
    ng = len(guniq)
    qidx = groups.groupby(gcodes).cumcount().to_numpy()
    nq = int(qidx.max()) + 1
    bp = groups["block"].to_numpy()
    pp = groups["point"].to_numpy()
    c = conc[bp, pp]  # (n, K)
    total = c.sum(axis=1)
    dose = np.full((ng, nq), np.nan)
    dose[gcodes, qidx] = total
    fmix = np.full((ng, nq), np.nan)
    fmix[gcodes, qidx] = fa[bp, pp]
    block_of = np.zeros(ng, dtype=int)
    block_of[gcodes] = bp
    frac = np.zeros((ng, k))
    np.add.at(frac, gcodes, c / total[:, None])
    frac /= np.bincount(gcodes, minlength=ng)[:, None]
    frac = np.where(frac > 0, frac, 0.0)
    present = frac > 0
    mlabels = []
    for g in range(ng):
        names = [drugs_of[block_of[g]][j] for j in range(k) if present[g, j]]
        mlabels.append(f"mixture {'+'.join(names)} (block {bids[block_of[g]]})")
    mfits = fit_median_effect(dose, fmix, labels=mlabels)

    # Fa-CI table for every mixture at once: (G, L, K)
    lev = np.asarray(fa_levels, dtype=float)
    dmix = dx_from_params(mfits.m[:, None], mfits.dm[:, None], lev[None, :])  # (G, L)
    dcomp = dmix[:, :, None] * frac[:, None, :]
    sm = fits.m.reshape(nb, k)[block_of][:, None, :]
    sdm = fits.dm.reshape(nb, k)[block_of][:, None, :]
    sdx = dx_from_params(sm, sdm, lev[None, :, None])
    sdx = np.where(present[:, None, :], sdx, np.nan)
    ci = combination_index(dcomp, np.where(present[:, None, :], sdx, 1.0))
    npres = present.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(present[:, None, :], dcomp / sdx, 1.0)
    ci_ne = np.where((npres == 2)[:, None], ci + u.prod(axis=2), np.nan)
    dri = dose_reduction_index(dcomp, sdx)
    # where a drug's (Dx)_j over- or underflows the CI is undefined (NaN, as for points)
    undefined = ~np.isfinite(ci)
    ci_ne = np.where(undefined, np.nan, ci_ne)
    dri = np.where(undefined[:, :, None], np.nan, dri)
    smin = fits.fa_min.reshape(nb, k)[block_of][:, None, :]
    smax = fits.fa_max.reshape(nb, k)[block_of][:, None, :]
    ext = (
        (present[:, None, :] & ((lev[None, :, None] < smin) | (lev[None, :, None] > smax))).any(
            axis=2
        )
        | (lev[None, :] < mfits.fa_min[:, None])
        | (lev[None, :] > mfits.fa_max[:, None])
    )

    for g in range(ng):
        b = int(block_of[g])
        entry = out.setdefault(b, {"results": [], "warnings": []})
        js = np.flatnonzero(present[g])
        names = tuple(drugs_of[b][j] for j in js)
        fr = frac[g, js]
        ratio = tuple(float(x) for x in fr / fr.min())
        mname = f"{'+'.join(names)} ({':'.join(f'{r:.4g}' for r in ratio)})"
        mf = mfits[g]
        if mf and mf.n < MIN_MIXTURE_LEVELS:
            mf = Failed(
                f"only {mf.n} points with 0 < fa < 1; a mixture needs {MIN_MIXTURE_LEVELS}",
                what="mixture fit",
            )
        if not mf:
            entry["warnings"].append(
                f"block {bids[b]}: constant-ratio mixture {mname} not fitted: {mf.reason}"
            )
            continue
        unit = str(units[b]) if str(units[b]) not in ("nan", "None") else ""
        if not fits.ok[b * k + js].all():
            continue  # the block fails on its single agents; no mixture to report
        singles = tuple(fits.get(b * k + j, label=drugs_of[b][j], unit=unit) for j in js)
        if mf.r < R_WARN or mf.n_dropped:
            entry["warnings"].extend(f"block {bids[b]}: {w}" for w in mf.warnings)
        if undefined[g].any():
            lv = ", ".join(f"{x:g}" for x in lev[undefined[g]])
            entry["warnings"].append(
                f"block {bids[b]}: mixture {mname}: CI at fa {lv} is undefined (a dose over- or "
                "underflows floating point; a nearly flat median-effect curve); reported as null"
            )
        if ext[g].any():
            lv = ", ".join(f"{x:g}" for x in lev[ext[g]])
            entry["warnings"].append(
                f"block {bids[b]}: mixture {mname}: CI at fa {lv} extrapolates beyond the "
                "measured fa range of the mixture or a single drug"
            )
        entry["results"].append(
            MixtureCI(
                drugs=names,
                ratio=ratio,
                fraction=tuple(float(x) for x in fr),
                fit=MedianEffectFit(
                    m=mf.m,
                    dm=mf.dm,
                    r=mf.r,
                    n=mf.n,
                    fa_min=mf.fa_min,
                    fa_max=mf.fa_max,
                    n_dropped=mf.n_dropped,
                    label=f"mixture {mname}",
                    unit=unit,
                ),
                singles=singles,
                fa_levels=tuple(float(x) for x in lev),
                ci=ci[g],
                ci_nonexclusive=ci_ne[g] if len(js) == 2 else None,
                dri=dri[g][:, js],
                extrapolated=ext[g],
                data=(dose[g][np.isfinite(dose[g])], fmix[g][np.isfinite(dose[g])]),
            )
        )
    return out
