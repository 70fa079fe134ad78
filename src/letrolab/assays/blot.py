"""Western blot and gel densitometry: lanes, bands and their areas, as ImageJ's Gel Analyzer does.

The analysis (:func:`analyse_blot`) is a sequence of named stages, each a function with one job
and a typed record between them:

1. :func:`prepare_signal` makes the image "bands bright on dark" (light-background scans are
   inverted), marks saturated pixels, and repairs what is not a band: uniform border rows and
   columns (a scanner frame) and dust specks (bright spots narrower than 5 px, found by a
   grey-scale opening with a horizontal line, :func:`scipy.ndimage.grey_opening`: a band is wider
   than that across its lane, a speck is not).
2. :func:`locate_lanes` finds the lanes where they touch, from the column profile: the lane
   count given or inferred from the period of its autocorrelation, the boundaries at the
   profile's valleys between a comb of that period, the gel's tilt from the cross-correlation
   of the column profiles of horizontal strips (:func:`letrolab.peaks.correlate`), and each
   lane's own curvature from the centroids of its strips. Lanes can also be given as boxes.
3. :func:`lane_profiles` sums each lane across its width row by row, following the lane's
   centre line (:func:`scipy.ndimage.map_coordinates` when the lane is not straight), and
   removes the background chosen (:data:`BACKGROUNDS`).
4. :func:`find_bands` finds each lane's own peaks (:func:`letrolab.peaks.find_peaks`), closes
   each one at its flanking minima, splits a doublet at its valley, drops the crop edge, and
   matches bands across lanes by position (:func:`scipy.optimize.linear_sum_assignment`
   between neighbouring lanes, so a smiling gel's band stays one band).
5. :func:`measure_bands` integrates every band above its baseline and flags saturation.

Background, per band, stated in the output (``BlotResult.background``):

``baseline``
    A straight line under the peak between its two flanking minima, as ImageJ's Gel Analyzer
    closes a peak with the straight-line tool (Schneider, Rasband & Eliceiri 2012, Nat Methods
    9:671; ImageJ User Guide, "Gels"); peaks that overlap (a doublet) share one line from the
    minimum before the first to the minimum after the last and are divided by a vertical line
    at the valley between them (the perpendicular drop; a Gaussian band of sd ``s`` passes
    Phi(-d/2s) of its volume to a neighbour ``d`` rows away). The default.
``rolling_ball``
    The grey-scale opening by a ball (Sternberg 1983, Computer 16:22; ImageJ's "Subtract
    Background"), on the image levelled by its background plane, then each band above the
    line between its flanking minima (the ball leaves an offset of about the noise); a ball
    smaller than the largest band (radius < half its size, ImageJ's rule) eats into it and
    is warned about.
``region``
    A background taken from user-given rows of each lane (gelquant: Harman et al. 2020,
    eLife 9:e54100): their mean with one range, a straight line fitted through them with two
    or more (above and below the bands, for a vertical gradient).
``none``
    The profile as it is (an image whose background is already removed).

Normalisation (:func:`normalise_bands`): phospho over total (two blots or two bands of the same
lanes), over a loading control (actin, GAPDH ...), and relative to a control lane (= 1).
Synthetic blots with known volumes come from :func:`letrolab.instruments.blot.render_blot`.

Own code rather than a library: no Python package implements Gel Analyzer's lane and baseline
logic (ImageJ is Java and interactive; gelquant is a notebook with fixed equal lanes); the
image operations underneath are scipy's and scikit-image's. Peaks and cross-correlation come
from :mod:`letrolab.peaks` (SciPy's definitions, without the 1-2 s import of
``scipy.signal``; see that module).
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab.errors import FormatError, InputError
from letrolab.peaks import correlate, find_peaks, peak_widths

__all__ = [
    "BACKGROUNDS",
    "BandWindow",
    "BlotResult",
    "LaneGrid",
    "LaneProfiles",
    "PreparedImage",
    "analyse_blot",
    "find_bands",
    "lane_profiles",
    "locate_lanes",
    "measure_bands",
    "normalise_bands",
    "prepare_signal",
    "read_blot_image",
    "read_lane_boxes",
]

#: Background methods of :func:`analyse_blot`.
BACKGROUNDS = ("baseline", "rolling_ball", "region", "none")

#: Methods whose bands are measured above a straight line between their flanking minima: the
#: rolling ball leaves an offset of about the noise (the opening lies below a noisy floor), which
#: the line removes, as an ImageJ user closes each peak after "Subtract Background".
_LINE_UNDER_PEAK = ("baseline", "rolling_ball")

_SPECK_LEN = 5  # px: bright features narrower than this across the lane are dust, not bands


# ------------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class PreparedImage:
    """The image made ready for measuring (stage 1).

    Attributes
    ----------
    signal : ndarray (H, W) float
        Bands bright on dark, border and specks repaired.
    saturated : ndarray (H, W) bool
        Pixels at the detector's full scale (dust specks excluded).
    inverted : bool
        True when the input had dark bands on a light background.
    noise : float
        Pixel noise sd (robust, from horizontal neighbour differences).
    warnings : tuple of str
    """

    signal: np.ndarray
    saturated: np.ndarray
    inverted: bool
    noise: float
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LaneGrid:
    """Where the lanes are (stage 2).

    Attributes
    ----------
    bounds : tuple of (x0, x1)
        Column bounds of each lane at the image's middle row (x1 exclusive).
    centres : ndarray (n_lanes, H)
        Column of each lane's centre line in every row (straight lanes: constant).
    gel_rows : (r0, r1)
        Rows of the gel (outside them: the gel's edge or the scanner bed, not searched).
    warnings : tuple of str
    """

    bounds: tuple[tuple[int, int], ...]
    centres: np.ndarray
    gel_rows: tuple[int, int]
    warnings: tuple[str, ...] = ()

    @property
    def widths(self) -> np.ndarray:
        return np.array([b - a for a, b in self.bounds])


@dataclass(frozen=True)
class LaneProfiles:
    """Lane profiles after the background chosen (stage 3).

    Attributes
    ----------
    values : ndarray (n_lanes, H)
        Sum across each lane's width, row by row; for ``rolling_ball``, ``region`` and
        ``none`` the background is already removed (a band is measured above 0), for
        ``baseline`` it is the raw profile (a band is measured above its own line).
    saturated : ndarray of bool (n_lanes, H)
        Rows of each lane that hold a saturated pixel.
    background : str
    radius : float or None
        The rolling ball's radius (px).
    signal : ndarray (H, W)
        The image the profiles were summed from.
    gel_rows : (r0, r1)
        The gel's rows (:class:`LaneGrid`).
    warnings : tuple of str
    """

    values: np.ndarray
    saturated: np.ndarray
    background: str
    radius: float | None
    signal: np.ndarray
    gel_rows: tuple[int, int]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class BandWindow:
    """One band in one lane (stage 4): its rows and the baseline under it.

    ``start..end`` (inclusive) are the rows integrated; the baseline is the straight line
    through the profile at rows ``base_lo`` and ``base_hi`` (the flanking minima of the band or
    of its doublet), or 0 when the background was removed beforehand.
    """

    lane: int  # 0-based
    band: int  # 0-based, top to bottom after matching
    row: int
    start: int
    end: int
    base_lo: int
    base_hi: int
    detected: bool


# ------------------------------------------------------------------------------- reading
def read_blot_image(path: str | Path) -> np.ndarray:
    """Read a blot image (TIFF or PNG, 8 or 16 bit, grey or RGB) as a 2-D array.

    RGB(A) images become grey as the mean of the colour channels (alpha dropped), keeping the
    integer dtype so that saturation stays detectable. Read with imageio (scikit-image's image
    I/O layer) directly: ``skimage.io.imread`` takes a 3-page TIFF stack for an RGB image.
    """
    import imageio.v3 as iio

    path = Path(path)
    if path.is_dir():
        raise InputError(f"blot image {str(path)!r} is a folder; give a TIFF or PNG file")
    if not path.is_file():
        raise InputError(f"blot image {str(path)!r} does not exist")
    if path.suffix.lower() not in {".png", ".tif", ".tiff"}:
        raise FormatError(f"{path.name}: blot images must be TIFF or PNG")
    if path.stat().st_size == 0:
        raise FormatError(f"{path.name}: the file is empty")
    try:
        # the plugin named, so that imageio does not try every legacy format on bad bytes
        img = iio.imread(path, plugin="pillow" if path.suffix.lower() == ".png" else "tifffile")
    except Exception as exc:  # imageio/tifffile/pillow raise many types for corrupt files
        why = " ".join(str(exc).split())
        if "can not handle the given uri" in why:  # the plugin did not recognise the bytes
            why = "content not recognised"
        why = why if len(why) <= 100 else why[:97] + "..."
        raise FormatError(
            f"{path.name}: not a readable {path.suffix.lstrip('.').upper()} image "
            f"({type(exc).__name__}: {why})"
        ) from None
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] in (3, 4):
        dt = img.dtype
        img = img[..., :3].astype(float).mean(axis=-1)
        if np.issubdtype(dt, np.integer):
            img = np.rint(img).astype(dt)
    if img.ndim != 2:
        raise FormatError(
            f"{path.name}: expected one 2-D grey image, got shape {img.shape} (a stack or "
            "multi-page file?); save the blot as a single image"
        )
    return img


def _full_scale(img: np.ndarray, saturation: float | None) -> float | None:
    if saturation is not None:
        return float(saturation)
    if img.dtype == np.uint8:
        return 255.0
    if img.dtype == np.uint16:
        return 65535.0
    return None


def _rolling_ball_background(img: np.ndarray, radius: float) -> np.ndarray:
    """Rolling-ball background (Sternberg 1983) of a bands-bright image.

    The background is the surface the ball reaches when rolled under the image: the grey-scale
    opening by the ball (Sternberg 1986, Comput Vision Graph Image Process 35:333; ImageJ's
    BackgroundSubtracter keeps the hull of the ball's positions). skimage's ``rolling_ball``
    returns only the ball's apex at each position (the erosion), which lies a ball depth below
    the background on a slope and shaves the edges of anything wider than the ball, so it is
    followed here by the dilation with the same ball. As in ImageJ's "Subtract Background",
    the background is estimated on a lightly smoothed copy (here a Gaussian of 1 px sd, so
    noise does not pull the ball down) and, for radii above 30 px, on a copy shrunk by block
    means, then interpolated back.
    """
    from scipy.ndimage import gaussian_filter, grey_dilation
    from skimage.restoration import ellipsoid_kernel, rolling_ball
    from skimage.transform import resize

    sm = gaussian_filter(img, 1.0, mode="nearest")
    shrink = 1 if radius <= 30 else 2 if radius <= 60 else 4
    h, w = img.shape
    if shrink > 1:
        hh, ww = h // shrink * shrink, w // shrink * shrink
        sm = sm[:hh, :ww].reshape(hh // shrink, shrink, ww // shrink, shrink).mean(axis=(1, 3))
    # A ball flattened in intensity (height 1e-6 of the image's range): the estimate then does
    # not depend on the intensity scale (8 vs 16 bit) and reproduces a linear ramp exactly.
    r = max(round(radius / shrink), 1)
    kernel = ellipsoid_kernel((2 * r + 1, 2 * r + 1), (float(np.ptp(sm)) + 1.0) * 1e-6)
    apex = rolling_ball(sm, kernel=kernel)  # the erosion by the ball
    inside = np.isfinite(kernel)
    bg = grey_dilation(
        apex, footprint=inside, structure=np.where(inside, kernel - kernel[r, r], 0.0)
    )
    if shrink == 1:
        return bg
    return resize(bg, (h, w), order=1, mode="edge", anti_aliasing=False)


def _level(sig: np.ndarray) -> np.ndarray:
    """``sig`` minus the plane fitted to its background (lowest 30 % of pixels, iterated 3x).

    Plane levelling as in Gwyddion's "plane level" (Necas & Klapetek 2012, Cent Eur J Phys
    10:181), with the fit restricted to the darkest pixels so that bands do not tilt it; the
    fit uses a regular subsample of at most ~60,000 pixels (a plane has three parameters).
    """
    h, w = sig.shape
    step = max(1, int(np.sqrt(h * w / 60_000)))
    yy, xx = np.mgrid[0:h:step, 0:w:step]
    design = np.column_stack([np.ones(yy.size), xx.ravel(), yy.ravel()]).astype(float)
    z = sig[::step, ::step].ravel().astype(float)
    low = z <= np.percentile(z, 30)
    coef = np.zeros(3)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[low], z[low], rcond=None)
        resid = z - design @ coef
        low = resid <= np.percentile(resid, 30)
    plane = coef[0] + coef[1] * np.arange(w)[None, :] + coef[2] * np.arange(h)[:, None]
    return sig - plane


# ------------------------------------------------------------------------- stage 1: the image
def _check_image(raw: np.ndarray) -> None:
    if raw.ndim != 2 or min(raw.shape) < 8:
        raise InputError(f"a blot image must be 2-D and at least 8 x 8 px, got shape {raw.shape}")
    if not np.issubdtype(raw.dtype, np.number) or np.issubdtype(raw.dtype, np.complexfloating):
        raise InputError(f"a blot image holds real numbers, not {raw.dtype}")
    if not np.isfinite(raw).all():
        bad = int((~np.isfinite(raw)).sum())
        raise InputError(
            f"the image has {bad} NaN or infinite pixel(s); a scan holds finite intensities"
        )


def _thin(a: np.ndarray, most: int = 250_000) -> np.ndarray:
    """A regular subsample of ``a`` (every k-th row and column) of at most ~``most`` pixels,
    for medians and percentiles of large images (a 3-Mpx scan's order statistics are as well
    estimated from a quarter of a million of its pixels)."""
    k = max(1, int(np.sqrt(a.size / most)))
    return a[::k, ::k]


def _noise_sd(img: np.ndarray) -> float:
    """Pixel noise sd from horizontal neighbour differences (scaled MAD / sqrt 2; Rousseeuw &
    Croux 1993, J Am Stat Assoc 88:1273 for the 1.4826)."""
    d = np.diff(_thin(img), axis=1).ravel()
    mad = float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))
    if mad > 0 or not d.size:
        return mad
    # quantised images (8 bit, low noise): most differences are 0 and the MAD vanishes; the
    # rms of the 90 % smallest differences then measures the noise
    small = np.sort(np.abs(d))[: max(1, int(0.9 * d.size))]
    return float(np.sqrt(np.mean(small**2)) / np.sqrt(2.0))


def _repair_borders(sig: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace uniform frame rows/columns at the image's edges by the background median.

    A frame row or column is one where >= 90 % of the pixels lie further from the image's
    median than half its robust range (99.5th percentile - median); only runs starting at an
    edge, at most 10 % of the size, are frames. A band row is never one: the gaps between and
    beside the bands are background.
    """
    few = _thin(sig)
    med = float(np.median(few))
    spread = max(float(np.percentile(few, 99.5)) - med, float(med - np.percentile(few, 0.5)))
    if spread <= 0:
        return sig, 0
    far = np.abs(sig - med) > 0.5 * spread
    out, n = sig, 0
    for axis in (0, 1):
        frac = far.mean(axis=1 - axis)
        size = sig.shape[axis]
        for edge in (range(size), range(size - 1, -1, -1)):
            run = list(itertools.takewhile(lambda i, f=frac: f[i] >= 0.9, edge))[: size // 10]
            if run:
                out = out.copy() if out is sig else out
                idx = (run, slice(None)) if axis == 0 else (slice(None), run)
                out[idx] = med
                n += len(run)
    return out, n


def _remove_specks(sig: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Dust specks: bright spots narrower than 5 px across and small, replaced by the opening.

    The white top-hat by a 1 x 5 px line (:func:`scipy.ndimage.grey_opening`) keeps what is
    narrower than 5 px; of that, connected groups of pixels more than 8 noise sd (and 10 % of the
    image's range, so that a gel's grain is left alone) above the opening, of at most 25 px, are specks.
    """
    from scipy.ndimage import grey_opening, label

    opened = grey_opening(sig, size=(1, _SPECK_LEN), mode="nearest")
    resid = sig - opened
    few = _thin(sig)
    thresh = max(8.0 * noise, 0.1 * (float(np.percentile(few, 99.9)) - float(np.median(few))))
    mask = resid > max(thresh, 1e-12)
    if not mask.any():
        return sig, mask
    lab, n = label(mask)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    small = sizes <= _SPECK_LEN * _SPECK_LEN
    small[0] = False
    speck = small[lab]
    out = sig.copy()
    out[speck] = opened[speck]
    return out, speck


def prepare_signal(
    raw: np.ndarray, *, invert: bool | str = "auto", saturation: float | None = None
) -> PreparedImage:
    """Stage 1: bands-bright signal, saturation mask, frame and specks repaired.

    Parameters
    ----------
    raw : ndarray (H, W)
        Grey image (8/16-bit integer or float).
    invert : bool or "auto"
        Whether bands are dark on a light background; "auto" decides from the image (the
        background, being most of the image, sets the median).
    saturation : float, optional
        Raw value of a saturated pixel (at or above it for bright bands, at or below it for
        dark bands). Default the dtype's full scale (255, 65535), or 0 for dark bands; float
        images without it are not checked.
    """
    _check_image(raw)
    if not (invert == "auto" or isinstance(invert, (bool, np.bool_))):
        raise InputError(f"invert must be True, False or 'auto', not {invert!r}")
    full = _full_scale(raw, saturation)
    img = raw.astype(float)
    if invert == "auto":
        few = _thin(img)
        lo, hi = np.percentile(few, [1, 99])
        invert = bool(np.median(few) > 0.5 * (lo + hi))
    if invert:
        top = _full_scale(raw, None) or float(img.max())
        sig = top - img
        limit = float(saturation) if saturation is not None else (0.0 if full else None)
        sat = img <= limit if limit is not None else np.zeros(img.shape, dtype=bool)
    else:
        sig = img
        sat = img >= full if full is not None else np.zeros(img.shape, dtype=bool)
    warns = []
    sig, n_border = _repair_borders(sig)
    if n_border:
        warns.append(f"{n_border} uniform border row(s)/column(s) set to the background")
    noise = _noise_sd(sig)
    sig, speck = _remove_specks(sig, noise)
    if speck.any():
        from scipy.ndimage import label

        warns.append(f"removed {label(speck)[1]} dust speck(s) ({int(speck.sum())} px)")
        sat = sat & ~speck
    return PreparedImage(
        signal=sig, saturated=sat, inverted=bool(invert), noise=noise, warnings=tuple(warns)
    )


# ------------------------------------------------------------------------- stage 2: the lanes
def _occupancy(lev: np.ndarray, noise: float) -> np.ndarray:
    """1 where a pixel holds signal (> 3 noise sd above the levelled background), else 0.

    Counting rows with signal, rather than summing intensities, lets a faint lane count as much
    as a dense one when finding lanes.
    """
    floor = float(np.median(_thin(lev)))
    thresh = max(3.0 * noise, 1e-9 * (float(np.ptp(lev)) + 1.0))
    return (lev > floor + thresh).astype(float)


def _shift_rows(occ: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Each row of ``occ`` moved left by ``shift[row]`` px (linear interpolation)."""
    from scipy.ndimage import map_coordinates

    h, w = occ.shape
    rows = np.repeat(np.arange(h, dtype=float)[:, None], w, axis=1)
    cols = np.arange(w, dtype=float)[None, :] + shift[:, None]
    return map_coordinates(occ, [rows, cols], order=1, mode="nearest")


def _strip_edges(h: int) -> np.ndarray:
    return np.linspace(0, h, int(np.clip(h // 40, 3, 12)) + 1).round().astype(int)


def _strip_lag(p: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Shift (px) of profile ``p`` against ``ref`` and their correlation coefficient there:
    the peak of the cross-correlation (:func:`letrolab.peaks.correlate`) within max(3 px, 5 %
    of the width), parabolic sub-pixel."""
    w = len(p)
    reach = max(3, w // 20)
    c = correlate(p, ref)
    lag = w - 1
    k = int(np.argmax(c[lag - reach : lag + reach + 1])) + lag - reach
    frac = 0.0
    if 0 < k < len(c) - 1 and c[k - 1] - 2 * c[k] + c[k + 1] < 0:
        frac = 0.5 * (c[k - 1] - c[k + 1]) / (c[k - 1] - 2 * c[k] + c[k + 1])
    r = float(c[k] / max(np.linalg.norm(p) * np.linalg.norm(ref), 1e-12))
    return k - lag + frac, r


def _tilt(occ: np.ndarray) -> np.ndarray:
    """Sideways drift of the lanes per row (px), a straight line through strip offsets.

    Each horizontal strip's column profile is cross-correlated with the previous strip that
    has structure, and the offsets are summed down the gel (a strip compared with its
    neighbour is not smeared by the tilt, as the whole image's profile would be); a line
    weighted by the strips' structure is fitted against each strip's signal-weighted row
    (a band straddling a strip's edge puts the strip's profile there, not at its middle).
    Strips whose profiles correlate by less than 0.5 with their neighbour's (different
    contents, not a shifted copy) leave the gel untilted. Zero when the line moves by less than 2 px
    over the image, or the strips scatter about it by more than a quarter of that (a gel's
    grain and smears shift strips by a px or two, not along a line).
    """
    from scipy.ndimage import gaussian_filter1d

    h = occ.shape[0]
    ys, offs, wts, prev = [], [], [], None
    for a, b in itertools.pairwise(_strip_edges(h)):
        p = gaussian_filter1d(occ[a:b].mean(axis=0), 1.0)
        p = p - p.mean()
        if p.std() < 1e-3:
            continue
        if prev is not None:
            step, r = _strip_lag(p, prev)
            if r < 0.5:  # neighbouring strips that do not look alike: no tilt is read
                return np.zeros(h)
        offs.append(0.0 if prev is None else offs[-1] + step)
        mass = occ[a:b].sum(axis=1)  # the strip's rows weighted by their signal: where it is
        ys.append(float((mass * np.arange(a, b)).sum() / max(mass.sum(), 1e-12)))
        wts.append(p.std())
        prev = p
    if len(ys) < 3:
        return np.zeros(h)
    slope, icpt = np.polyfit(ys, offs, 1, w=wts)
    line = slope * np.arange(h) + icpt
    scatter = float(np.std(np.asarray(offs) - (slope * np.asarray(ys) + icpt)))
    if np.ptp(line) < 2.0 or scatter > 0.25 * np.ptp(line):
        return np.zeros(h)  # too small, or strips that do not line up: no tilt
    return line


def _lane_periods(prof: np.ndarray) -> list[float]:
    """Candidate lane spacings: the first peak of the column profile's autocorrelation, and
    the median spacing of the profile's own peaks (shallow dips between touching lanes, or a
    few loaded lanes beside empty ones)."""
    p = prof - prof.mean()
    if p.std() <= 0:
        return []
    out = []
    ac = correlate(p, p)[len(p) - 1 :]
    pk = find_peaks(ac / ac[0], height=0.05, prominence=0.05).indices
    pk = pk[pk >= 4]
    if len(pk):
        out.append(float(pk[0]))
    tops = find_peaks(prof, prominence=0.1 * float(np.ptp(prof)), distance=4).indices
    if len(tops) >= 2:
        out.append(float(np.median(np.diff(tops))))
    return out


def _comb_cuts(p, first: int, last: int, n: int, period: float | None) -> list[int]:
    """Boundaries of n lanes: the profile's minima near a comb of the period (within 0.3
    period), centred on the sample ``first..last``."""
    if period is None or period * n < last - first:
        period = (last - first) / n
    start = first - 0.5 * (n * period - (last - first))
    cuts = [first]
    for k in range(1, n):
        g = start + k * period
        lo, hi = int(max(cuts[-1] + 1, round(g - 0.3 * period))), round(g + 0.3 * period)
        cuts.append(lo + int(np.argmin(p[lo : hi + 1])) if hi >= lo else round(g))
    cuts.append(last)
    return cuts


def _comb_depth(p, first: int, last: int, n: int, period: float) -> float:
    """How much higher the profile stands at the lanes' middles than at their boundaries."""
    cuts = _comb_cuts(p, first, last, n, period)
    if n == 1:
        return 0.0
    mids = [p[(a + b) // 2] for a, b in itertools.pairwise(cuts)]
    return float(np.mean(mids) - np.mean(p[cuts[1:-1]]))


def _comb(prof: np.ndarray, n: int | None, width: int) -> tuple[list[tuple[int, int]], int]:
    """Lane bounds from the (de-tilted) column profile: a comb of the lane period.

    The sample spans the columns where the profile exceeds a fifth of its 95th percentile;
    lane k's boundaries are the profile's minima near ``start + k x period`` (within 0.3
    period), which is where touching lanes meet; a lane's box is then narrowed to its columns
    above a quarter of its own maximum, plus 2 px (the gaps beside it are not lane).
    """
    from scipy.ndimage import gaussian_filter1d

    p = gaussian_filter1d(prof, 1.0)
    high = float(np.percentile(p, 95))
    if high <= 0.01:
        raise InputError("the image is flat: no lanes found; give the lanes explicitly")
    cols = np.flatnonzero(p > max(0.02, 0.2 * high))
    first, last = int(cols[0]), int(cols[-1]) + 1
    period = None
    if n is None:
        # touching lanes span n periods, lanes with gaps n periods less a gap: try the counts
        # around extent / period and keep the comb whose cuts fall deepest into valleys
        tries = []
        for per in _lane_periods(p[first:last]):
            x = (last - first) / per
            for m in {math.floor(x), math.ceil(x - 0.25), math.ceil(x)}:
                tries.append((max(1, m), per))
        if tries:
            n, period = max(tries, key=lambda t: _comb_depth(p, first, last, *t))
    n = n or 1
    cuts = _comb_cuts(p, first, last, n, period)
    bounds = []
    for a, b in itertools.pairwise(cuts):
        seg = np.flatnonzero(p[a:b] > 0.25 * p[a:b].max()) + a
        lo, hi = (int(seg[0]), int(seg[-1]) + 1) if len(seg) else (a, b)
        bounds.append((max(a, lo - 2), min(b, hi + 2)))
    return bounds, n


def _lane_drift(lev: np.ndarray, noise: float, bounds, base: np.ndarray) -> np.ndarray:
    """Each lane's centre column in every row: the tilt ``base`` plus the lane's own curvature.

    The centroid of the signal above 3 noise sd within the lane's box is taken in each strip;
    a quadratic (a line with fewer than 5 strips with signal) through those offsets, weighted
    by the strips' signal, is kept when it moves the centre by 1 px or more somewhere.
    """
    h = lev.shape[0]
    rows = np.arange(h, dtype=float)
    edges = _strip_edges(h)
    pos = np.clip(lev - np.median(_thin(lev)) - 3.0 * noise, 0.0, None)
    out = []
    for a, b in bounds:
        c0 = 0.5 * (a + b)
        ys, offs, wts = [], [], []
        for r0, r1 in itertools.pairwise(edges):
            sh = float(np.mean(base[r0:r1]))
            x0, x1 = int(max(0, np.floor(a + sh))), int(min(lev.shape[1], np.ceil(b + sh)))
            m = pos[r0:r1, x0:x1].sum(axis=0)
            if x1 - x0 < 3 or m.sum() <= 10 * noise * (r1 - r0):
                continue
            ys.append(0.5 * (r0 + r1 - 1))
            offs.append(float((m * np.arange(x0, x1)).sum() / m.sum()) - c0 - sh)
            wts.append(float(np.sqrt(m.sum())))
        centre = c0 + base
        if len(ys) >= 3:
            fit = np.polyval(np.polyfit(ys, offs, 2 if len(ys) >= 5 else 1, w=wts), rows)
            fit -= np.median(offs)  # the box is already centred on the median column
            if np.ptp(fit) >= 1.0:
                centre = centre + fit
        out.append(centre)
    return np.array(out)


def locate_lanes(prep: PreparedImage, *, lanes=None, lane_width: int | None = None) -> LaneGrid:
    """Stage 2: the lanes, found where they touch, or as given.

    Parameters
    ----------
    prep : PreparedImage
    lanes : int, sequence of (x0, x1), or None
        None: count inferred from the column profile's period; an int: that many lanes,
        placed on the profile's comb; explicit column bounds (x1 exclusive; straight lanes).
    lane_width : int, optional
        Width of every lane box (px), centred on the lane found; default the box found.
    """
    sig = prep.signal
    h, w = sig.shape
    if lanes is not None and not isinstance(lanes, (int, np.integer)):
        bounds = [(int(a), int(b)) for a, b in lanes]
        for a, b in bounds:
            if not 0 <= a < b <= w:
                raise InputError(f"lane bounds ({a}, {b}) are outside the image width {w}")
        centres = np.array([np.full(h, 0.5 * (a + b)) for a, b in bounds])
        return LaneGrid(bounds=tuple(bounds), centres=centres, gel_rows=_gel_rows(sig))
    n = None if lanes is None else int(lanes)
    if n is not None and n < 1:
        raise InputError("lanes must be >= 1")
    if n is not None and n > w // 3:
        raise InputError(
            f"{n} lanes in an image {w} px wide would be under 3 px each; give fewer lanes"
        )
    if lane_width is not None and not 3 <= lane_width <= w:
        raise InputError(f"lane width must be 3..{w} px, not {lane_width}")
    if float(np.ptp(sig)) <= 1e-9 * (abs(float(np.mean(sig))) + 1.0):
        raise InputError("the image is flat: no lanes found; give the lanes explicitly")
    # the gel's edge, running across the margins, is not a lane, nor part of the background
    # plane: the lanes are found in the gel's rows only (an uneven stain does not count: the
    # edge must stand 15 % of the bands' scale off the background)
    lev = _level(sig)
    r0, r1 = _gel_rows(sig, lev)
    if (r0, r1) != (0, h):
        inner = _level(sig[r0:r1])
        lev = np.full(sig.shape, float(np.median(_thin(inner))))
        lev[r0:r1] = inner
    occ = _occupancy(lev, prep.noise)
    shift = _tilt(occ)
    shift = shift - shift[h // 2]  # bounds are those of the middle row
    # column profile: presence (occupancy) and intensity capped at the 99th percentile,
    # averaged, so that neither faint lanes nor a lane's texture decide alone
    above = lev - float(np.median(_thin(lev)))
    dense = np.clip(above / max(float(np.percentile(_thin(above), 99)), 1e-12), 0.0, 1.0)
    if np.any(shift):
        occ, dense = _shift_rows(occ, shift), _shift_rows(dense, shift)
    col = [m / max(float(m.max()), 1e-12) for m in (occ.mean(axis=0), dense.mean(axis=0))]
    bounds, n = _comb(0.5 * (col[0] + col[1]), n, w)
    centres = _lane_drift(lev, prep.noise, bounds, shift)
    if lane_width is not None:
        mids = centres[:, h // 2]
        bounds = [
            (
                int(max(0, round(c - lane_width / 2))),
                int(min(w, round(c - lane_width / 2) + lane_width)),
            )
            for c in mids
        ]
    return LaneGrid(bounds=tuple(bounds), centres=centres, gel_rows=(r0, r1))


def read_lane_boxes(path: str | Path) -> list[tuple[int, int]]:
    """Lane boxes from a CSV file with columns ``x0, x1`` (px, x1 exclusive; optional ``lane``).

    One row per lane, in lane order (sorted by ``lane`` when that column is there), e.g. the
    rectangles drawn in ImageJ's Gel Analyzer, exported as their left edge and left edge +
    width.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"lane boxes {str(path)!r} do not exist")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(f"{path.name}: not a CSV text file ({exc})") from None
    if not rows or not {"x0", "x1"} <= {k.strip().lower() for k in rows[0] if k}:
        raise FormatError(f"{path.name}: lane boxes need columns x0 and x1 (one row per lane)")
    rows = [{k.strip().lower(): v for k, v in r.items() if k} for r in rows]
    try:
        boxes = [
            (float(r["lane"]) if r.get("lane") else i, int(r["x0"]), int(r["x1"]))
            for i, r in enumerate(rows)
        ]
    except (TypeError, ValueError):
        raise FormatError(f"{path.name}: x0, x1 (and lane) must be whole numbers") from None
    return [(a, b) for _, a, b in sorted(boxes)]


# ---------------------------------------------------------------------- stage 3: the profiles
def _sample_lanes(img: np.ndarray, grid: LaneGrid, order: int) -> np.ndarray:
    """Sum of each lane across its width, row by row, along its centre line."""
    from scipy.ndimage import map_coordinates

    h = img.shape[0]
    out = np.empty((len(grid.bounds), h))
    for k, (a, b) in enumerate(grid.bounds):
        c = grid.centres[k]
        if np.allclose(c, c[h // 2]):
            out[k] = img[:, a:b].sum(axis=1)
            continue
        offs = np.arange(a, b, dtype=float) - c[h // 2]
        rows = np.repeat(np.arange(h, dtype=float)[:, None], b - a, axis=1)
        vals = map_coordinates(img, [rows, c[:, None] + offs[None, :]], order=order, mode="nearest")
        out[k] = vals.sum(axis=1)
    return out


def _region_background(prof: np.ndarray, region) -> np.ndarray:
    """Per-lane background from user rows: the mean (one range) or a fitted line (several)."""
    h = prof.shape[1]
    ranges = [(int(a), int(b)) for a, b in region]
    if not ranges:
        raise InputError("background='region' needs the background rows, e.g. region=[(0, 20)]")
    for a, b in ranges:
        if not 0 <= a < b <= h:
            raise InputError(f"background rows {a}:{b} are outside the image height {h}")
    rows = np.concatenate([np.arange(a, b) for a, b in ranges])
    if len(ranges) == 1:
        return np.repeat(prof[:, rows].mean(axis=1)[:, None], h, axis=1)
    design = np.column_stack([np.ones(len(rows)), rows])
    coef, *_ = np.linalg.lstsq(design, prof[:, rows].T, rcond=None)
    return (np.column_stack([np.ones(h), np.arange(h)]) @ coef).T


def lane_profiles(
    prep: PreparedImage,
    grid: LaneGrid,
    *,
    background: str = "baseline",
    radius: float | None = None,
    region=None,
) -> LaneProfiles:
    """Stage 3: lane profiles, with the background removed for all but ``baseline``.

    For ``rolling_ball`` without a radius, the radius is larger than the largest band, as
    ImageJ advises (ImageJ documentation, Process > Subtract Background), in both directions:
    max(5, 0.6 x the lane width, 2.5 x the widest band's FWHM, i.e. a Gaussian band's +-3 sd),
    the bands found on the levelled image.
    """
    sig = prep.signal
    warns: list[str] = []
    if background == "rolling_ball":
        sig = _level(sig)
        if radius is None:
            pre = _sample_lanes(sig, grid, 1)
            fwhm = max((p.fwhm for lane in _lane_peaks(pre, 0.05) for p in lane), default=5.0)
            radius = max(5.0, 0.6 * float(np.median(grid.widths)), 2.5 * fwhm)
        sig = sig - _rolling_ball_background(sig, radius)
    prof = _sample_lanes(sig, grid, 1)
    if background == "region":
        prof = prof - _region_background(prof, region)
    sat = _sample_lanes(prep.saturated.astype(float), grid, 0) > 0
    return LaneProfiles(
        values=prof,
        saturated=sat,
        background=background,
        radius=None if background != "rolling_ball" else float(radius),
        signal=sig,
        gel_rows=grid.gel_rows,
        warnings=tuple(warns),
    )


# ------------------------------------------------------------------------- stage 4: the bands
@dataclass(frozen=True)
class _Peak:
    row: int
    fwhm: float
    prominence: float


def _lane_peaks(prof: np.ndarray, min_prominence: float) -> list[list[_Peak]]:
    """Each lane's peaks above 5 profile-noise sd and ``min_prominence`` of the lane's own most
    prominent peak, or of the typical lane's (the lower median over lanes) when that is
    higher: a dense or saturated lane does not hide the others' bands, and a faint lane's noise
    is not taken for bands (its band is then measured where the other lanes put it)."""
    from scipy.ndimage import gaussian_filter1d

    found = []
    for p in prof:
        g = gaussian_filter1d(p, 1.0, mode="nearest")
        d = np.diff(p)
        sd = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2.0)
        pk = find_peaks(g, prominence=max(5.0 * sd, 1e-12))
        wid = peak_widths(g, pk, rel_height=0.5).widths
        found.append(
            [
                _Peak(int(r), float(wd), float(pr))
                for r, wd, pr in zip(pk.indices, wid, pk.prominences, strict=True)
            ]
        )
    tops = [max((q.prominence for q in lane), default=0.0) for lane in found]
    typical = float(np.percentile([t for t in tops if t > 0] or [0.0], 50, method="lower"))
    return [
        [q for q in lane if q.prominence >= min_prominence * max(top, typical)]
        for lane, top in zip(found, tops, strict=True)
    ]


def _flanks(g: np.ndarray, peaks: list[_Peak]) -> tuple[list[int], list[int], list[int], list[int]]:
    """Each peak's own flanking minima, searched up to 4 FWHM away and not past a neighbour;
    returns the minima (below, above) and the search ranges' far ends (below, above)."""
    h = len(g)
    rows = [q.row for q in peaks]
    lo, hi, lo_end, hi_end = [], [], [], []
    for k, q in enumerate(peaks):
        reach = max(3, round(4 * q.fwhm))
        a = max(0, q.row - reach, rows[k - 1] if k else 0)
        b = min(h - 1, q.row + reach, rows[k + 1] if k + 1 < len(rows) else h - 1)
        lo.append(a + int(np.argmin(g[a : q.row + 1])))
        hi.append(q.row + int(np.argmin(g[q.row : b + 1])))
        lo_end.append(a)
        hi_end.append(b)
    return lo, hi, lo_end, hi_end


def _tangent(g: np.ndarray, a: int, first: int, last: int, b: int) -> tuple[int, int]:
    """The two rows, in ``a..first`` and ``last..b``, where a straight line touches the
    profile from below: the minima of the profile less the line through them, iterated from
    the plain minima. On a sloping background the plain minimum on the rising side sits in
    the band's tail, where the tail falls as steeply as the background rises."""
    left, right = np.arange(a, first + 1), np.arange(last, b + 1)
    x0, x1 = a + int(np.argmin(g[left])), last + int(np.argmin(g[right]))
    for _ in range(3):
        slope = (g[x1] - g[x0]) / max(x1 - x0, 1)
        x0 = a + int(np.argmin(g[left] - slope * left))
        x1 = last + int(np.argmin(g[right] - slope * right))
    return x0, x1


def _lane_windows(p: np.ndarray, peaks: list[_Peak], lane: int) -> list[BandWindow]:
    """Band windows of one lane: flanking minima, doublets sharing one baseline split at the
    valley (peaks whose valley stands more than 10 % of the lower peak above the line joining
    the pair's outer minima overlap)."""
    from scipy.ndimage import gaussian_filter1d

    if not peaks:
        return []
    g = gaussian_filter1d(p, max(1.0, 0.25 * float(np.median([q.fwhm for q in peaks]))))
    rows = [q.row for q in peaks]
    lo, hi, lo_end, hi_end = _flanks(g, peaks)

    def above(r, a, b):  # height of g at r over the straight line through (a, g[a]), (b, g[b])
        return g[r] - (g[a] + (g[b] - g[a]) * (r - a) / max(b - a, 1))

    groups, valleys = [[0]], []
    for k in range(len(peaks) - 1):
        v = rows[k] + int(np.argmin(g[rows[k] : rows[k + 1] + 1]))
        valleys.append(v)
        a, b = lo[groups[-1][0]], hi[k + 1]
        lower = min(above(rows[k], a, b), above(rows[k + 1], a, b))
        if above(v, a, b) > 0.1 * lower:
            groups[-1].append(k + 1)
        else:
            groups.append([k + 1])
            if hi[k] > lo[k + 1]:  # own flanks crossed in a shallow valley: meet there
                hi[k] = lo[k + 1] = v
    out = []
    for grp in groups:
        a, b = max(lo_end[grp[0]], hi[grp[0] - 1] if grp[0] else 0), hi_end[grp[-1]]
        if grp[-1] + 1 < len(peaks):
            b = min(b, lo[grp[-1] + 1])  # not into the next group's own flank
        base_lo, base_hi = _tangent(g, a, rows[grp[0]], rows[grp[-1]], b)
        for k in grp:
            start = base_lo if k == grp[0] else valleys[k - 1] + 1
            end = base_hi if k == grp[-1] else valleys[k]
            out.append(BandWindow(lane, -1, rows[k], start, end, base_lo, base_hi, True))
    return out


def _cut_by_edge(p: np.ndarray, w: BandWindow) -> bool:
    """A band the crop's edge cuts: its peak within 2 rows of the edge, or its outer flank at
    the edge with the profile there still above half the peak's height over the other flank."""
    h = len(p)
    if w.row < 2 or w.row > h - 3:
        return True
    other = p[w.base_hi] if w.base_lo == 0 else p[w.base_lo]
    half = other + 0.5 * (p[w.row] - other)
    return (w.base_lo == 0 and p[0] > half) or (w.base_hi == h - 1 and p[-1] > half)


def _match(rows: list[list[int]], tol: float) -> list[dict[int, int]]:
    """Bands matched across lanes: each lane's peaks to the tracks of the lanes before it
    (nearest last position, at most ``tol`` rows away), so that a band drifting across a
    smiling gel stays one track. Where a peak and a track are each other's only candidate the
    pair is taken as it is; where candidates compete, the assignment of least total distance
    (:func:`scipy.optimize.linear_sum_assignment`, imported only then: it costs a fresh
    ``letrolab blot`` process 0.3 s of CPU)."""
    tracks: list[dict[int, int]] = []
    last: list[int] = []
    for lane, rs in enumerate(rows):
        pairs: dict[int, int] = {}
        if tracks and rs:
            pairs = _pair_nearest(np.array(rs), np.array(last), tol)
        for i, row in enumerate(rs):
            if i in pairs:
                tracks[pairs[i]][lane] = i
                last[pairs[i]] = row
            else:
                tracks.append({lane: i})
                last.append(row)
    return tracks


def _pair_nearest(rows: np.ndarray, last: np.ndarray, tol: float) -> dict[int, int]:
    """Peaks (by index in ``rows``) paired with tracks (by index in ``last``) at most ``tol``
    rows apart, minimising the total distance over the most pairs."""
    cost = np.abs(np.subtract.outer(rows, last)).astype(float)
    near = cost <= tol
    if (near.sum(axis=1) <= 1).all() and (near.sum(axis=0) <= 1).all():
        return {int(i): int(j) for i, j in zip(*np.nonzero(near), strict=True)}
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(np.where(near, cost, 1e9))
    return {int(i): int(j) for i, j in zip(r, c, strict=True) if near[i, j]}


def _edge_line(lev: np.ndarray, row: int) -> bool:
    """Whether ``row`` holds a line across the whole width (a crop edge or frame): its 10th
    median, over the levelled background, is at least half its 90th
    percentile (bands leave the gaps between and beside them at the background)."""
    r = lev[max(0, row - 1) : row + 2].mean(axis=0) - float(np.median(_thin(lev)))
    p50, p90 = np.percentile(r, [50, 90])
    return bool(p90 > 0 and p50 >= 0.5 * p90)


def _missing_window(lane: int, band: int, members: list[BandWindow], taken) -> BandWindow:
    """The window of a band not found in a lane: the track's shape at the row interpolated
    from the lanes that have it, kept clear of the lane's own bands."""
    lanes = np.array([m.lane for m in members])
    row = round(np.interp(lane, lanes, [m.row for m in members]))
    left = int(np.median([m.row - m.start for m in members]))
    right = int(np.median([m.end - m.row for m in members]))
    start, end = row - left, row + right
    for a, b in taken:
        if a <= row <= b:
            start, end = row, row
        elif b < row:
            start = max(start, b + 1)
        elif a > row:
            end = min(end, a - 1)
    return BandWindow(lane, band, row, start, end, start, end, False)


def _offset(w: BandWindow, r0: int) -> BandWindow:
    return BandWindow(
        w.lane,
        w.band,
        w.row + r0,
        w.start + r0,
        w.end + r0,
        w.base_lo + r0,
        w.base_hi + r0,
        w.detected,
    )


def _gel_rows(sig: np.ndarray, lev: np.ndarray | None = None) -> tuple[int, int]:
    """Rows that belong to the gel: the top and bottom edge zones (10 % of the height, at least
    8 rows) lose their rows up to the innermost one that runs uniformly across the whole width
    (median over the levelled background at least 2 noise sd and 15 % of the bands' scale, the
    99.5th percentile, from 0, and at least half its 10th or 90th percentile, whichever is
    further out): the gel's own edge caught in the crop,
    or the scanner bed beyond it, lighter or darker than the gel."""
    h = sig.shape[0]
    lev = _level(sig) if lev is None else lev
    lev = lev - float(np.median(_thin(lev)))
    noise = _noise_sd(sig)
    cols = lev[:, :: max(1, lev.shape[1] // 400)]  # at most ~400 columns per row
    p10, p50, p90 = np.percentile(cols, [10, 50, 90], axis=1)
    far = np.maximum(np.abs(p10), np.abs(p90))
    size = float(np.percentile(_thin(lev), 99.5))  # the bands' scale over the background
    flat = (np.abs(p50) >= max(2.0 * noise, 0.15 * size, 1e-12)) & (np.abs(p50) >= 0.5 * far)
    zone = max(8, h // 10)
    top = np.flatnonzero(flat[:zone])
    bottom = np.flatnonzero(flat[h - zone :])
    r0 = int(top[-1]) + 1 if len(top) else 0
    r1 = h - zone + int(bottom[0]) if len(bottom) else h
    return r0, r1


def _drop_edge_tracks(tracks, per_lane, signal: np.ndarray, rows: tuple[int, int]):
    """Tracks in the top or bottom edge zone (10 % of the height, at least 8 rows) that are a
    crop edge, not a band: a line across the whole width (:func:`_edge_line`), or a peak whose
    baseline closes only at the first or last row searched."""
    h = signal.shape[0]
    edge_zone = max(8, h // 10)
    lev, kept, warns = None, [], []
    for t in tracks:
        members = [per_lane[k][i] for k, i in t.items()]
        row = int(np.median([w.row for w in members]))
        if edge_zone <= row < h - edge_zone:
            kept.append(t)
            continue
        lev = _level(signal) if lev is None else lev
        if _edge_line(lev, row):
            warns.append(f"a line across the whole width at row {row} is a crop edge, not a band")
        elif any(w.base_lo == rows[0] or w.base_hi == rows[1] - 1 for w in members):
            warns.append(
                f"a peak at row {row} closes only at the image's edge: a crop edge, not a band"
            )
        else:
            kept.append(t)
    return kept, warns


def find_bands(
    profiles: LaneProfiles,
    *,
    min_prominence: float = 0.05,
    bands: int | None = None,
    windows=None,
) -> tuple[list[BandWindow], tuple[str, ...]]:
    """Stage 4: each lane's band windows, matched across lanes (band 0 the topmost).

    Parameters
    ----------
    profiles : LaneProfiles
    min_prominence : float
        Peaks below this fraction of their lane's most prominent peak (or of the lower median
        over lanes of that, when higher) are not bands.
    bands : int, optional
        Keep the ``bands`` bands with the largest summed prominence.
    windows : sequence of (y0, y1), optional
        Fixed band windows (rows y0..y1-1) measured in every lane instead of finding bands.

    Returns
    -------
    windows : list of BandWindow
        Every band in every lane (a band not found in a lane is measured where the others put
        it, ``detected=False``).
    warnings : tuple of str
    """
    prof = profiles.values
    n_lanes, h = prof.shape
    if windows is not None:
        return _fixed_windows(prof, windows), ()
    warns: list[str] = []
    r0, r1 = profiles.gel_rows
    if r0 > 0 or r1 < h:
        warns.append(
            f"rows outside {r0}:{r1} run across the whole width (the gel's edge): not searched for bands"
        )
    sub = prof[:, r0:r1]
    peaks = _lane_peaks(sub, min_prominence)
    per_lane = [_lane_windows(sub[k], peaks[k], k) for k in range(n_lanes)]
    cut = [w for lane in per_lane for w in lane if _cut_by_edge(sub[w.lane], w)]
    if cut:
        warns.append(f"{len(cut)} peak(s) at the crop's edge are not bands (cut by the edge)")
    per_lane = [[_offset(w, r0) for w in lane if w not in cut] for lane in per_lane]
    peaks = [[_Peak(q.row + r0, q.fwhm, q.prominence) for q in lane] for lane in peaks]
    prom = {(k, q.row): q.prominence for k in range(n_lanes) for q in peaks[k]}
    fwhm = np.median([q.fwhm for lane in peaks for q in lane] or [5.0])
    tracks = _match([[w.row for w in lane] for lane in per_lane], max(3.0, 0.75 * fwhm))
    tracks.sort(key=lambda t: np.median([per_lane[k][i].row for k, i in t.items()]))
    kept, edge_warns = _drop_edge_tracks(tracks, per_lane, profiles.signal, (r0, r1))
    warns += edge_warns
    if bands is not None and len(kept) > bands:
        score = [sum(prom[(k, per_lane[k][i].row)] for k, i in t.items()) for t in kept]
        top = sorted(np.argsort(score)[::-1][:bands])
        kept = [kept[j] for j in top]
    if not kept:
        raise InputError("no bands found in the lanes; check the lanes or lower min_prominence")
    out = []
    for b, t in enumerate(kept):
        members = [per_lane[k][i] for k, i in sorted(t.items())]
        for k in range(n_lanes):
            if k in t:
                w = per_lane[k][t[k]]
                out.append(BandWindow(k, b, w.row, w.start, w.end, w.base_lo, w.base_hi, True))
            else:
                taken = [(w.start, w.end) for w in per_lane[k]]
                out.append(_missing_window(k, b, members, taken))
    return out, tuple(warns)


def _fixed_windows(prof: np.ndarray, windows) -> list[BandWindow]:
    h = prof.shape[1]
    out = []
    for b, (y0, y1) in enumerate(windows):
        y0, y1 = int(y0), int(y1)
        if not 0 <= y0 < y1 - 1 < h:
            raise InputError(f"band window {y0}:{y1} must lie within rows 0:{h} and span >= 2 rows")
        for k in range(prof.shape[0]):
            row = y0 + int(np.argmax(prof[k, y0:y1]))
            out.append(BandWindow(k, b, row, y0, y1 - 1, y0, y1 - 1, True))
    return out


# -------------------------------------------------------------------- stage 5: the band areas
def _anchor(p: np.ndarray, r: int) -> float:
    """Baseline end value: the profile's mean over rows r-1..r+1 (noise kept out of the line)."""
    return float(p[max(0, r - 1) : r + 2].mean())


def measure_bands(profiles: LaneProfiles, windows: list[BandWindow]) -> pd.DataFrame:
    """Stage 5: every band's area above its baseline, and its saturation.

    The area is the sum over the window's rows of the profile minus the baseline: for
    ``baseline`` and ``rolling_ball`` the straight line through the profile at the band's (or
    its doublet's) flanking minima (after the ball: the offset it leaves), for ``region`` and
    ``none`` 0 (the background is removed, or absent).

    Returns
    -------
    DataFrame
        ``lane, band`` (1-based), ``area``, ``saturated``, ``detected``, ``row``,
        ``row_start``, ``row_end``, ``baseline_start``, ``baseline_end`` (the baseline's value
        at the window's first and last row, in profile units).
    """
    rows = []
    for w in windows:
        p = profiles.values[w.lane]
        y = np.arange(w.start, w.end + 1)
        if profiles.background in _LINE_UNDER_PEAK:
            v0, v1 = _anchor(p, w.base_lo), _anchor(p, w.base_hi)
            line = v0 + (v1 - v0) * (y - w.base_lo) / max(w.base_hi - w.base_lo, 1)
        else:
            line = np.zeros(len(y))
        rows.append(
            {
                "lane": w.lane + 1,
                "band": w.band + 1,
                "area": float((p[w.start : w.end + 1] - line).sum()),
                "saturated": bool(profiles.saturated[w.lane, w.start : w.end + 1].any()),
                "detected": w.detected,
                "row": w.row,
                "row_start": w.start,
                "row_end": w.end,
                "baseline_start": float(line[0]),
                "baseline_end": float(line[-1]),
            }
        )
    return pd.DataFrame(rows).sort_values(["band", "lane"], ignore_index=True)


# ------------------------------------------------------------------------------------- result
_COLUMNS = [
    "lane",
    "band",
    "area",
    "relative",
    "saturated",
    "detected",
    "row",
    "row_start",
    "row_end",
    "baseline_start",
    "baseline_end",
]


@dataclass(frozen=True)
class BlotResult:
    """Densitometry of one blot image.

    Attributes
    ----------
    bands : DataFrame
        ``lane, band`` (1-based; band 1 is the topmost), ``area`` (image units above the
        band's background), ``relative`` (area / area of the control lane's same band),
        ``saturated``, ``detected`` (False: the band was not found in this lane and was
        measured where the other lanes put it), ``row``, ``row_start``, ``row_end`` (rows
        integrated), ``baseline_start``, ``baseline_end`` (the baseline at those rows).
    lanes : tuple of (x0, x1)
        Column bounds of the lanes at the image's middle row (x1 exclusive).
    lane_centres : ndarray (n_lanes, H)
        Each lane's centre column in every row (tilted or curved lanes are followed).
    profiles : ndarray (n_lanes, H)
        Lane profiles the areas were measured on (see :class:`LaneProfiles`).
    signal : ndarray (H, W)
        The image in bands-bright orientation the profiles were summed from.
    inverted : bool
        True when the input had dark bands on a light background.
    background : str
        The background method: one of :data:`BACKGROUNDS`.
    radius : float or None
        The rolling ball's radius (px) for ``rolling_ball``.
    control_lane : int
    warnings : tuple of str
    """

    bands: pd.DataFrame
    lanes: tuple[tuple[int, int], ...]
    lane_centres: np.ndarray
    profiles: np.ndarray
    signal: np.ndarray
    inverted: bool
    background: str
    radius: float | None
    control_lane: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_lanes(self) -> int:
        return len(self.lanes)

    @property
    def n_bands(self) -> int:
        return int(self.bands["band"].max()) if len(self.bands) else 0

    def band_areas(self, band: int = 1, *, allow_saturated: bool = False) -> np.ndarray:
        """Areas of one band in every lane (lane order).

        Raises
        ------
        InputError
            If the band does not exist, or a lane's band is saturated (its area is only a
            lower bound) and ``allow_saturated`` is False.
        """
        sel = self.bands[self.bands["band"] == band]
        if sel.empty:
            raise InputError(f"band {band} not found; the blot has bands 1..{self.n_bands}")
        if sel["saturated"].any() and not allow_saturated:
            lanes = sel.loc[sel["saturated"], "lane"].tolist()
            raise InputError(
                f"band {band} is saturated in lane(s) {lanes}: its area is a lower bound; "
                "use a shorter exposure (or allow_saturated=True to accept it)"
            )
        return sel.sort_values("lane")["area"].to_numpy(dtype=float)

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: lanes, background method, bands, warnings."""
        keep = ["lane", "band", "area", "relative", "saturated", "detected"]
        keep += ["row", "row_start", "row_end"]
        return {
            "lanes": [list(map(int, b)) for b in self.lanes],
            "inverted": self.inverted,
            "background": self.background,
            "radius": self.radius,
            "control_lane": self.control_lane,
            "bands": [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                for r in self.bands[keep].to_dict(orient="records")
            ],
            "warnings": list(self.warnings),
        }

    def report(self) -> str:
        """Text table of the bands."""
        how = self.background + (f" (radius {self.radius:.3g} px)" if self.radius else "")
        lines = [
            f"{self.n_lanes} lanes, {self.n_bands} band(s); background {how}"
            f"{', inverted (dark bands)' if self.inverted else ''}"
        ]
        for r in self.bands.itertuples():
            flag = ("  SATURATED" if r.saturated else "") + ("" if r.detected else "  (not found)")
            lines.append(
                f"lane {r.lane} band {r.band}: area {r.area:.6g}  relative {r.relative:.4g}{flag}"
            )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The bands table."""
        return self.bands.copy()

    def plot(self, path: str | Path | None = None, **kwargs):
        """Figure of the lanes and each lane's profile; see :mod:`letrolab.assays.blot_plots`."""
        from letrolab.assays.blot_plots import plot_blot

        return plot_blot(self, path=path, **kwargs)


def _check_options(background, radius, region, control_lane) -> str:
    if background == "rectangles":
        raise InputError(
            "background='rectangles' was replaced by 'baseline' (a line under each peak) and "
            "'region' (background rows you give)"
        )
    if background == "auto":
        background = "rolling_ball" if radius is not None else "baseline"
    if background not in BACKGROUNDS:
        raise InputError(f"background must be one of {', '.join(BACKGROUNDS)}, not {background!r}")
    if radius is not None:
        if not (np.isfinite(radius) and radius >= 1):
            raise InputError(f"rolling-ball radius must be a number >= 1 px, not {radius}")
        if background != "rolling_ball":
            raise InputError(f"a radius applies to the rolling ball, not to {background!r}")
    if background == "region" and region is None:
        raise InputError("background='region' needs the background rows, e.g. region=[(0, 20)]")
    if region is not None and background != "region":
        raise InputError(f"background rows apply to background='region', not {background!r}")
    if isinstance(control_lane, bool) or not isinstance(control_lane, (int, np.integer)):
        raise InputError(f"control_lane must be a lane number, not {control_lane!r}")
    return background


def _ball_check(prof: LaneProfiles, grid: LaneGrid, bt: pd.DataFrame) -> list[str]:
    """ImageJ's rule: the ball's radius at least the radius of the largest band."""
    if prof.radius is None or bt.empty:
        return []
    fwhm = max((q.fwhm for lane in _lane_peaks(prof.values, 0.05) for q in lane), default=0.0)
    size = max(2.5 * fwhm, float(grid.widths.max()))  # a band's +-3 sd, and its lane
    if prof.radius >= 0.5 * size:
        return []
    return [
        f"the rolling ball (radius {prof.radius:.3g} px) is smaller than the largest band "
        f"({size:.0f} px): it eats into the bands; use a radius >= {0.5 * size:.0f} px or "
        "background='baseline'"
    ]


def _relative(bt: pd.DataFrame, control_lane: int) -> tuple[pd.DataFrame, list[str]]:
    warns = []
    ctrl = bt[bt["lane"] == control_lane].set_index("band")["area"]
    denom = bt["band"].map(ctrl).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        bt["relative"] = np.where(denom > 0, bt["area"].to_numpy() / denom, np.nan)
    if (denom <= 0).any():
        warns.append(
            f"control lane {control_lane} has no signal in some band; relative is NaN there"
        )
    if bt["saturated"].any():
        s = bt[bt["saturated"]]
        warns.append(
            "saturated band(s) (area is a lower bound): "
            + ", ".join(f"lane {a} band {b}" for a, b in zip(s["lane"], s["band"], strict=True))
        )
    return bt[_COLUMNS], warns


def analyse_blot(
    image,
    *,
    lanes=None,
    lane_width: int | None = None,
    bands: int | None = None,
    background: str = "baseline",
    radius: float | None = None,
    region=None,
    window=None,
    invert: bool | str = "auto",
    saturation: float | None = None,
    control_lane: int = 1,
    min_prominence: float = 0.05,
) -> BlotResult:
    """Measure the bands of a Western blot or gel image (ImageJ Gel Analyzer style).

    Lanes run from top to bottom (bands are horizontal); rotate other images first
    (``numpy.rot90``). The stages are described in the module docstring.

    Parameters
    ----------
    image : path or ndarray (H, W)
        TIFF/PNG file or grey image (8/16-bit integer or float).
    lanes : int, sequence of (x0, x1), path, or None
        None: lanes found and counted from the column profile; an int: that many lanes; column
        bounds; or a CSV of lane boxes (:func:`read_lane_boxes`).
    lane_width : int, optional
        Width (px) of every lane box, centred on the lanes found.
    bands : int, optional
        Keep the ``bands`` most prominent bands.
    background : {"baseline", "rolling_ball", "region", "none"}
        See the module docstring; "auto" is "baseline", or "rolling_ball" with a radius.
    radius : float, optional
        Rolling-ball radius (px, >= 1); default larger than the largest band.
    region : sequence of (y0, y1), optional
        Background rows (y0..y1-1) for ``region``: one range (its mean per lane) or several (a
        line fitted through them per lane).
    window : sequence of (y0, y1), optional
        Fixed band windows (rows y0..y1-1) measured in every lane: how one quantifies one
        protein. Bands are then not searched for.
    invert, saturation
        See :func:`prepare_signal`.
    control_lane : int
        1-based lane whose areas define ``relative`` = 1.
    min_prominence : float
        Bands below this fraction of the most prominent band are ignored.

    Returns
    -------
    BlotResult
    """
    background = _check_options(background, radius, region, control_lane)
    raw = read_blot_image(image) if isinstance(image, (str, Path)) else np.asarray(image)
    if isinstance(lanes, (str, Path)):
        lanes = read_lane_boxes(lanes)
    if window is not None and len(window) and np.ndim(window) == 1:
        window = [window]
    prep = prepare_signal(raw, invert=invert, saturation=saturation)
    grid = locate_lanes(prep, lanes=lanes, lane_width=lane_width)
    if not 1 <= control_lane <= len(grid.bounds):
        raise InputError(f"control_lane {control_lane} is not among lanes 1..{len(grid.bounds)}")
    prof = lane_profiles(prep, grid, background=background, radius=radius, region=region)
    wins, band_warns = find_bands(prof, min_prominence=min_prominence, bands=bands, windows=window)
    bt, rel_warns = _relative(measure_bands(prof, wins), control_lane)
    warns = [*prep.warnings, *grid.warnings, *prof.warnings, *band_warns]
    warns += _ball_check(prof, grid, bt) + rel_warns
    return BlotResult(
        bands=bt,
        lanes=grid.bounds,
        lane_centres=grid.centres,
        profiles=prof.values,
        signal=prof.signal,
        inverted=prep.inverted,
        background=background,
        radius=prof.radius,
        control_lane=int(control_lane),
        warnings=tuple(warns),
    )


def normalise_bands(
    signal,
    *,
    total=None,
    loading=None,
    control_lane: int = 1,
) -> pd.DataFrame:
    """Normalise band areas per lane: phospho/total, over a loading control, relative to a lane.

    ``ratio = signal / total / loading`` (each divisor only when given), and
    ``relative = ratio / ratio[control_lane]``. For example p-AKT over total AKT over actin,
    relative to the untreated lane.

    Parameters
    ----------
    signal, total, loading : array_like (n_lanes,)
        Band areas in lane order, e.g. ``result.band_areas(1)`` (which refuses saturated
        bands).
    control_lane : int
        1-based lane whose ratio is 1.

    Returns
    -------
    DataFrame
        ``lane, signal, total, loading, ratio, relative``.

    Examples
    --------
    >>> normalise_bands([2.0, 4.0], total=[1.0, 1.0], loading=[1.0, 2.0])["relative"].tolist()
    [1.0, 1.0]
    """
    s = np.asarray(signal, dtype=float)
    n = len(s)
    out = pd.DataFrame({"lane": np.arange(1, n + 1), "signal": s})
    ratio = s.copy()
    for name, arr in (("total", total), ("loading", loading)):
        if arr is None:
            out[name] = np.nan
            continue
        a = np.asarray(arr, dtype=float)
        if a.shape != s.shape:
            raise InputError(f"{name} has {a.size} lanes but signal has {n}")
        if not (a > 0).all():
            bad = (np.flatnonzero(~(a > 0)) + 1).tolist()
            raise InputError(
                f"{name} band has no signal (area <= 0) in lane(s) {bad}; cannot divide"
            )
        out[name] = a
        ratio = ratio / a
    if not 1 <= control_lane <= n:
        raise InputError(f"control_lane {control_lane} is not among lanes 1..{n}")
    if not ratio[control_lane - 1] > 0:
        raise InputError(f"control lane {control_lane} has no signal; choose another control lane")
    out["ratio"] = ratio
    out["relative"] = ratio / ratio[control_lane - 1]
    return out
