"""DNA-content analysis of flow-cytometry data: singlets, debris, sub-G1 and the cell cycle.

The pipeline for one file (:func:`analyze_cell_cycle`, options in one :class:`CycleOptions`
record) is a chain of named stages:

1. :func:`choose_channel`: the DNA channel (a dye name: PI, DAPI, Hoechst, DRAQ5, 7-AAD ...;
   else the only fluorescence area channel with a pulse-width partner, FL3-A/FL3-W; else
   FL2-A; else the only area/height pair, "FL3 INT LIN"/"FL3 PEAK LIN") and its pulse partner,
   with the reason for the choice;
2. off-scale events, at the first channel (<= 0) or the last (>= ``$PnR`` - 1), are excluded
   from every count and fit and reported (:class:`OffScale`); more than 5 % is a warning, and
   a G2/M peak placed beyond ``$PnR`` is refused;
3. :func:`gate_singlets`: doublets have a larger pulse width, or a smaller height, than a
   single cell of the same DNA area;
4. :func:`locate_g1`: the lower member of the most prominent peak pair at a ratio near 2, or
   the control file's G1, as FlowJo advises for perturbed samples;
5. :func:`find_second_population`: a second G0/G1 peak that is not at 2x a G1 (an aneuploid
   cycle with its own G2/M peak, or a reference standard named with ``standard=``); it is
   modelled, as a second cycle with its DNA index (ModFit's aneuploid model) or as a lone
   Gaussian, and never folded into S;
6. :func:`fit_djf` and, for Watson's model, :func:`fit_watson`: the histogram of the singlets
   with a debris model; phase percentages of the modelled cycling events;
7. count sub-G1 (hypodiploid, apoptotic) events below a gate placed relative to the G1 peak, as
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

*G2/G1 ratio* (issue 15): bounded by default to 1.9-2.05 (:data:`LINEARITY_RANGE`; ModFit's
linearity setting, and what cytometers show for PI), because a free ratio lets a sloped S phase
absorb the G2/M peak (a FACSCalibur file gave 6 % G2/M at G2/G1 = 2.20 free, 18 % bounded).
``linearity="free"`` (1.75-2.2), ``"fixed=X"`` or ``"range=A:B"`` change it. The data can
"argue otherwise": when the chosen degree refitted with the free ratio is better by ΔAIC > 10
*and* describes the histogram (RCS < 8), the free fit is kept with a note (the 5 h RPE file,
G2/G1 1.785, RCS 1.0 free vs 3.2 bounded). Every DJF result also carries its alternatives
(the three S degrees, and a free-ratio refit when the ratio stopped at a bound); when those within ΔAIC 2 of the best (Burnham
& Anderson 2002, sec. 2.6) differ by more than 3 points in any phase, the result warns and
reports the range (``phase_range``).

*Choice of the S-shape rule* (``benchmarks/cellcycle_shape_study.py``, re-runnable): 200
synthetic histograms (S uniform, trapezoid or quadratic; CV 3-7 %; G2/M 3-30 %; S 10-45 %;
20,000 events), each fitted with the bounded ratio, each rule's pick scored by its largest
phase error against the truth (full table in benchmarks/RESULTS.md). Mean / 95th percentile
error, share of histograms off by more than 2 points: F test at 1 % 0.63 / 1.53 / 3.5 %; least
AIC 0.69 / 1.68 / 3.5 %; least BIC 0.64 / 1.48 / 3.0 %; always rectangle 2.53 / 6.62 / 54.5 %
(3.05 and 4.11 mean on trapezoid and quadratic S); always quadratic 0.82 / 1.88 / 4.0 %.
Under the 1.9-2.05 bound no rule can move G2/M onto the S phase by stretching the ratio, which
is what made the F test trade G2 for S on real files. With the bound, the F test at 1 % and
least BIC are equally good (0.63 vs 0.64 mean) and better than AIC, which picks needless
quadratics on uniform S; the F test is kept as default (the choice earlier results rest on).

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
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from letrolab._results import Failed
from letrolab.assays.fcs import FcsData, FCSRepair, normalize_name, read_fcs
from letrolab.errors import FitError, InputError, LetrolabError
from letrolab.peaks import find_peaks, peak_widths
from letrolab.peaks import smooth as smooth_profile

__all__ = [
    "LINEARITY_RANGE",
    "SUMMARY_KEYS",
    "CellCycleBatch",
    "CellCycleResult",
    "ChannelChoice",
    "CycleFit",
    "CycleOptions",
    "FitParams",
    "G1Start",
    "Histogram",
    "Linearity",
    "OffScale",
    "Phases",
    "SecondPopulation",
    "SingletGate",
    "analyze_batch",
    "analyze_cell_cycle",
    "choose_channel",
    "find_dna_channel",
    "find_second_population",
    "fit_djf",
    "fit_watson",
    "gate_singlets",
    "locate_g1",
]

_MODELS = ("djf", "watson")
_DNA_TOKENS = ("propidium", "dna", "dapi", "hoechst", "7aad", "draq5", "fxcycle", "vybrant", "pi")


# --------------------------------------------------------------------------------------------
# channels
# --------------------------------------------------------------------------------------------
# Pulse-shape words of cytometer channel names: INT/PEAK are the integral (area) and peak
# (height) of a pulse on Beckman and older BD instruments ("FL3 INT LIN", "FL3 PEAK LIN");
# LIN/LOG name the amplifier and carry no pulse information.
_KIND_WORDS = (("area", "a"), ("width", "w"), ("height", "h"), ("int", "a"), ("peak", "h"))
_KIND_NAMES = {"a": "area", "w": "width", "h": "height", "": "unspecified pulse"}
_SCATTER = ("fsc", "ssc", "time", "fs", "ss")


def _stem_and_kind(key: str) -> tuple[str, str]:
    for amp in ("lin", "log"):
        if key.endswith(amp) and len(key) > len(amp) + 1:
            key = key[: -len(amp)]
    for suffix, kind in _KIND_WORDS:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], kind
    if len(key) > 1 and key[-1] in "awh":
        return key[:-1], key[-1]
    return key, ""


@dataclass(frozen=True)
class ChannelChoice:
    """The DNA channel of a file, its pulse partner for the singlet gate, and why.

    ``partner_kind`` is "width", "height" or "none"; ``reason`` is one sentence naming the rule
    that chose the channel (a dye name, an area/width pair, FL2-A, or the user's choice).
    """

    name: str
    partner: str | None
    partner_kind: str
    reason: str


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


def _dye_rank(data: FcsData) -> list[tuple[int, int, str]]:
    """(rank, channel index, why) of every channel whose name or label names a DNA dye."""
    scored: list[tuple[int, int, str]] = []
    for c in data.channels:
        for text in (c.label, c.name):
            key = normalize_name(text)
            stem, kind = _stem_and_kind(key)
            words = re.split(r"[\W_]+", text.casefold())
            if any(t in key for t in _DNA_TOKENS[:-1]) or "pi" in words or stem == "pi":
                rank = 0 if kind == "a" else 1 if kind == "" else 6
                why = f"{text!r} names a DNA dye ({_KIND_NAMES[kind]} signal)"
                scored.append((rank, c.index, why))
    return scored


def _pair_rank(data: FcsData) -> list[tuple[int, int, str]]:
    """Fluorescence area channels with a width (rank 2) or height (rank 4) partner."""
    scored: list[tuple[int, int, str]] = []
    for c in data.channels:
        stem, kind = _stem_and_kind(normalize_name(c.name))
        if kind != "a" or stem.startswith(_SCATTER):
            continue
        for k, rank in (("w", 2), ("h", 4)):
            other = _partner(data, c.name, k)
            if other is not None:
                why = (
                    f"area channel with a pulse-{_KIND_NAMES[k]} partner {other} "
                    "(the doublet-discrimination pair)"
                )
                scored.append((rank, c.index, why))
                break
    widths = [s for s in scored if s[0] == 2]
    heights = [s for s in scored if s[0] == 4]
    # every channel of a modern cytometer has A and H: an A/H pair is evidence only if unique
    return (
        widths
        if len(widths) == 1
        else ([] if len(widths) > 1 else heights[:1] if len(heights) == 1 else [])
    )


def choose_channel(
    data: FcsData, channel: str | None = None, singlets: str = "auto"
) -> ChannelChoice:
    """The DNA-content channel of ``data``, its singlet-gate partner, and the reason.

    With ``channel`` given it is looked up by ``$PnN`` or ``$PnS``. Otherwise, in this order:
    a channel whose name or label names a DNA dye (propidium iodide, PI, DNA, DAPI, Hoechst,
    7-AAD, DRAQ5, FxCycle) with an area signal, then without a pulse suffix; the only
    fluorescence area channel with a pulse-width partner (FL3-A/FL3-W, "FL3 INT LIN" with
    "FL3 WIDTH"), as a doublet-discrimination pair marks the DNA channel on instruments that
    record width for one detector only; FL2-A (the FACSCalibur PI detector); the only area
    channel with a height partner ("FL3 INT LIN"/"FL3 PEAK LIN").

    ``singlets`` ("auto", "width", "height", "none") selects the partner kind.

    Raises
    ------
    InputError
        No channel can be identified (the message lists the channels), or the requested
        partner kind does not exist.
    """
    if singlets not in ("auto", "width", "height", "none"):
        raise InputError(f"singlets must be 'auto', 'width', 'height' or 'none', not {singlets!r}")
    if channel is not None:
        name, why = data.find_channel(channel).name, "chosen by the user"
    else:
        scored = _dye_rank(data) + _pair_rank(data)
        scored += [
            (3, c.index, "FL2-A, the FACSCalibur PI detector")
            for c in data.channels
            if normalize_name(c.name) == "fl2a"
        ]
        if not scored:
            names = ", ".join(c.name + (f" [{c.label}]" if c.label else "") for c in data.channels)
            raise InputError(
                f"cannot tell which channel holds DNA content in {data.path}; "
                f"pass --channel NAME (one of: {names})"
            )
        _, idx, why = min(scored)
        name = data.channels[idx].name
    partner, kind = None, "none"
    for k, label in (("w", "width"), ("h", "height")):
        if partner is None and singlets in ("auto", label):
            partner = _partner(data, name, k)
            kind = label if partner else "none"
    if singlets in ("width", "height") and partner is None:
        raise InputError(
            f"{data.path}: no pulse {singlets} channel belongs to {name}; use singlets='auto' or 'none'"
        )
    return ChannelChoice(name, partner, kind, f"{name}: {why}")


def find_dna_channel(data: FcsData, channel: str | None = None) -> str:
    """Name (``$PnN``) of the DNA-content channel of ``data`` (see :func:`choose_channel`).

    Raises
    ------
    InputError
        When no channel can be identified; the message lists the channels.
    """
    return choose_channel(data, channel, "none").name


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
    second: float = 0.0  # G1 mean of a second G0/G1 population (0: none)
    second_cycle: bool = True  # the second population cycles (else: a reference standard)


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
    if des.second > 0:
        mu_b = theta["mu_b"]
        cols.append(_gauss_bins(des.edges, np.array([mu_b]), np.array([cv1 * mu_b]))[:, 0])
        names.append("G1b")
        if des.second_cycle:
            # a second (aneuploid) cycle: G1 and G2/M peaks with the main cycle's CV and G2/G1
            # ratio and a broadened rectangular S (ModFit's aneuploid model)
            cols.append(
                _gauss_bins(des.edges, np.array([lin * mu_b]), np.array([cv2 * lin * mu_b]))[:, 0]
            )
            t = (np.arange(_N_S) + 0.5) / _N_S
            yb = mu_b * (1 + t * (lin - 1))
            sdb = cv1 * mu_b + t * (cv2 * lin * mu_b - cv1 * mu_b)
            cols.append(_gauss_bins(des.edges, yb, sdb).mean(axis=1))
            names += ["G2b", "S0b"]
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


_PARAMS = ("mu1", "cv1", "L", "cv2", "tau", "am", "ar", "mu_b")


def _fit(
    des: _Design,
    start: dict[str, float],
    bounds: dict[str, tuple[float, float]],
    *,
    shared_cv: bool,
    s_degree: int | None,
):
    """Variable-projection fit: bounded least squares over the non-linear parameters, the
    component amplitudes solved by NNLS at every step. Returns a :class:`CycleFit` (theta,
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
    return CycleFit(theta, amp, basis, names, mask, rcs, chi2, dof, n_par, bounds, s_degree)


@dataclass(frozen=True, eq=False)
class CycleFit:
    """One fit of the histogram model: parameters ``theta`` (keys of :class:`FitParams`),
    component amplitudes and bases (named by ``names``), the fitted bins, goodness of fit,
    the bounds it was fitted within, its S degree, and the alternative fits it was chosen
    from (for the ΔAIC check)."""

    theta: dict[str, float]
    amp: np.ndarray
    basis: np.ndarray
    names: list[str]
    mask: np.ndarray
    rcs: float
    chi2: float
    dof: int
    n_par: int
    bounds: dict[str, tuple[float, float]]
    s_degree: int | None
    alternatives: tuple[CycleFit, ...] = ()

    @property
    def params(self) -> FitParams:
        """The non-linear parameters as a record."""
        return FitParams(**self.theta)

    @property
    def second(self) -> float:
        """G1 mean of the second population (0: none)."""
        return float(self.theta.get("mu_b", 0.0))

    @property
    def aic(self) -> float:
        """Akaike's criterion of a weighted least-squares fit, ``chi2 + 2 k`` (Burnham &
        Anderson 2002, sec. 2.2; the constant of the Gaussian likelihood cancels between fits
        to the same bins)."""
        return self.chi2 + 2.0 * self.n_par


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
) -> CycleFit:
    """The DJF fit with a fixed S-phase degree, or ("auto") the lowest degree from 0 to 2
    that fits as well as the quadratic by the extra-sum-of-squares F test at the 1 % level.

    The Bernstein S bases of degrees 0 (broadened rectangle), 1 (broadened trapezoid) and 2
    (Dean & Jett's quadratic) are nested, so the F test of Motulsky & Christopoulos (2004,
    *Fitting models to biological data*, ch. 22) applies: ``F = ((chi2_d - chi2_2) / (2 - d))
    / (chi2_2 / dof_2)``. A needlessly flexible S trades events with the G2/M peak when the
    two overlap (wide CVs, G2/M-arrested samples) and makes the split noisy.
    """
    from scipy.special import fdtrc  # the F distribution's survival function

    if s_degree != "auto":
        fit = _fit_staged(des, start, bounds, shared_cv=shared_cv, s_degree=int(s_degree))
        return _with_alternatives(fit, [fit], des, shared_cv)
    top = max(_S_NAMES)
    full = _fit_staged(des, start, bounds, shared_cv=shared_cv, s_degree=top)
    if not (full.dof > 0 and full.chi2 > 0):
        return full
    if "apoptotic" not in full.names:  # the lower degrees keep the staged fit's choice
        des, bounds = _without_apoptosis(des, bounds, full.theta)
    cands = [_fit(des, full.theta, bounds, shared_cv=shared_cv, s_degree=d) for d in range(top)]
    fits = [*cands, full]
    if full.rcs > _RCS_POOR:
        # The F test presumes that the larger model fits; when even the quadratic is far from
        # Poisson counting (a synchronised S cohort), no degree fits and the one with the
        # smallest chi-square is kept (a lower degree can win where the quadratic's optimiser
        # stopped in a worse local minimum).
        return _with_alternatives(min(fits, key=lambda f: f.chi2), fits, des, shared_cv)
    for d, cand in enumerate(cands):
        f_val = max(cand.chi2 - full.chi2, 0.0) / (top - d) / (full.chi2 / full.dof)
        if fdtrc(top - d, full.dof, f_val) >= _F_ALPHA:
            return _with_alternatives(cand, fits, des, shared_cv)
    return _with_alternatives(full, fits, des, shared_cv)


def _with_alternatives(
    chosen: CycleFit, fits: list[CycleFit], des: _Design, shared_cv: bool
) -> CycleFit:
    """The chosen fit, carrying the S-shape alternatives and, when ``L`` stopped at a bound
    of its range, the chosen degree refitted with ``L`` free (the bound's influence)."""
    alts = list(fits)
    lo, hi = chosen.bounds["L"]
    lin = chosen.theta["L"]
    # an optimum inside the bounds is also one of the free problem: refit only at a bound
    at_bound = np.isclose(lin, lo, rtol=1e-4) or np.isclose(lin, hi, rtol=1e-4)
    if lo < hi and (lo, hi) != _LINEARITY_FREE and at_bound:
        b = {**chosen.bounds, "L": _LINEARITY_FREE}
        d = replace(des, apoptosis="apoptotic" in chosen.names)
        free = _fit(d, chosen.theta, b, shared_cv=shared_cv, s_degree=chosen.s_degree)
        alts.append(free)
        if free.aic < chosen.aic - _AIC_RELEASE and free.rcs < _RCS_POOR:
            # "unless the data argue otherwise" (issue 15): strong evidence for a ratio
            # outside the range, from a fit that describes the histogram, releases L
            return replace(free, alternatives=tuple(alts))
    return replace(chosen, alternatives=tuple(alts))


#: AIC gain of a free G2/G1 ratio over the bounded one that releases the ratio (Burnham &
#: Anderson 2002, sec. 2.6: ΔAIC > 10 leaves the other model essentially no support), when the
#: free fit also describes the histogram (RCS below 8). Without that second condition a free
#: ratio moved G2/M onto the S cohort of early synchronised RPE files (3-4 h: G2/G1 1.56-1.78,
#: G2/M 75-80 % where the cells are in S, RCS 20-36); with it the 5 h file, whose G2/G1 is
#: 1.785 (RCS 1.0 free, 3.2 bounded), is released and keeps its G1 at the manifest's 170.
_AIC_RELEASE = 10.0


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
) -> CycleFit:
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
    pos = x[x > 0]
    if pos.size < 50:
        raise FitError(f"only {pos.size} events with positive DNA signal; need at least 50")
    top = float(np.percentile(_thin(pos), 99.5))
    n_bins = 512
    counts, edges = np.histogram(pos, bins=n_bins, range=(0.0, top))
    centers = 0.5 * (edges[1:] + edges[:-1])
    smooth = smooth_profile(counts.astype(float), 3.0)
    peaks = find_peaks(smooth, prominence=max(3.0, 0.02 * smooth.max())).indices
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

    Percentages: ``g1_pct + s_pct + g2m_pct = 100`` (of the main cycle's modelled events);
    ``sub_g1_pct`` (gate count) and ``apoptotic_pct`` (the fitted apoptotic component) are
    percentages of on-scale singlets. ``apoptotic_pct`` is the whole fitted Gaussian, including
    its extrapolation below the fit range (about 1.3 of 21 points on a 25 % sub-G1 hump),
    whereas ``debris_pct`` counts the debris inside the fit range only. ``g1_cv``/``g2_cv`` are
    in percent. ``s_degree`` is the degree of the DJF S-phase polynomial used (0 rectangle,
    1 trapezoid, 2 quadratic; None for Watson). ``off_scale`` counts the events excluded at the
    first and last channel; ``second`` is a second G0/G1 population (None when there is none);
    ``phase_range`` the (min, max) of G1, S and G2/M over fits within ΔAIC 2 when they differ
    by more than 3 points (else None); ``warnings`` what a user must look at; ``repairs`` the
    FCS reader's repairs of the file (:class:`letrolab.assays.fcs.FCSRepair`: a departure from
    the standard that changed which numbers were read), empty for a clean file.
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
    channel_reason: str
    off_scale: OffScale
    linearity: Linearity
    histogram: Histogram = field(repr=False)
    components: dict[str, np.ndarray] = field(repr=False)
    fit_mask: np.ndarray = field(repr=False)
    second: SecondPopulation | None
    phase_range: tuple[tuple[float, float], ...] | None
    control: str | None
    well: str | None
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    s_degree: int | None
    repairs: tuple[FCSRepair, ...] = ()

    def __bool__(self) -> bool:
        return True

    @property
    def edges(self) -> np.ndarray:
        """Bin edges of the histogram."""
        return self.histogram.edges

    @property
    def counts(self) -> np.ndarray:
        """Singlet counts per bin."""
        return self.histogram.counts

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: the ``letrolab cellcycle --json`` entry, then details."""
        out: dict[str, Any] = {k: getattr(self, k) for k in SUMMARY_KEYS}
        sec = self.second
        out.update(
            {
                "channel": self.channel,
                "channel_reason": self.channel_reason,
                "g2_cv": self.g2_cv,
                "cv_mode": self.cv_mode,
                "debris_pct": self.debris_pct,
                "apoptotic_pct": self.apoptotic_pct,
                "sub_g1_gate": list(self.sub_g1_gate),
                "singlet_gate": self.singlet_gate.summary(),
                "off_scale": {
                    "first_channel": self.off_scale.low,
                    "last_channel": self.off_scale.high,
                    "pct": self.off_scale.pct,
                    "range": self.off_scale.top,
                },
                "linearity": {
                    "mode": self.linearity.mode,
                    "low": self.linearity.low,
                    "high": self.linearity.high,
                },
                "second_population": None
                if sec is None
                else {
                    "kind": sec.kind,
                    "g1_mean": sec.g1_mean,
                    "dna_index": sec.dna_index,
                    "pct": sec.pct,
                    "phases": None
                    if sec.phases is None
                    else {
                        "g1_pct": sec.phases.g1,
                        "s_pct": sec.phases.s,
                        "g2m_pct": sec.phases.g2m,
                    },
                },
                "phase_range": None
                if self.phase_range is None
                else [list(r) for r in self.phase_range],
                "control": self.control,
                "well": self.well,
                "s_degree": self.s_degree,
                "notes": list(self.notes),
                "warnings": list(self.warnings),
            }
        )
        return out

    def report(self) -> str:
        """Text report in the style of a ModFit/FlowJo cell-cycle table."""
        name = Path(self.file).name
        lines = [
            f"{name}: {self.model.upper()} fit of {self.channel} ({self.cv_mode} CV), "
            f"{self.singlets}/{self.events} singlets ({self.singlet_gate.method} gate)",
            f"  channel {self.channel_reason}",
            f"  sub-G1 {self.sub_g1_pct:6.2f} % of singlets "
            f"(gate {self.sub_g1_gate[0]:.4g}-{self.sub_g1_gate[1]:.4g}); debris {self.debris_pct:.2f} %; "
            f"apoptotic component {self.apoptotic_pct:.2f} %",
            f"  G1 {self.g1_pct:6.2f} %   S {self.s_pct:6.2f} %   G2/M {self.g2m_pct:6.2f} %",
            f"  G1 mean {self.g1_mean:.4g} (CV {self.g1_cv:.2f} %), G2 mean {self.g2_mean:.4g} "
            f"(CV {self.g2_cv:.2f} %), G2/G1 {self.g2_g1_ratio:.3f} ({self.linearity.mode} "
            f"{self.linearity.low:g}-{self.linearity.high:g}), RCS {self.rcs:.2f}"
            + (
                f", S {_S_NAMES.get(self.s_degree, f'degree {self.s_degree}')}"
                if self.s_degree is not None
                else ""
            ),
        ]
        sec = self.second
        if sec is not None:
            what = (
                f"reference standard {sec.kind}"
                if sec.phases is None
                else f"second cycle: G1 {sec.phases.g1:.2f} %  S {sec.phases.s:.2f} %  "
                f"G2/M {sec.phases.g2m:.2f} %"
            )
            lines.append(
                f"  second G0/G1 population at {sec.g1_mean:.4g}, DNA index {sec.dna_index:.3f}, "
                f"{sec.pct:.1f} % of events ({what})"
            )
        if self.control:
            lines.append(f"  G1 position guided by control {Path(self.control).name}")
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.extend(f"  WARNING: {w}" for w in self.warnings)
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
# options
# --------------------------------------------------------------------------------------------
#: Default G2/G1 range: cytometers show G2/G1 = 1.9-2.05 for PI (ModFit LT manual,
#: "Linearity"; Shapiro 2003, *Practical Flow Cytometry*, 4th ed., ch. 7).
LINEARITY_RANGE = (1.9, 2.05)
_LINEARITY_FREE = (1.75, 2.2)


@dataclass(frozen=True)
class Linearity:
    """How the G2/G1 ratio ``L`` is constrained: ``mode`` "range" (``low <= L <= high``),
    "fixed" (``L = low = high``) or "free" (1.75-2.2, the span seen on real cytometers and the bounds of earlier releases).

    Examples
    --------
    >>> Linearity.parse("range=1.9:2.05"), Linearity.parse("fixed=1.97").low
    (Linearity(low=1.9, high=2.05, mode='range'), 1.97)
    """

    low: float = LINEARITY_RANGE[0]
    high: float = LINEARITY_RANGE[1]
    mode: str = "range"

    def __post_init__(self) -> None:
        if self.mode not in ("range", "fixed", "free"):
            raise InputError(f"linearity mode must be range, fixed or free, not {self.mode!r}")
        ok = np.isfinite(self.low) and np.isfinite(self.high) and 1.0 < self.low <= self.high < 3.0
        if not ok or (self.mode == "range" and self.low == self.high):
            raise InputError(
                f"linearity bounds must satisfy 1 < low < high < 3, not {self.low!r}:{self.high!r}"
            )

    @classmethod
    def parse(cls, text: str) -> Linearity:
        """``free``, ``fixed=X`` or ``range=A:B`` (the ``--linearity`` option)."""
        t = str(text).strip().casefold()
        try:
            if t == "free":
                return cls(*_LINEARITY_FREE, "free")
            if t.startswith("fixed="):
                v = float(t[6:])
                return cls(v, v, "fixed")
            if t.startswith("range="):
                a, b = t[6:].split(":")
                return cls(float(a), float(b), "range")
        except ValueError:
            pass
        raise InputError(f"linearity must be free, fixed=X or range=A:B, not {text!r}")

    @classmethod
    def coerce(cls, value: Linearity | str | tuple[float, float]) -> Linearity:
        """A :class:`Linearity` from itself, its text form, or a ``(low, high)`` pair."""
        if isinstance(value, Linearity):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            raise InputError(
                f"linearity must be free, fixed=X or range=A:B, not {value!r}"
            ) from None
        return cls(low, high, "fixed" if low == high else "range")


@dataclass(frozen=True)
class CycleOptions:
    """Options of one cell-cycle analysis (the keyword arguments of :func:`analyse_cell_cycle`).

    See :func:`analyze_cell_cycle` for each field; validated on construction, so a bad option
    is one :class:`~letrolab.errors.InputError` before any file is read.
    """

    channel: str | None = None
    model: str = "djf"
    cv: str = "shared"
    singlets: str = "auto"
    singlet_k: float = 4.0
    g1_tolerance: float = 0.15
    sub_g1_sigmas: float = 3.0
    sub_g1_floor: float = 0.05
    linearity: Linearity = Linearity()
    fit_from: float = 0.2
    s_degree: int | str = "auto"
    apoptosis: bool = True
    standard: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "linearity", Linearity.coerce(self.linearity))
        _check_options(self.model, self.cv)
        for nm in ("g1_tolerance", "sub_g1_sigmas"):
            val = getattr(self, nm)
            if not (np.isfinite(val) and val > 0):
                raise InputError(f"{nm} must be a positive number, not {val!r}")
        if not (0 <= self.sub_g1_floor < 1):
            raise InputError(f"sub_g1_floor must be in [0, 1), not {self.sub_g1_floor!r}")
        sd = self.s_degree
        if not (
            sd == "auto"
            or (isinstance(sd, (int, np.integer)) and not isinstance(sd, bool) and 0 <= sd <= 6)
        ):
            raise InputError(f"s_degree must be 'auto' or an integer from 0 to 6, not {sd!r}")
        if not isinstance(self.apoptosis, (bool, np.bool_)):
            raise InputError(f"apoptosis must be True or False, not {self.apoptosis!r}")
        if not (0.0 <= self.fit_from < 0.9):
            raise InputError(
                f"fit_from must be in [0, 0.9) (a fraction of the G1 mean), not {self.fit_from!r}"
            )
        if self.singlets not in ("auto", "width", "height", "none"):
            raise InputError(
                f"singlets must be 'auto', 'width', 'height' or 'none', not {self.singlets!r}"
            )


def _check_options(model: str, cv: str) -> None:
    if model not in _MODELS:
        raise InputError(f"model must be one of {', '.join(_MODELS)}, not {model!r}")
    if cv not in ("shared", "free"):
        raise InputError(f"cv must be 'shared' or 'free', not {cv!r}")


# --------------------------------------------------------------------------------------------
# range
# --------------------------------------------------------------------------------------------
#: Share of events off scale above which the result carries a warning (issue 15).
OFF_SCALE_WARN_PCT = 5.0


@dataclass(frozen=True)
class OffScale:
    """Events at the instrument's first or last channel, excluded from every count and fit.

    A pile-up at the last channel holds cells whose true signal is anywhere above it and one at
    the first channel electronic noise or clipped debris: neither has a DNA content. ``top`` is
    the channel's ``$PnR``.
    """

    low: int
    high: int
    events: int
    top: float

    @property
    def pct(self) -> float:
        """Off-scale events as a percentage of all events."""
        return 100.0 * (self.low + self.high) / self.events if self.events else 0.0


def _off_scale(x: np.ndarray, top: float) -> tuple[np.ndarray, OffScale]:
    """Mask of on-scale events and the off-scale counts: at or below 0 (the first channel), or
    at or above ``top - 1`` (the last channel of ``$PnR`` channels numbered 0 .. top - 1, and
    the clipped maximum of float data)."""
    low, high = x <= 0.0, x >= top - 1.0
    return ~(low | high), OffScale(int(low.sum()), int(high.sum()), int(x.size), float(top))


# --------------------------------------------------------------------------------------------
# stages
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class G1Start:
    """Starting G1 mean, CV and G2/G1 ratio of the fit, and the control that gave them."""

    mean: float
    cv: float
    linearity: float
    control: str | None = None


def locate_g1(x: np.ndarray, control: CellCycleResult | None = None) -> G1Start:
    """G1 start: from the control's fit when given (as FlowJo advises for perturbed samples),
    else the lower member of the strongest peak pair near ratio 2 (:func:`_find_g1`).

    Raises
    ------
    FitError
        No peak in the histogram.
    """
    if control is not None:
        return G1Start(control.g1_mean, control.g1_cv / 100.0, control.g2_g1_ratio, control.file)
    mu0, cv0 = _find_g1(x)
    return G1Start(mu0, cv0, 1.95)


@dataclass(frozen=True)
class Histogram:
    """Binned singlet DNA contents and the bins the cycle model is fitted to."""

    edges: np.ndarray
    counts: np.ndarray
    fit_mask: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        """Bin centres."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])


def _histogram(x: np.ndarray, start: G1Start, opts: CycleOptions, upper: float) -> Histogram:
    """Bins of at least the data quantum, about G1/60 wide, from 0 to ``upper``; fitted from
    ``fit_from x G1`` up."""
    mu0 = start.mean
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
    centers = 0.5 * (edges[1:] + edges[:-1])
    return Histogram(edges, counts.astype(np.float64), centers >= opts.fit_from * mu0)


@dataclass(frozen=True)
class FitParams:
    """Non-linear parameters of the histogram model (module docstring): G1 mean ``mu1`` and CV
    ``cv1``, G2/G1 ratio ``L``, G2 CV ``cv2``, debris decay ``tau`` (in G1 units), apoptotic
    mean ``am`` and reach ``ar``; ``mu_b`` the G1 mean of a second population (0: none)."""

    mu1: float
    cv1: float
    L: float
    cv2: float
    tau: float
    am: float
    ar: float
    mu_b: float = 0.0


def _bounds(start: G1Start, opts: CycleOptions, am0: float, ar0: float, second: float) -> dict:
    lin = opts.linearity
    return {
        "mu_b": (0.93 * second, 1.07 * second),
        "mu1": (start.mean * (1 - opts.g1_tolerance), start.mean * (1 + opts.g1_tolerance)),
        "cv1": (0.005, 0.35),
        "L": (lin.low, lin.high),
        "cv2": (0.005, 0.35),
        "tau": (0.02, 1.0),
        "am": (0.1, _AM_MAX) if opts.apoptosis else (am0, am0),
        "ar": (_AR_MIN, 1.0) if opts.apoptosis else (ar0, ar0),
    }


def fit_djf(hist: Histogram, start: G1Start, opts: CycleOptions, second: float = 0.0) -> CycleFit:
    """Dean–Jett–Fox fit of the histogram (module docstring), S degree by ``opts.s_degree``.

    ``second`` is the G1 mean of a second G0/G1 population (0 for none), modelled as a second
    cycle with the same CV and G2/G1 ratio, or, with ``opts.standard``, as a lone peak.
    """
    des = _Design(
        hist.edges,
        hist.centers,
        hist.counts,
        hist.fit_mask,
        _single_cut(hist.counts, hist.centers),
        opts.apoptosis,
        second,
        opts.standard is None,
    )
    am0, ar0 = _apoptotic_start(
        hist.centers, hist.counts, opts.fit_from * start.mean, start.mean, start.cv
    )
    bounds = _bounds(start, opts, am0, ar0, second)
    theta = {
        "mu1": start.mean,
        "cv1": float(np.clip(start.cv, 0.01, 0.25)),
        "L": float(np.clip(start.linearity, *bounds["L"])),
        "cv2": start.cv,
        "tau": 0.15,
        "am": am0,
        "ar": ar0,
        "mu_b": second,
    }
    return _fit_djf(des, theta, bounds, shared_cv=opts.cv == "shared", s_degree=opts.s_degree)


def fit_watson(hist: Histogram, djf: CycleFit, opts: CycleOptions) -> CycleFit:
    """Watson's pragmatic fit: the peak means stay where the DJF fit put them; the SDs and areas
    come from the outer halves (below the G1 mean, and from the G2 mean to 3 SD above it, so
    aggregates beyond G2 stay out). S is then the histogram between the means less the peaks
    and debris (:func:`_phases`)."""
    th = djf.theta
    mu2 = th["L"] * th["mu1"]
    c = hist.centers
    right = (c >= mu2) & (c <= mu2 * (1 + 3 * th["cv2"]))
    outer = hist.fit_mask & ((c <= th["mu1"]) | right)
    bounds = _bounds(G1Start(th["mu1"], th["cv1"], th["L"]), opts, th["am"], th["ar"], 0.0)
    for p in ("mu1", "L", "am", "ar", "mu_b"):
        bounds[p] = (th[p], th[p])
    des = _Design(
        hist.edges,
        c,
        hist.counts,
        outer,
        _single_cut(hist.counts, c),
        "apoptotic" in djf.names,
        djf.second,
        opts.standard is None,
    )
    fit = _fit(des, th, bounds, shared_cv=opts.cv == "shared", s_degree=None)
    return replace(fit, alternatives=djf.alternatives)


@dataclass(frozen=True)
class Phases:
    """Phase percentages of one cycle (``g1 + s + g2m = 100``) and its event total."""

    g1: float
    s: float
    g2m: float
    total: float


def _cycle_phases(
    fit: CycleFit, hist: Histogram, model: str, suffix: str = ""
) -> tuple[Phases, dict]:
    """Phases of the main cycle (``suffix`` "") or the second one ("b"), and its S curve."""
    amp = dict(zip(fit.names, fit.amp, strict=True))
    comp = {n: fit.basis[:, i] * fit.amp[i] for i, n in enumerate(fit.names)}
    g1, g2 = float(amp.get("G1" + suffix, 0.0)), float(amp.get("G2" + suffix, 0.0))
    s_names = [n for n in fit.names if re.fullmatch(rf"S\d+{suffix}", n)]
    if model == "djf" or suffix:
        s = float(sum(amp[n] for n in s_names))
        s_curve = sum((comp[n] for n in s_names), np.zeros_like(hist.counts))
    else:
        mu1 = fit.theta["mu1"]
        between = (hist.centers > mu1) & (hist.centers < fit.theta["L"] * mu1)
        others = sum((comp[n] for n in comp if n not in s_names), np.zeros_like(hist.counts))
        resid = hist.counts - others
        s = max(float(resid[between].sum()), 0.0)
        s_curve = np.where(between, resid, 0.0)
    total = g1 + s + g2
    if not total > 0:
        return Phases(float("nan"), float("nan"), float("nan"), 0.0), {}
    return Phases(100 * g1 / total, 100 * s / total, 100 * g2 / total, total), {
        "S" + suffix: s_curve
    }


#: Alternative fits within this AIC of the chosen one count as equally supported (Burnham &
#: Anderson 2002, *Model selection and multimodel inference*, 2nd ed., sec. 2.6).
DELTA_AIC = 2.0
#: Phases of equally supported fits that differ by more than this many points are a warning.
PHASE_SPREAD_WARN = 3.0


def _phase_spread(fit: CycleFit, hist: Histogram) -> tuple[tuple[float, float], ...] | None:
    """(min, max) of G1, S and G2/M over the fits within ΔAIC 2 of the best, or None."""
    alts = [
        a for a in fit.alternatives if a.aic <= min(b.aic for b in fit.alternatives) + DELTA_AIC
    ]
    if len(alts) < 2:
        return None
    ph = np.array([[p.g1, p.s, p.g2m] for p in (_cycle_phases(a, hist, "djf")[0] for a in alts)])
    if not np.all(np.isfinite(ph)):
        return None
    return tuple((float(lo), float(hi)) for lo, hi in zip(ph.min(0), ph.max(0), strict=True))


# --------------------------------------------------------------------------------------------
# second population
# --------------------------------------------------------------------------------------------
def find_second_population(x: np.ndarray, start: G1Start, *, standard: bool = False) -> float:
    """G1 mean of a second G0/G1 population, or 0.0 when there is none.

    A second population is a narrow peak (CV at most twice the G1 CV, so a broad S-phase cohort
    of synchronised cells is not one) of at least 5 % of the G1 peak's height, above 0.6 x the
    G1 mean (below lie apoptotic nuclei and debris), that is neither the G1 peak (within 15 %,
    the range a control-guided G1 may move), nor the main
    G2/M peak (1.8-2.2 x G1). Without ``standard`` it must have a G2/M peak of its own at 1.8-2.2
    x its mean (a cycling, aneuploid population, what ModFit reports as a second G0/G1 peak);
    with ``standard`` (an internal standard: chicken or trout erythrocyte nuclei, a plant
    reference) the highest such peak is taken.
    """
    mu1, cv1 = start.mean, max(start.cv, 0.01)
    pos = x[(x > 0.5 * mu1) & (x < 5.0 * mu1)]
    if pos.size < 200:
        return 0.0
    width = mu1 / 100.0
    counts, edges = np.histogram(pos, bins=int(4.5 * mu1 / width), range=(0.5 * mu1, 5.0 * mu1))
    centers = 0.5 * (edges[1:] + edges[:-1])
    smooth = smooth_profile(counts.astype(float), max(1.0, 0.4 * cv1 * 100))
    g1_height = smooth[int(np.argmin(np.abs(centers - mu1)))]
    found = find_peaks(smooth, prominence=max(5.0, 0.05 * g1_height))
    if len(found) == 0:
        return 0.0
    fwhm = peak_widths(smooth, found, rel_height=0.5).widths * width
    narrow = []
    for p, w in zip(found.indices, fwhm, strict=True):
        r, cv = centers[p] / mu1, w / 2.3548 / centers[p]
        if r < 0.6 or abs(r - 1.0) < max(3 * cv1, 0.15) or 1.8 <= r <= 2.2 or cv > 2 * cv1:
            continue
        if smooth[p] >= 0.1 * g1_height:
            narrow.append((float(smooth[p]), float(centers[p]), float(cv)))
    if standard:
        return max(narrow)[1] if narrow else 0.0
    # a cycling population has its own narrow G2/M peak, at least a tenth of its G1 peak's
    # height, at 1.8-2.2 x its G1 (a synchronised S-phase cohort, the other narrow peak
    # between G1 and G2, has none)
    cycling = []
    for h, c, _ in narrow:
        for p, w in zip(found.indices, fwhm, strict=True):
            cv2 = w / 2.3548 / centers[p]
            if 1.8 * c <= centers[p] <= 2.2 * c and smooth[p] >= 0.1 * h and cv2 <= 2 * cv1:
                cycling.append((h, c))
                break
    return max(cycling)[1] if cycling else 0.0


@dataclass(frozen=True)
class SecondPopulation:
    """A second G0/G1 population: an aneuploid cycle (``kind="cycle"``, with its phases) or a
    reference standard named by the user (``kind`` is its name, ``phases`` None). ``dna_index``
    is its G1 mean over the main G1 mean (ModFit's DNA index); ``pct`` its share of the modelled
    events (both populations, all phases)."""

    kind: str
    g1_mean: float
    dna_index: float
    pct: float
    phases: Phases | None


# --------------------------------------------------------------------------------------------
# analysis
# --------------------------------------------------------------------------------------------
def _load(source: str | os.PathLike | FcsData) -> FcsData:
    return source if isinstance(source, FcsData) else read_fcs(source)


def _options(options: CycleOptions | None, kwargs: dict[str, Any]) -> CycleOptions:
    if options is not None and kwargs:
        raise InputError("give either options= or keyword options, not both")
    if options is not None:
        return options
    unknown = set(kwargs) - {f.name for f in fields(CycleOptions)}
    if unknown:
        raise InputError(
            f"unknown option(s) {', '.join(sorted(unknown))} for the cell-cycle analysis"
        )
    return CycleOptions(**kwargs)


def _control_result(control: Any, opts: CycleOptions) -> CellCycleResult | None:
    """The control's analysis with the same options (it guides the G1 position)."""
    if control is None or isinstance(control, CellCycleResult):
        return control
    res = analyze_cell_cycle(control, options=opts)
    if not res:
        raise InputError(f"control could not be analysed: {res.reason}")
    return res


def _second(
    fit: CycleFit, hist: Histogram, opts: CycleOptions, main_total: float
) -> SecondPopulation | None:
    mu_b = fit.theta.get("mu_b", 0.0)
    if not mu_b:
        return None
    if opts.standard is not None:
        amp = float(fit.amp[fit.names.index("G1b")])
        return SecondPopulation(
            opts.standard, mu_b, mu_b / fit.theta["mu1"], 100 * amp / (amp + main_total), None
        )
    ph, _ = _cycle_phases(fit, hist, "djf", "b")
    return SecondPopulation(
        "cycle", mu_b, mu_b / fit.theta["mu1"], 100 * ph.total / (ph.total + main_total), ph
    )


def _checks(fit: CycleFit, opts: CycleOptions, off: OffScale) -> tuple[list[str], list[str]]:
    """Notes and warnings of a fit: parameters at a bound, poor RCS, off-scale events."""
    notes: list[str] = []
    warns: list[str] = []
    at = [
        p
        for p in ("mu1", "L")
        if fit.bounds[p][0] < fit.bounds[p][1]
        and any(np.isclose(fit.theta[p], b, rtol=1e-4) for b in fit.bounds[p])
    ]
    if at:
        notes.append(f"fit stopped at a bound of {', '.join(at)}; check the G1 position")
    lo, hi = opts.linearity.low, opts.linearity.high
    if opts.linearity.mode == "range" and not lo <= fit.theta["L"] <= hi:
        notes.append(
            f"G2/G1 {fit.theta['L']:.3f} lies outside {lo:g}-{hi:g}: a free ratio fits better by "
            f"ΔAIC > {_AIC_RELEASE:g}"
        )
    if opts.model == "djf" and fit.rcs > _RCS_POOR:
        notes.append(
            f"RCS {fit.rcs:.1f}: the S phase is no low-degree polynomial here (a synchronised "
            "cohort?); Watson's model assumes no S shape"
        )
    if off.low or off.high:
        notes.append(
            f"{off.low} events at the first and {off.high} at the last channel "
            f"({off.pct:.1f} % of events) excluded"
        )
    if off.pct > OFF_SCALE_WARN_PCT:
        warns.append(f"{off.pct:.1f} % of events are off scale (over {OFF_SCALE_WARN_PCT:g} %)")
    return notes, warns


def _sub_g1(x: np.ndarray, mu1: float, cv1: float, opts: CycleOptions, notes: list[str]):
    lo = opts.sub_g1_floor * mu1
    hi = mu1 * (1.0 - opts.sub_g1_sigmas * cv1)
    if hi <= lo:
        hi = lo
        notes.append("G1 CV too wide for a sub-G1 gate; sub-G1 reported as 0")
    return int(np.count_nonzero((x >= lo) & (x < hi))), (float(lo), float(hi))


def _result(
    data: FcsData,
    choice: ChannelChoice,
    gate: SingletGate,
    off: OffScale,
    x: np.ndarray,
    hist: Histogram,
    fit: CycleFit,
    opts: CycleOptions,
    ctrl: CellCycleResult | None,
) -> CellCycleResult | Failed:
    th = fit.theta
    mu1, lin, cv1 = th["mu1"], th["L"], th["cv1"]
    second_cycle = th.get("mu_b", 0.0) and opts.standard is None
    top_peak = max(lin * mu1, lin * th.get("mu_b", 0.0) if second_cycle else 0.0)
    if top_peak > off.top:
        return _failed(
            data.path,
            f"a G2/M peak placed at {top_peak:.4g}, beyond the channel's range ($PnR {off.top:g})",
        )
    phases, s_comp = _cycle_phases(fit, hist, opts.model)
    if not phases.total > 0 or fit.amp[fit.names.index("G1")] <= 0:
        return _failed(data.path, "no G1 population in the fitted model")
    comp = {
        n: fit.basis[:, i] * fit.amp[i]
        for i, n in enumerate(fit.names)
        if not re.fullmatch(r"S\d+b?", n)
    }
    comp.update(s_comp)
    if "S0b" in fit.names:
        comp.update(_cycle_phases(fit, hist, "djf", "b")[1])
    comp["debris"] = comp.pop("debris_exp") + comp.pop("debris_cut")
    comp["model"] = sum(comp.values(), np.zeros_like(hist.counts))
    notes, warns = _checks(fit, opts, off)
    spread = _phase_spread(fit, hist) if opts.model == "djf" else None
    if spread is not None and max(hi - lo for lo, hi in spread) > PHASE_SPREAD_WARN:
        warns.append(
            "phases depend on the S shape or the G2/G1 bound: fits within ΔAIC 2 give "
            + ", ".join(
                f"{n} {lo:.1f}-{hi:.1f} %"
                for n, (lo, hi) in zip(("G1", "S", "G2/M"), spread, strict=True)
            )
        )
    else:
        spread = None
    n_sing = int(x.size)
    n_sub, sub_gate = _sub_g1(x, mu1, cv1, opts, notes)
    apo = comp.get("apoptotic", np.zeros_like(hist.counts))
    return CellCycleResult(
        file=data.path,
        model=opts.model,
        channel=choice.name,
        events=int(data.n_events),
        singlets=n_sing,
        sub_g1_pct=100.0 * n_sub / n_sing if n_sing else float("nan"),
        g1_pct=phases.g1,
        s_pct=phases.s,
        g2m_pct=phases.g2m,
        g1_mean=float(mu1),
        g2_mean=float(lin * mu1),
        g2_g1_ratio=float(lin),
        g1_cv=100.0 * float(cv1),
        g2_cv=100.0 * float(th["cv2"]),
        rcs=float(fit.rcs),
        debris_pct=100.0 * float(comp["debris"][hist.fit_mask].sum()) / n_sing
        if n_sing
        else float("nan"),
        apoptotic_pct=100.0 * float(apo.sum()) / n_sing if n_sing else float("nan"),
        sub_g1_gate=sub_gate,
        singlet_gate=gate,
        cv_mode=opts.cv,
        channel_reason=choice.reason,
        off_scale=off,
        linearity=opts.linearity,
        histogram=hist,
        components=comp,
        fit_mask=fit.mask,
        second=_second(fit, hist, opts, phases.total),
        phase_range=spread,
        control=ctrl.file if ctrl is not None else None,
        well=_well(data),
        notes=tuple(notes),
        warnings=tuple(warns),
        s_degree=fit.s_degree if opts.model == "djf" else None,
        repairs=tuple(data.repairs),
    )


def analyze_cell_cycle(
    source: str | os.PathLike | FcsData,
    *,
    control: str | os.PathLike | FcsData | CellCycleResult | None = None,
    options: CycleOptions | None = None,
    **kwargs: Any,
) -> CellCycleResult | Failed:
    """Cell-cycle phases and sub-G1 fraction of one FCS file.

    The stages: :func:`choose_channel`, off-scale exclusion, :func:`gate_singlets`,
    :func:`locate_g1`, :func:`find_second_population`, :func:`fit_djf` and, for Watson's model,
    :func:`fit_watson`.

    Parameters
    ----------
    source : path or FcsData
        The FCS file.
    control : path, FcsData or CellCycleResult, optional
        Control sample (untreated, asynchronous), analysed with the same options: its G1 mean
        and G2/G1 ratio start the fit and the G1 mean is kept within ``g1_tolerance`` of it.
        Use it for samples whose G1 peak is small or missing (arrested, synchronised).
    options : CycleOptions, optional
        All options as one record; or give them as keywords:
    channel : str, optional
        DNA channel by ``$PnN`` or ``$PnS``; chosen when omitted (:func:`choose_channel`).
    model : {"djf", "watson"}
        Dean–Jett–Fox or Watson pragmatic (see the module docstring).
    cv : {"shared", "free"}
        G2/M peak CV equal to the G1 CV, or fitted separately.
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
    linearity : Linearity, str or (float, float)
        G2/G1 ratio: "range=A:B" (default 1.9:2.05), "fixed=X" or "free" (:class:`Linearity`).
    s_degree : "auto" or int
        Degree of the S-phase polynomial of the DJF model (module docstring).
    apoptosis : bool
        Fit the apoptotic (hypodiploid) Gaussian component below G1 (module docstring).
    fit_from : float
        The histogram is fitted from ``fit_from x G1 mean`` up to ``2.75 x G1 mean`` (or past
        a second population's G2/M peak).
    standard : str, optional
        Name of an internal reference standard (e.g. "chicken erythrocytes"): a second G0/G1
        peak is then modelled as that standard, not as a second cycle.

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
    opts = _options(options, kwargs)
    data = _load(source)
    ctrl = _control_result(control, opts)
    choice = choose_channel(data, opts.channel, opts.singlets)
    x_all = np.asarray(data.channel(choice.name), dtype=np.float64)
    if not np.all(np.isfinite(x_all)):
        raise InputError(f"{data.path}: DNA channel {choice.name} holds NaN or infinite values")
    on, off = _off_scale(x_all, data.find_channel(choice.name).range)
    other = np.asarray(data.channel(choice.partner), np.float64)[on] if choice.partner else None
    mask, gate = gate_singlets(
        x_all[on],
        other,
        method=choice.partner_kind,
        k=opts.singlet_k,
        area_channel=choice.name,
        other_channel=choice.partner,
    )
    x = x_all[on][mask]
    try:
        start = locate_g1(x, ctrl)
    except FitError as exc:
        return _failed(data.path, str(exc).split(": ", 1)[-1])
    second = find_second_population(x, start, standard=opts.standard is not None)
    upper = start.mean * max(2.75, opts.linearity.high + 0.5)
    upper = max(
        upper, second * (opts.linearity.high + 0.5) if opts.standard is None else 1.2 * second
    )
    hist = _histogram(x, start, opts, upper)
    if hist.counts[hist.fit_mask].sum() < 200:
        return _failed(
            data.path, f"only {int(hist.counts[hist.fit_mask].sum())} singlets in the fit range"
        )
    try:
        fit = fit_djf(hist, start, opts, second)
        if opts.model == "watson":
            fit = fit_watson(hist, fit, opts)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return _failed(data.path, f"histogram fit did not converge ({exc})")
    return _result(data, choice, gate, off, x, hist, fit, opts, ctrl)


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
    # a bad option is one error for the batch, not the same error for every file
    opts = _options(None, options)
    ctrl = _control_result(control, opts)
    results: list[CellCycleResult | Failed] = []
    for f in files:
        try:
            results.append(analyze_cell_cycle(f, control=ctrl, options=opts))
        except (LetrolabError, OSError) as exc:
            msg = (
                " ".join(str(exc).split())
                if isinstance(exc, LetrolabError)
                else f"{exc.strerror}: {f}"
            )
            results.append(_failed(str(f), msg))
    return CellCycleBatch(tuple(results), tuple(str(f) for f in files))
