"""DNA-content analysis of flow-cytometry data: singlets, debris, sub-G1 and the cell cycle.

The pipeline for one file is

1. find the DNA channel (PI, DNA, DAPI, Hoechst, 7-AAD, FL2-A ...) and its pulse width or
   height partner (:func:`find_dna_channel`);
2. gate singlets: doublets have a larger pulse width, or a smaller height, than a single cell of
   the same DNA area (:func:`gate_singlets`);
3. locate the G1 peak (the lower member of the most prominent peak pair at a ratio near 2, or
   taken from a control file, as FlowJo advises for perturbed samples);
4. fit the histogram of the singlets by the Dean–Jett–Fox model or by Watson's pragmatic model,
   with a debris model, and report phase percentages of the modelled cycling events;
5. count sub-G1 (hypodiploid, apoptotic) events below a gate placed relative to the G1 peak, as
   a percentage of singlets (Nicoletti et al. 1991, J Immunol Methods 139:271).

Models
------
Both models describe the G1 and G2/M populations as Gaussians, G1 at mean ``mu1`` with
coefficient of variation ``cv1``, G2/M at ``L * mu1`` (``L`` the linearity, near 2) with
``cv2 = cv1`` ("shared") or a free ``cv2``.

*Dean–Jett–Fox* (Dean & Jett 1974, J Cell Biol 60:523; Fox 1980, Cytometry 1:71): the S-phase
DNA content is a second-order polynomial between ``mu1`` and ``L mu1``, broadened by Gaussians
whose CV runs linearly from the G1 to the G2 value; all components are fitted together by least
squares to the whole histogram. The polynomial is written in the quadratic Bernstein basis with
non-negative coefficients, so the S-phase density is never negative.

*Watson pragmatic* (Watson, Chambers & Smith 1987, Cytometry 8:1): the SDs and areas of the two
Gaussians (and the debris) are fitted to the outer halves of the peaks only (below the G1 mean,
and from the G2 mean to 3 SD above it), where S-phase cells hardly contribute; the S phase is
then what the histogram holds between the two means once the fitted G1, G2 and debris are
subtracted. No shape is assumed for S. A half peak cannot place its own mean (the mean is where
the half ends), so the peak means are located first by the full Dean–Jett–Fox fit and held.
Watson's model counts the S-phase cells under the outer halves as G1 or G2/M, so it reads S
lower than DJF when S is large.

The S-phase degree is by default chosen per file ("auto"): the lowest of 0 (broadened
rectangle, Fox 1980), 1 (broadened trapezoid) and 2 (Dean & Jett's quadratic) whose fit is not
worse than the quadratic's by the extra-sum-of-squares F test at the 1 % level (Motulsky &
Christopoulos 2004, *Fitting models to biological data using linear and nonlinear regression*,
ch. 22). Extra S coefficients that the data do not ask for trade events with the G2/M peak
when the two overlap, and make the split noisy: on 20,000-event G2/M-arrested files (CV 6 %)
a quadratic fitted to a uniform S misses the split by up to 2.8 points where the rectangle
misses by 1.3. The 1 % level (not 5 %) keeps such needless quadratics to about 1 file in 100;
a linear or mid-S-peaked S density is still recognised (trapezoid, quadratic) on every one of
10 simulated 20,000-event files each. The test presumes that the quadratic fits; when its RCS
exceeds 8 (a synchronised S cohort is no polynomial), the degree with the smallest chi-square
is kept instead and the result carries a note.

*Debris* (Bagwell et al. 1991, Cytometry 12:107, "DNA histogram debris theory and
compensation"; Rabinovitch 1994, Methods Cell Biol 41:263): the single-cut ("sliced
nucleus") model — a nucleus of content ``y`` cut once at a random point gives fragments
uniform on ``(0, y)``, so the debris density at ``x`` is proportional to
``sum_{y > x} H(y) / y``, computed from the histogram itself — plus an exponentially decaying
background ``exp(-x / (tau mu1))`` for the smallest particles.

*Apoptotic (hypodiploid) nuclei*: apoptotic cells lose fragmented DNA and form a broad
sub-G1 hump (Nicoletti et al. 1991; Darzynkiewicz et al. 1992, Cytometry 13:795) that the
debris continuum does not describe (ModFit LT likewise has an Apoptosis component besides
its debris model: Verity Software House, ModFit LT manual, "Model descriptions"). Here it is
a Gaussian of its own, like every peak of the model, with mean ``am T mu1`` and SD
``ar (1 - am) T mu1 / 2``, where ``T = 1 - 2 cv1`` is the foot of the G1 peak, 0.1 <= am <= 0.8
and 0.25 <= ar <= 1 (so its mean + 2 SD stays below the G1 foot), fitted jointly with the cycle
and the debris; the fit first converges without it and then adds it (``_fit_staged``). The
sub-G1 percentage stays a gate count (below), which needs no shape; the component's share of
singlets is reported as ``apoptotic_pct``, and it keeps the hump's events out of G1 and S.

Amplitudes of all components enter linearly and are found by non-negative least squares inside
the non-linear fit of ``(mu1, cv1, L[, cv2], tau)`` (variable projection; Golub & Pereyra 1973,
SIAM J Numer Anal 10:413). Bins are weighted by ``1 / max(count, 1)`` (Neyman's chi-square) and
the goodness of fit is the reduced chi-square, ``chi2 / (bins - parameters)``, the statistic
ModFit and FlowJo report as RCS; bins that are empty where the model expects less than half an
event carry no information and are left out of both sums.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from letrolab._results import Failed
from letrolab.assays.fcs import FcsData, normalize_name, read_fcs
from letrolab.errors import FitError, InputError, LetrolabError

__all__ = [
    "SUMMARY_KEYS",
    "CellCycleBatch",
    "CellCycleResult",
    "SingletGate",
    "analyze_batch",
    "analyze_cell_cycle",
    "find_dna_channel",
    "gate_singlets",
]

_MODELS = ("djf", "watson")
_DNA_TOKENS = ("propidium", "dna", "dapi", "hoechst", "7aad", "draq5", "fxcycle", "vybrant", "pi")


# --------------------------------------------------------------------------------------------
# channels
# --------------------------------------------------------------------------------------------
def _stem_and_kind(key: str) -> tuple[str, str]:
    for suffix, kind in (("area", "a"), ("width", "w"), ("height", "h")):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], kind
    if len(key) > 1 and key[-1] in "awh":
        return key[:-1], key[-1]
    return key, ""


def find_dna_channel(data: FcsData, channel: str | None = None) -> str:
    """Name (``$PnN``) of the DNA-content channel of ``data``.

    With ``channel`` given, it is looked up by ``$PnN`` or ``$PnS`` (case, spaces and punctuation
    ignored). Otherwise the first match, in this order of preference, is taken: a channel whose
    name or label names a DNA dye (propidium iodide, PI, DNA, DAPI, Hoechst, 7-AAD, DRAQ5, FxCycle)
    with an area signal; the same without area; FL2-A (FACSCalibur PI detector).

    Raises
    ------
    InputError
        When no channel can be identified; the message lists the channels.
    """
    if channel is not None:
        return data.find_channel(channel).name
    scored: list[tuple[int, int]] = []
    for c in data.channels:
        for text in (c.label, c.name):
            key = normalize_name(text)
            stem, kind = _stem_and_kind(key)
            words = re.split(r"[\W_]+", text.casefold())
            dye = any(t in key for t in _DNA_TOKENS[:-1]) or "pi" in words or stem == "pi"
            if dye:
                scored.append((0 if kind == "a" else 1 if kind == "" else 3, c.index))
            elif key == "fl2a":
                scored.append((2, c.index))
    if not scored:
        names = ", ".join(c.name + (f" [{c.label}]" if c.label else "") for c in data.channels)
        raise InputError(
            f"cannot tell which channel holds DNA content in {data.path}; "
            f"pass --channel NAME (one of: {names})"
        )
    return data.channels[min(scored)[1]].name


def _partner(data: FcsData, dna: str, kind: str) -> str | None:
    """Width ('w') or height ('h') channel that belongs to the DNA area channel ``dna``."""
    c = data.find_channel(dna)
    for text in (c.name, c.label):
        stem, k = _stem_and_kind(normalize_name(text))
        if k not in ("a", ""):
            continue
        for other in data.channels:
            if other.index == c.index:
                continue
            for otext in (other.name, other.label):
                ostem, okind = _stem_and_kind(normalize_name(otext))
                if ostem == stem and okind == kind:
                    return other.name
    return None


# --------------------------------------------------------------------------------------------
# singlets
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SingletGate:
    """How singlets were chosen.

    ``method`` is "width" (doublets have a larger pulse width than singlets of the same area),
    "height" (a smaller pulse height) or "none". ``intercept``/``slope`` describe the robust line
    ``log(other) = intercept + slope * log(area)`` of singlets; ``limit`` the largest departure
    from it (in natural-log units) that counts as a singlet.
    """

    method: str
    area_channel: str
    other_channel: str | None
    intercept: float = float("nan")
    slope: float = float("nan")
    limit: float = float("nan")
    min_area: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-able dict of the gate: method, channels, fitted line and limit."""
        return {
            "method": self.method,
            "area_channel": self.area_channel,
            "other_channel": self.other_channel,
            "intercept": self.intercept,
            "slope": self.slope,
            "limit": self.limit,
            "min_area": self.min_area,
        }


_MAX_FIT_EVENTS = 200_000


def _thin(idx_or_x: np.ndarray) -> np.ndarray:
    """At most ~200,000 evenly strided elements: enough for robust location and scale
    estimates, and it keeps a million-event analysis well under a second."""
    step = max(1, idx_or_x.shape[0] // _MAX_FIT_EVENTS)
    return idx_or_x[::step]


def _rough_mode(x: np.ndarray) -> float:
    pos = _thin(x[x > 0])
    if pos.size == 0:
        return 0.0
    hi = float(np.percentile(pos, 99.5))
    counts, edges = np.histogram(pos, bins=256, range=(0.0, hi if hi > 0 else 1.0))
    smooth = np.convolve(counts, np.ones(5) / 5.0, mode="same")
    i = int(np.argmax(smooth[2:])) + 2  # skip the pile-up at the lowest channels
    return 0.5 * float(edges[i] + edges[i + 1])


def gate_singlets(
    area: np.ndarray,
    other: np.ndarray | None,
    *,
    method: str = "width",
    k: float = 4.0,
    area_channel: str = "area",
    other_channel: str | None = None,
) -> tuple[np.ndarray, SingletGate]:
    """Boolean mask of singlets from DNA pulse area and pulse width (or height).

    A robust power law ``other = c * area**b`` (a straight line on log scales, with ``b`` kept
    physically plausible) is fitted to the bulk of the cells by trimmed least squares: events
    further than 3 robust SDs from the line are dropped and the line is refitted, five times.
    Log residuals have a robust scale ``s`` (1.4826 x median absolute deviation). An event is a
    doublet when its residual exceeds
    ``k * s`` (width) or falls below ``-k * s`` (height), and its area is at least 0.75 x the
    modal area (smaller particles cannot be doublets of cells and stay in, so that sub-G1
    events are kept). This is the pulse-processing doublet discrimination of Wersto et al.
    (2001, Cytometry 46:296), made automatic.

    Returns
    -------
    mask : numpy.ndarray of bool
    gate : SingletGate
    """
    area = np.asarray(area, dtype=np.float64)
    if method not in ("width", "height", "none"):
        raise InputError(f"singlet method must be 'width', 'height' or 'none', not {method!r}")
    if method == "none" or other is None:
        return np.ones(area.shape, bool), SingletGate("none", area_channel, None)
    other = np.asarray(other, dtype=np.float64)
    if not (np.isfinite(k) and k > 0):
        raise InputError(f"singlet gate width k must be a positive number, not {k!r}")
    mode = _rough_mode(area)
    min_area = 0.75 * mode
    fit = (area >= 0.25 * mode) & (other > 0) & np.isfinite(other) & (area > 0)
    if fit.sum() < 20:
        return np.ones(area.shape, bool), SingletGate("none", area_channel, other_channel)
    sub = _thin(np.flatnonzero(fit))
    la, lo = np.log(area[sub]), np.log(other[sub])
    # power law other = c * area**b on log scales; b is kept within [0, 0.6] (singlet pulse
    # width grows with cell diameter, roughly the cube root of DNA content; b = 1 would be the
    # doublet direction) and the fit is trimmed to 3 robust SDs, five times
    slope = 1.0 / 3.0 if method == "width" else 2.0 / 3.0
    slope_bounds = (0.0, 0.6) if method == "width" else (0.4, 1.0)
    intercept = float(np.median(lo - slope * la))
    keep = np.ones(la.shape, bool)
    scale = 1e-6
    for _ in range(5):
        res = lo - (intercept + slope * la)
        med = float(np.median(res[keep]))
        scale = max(1.4826 * float(np.median(np.abs(res[keep] - med))), 1e-6)
        keep = np.abs(res - med) <= 3.0 * scale
        if keep.sum() < 10:
            break
        xs = la[keep]
        if np.ptp(xs) > 0:  # a slope needs a spread of areas
            ys = lo[keep]
            b = float(np.mean((xs - xs.mean()) * (ys - ys.mean())) / np.var(xs))
            slope = float(np.clip(b, *slope_bounds))
        intercept = float(np.median(lo[keep] - slope * la[keep]))
    with np.errstate(divide="ignore", invalid="ignore"):
        res_all = np.log(other) - (intercept + slope * np.log(area))
    doublet = res_all > k * scale if method == "width" else res_all < -k * scale
    doublet &= area >= min_area
    doublet &= np.isfinite(res_all)
    return ~doublet, SingletGate(
        method,
        area_channel,
        other_channel,
        float(intercept),
        float(slope),
        float(k * scale),
        min_area,
    )


# --------------------------------------------------------------------------------------------
# histogram model
# --------------------------------------------------------------------------------------------
_SQRT2PI = np.sqrt(2.0 * np.pi)
_N_S = 48  # nodes of the S-phase integral


def _gauss_bins(edges: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Probability of each bin under N(mu, sd): (bins, len(mu)), via the normal CDF."""
    from scipy.special import ndtr

    z = (edges[:, None] - mu[None, :]) / sd[None, :]
    cdf = ndtr(z)
    return np.diff(cdf, axis=0)


def _single_cut(counts: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Bagwell single-cut debris shape: D(x_i) ∝ sum_{j > i} H_j / x_j, normalised to sum 1."""
    w = counts / np.maximum(centers, 1e-12)
    tail = np.cumsum(w[::-1])[::-1]
    d = np.concatenate([tail[1:], [0.0]])
    s = d.sum()
    return d / s if s > 0 else d


@dataclass
class _Design:
    edges: np.ndarray
    centers: np.ndarray
    counts: np.ndarray
    fit_mask: np.ndarray
    single_cut: np.ndarray
    apoptosis: bool = True


def _basis(
    theta: dict[str, float], des: _Design, s_degree: int | None
) -> tuple[np.ndarray, list[str]]:
    mu1, cv1, lin, cv2, tau = theta["mu1"], theta["cv1"], theta["L"], theta["cv2"], theta["tau"]
    mu2 = lin * mu1
    sd1, sd2 = cv1 * mu1, cv2 * mu2
    cols = [_gauss_bins(des.edges, np.array([mu1]), np.array([sd1]))[:, 0]]
    cols.append(_gauss_bins(des.edges, np.array([mu2]), np.array([sd2]))[:, 0])
    names = ["G1", "G2"]
    if s_degree is not None:
        from scipy.special import comb

        t = (np.arange(_N_S) + 0.5) / _N_S
        y = mu1 + t * (mu2 - mu1)
        sd = sd1 + t * (sd2 - sd1)  # CV interpolated linearly from G1 to G2 (Fox 1980)
        kern = _gauss_bins(des.edges, y, sd)  # (bins, nodes)
        k = np.arange(s_degree + 1)
        # Bernstein basis of the S-phase polynomial: non-negative coefficients keep the
        # density non-negative; degree 2 is Dean & Jett's quadratic
        bern = comb(s_degree, k) * t[:, None] ** k * (1 - t[:, None]) ** (s_degree - k)
        bern = bern / bern.sum(axis=0, keepdims=True)  # each S basis integrates to one event
        cols.extend(list((kern @ bern).T))
        names += [f"S{i}" for i in k]
    if des.apoptosis:
        # hypodiploid (apoptotic) nuclei: a Gaussian below G1 whose mean + 2 SD stays below
        # the foot of the G1 peak (parametrised by the mean fraction ``am`` and the reach ``ar``)
        mean, sd = _apo_shape(theta["am"], theta["ar"], cv1)
        cols.append(_gauss_bins(des.edges, np.array([mean * mu1]), np.array([sd * mu1]))[:, 0])
        names.append("apoptotic")
    expo = np.exp(-des.centers / (tau * mu1))
    expo_s = expo.sum()
    cols.append(expo / expo_s if expo_s > 0 else expo)
    cols.append(des.single_cut)
    names += ["debris_exp", "debris_cut"]
    return np.stack(cols, axis=1), names


# The apoptotic component is a broad hump well below G1: its mean at most 0.8 x the G1 foot
# and its SD at least an eighth of its distance from that foot. A narrower or higher Gaussian
# could stand in for the G1 peak itself while "G1" moved onto S-phase cells (seen on early-S
# RPE files).
_AM_MAX = 0.8
_AR_MIN = 0.25


def _apo_shape(am: float, ar: float, cv1: float) -> tuple[float, float]:
    """Mean and SD (in G1 units) of the apoptotic component.

    With ``top = 1 - 2 cv1`` (the foot of the G1 peak, 2 SD below its mean), the mean is
    ``am top`` and ``mean + 2 SD = top (am + ar (1 - am))``: at full reach (``ar = 1``) the
    component's 97.7th percentile meets the G1 foot, so it cannot take G1's own left flank
    (seen on wide-CV yeast files when the reach was measured to the G1 mean instead)."""
    top = max(1.0 - 2.0 * cv1, 0.3)
    return am * top, 0.5 * ar * (1.0 - am) * top


def _solve(theta: dict[str, float], des: _Design, mask: np.ndarray, s_degree: int | None):
    from scipy.optimize import nnls

    basis, names = _basis(theta, des, s_degree)
    y = des.counts[mask]
    w = 1.0 / np.sqrt(np.maximum(y, 1.0))
    a_mat = basis[mask] * w[:, None]
    try:
        amp, _ = nnls(a_mat, y * w, maxiter=50 * a_mat.shape[1])
    except RuntimeError:
        amp = np.zeros(a_mat.shape[1])
    resid = (y - basis[mask] @ amp) * w
    return amp, resid, basis, names


_PARAMS = ("mu1", "cv1", "L", "cv2", "tau", "am", "ar")


def _fit(
    des: _Design,
    start: dict[str, float],
    bounds: dict[str, tuple[float, float]],
    *,
    shared_cv: bool,
    s_degree: int | None,
):
    """Variable-projection fit: bounded least squares over the non-linear parameters, the
    component amplitudes solved by NNLS at every step. Returns a :class:`_FitOut` (theta,
    amplitudes, basis, names, mask, reduced chi-square, chi-square and its degrees of
    freedom)."""
    from scipy.optimize import least_squares

    free = [p for p in _PARAMS if not (p == "cv2" and shared_cv) and bounds[p][0] < bounds[p][1]]
    fixed = {p: start[p] for p in _PARAMS if p not in free}

    def unpack(v: np.ndarray) -> dict[str, float]:
        th = dict(fixed)
        th.update(dict(zip(free, v, strict=True)))
        if shared_cv:
            th["cv2"] = th["cv1"]
        return th

    mask = des.fit_mask
    x0 = np.array([np.clip(start[p], *bounds[p]) for p in free])
    res = least_squares(
        lambda v: _solve(unpack(v), des, mask, s_degree)[1],
        x0,
        bounds=(np.array([bounds[p][0] for p in free]), np.array([bounds[p][1] for p in free])),
        x_scale=np.maximum(np.abs(x0), 1e-3),
        xtol=1e-8,
        ftol=1e-8,
        max_nfev=400,
    )
    theta = unpack(res.x)
    amp, resid, basis, names = _solve(theta, des, mask, s_degree)
    n_par = len(free) + int(np.count_nonzero(amp))
    if "apoptotic" in names and amp[names.index("apoptotic")] == 0:
        n_par -= sum(p in free for p in ("am", "ar"))  # shape of an absent component
    # Goodness of fit over the informative bins: a bin that is empty where the model expects
    # (almost) nothing adds nothing to chi-square but would add a degree of freedom, pulling
    # RCS far below 1 for a correct model (half the fit range is empty tails on clean data).
    informative = (des.counts[mask] > 0) | (basis[mask] @ amp >= 0.5)
    dof = int(informative.sum()) - n_par
    chi2 = float(np.sum(resid[informative] ** 2))
    rcs = chi2 / dof if dof > 0 else float("nan")
    return _FitOut(theta, amp, basis, names, mask, rcs, chi2, dof)


@dataclass(frozen=True)
class _FitOut:
    theta: dict[str, float]
    amp: np.ndarray
    basis: np.ndarray
    names: list[str]
    mask: np.ndarray
    rcs: float
    chi2: float
    dof: int


_S_NAMES = {0: "rectangle", 1: "trapezoid", 2: "quadratic"}
# A DJF fit this far from Poisson counting gets a note: on the RPE series only the early-S
# files (3-4 h after release, RCS 20-30) pass it; every other file has RCS below 5.
_RCS_POOR = 8.0
_F_ALPHA = 0.01


def _fit_djf(
    des: _Design,
    start: dict[str, float],
    bounds: dict[str, tuple[float, float]],
    *,
    shared_cv: bool,
    s_degree: int | str,
) -> tuple[_FitOut, int]:
    """The DJF fit with a fixed S-phase degree, or ("auto") the lowest degree from 0 to 2
    that fits as well as the quadratic by the extra-sum-of-squares F test at the 1 % level.

    The Bernstein S bases of degrees 0 (broadened rectangle), 1 (broadened trapezoid) and 2
    (Dean & Jett's quadratic) are nested, so the F test of Motulsky & Christopoulos (2004,
    *Fitting models to biological data*, ch. 22) applies: ``F = ((chi2_d - chi2_2) / (2 - d))
    / (chi2_2 / dof_2)``. A needlessly flexible S trades events with the G2/M peak when the
    two overlap (wide CVs, G2/M-arrested samples) and makes the split noisy.
    """
    from scipy.stats import f as f_dist

    if s_degree != "auto":
        return _fit_staged(des, start, bounds, shared_cv=shared_cv, s_degree=int(s_degree)), int(
            s_degree
        )
    top = max(_S_NAMES)
    full = _fit_staged(des, start, bounds, shared_cv=shared_cv, s_degree=top)
    if not (full.dof > 0 and full.chi2 > 0):
        return full, top
    if "apoptotic" not in full.names:  # the lower degrees keep the staged fit's choice
        des, bounds = _without_apoptosis(des, bounds, full.theta)
    cands = [_fit(des, full.theta, bounds, shared_cv=shared_cv, s_degree=d) for d in range(top)]
    if full.rcs > _RCS_POOR:
        # The F test presumes that the larger model fits; when even the quadratic is far from
        # Poisson counting (a synchronised S cohort), no degree fits and the one with the
        # smallest chi-square is kept (a lower degree can win where the quadratic's optimiser
        # stopped in a worse local minimum).
        fits = [*cands, full]
        best = min(range(top + 1), key=lambda d: fits[d].chi2)
        return fits[best], best
    for d, cand in enumerate(cands):
        f_val = max(cand.chi2 - full.chi2, 0.0) / (top - d) / (full.chi2 / full.dof)
        if f_dist.sf(f_val, top - d, full.dof) >= _F_ALPHA:
            return cand, d
    return full, top


def _without_apoptosis(
    des: _Design, bounds: dict[str, tuple[float, float]], theta: dict[str, float]
) -> tuple[_Design, dict[str, tuple[float, float]]]:
    fixed = {p: (theta[p], theta[p]) for p in ("am", "ar")}
    return replace(des, apoptosis=False), {**bounds, **fixed}


def _fit_staged(
    des: _Design,
    start: dict[str, float],
    bounds: dict[str, tuple[float, float]],
    *,
    shared_cv: bool,
    s_degree: int | None,
) -> _FitOut:
    """Fit the cycle and debris first, then add the apoptotic component from there.

    A Gaussian free to move below G1 gives the least-squares surface extra local minima (it
    can take part of the G1 peak while G1 slides onto S-phase cells); starting it from the
    converged cycle fit avoids them. The fit with the component is kept unless it ends with a
    larger chi-square than the fit without (a stuck optimiser, never a better model)."""
    if not des.apoptosis:
        return _fit(des, start, bounds, shared_cv=shared_cv, s_degree=s_degree)
    des0, bounds0 = _without_apoptosis(des, bounds, start)
    base = _fit(des0, start, bounds0, shared_cv=shared_cv, s_degree=s_degree)
    full = _fit(des, base.theta, bounds, shared_cv=shared_cv, s_degree=s_degree)
    return full if full.chi2 <= base.chi2 else base


def _apoptotic_start(
    centers: np.ndarray, counts: np.ndarray, lo: float, mu0: float, cv0: float
) -> tuple[float, float]:
    """Start of the apoptotic component, ``(am, ar)`` of :func:`_apo_shape`: from the mean and
    SD of the histogram between the fit's lower end and 0.8 x G1 (the sub-G1 region)."""
    sel = (centers >= lo) & (centers <= 0.8 * mu0)
    w = counts[sel]
    if w.sum() <= 0:
        return 0.5, 0.5
    top = max(1.0 - 2.0 * cv0, 0.3)
    m = float(np.average(centers[sel], weights=w)) / mu0
    sd = float(np.sqrt(np.average((centers[sel] / mu0 - m) ** 2, weights=w)))
    am = float(np.clip(m / top, 0.15, _AM_MAX))
    return am, float(np.clip(2.0 * sd / ((1.0 - am) * top), _AR_MIN, 1.0))


# --------------------------------------------------------------------------------------------
# peaks
# --------------------------------------------------------------------------------------------
def _find_g1(x: np.ndarray, lo_ratio: float = 1.7, hi_ratio: float = 2.3) -> tuple[float, float]:
    """G1 mean and CV estimates: the lower member of the strongest peak pair with a ratio near 2.

    The CV comes from the half width at half maximum on the peak's left (outer) side,
    ``sigma = HWHM / sqrt(2 ln 2)``.
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    pos = x[x > 0]
    if pos.size < 50:
        raise FitError(f"only {pos.size} events with positive DNA signal; need at least 50")
    top = float(np.percentile(_thin(pos), 99.5))
    n_bins = 512
    counts, edges = np.histogram(pos, bins=n_bins, range=(0.0, top))
    centers = 0.5 * (edges[1:] + edges[:-1])
    smooth = gaussian_filter1d(counts.astype(float), 3.0)
    peaks, _ = find_peaks(smooth, prominence=max(3.0, 0.02 * smooth.max()))
    peaks = peaks[centers[peaks] > 0.03 * top]
    if peaks.size == 0:
        raise FitError("no peak in the DNA histogram")
    heights = smooth[peaks]
    pairs = [
        (heights[i] + heights[j], -int(p))
        for i, p in enumerate(peaks)
        for j, q in enumerate(peaks)
        if lo_ratio <= centers[q] / centers[p] <= hi_ratio
    ]
    k = -max(pairs)[1] if pairs else int(peaks[int(np.argmax(heights))])
    half = smooth[k] / 2.0
    left = k
    while left > 0 and smooth[left] > half:
        left -= 1
    hwhm = max(centers[k] - centers[left], centers[1] - centers[0])
    cv = float(np.clip(hwhm / np.sqrt(2.0 * np.log(2.0)) / centers[k], 0.01, 0.3))
    return float(centers[k]), cv


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
#: Keys of one file's entry in ``letrolab cellcycle --json`` (the issue-7 contract), in order.
SUMMARY_KEYS = (
    "file",
    "events",
    "singlets",
    "sub_g1_pct",
    "g1_pct",
    "s_pct",
    "g2m_pct",
    "g1_mean",
    "g2_mean",
    "g2_g1_ratio",
    "g1_cv",
    "rcs",
    "model",
)


@dataclass(frozen=True, eq=False)
class CellCycleResult:
    """Cell-cycle and sub-G1 analysis of one FCS file.

    Percentages: ``g1_pct + s_pct + g2m_pct = 100`` (of the modelled cycling events);
    ``sub_g1_pct`` (gate count) and ``apoptotic_pct`` (the fitted apoptotic component) are
    percentages of singlets. ``apoptotic_pct`` is the whole fitted Gaussian, including its
    extrapolation below the fit range (about 1.3 of 21 points on a 25 % sub-G1 hump), whereas
    ``debris_pct`` counts the debris inside the fit range only. ``g1_cv``/``g2_cv`` are in
    percent. ``s_degree`` is the degree of
    the DJF S-phase polynomial used (0 rectangle, 1 trapezoid, 2 quadratic; None for Watson).
    """

    file: str
    model: str
    channel: str
    events: int
    singlets: int
    sub_g1_pct: float
    g1_pct: float
    s_pct: float
    g2m_pct: float
    g1_mean: float
    g2_mean: float
    g2_g1_ratio: float
    g1_cv: float
    g2_cv: float
    rcs: float
    debris_pct: float
    apoptotic_pct: float
    sub_g1_gate: tuple[float, float]
    singlet_gate: SingletGate
    cv_mode: str
    control: str | None = None
    well: str | None = None
    notes: tuple[str, ...] = ()
    s_degree: int | None = None
    edges: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    counts: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    components: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    fit_mask: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return True

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: the ``letrolab cellcycle --json`` entry, then details."""
        out: dict[str, Any] = {k: getattr(self, k) for k in SUMMARY_KEYS}
        out.update(
            {
                "channel": self.channel,
                "g2_cv": self.g2_cv,
                "cv_mode": self.cv_mode,
                "debris_pct": self.debris_pct,
                "apoptotic_pct": self.apoptotic_pct,
                "sub_g1_gate": list(self.sub_g1_gate),
                "singlet_gate": self.singlet_gate.summary(),
                "control": self.control,
                "well": self.well,
                "s_degree": self.s_degree,
                "notes": list(self.notes),
            }
        )
        return out

    def report(self) -> str:
        """Text report in the style of a ModFit/FlowJo cell-cycle table."""
        name = Path(self.file).name
        lines = [
            f"{name}: {self.model.upper()} fit of {self.channel} ({self.cv_mode} CV), "
            f"{self.singlets}/{self.events} singlets ({self.singlet_gate.method} gate)",
            f"  sub-G1 {self.sub_g1_pct:6.2f} % of singlets "
            f"(gate {self.sub_g1_gate[0]:.4g}-{self.sub_g1_gate[1]:.4g}); debris {self.debris_pct:.2f} %; "
            f"apoptotic component {self.apoptotic_pct:.2f} %",
            f"  G1 {self.g1_pct:6.2f} %   S {self.s_pct:6.2f} %   G2/M {self.g2m_pct:6.2f} %",
            f"  G1 mean {self.g1_mean:.4g} (CV {self.g1_cv:.2f} %), G2 mean {self.g2_mean:.4g} "
            f"(CV {self.g2_cv:.2f} %), G2/G1 {self.g2_g1_ratio:.3f}, RCS {self.rcs:.2f}"
            + (
                f", S {_S_NAMES.get(self.s_degree, f'degree {self.s_degree}')}"
                if self.s_degree is not None
                else ""
            ),
        ]
        if self.control:
            lines.append(f"  G1 position guided by control {Path(self.control).name}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_frame(self) -> Any:
        """Histogram and fitted components, one row per bin (pandas DataFrame)."""
        import pandas as pd

        cols = {
            "lower": self.edges[:-1],
            "upper": self.edges[1:],
            "count": self.counts,
            "fitted": self.fit_mask,
        }
        cols.update(self.components)
        return pd.DataFrame(cols)


def _well(data: FcsData) -> str | None:
    """Plate well of a file, from the keywords plate-based cytometers write."""
    for key in ("$WELLID", "WELL ID", "WELLID", "$WELL", "WELL"):
        val = data.keywords.get(key)
        if val:
            return val
    return None


def _failed(file: str, reason: str) -> Failed:
    return Failed(reason, what=f"cell-cycle analysis of {file}")


# --------------------------------------------------------------------------------------------
# analysis
# --------------------------------------------------------------------------------------------
def _check_options(model: str, cv: str) -> None:
    if model not in _MODELS:
        raise InputError(f"model must be one of {', '.join(_MODELS)}, not {model!r}")
    if cv not in ("shared", "free"):
        raise InputError(f"cv must be 'shared' or 'free', not {cv!r}")


def _load(source: str | os.PathLike | FcsData) -> FcsData:
    return source if isinstance(source, FcsData) else read_fcs(source)


def analyze_cell_cycle(
    source: str | os.PathLike | FcsData,
    *,
    channel: str | None = None,
    model: str = "djf",
    cv: str = "shared",
    control: str | os.PathLike | FcsData | CellCycleResult | None = None,
    singlets: str = "auto",
    singlet_k: float = 4.0,
    g1_tolerance: float = 0.15,
    sub_g1_sigmas: float = 3.0,
    sub_g1_floor: float = 0.05,
    linearity: tuple[float, float] = (1.75, 2.2),
    fit_from: float = 0.2,
    s_degree: int | str = "auto",
    apoptosis: bool = True,
) -> CellCycleResult | Failed:
    """Cell-cycle phases and sub-G1 fraction of one FCS file.

    Parameters
    ----------
    source : path or FcsData
        The FCS file.
    channel : str, optional
        DNA channel by ``$PnN`` or ``$PnS``; detected when omitted (:func:`find_dna_channel`).
    model : {"djf", "watson"}
        Dean–Jett–Fox or Watson pragmatic (see the module docstring).
    cv : {"shared", "free"}
        G2/M peak CV equal to the G1 CV, or fitted separately.
    control : path, FcsData or CellCycleResult, optional
        Control sample (untreated, asynchronous): its G1 mean and G2/G1 ratio start the fit and
        the G1 mean is kept within ``g1_tolerance`` of the control's. Use it for samples whose
        G1 peak is small or missing (arrested, synchronised, drug-treated).
    singlets : {"auto", "width", "height", "none"}
        Doublet discrimination on DNA area vs width or height ("auto": width if the file has
        it, else height, else none).
    singlet_k : float
        Doublet threshold in robust SDs of the relative residual (:func:`gate_singlets`).
    g1_tolerance : float
        Allowed relative departure of the G1 mean from its starting estimate (0.15 = ±15 %).
    sub_g1_sigmas : float
        The sub-G1 gate's upper edge is ``G1 mean x (1 - sub_g1_sigmas x G1 CV)``.
    sub_g1_floor : float
        The gate's lower edge as a fraction of the G1 mean (excludes the zero pile-up and noise).
    linearity : (float, float)
        Bounds of the G2/G1 ratio.
    s_degree : "auto" or int
        Degree of the S-phase polynomial of the DJF model: 2 is Dean & Jett's quadratic, 1 a
        broadened trapezoid, 0 a broadened rectangle (Fox 1980); "auto" (default) takes the
        lowest of 0-2 that the F test cannot tell from the quadratic (module docstring).
        Higher degrees allow more S shapes (a narrow cohort of synchronised cells in early S
        is still no polynomial: prefer Watson's model there).
    apoptosis : bool
        Fit the apoptotic (hypodiploid) Gaussian component below G1 (module docstring).
    fit_from : float
        The histogram is fitted from ``fit_from x G1 mean`` up to ``2.75 x G1 mean`` (the debris
        model covers the region below G1; events above the range, such as aggregates, are left
        out of the cycle model but stay among the singlets).

    Returns
    -------
    CellCycleResult, or Failed (falsy, says why) when the histogram cannot be fitted.

    Raises
    ------
    InputError, FormatError
        Bad options, an unreadable file, or no identifiable DNA channel.

    Examples
    --------
    A virtual PI measurement with known truth (60 % G1, 25 % S, 15 % G2/M, 5 % sub-G1):

    >>> import pathlib, tempfile
    >>> from letrolab.instruments.flow import PI_CHANNELS, simulate_dna_content, write_fcs
    >>> ev = simulate_dna_content(20_000, g1=0.6, s=0.25, g2m=0.15, sub_g1=0.05, rng=0)
    >>> p = write_fcs(pathlib.Path(tempfile.mkdtemp()) / "pi.fcs", ev, channels=PI_CHANNELS)
    >>> res = analyze_cell_cycle(p)
    >>> round(res.g1_pct), round(res.s_pct), round(res.g2m_pct), round(res.sub_g1_pct)
    (60, 25, 15, 5)
    """
    _check_options(model, cv)
    for nm, val in (("g1_tolerance", g1_tolerance), ("sub_g1_sigmas", sub_g1_sigmas)):
        if not (np.isfinite(val) and val > 0):
            raise InputError(f"{nm} must be a positive number, not {val!r}")
    if not (0 <= sub_g1_floor < 1):
        raise InputError(f"sub_g1_floor must be in [0, 1), not {sub_g1_floor!r}")
    if not (
        s_degree == "auto"
        or (
            isinstance(s_degree, (int, np.integer))
            and not isinstance(s_degree, bool)
            and 0 <= s_degree <= 6
        )
    ):
        raise InputError(f"s_degree must be 'auto' or an integer from 0 to 6, not {s_degree!r}")
    if not isinstance(apoptosis, (bool, np.bool_)):
        raise InputError(f"apoptosis must be True or False, not {apoptosis!r}")
    if not (0.0 <= fit_from < 0.9):
        raise InputError(
            f"fit_from must be in [0, 0.9) (a fraction of the G1 mean), not {fit_from!r}"
        )
    if not (1.0 < linearity[0] < linearity[1]):
        raise InputError(f"linearity bounds must satisfy 1 < low < high, not {linearity!r}")
    data = _load(source)
    dna = find_dna_channel(data, channel)
    x_all = np.asarray(data.channel(dna), dtype=np.float64)
    if not np.all(np.isfinite(x_all)):
        raise InputError(f"{data.path}: DNA channel {dna} holds NaN or infinite values")

    # singlets
    if singlets not in ("auto", "width", "height", "none"):
        raise InputError(f"singlets must be 'auto', 'width', 'height' or 'none', not {singlets!r}")
    method, other_name = "none", None
    if singlets in ("auto", "width"):
        other_name = _partner(data, dna, "w")
        method = "width" if other_name else "none"
    if other_name is None and singlets in ("auto", "height"):
        other_name = _partner(data, dna, "h")
        method = "height" if other_name else "none"
    if singlets in ("width", "height") and other_name is None:
        raise InputError(
            f"{data.path}: no pulse {singlets} channel belongs to {dna}; use singlets='auto' or 'none'"
        )
    other = np.asarray(data.channel(other_name), dtype=np.float64) if other_name else None
    mask, gate = gate_singlets(
        x_all, other, method=method, k=singlet_k, area_channel=dna, other_channel=other_name
    )
    x = x_all[mask]
    n_sing = int(x.size)
    notes: list[str] = []

    # starting point
    ctrl_res: CellCycleResult | None = None
    ctrl_label: str | None = None
    if control is not None:
        if isinstance(control, CellCycleResult):
            ctrl_res = control
        else:
            c = analyze_cell_cycle(
                control,
                channel=channel,
                model=model,
                cv=cv,
                singlets=singlets,
                singlet_k=singlet_k,
                sub_g1_sigmas=sub_g1_sigmas,
                sub_g1_floor=sub_g1_floor,
                linearity=linearity,
                fit_from=fit_from,
                s_degree=s_degree,
                apoptosis=apoptosis,
            )
            if not c:
                raise InputError(f"control could not be analysed: {c.reason}")
            ctrl_res = c
        ctrl_label = ctrl_res.file
    try:
        if ctrl_res is not None:
            mu0, lin0, cv0 = ctrl_res.g1_mean, ctrl_res.g2_g1_ratio, ctrl_res.g1_cv / 100.0
        else:
            (mu0, cv0), lin0 = _find_g1(x), 1.95
    except FitError as exc:
        return _failed(data.path, str(exc).split(": ", 1)[-1])

    # histogram: bins of at least the data quantum, ~ mu0/60 wide, up to 2.75 x G1
    upper = mu0 * max(2.75, linearity[1] + 0.5)
    quantum = 1.0 if np.all(x[: min(x.size, 5000)] == np.round(x[: min(x.size, 5000)])) else 0.0
    width = mu0 / 60.0
    if quantum:
        width = max(1.0, float(np.round(width)))
    n_bins = int(np.ceil(upper / width))
    edges = np.arange(n_bins + 1) * width
    if quantum:
        edges = edges - 0.5  # integer channels sit at bin centres
    # uniform bins: the range form takes NumPy's fast path
    counts = np.histogram(x, bins=n_bins, range=(float(edges[0]), float(edges[-1])))[0]
    counts = counts.astype(np.float64)
    centers = 0.5 * (edges[1:] + edges[:-1])
    fit_lo = fit_from * mu0
    fit_mask = centers >= fit_lo
    if counts[fit_mask].sum() < 200:
        return _failed(data.path, f"only {int(counts[fit_mask].sum())} singlets in the fit range")
    des = _Design(edges, centers, counts, fit_mask, _single_cut(counts, centers), apoptosis)

    am0, ar0 = _apoptotic_start(centers, counts, fit_lo, mu0, cv0)
    start = {
        "mu1": mu0,
        "cv1": float(np.clip(cv0, 0.01, 0.25)),
        "L": lin0,
        "cv2": cv0,
        "tau": 0.15,
        "am": am0,
        "ar": ar0,
    }
    bounds = {
        "mu1": (mu0 * (1 - g1_tolerance), mu0 * (1 + g1_tolerance)),
        "cv1": (0.005, 0.35),
        "L": (linearity[0], linearity[1]),
        "cv2": (0.005, 0.35),
        "tau": (0.02, 1.0),
        "am": (0.1, _AM_MAX) if apoptosis else (am0, am0),
        "ar": (_AR_MIN, 1.0) if apoptosis else (ar0, ar0),
    }
    start["L"] = float(np.clip(start["L"], *bounds["L"]))
    shared = cv == "shared"
    try:
        # the full Dean-Jett-Fox fit locates both peaks; Watson's model then refits the peaks
        # on their outer halves only (to 3 SD beyond the mean, so aggregates above G2 stay out)
        djf, s_used = _fit_djf(des, start, bounds, shared_cv=shared, s_degree=s_degree)
        theta, amp, basis, names, mask_used, rcs = (
            djf.theta,
            djf.amp,
            djf.basis,
            djf.names,
            djf.mask,
            djf.rcs,
        )
        if model == "watson":
            # Watson's pragmatic model: the peak means stay where the full fit put them, the
            # SDs and areas come from the outer halves (below the G1 mean, and from the G2
            # mean to 3 SD above it, so aggregates beyond G2 stay out)
            mu1_f, mu2_f = theta["mu1"], theta["L"] * theta["mu1"]
            right = (centers >= mu2_f) & (centers <= mu2_f * (1 + 3 * theta["cv2"]))
            outer_mask = fit_mask & ((centers <= mu1_f) | right)
            wbounds = dict(
                bounds,
                mu1=(mu1_f, mu1_f),
                L=(theta["L"], theta["L"]),
                am=(theta["am"], theta["am"]),
                ar=(theta["ar"], theta["ar"]),
            )
            # the apoptotic component, if the DJF stage kept it, with its shape held
            des_w = replace(des, fit_mask=outer_mask, apoptosis="apoptotic" in names)
            wat = _fit(des_w, theta, wbounds, shared_cv=shared, s_degree=None)
            theta, amp, basis, names, mask_used, rcs = (
                wat.theta,
                wat.amp,
                wat.basis,
                wat.names,
                wat.mask,
                wat.rcs,
            )
    except (ValueError, np.linalg.LinAlgError) as exc:
        return _failed(data.path, f"histogram fit did not converge ({exc})")

    comp = {n: basis[:, i] * amp[i] for i, n in enumerate(names)}
    mu1, lin = theta["mu1"], theta["L"]
    mu2 = lin * mu1
    g1 = float(amp[names.index("G1")])
    g2 = float(amp[names.index("G2")])
    debris = comp["debris_exp"] + comp["debris_cut"]
    if model == "djf":
        s_names = [n for n in names if re.fullmatch(r"S\d+", n)]
        s = float(sum(amp[names.index(n)] for n in s_names))
        comp["S"] = sum(comp.pop(n) for n in s_names)
    else:
        between = (centers > mu1) & (centers < mu2)
        resid = counts - comp["G1"] - comp["G2"] - debris - comp.get("apoptotic", 0.0)
        s = float(resid[between].sum())
        s_curve = np.where(between, resid, 0.0)
        comp["S"] = s_curve
        if s < 0:
            notes.append(f"S-phase residual was negative ({s:.1f} events); S set to 0")
            s = 0.0
    comp["debris"] = debris
    comp.pop("debris_exp")
    comp.pop("debris_cut")
    apo = comp.get("apoptotic", np.zeros_like(counts))
    comp["model"] = comp["G1"] + comp["G2"] + comp["S"] + debris + apo
    total = g1 + s + g2
    if not (total > 0) or g1 <= 0:
        return _failed(data.path, "no G1 population in the fitted model")
    at_bound = [
        p
        for p in ("mu1", "L")
        if np.isclose(theta[p], bounds[p][0], rtol=1e-4)
        or np.isclose(theta[p], bounds[p][1], rtol=1e-4)
    ]
    if at_bound:
        notes.append(f"fit stopped at a bound of {', '.join(at_bound)}; check the G1 position")
    if model == "djf" and rcs > _RCS_POOR:
        notes.append(
            f"RCS {rcs:.1f}: the S phase is no low-degree polynomial here (a synchronised "
            "cohort?); Watson's model assumes no S shape"
        )
    cv1 = theta["cv1"]
    lo_gate = sub_g1_floor * mu1
    hi_gate = mu1 * (1.0 - sub_g1_sigmas * cv1)
    if hi_gate <= lo_gate:
        hi_gate = lo_gate
        notes.append("G1 CV too wide for a sub-G1 gate; sub-G1 reported as 0")
    sub = int(np.count_nonzero((x >= lo_gate) & (x < hi_gate)))
    return CellCycleResult(
        file=data.path,
        model=model,
        channel=dna,
        events=int(data.n_events),
        singlets=n_sing,
        sub_g1_pct=100.0 * sub / n_sing if n_sing else float("nan"),
        g1_pct=100.0 * g1 / total,
        s_pct=100.0 * s / total,
        g2m_pct=100.0 * g2 / total,
        g1_mean=float(mu1),
        g2_mean=float(mu2),
        g2_g1_ratio=float(lin),
        g1_cv=100.0 * float(cv1),
        g2_cv=100.0 * float(theta["cv2"]),
        rcs=float(rcs),
        debris_pct=100.0 * float(debris[fit_mask].sum()) / n_sing if n_sing else float("nan"),
        apoptotic_pct=100.0 * float(apo.sum()) / n_sing if n_sing else float("nan"),
        sub_g1_gate=(float(lo_gate), float(hi_gate)),
        singlet_gate=gate,
        cv_mode=cv,
        control=ctrl_label,
        well=_well(data),
        notes=tuple(notes),
        s_degree=s_used if model == "djf" else None,
        edges=edges,
        counts=counts,
        components=comp,
        fit_mask=mask_used,
    )


# --------------------------------------------------------------------------------------------
# batch
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CellCycleBatch:
    """Results of many files; failed files are kept as :class:`Failed` with their reason."""

    results: tuple[CellCycleResult | Failed, ...]
    files: tuple[str, ...]

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(file, reason) of every file that could not be analysed."""
        return [(f, r.reason) for f, r in zip(self.files, self.results, strict=True) if not r]

    def summary(self) -> dict[str, Any]:
        """``{"files": [...]}`` with one entry per analysed file, and the failures."""
        return {
            "files": [r.summary() for r in self.results if r],
            "errors": [{"file": f, "error": e} for f, e in self.failed],
        }

    def report(self) -> str:
        """Text: each file's report, or its failure reason."""
        parts = [
            r.report() if r else f"FAILED: {r.reason if f in r.reason else f'{f}: {r.reason}'}"
            for f, r in zip(self.files, self.results, strict=True)
        ]
        return "\n".join(parts)

    def to_frame(self) -> Any:
        """One row per file (the summary keys), failed files with an ``error`` column."""
        import pandas as pd

        rows = []
        for f, r in zip(self.files, self.results, strict=True):
            if r:
                row = {k: getattr(r, k) for k in SUMMARY_KEYS}
                row.update(
                    well=r.well,
                    channel=r.channel,
                    debris_pct=r.debris_pct,
                    apoptotic_pct=r.apoptotic_pct,
                    g2_cv=r.g2_cv,
                    error=None,
                )
            else:
                row = {"file": f, "error": r.reason}
            rows.append(row)
        return pd.DataFrame(rows)


def _natural_key(p: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.casefold() for t in re.split(r"(\d+)", p.name)]


def _expand(paths: Iterable[str | os.PathLike]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = [
                f
                for f in path.iterdir()
                if f.is_file() and not f.name.startswith(".") and _looks_like_fcs(f)
            ]
            if not files:
                raise InputError(f"folder {path} holds no FCS files")
            out.extend(sorted(files, key=_natural_key))
        else:
            out.append(path)
    if not out:
        raise InputError("no FCS files given")
    return out


def _looks_like_fcs(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(3) == b"FCS"
    except OSError:
        return False


def analyze_batch(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    *,
    control: str | os.PathLike | FcsData | None = None,
    **options: Any,
) -> CellCycleBatch:
    """Analyse many files (or every FCS file in a folder or plate export) with the same options.

    A file that cannot be read or fitted becomes a :class:`Failed` entry naming the reason; the
    others are analysed. The control, when given, is analysed once and guides every file.
    ``options`` are those of :func:`analyze_cell_cycle`.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = _expand(paths)
    unknown = set(options) - {
        "channel",
        "model",
        "cv",
        "singlets",
        "singlet_k",
        "g1_tolerance",
        "sub_g1_sigmas",
        "sub_g1_floor",
        "linearity",
        "fit_from",
        "s_degree",
        "apoptosis",
    }
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(sorted(unknown))} for analyze_batch")
    # a bad model or CV choice is one error for the batch, not the same error for every file
    _check_options(options.get("model", "djf"), options.get("cv", "shared"))
    ctrl: CellCycleResult | None = None
    if control is not None:
        c = analyze_cell_cycle(control, **options)
        if not c:
            raise InputError(f"control could not be analysed: {c.reason}")
        ctrl = c
    results: list[CellCycleResult | Failed] = []
    for f in files:
        try:
            results.append(analyze_cell_cycle(f, control=ctrl, **options))
        except (LetrolabError, OSError) as exc:
            msg = (
                " ".join(str(exc).split())
                if isinstance(exc, LetrolabError)
                else f"{exc.strerror}: {f}"
            )
            results.append(_failed(str(f), msg))
    return CellCycleBatch(tuple(results), tuple(str(f) for f in files))
