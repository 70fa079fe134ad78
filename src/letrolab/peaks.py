"""Peaks of a 1-D profile: local maxima, their prominences and widths, and cross-correlation.

Why letrolab keeps its own code here instead of :mod:`scipy.signal`: importing
``scipy.signal`` costs 1.2-1.9 s of CPU in a fresh process (SciPy 1.17 parses every public
function's docstring at import, and pulls in :mod:`scipy.stats`), more than the whole analysis
of a blot image or a 1,000,000-event DNA histogram. ``letrolab blot`` and ``letrolab
cellcycle`` are commands a user runs once per file, so that import dominated what they wait for.
The operations they need are short, and are written here to the same definitions:

- :func:`find_peaks` follows :func:`scipy.signal.find_peaks` for the ``height``, ``distance`` and
  ``prominence`` conditions, applied in SciPy's order (height, then distance, then prominence).
  A peak is a sample, or the middle (rounded down) of a flat run of samples, higher than its
  neighbours on both sides; the first and last samples are never peaks.
- The **prominence** of a peak is its height above the higher of the two lowest points reached on
  each side before the profile rises above the peak or ends (the topographic definition used by
  SciPy and by the MATLAB ``findpeaks`` documentation). Its **bases** are those lowest points
  (the one nearest the peak where the lowest value repeats).
- :func:`peak_widths` measures each peak's width at ``height - rel_height * prominence``, from
  the first crossings on each side (within the bases), linearly interpolated between samples,
  as :func:`scipy.signal.peak_widths` does.
- :func:`smooth` is a Gaussian filter of sd ``sigma`` samples, the kernel truncated at
  ``4 sigma`` and the profile mirrored at its ends (``d c b a | a b c d | d c b a``), as
  :func:`scipy.ndimage.gaussian_filter1d` does by default (whose package costs 0.3-0.5 s of
  CPU to import, for a histogram of a few hundred bins).
- :func:`correlate` is the full discrete cross-correlation ``c[k] = sum_n a[n + k - (m - 1)]
  v[n]`` (lag ``k - (m - 1)``), :func:`numpy.correlate` in ``"full"`` mode.

tests/test_peaks.py checks each against SciPy on random and plateau-rich profiles
(hypothesis), to floating-point tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PeakWidths", "Peaks", "correlate", "find_peaks", "peak_widths", "smooth"]


@dataclass(frozen=True)
class Peaks:
    """Peaks of a profile, in increasing position.

    Attributes
    ----------
    indices : numpy.ndarray
        Sample index of each peak (int).
    prominences : numpy.ndarray
        Each peak's prominence (same units as the profile).
    left_bases, right_bases : numpy.ndarray
        Sample index of the lowest point on each side that defines the prominence.
    """

    indices: np.ndarray
    prominences: np.ndarray
    left_bases: np.ndarray
    right_bases: np.ndarray

    def __len__(self) -> int:
        return int(self.indices.size)


@dataclass(frozen=True)
class PeakWidths:
    """Widths of peaks at a relative height of their prominence.

    Attributes
    ----------
    widths : numpy.ndarray
        Width in samples (interpolated).
    heights : numpy.ndarray
        The profile level at which each width was measured.
    left, right : numpy.ndarray
        Interpolated positions of the left and right crossings.
    """

    widths: np.ndarray
    heights: np.ndarray
    left: np.ndarray
    right: np.ndarray


def _as_profile(x: np.ndarray) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"a profile must be 1-D, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("a profile must hold finite numbers only")
    return arr


def local_maxima(x: np.ndarray) -> np.ndarray:
    """Indices of the local maxima of ``x``: single samples or the middle of flat tops.

    Parameters
    ----------
    x : numpy.ndarray
        A 1-D profile of finite numbers.

    Returns
    -------
    numpy.ndarray
        Indices (int), increasing. A flat top's index is ``(first + last) // 2``; a flat run
        touching either end of the profile is not a peak.
    """
    x = _as_profile(x)
    if x.size < 3:
        return np.zeros(0, dtype=np.intp)
    change = np.flatnonzero(np.diff(x) != 0) + 1  # first sample of each run after the first
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change - 1, [x.size - 1]))
    vals = x[starts]
    inner = np.arange(1, starts.size - 1)
    up = vals[inner - 1] < vals[inner]
    down = vals[inner + 1] < vals[inner]
    top = inner[up & down]
    return ((starts[top] + ends[top]) // 2).astype(np.intp)


def _nearest_higher(x: list[float], order: range) -> list[int]:
    """For each sample, in ``order``, the index of the nearest earlier sample (in that order)
    that is strictly higher, or -1: one pass with a stack of falling values."""
    out = [-1] * len(x)
    stack: list[int] = []
    for i in order:
        v = x[i]
        while stack and x[stack[-1]] <= v:
            stack.pop()
        out[i] = stack[-1] if stack else -1
        stack.append(i)
    return out


def _prominences(x: np.ndarray, peaks: np.ndarray) -> Peaks:
    n = x.size
    xl = x.tolist()
    left_higher = _nearest_higher(xl, range(n))
    right_higher = _nearest_higher(xl, range(n - 1, -1, -1))
    prom = np.empty(peaks.size)
    lb = np.empty(peaks.size, dtype=np.intp)
    rb = np.empty(peaks.size, dtype=np.intp)
    for k, p in enumerate(peaks.tolist()):
        lo = left_higher[p] + 1
        seg = x[lo : p + 1]
        lb[k] = p - int(np.argmin(seg[::-1]))  # the minimum nearest the peak
        hi = right_higher[p] - 1 if right_higher[p] >= 0 else n - 1
        rb[k] = p + int(np.argmin(x[p : hi + 1]))
        prom[k] = xl[p] - max(xl[lb[k]], xl[rb[k]])
    return Peaks(peaks, prom, lb, rb)


def _by_distance(x: np.ndarray, peaks: np.ndarray, distance: float) -> np.ndarray:
    """Keep the higher of peaks closer than ``distance`` samples, highest first."""
    d = np.ceil(distance)
    keep = np.ones(peaks.size, dtype=bool)
    for j in np.argsort(x[peaks])[::-1]:
        if not keep[j]:
            continue
        near = np.abs(peaks - peaks[j]) < d
        near[j] = False
        keep[near] = False
    return peaks[keep]


def find_peaks(
    x: np.ndarray,
    *,
    height: float | None = None,
    distance: float | None = None,
    prominence: float | None = None,
) -> Peaks:
    """Local maxima of a profile that meet a minimum height, spacing and prominence.

    Parameters
    ----------
    x : numpy.ndarray
        A 1-D profile of finite numbers.
    height : float, optional
        Keep peaks whose value is at least this.
    distance : float, optional
        Of peaks closer than this many samples, keep the higher (>= 1).
    prominence : float, optional
        Keep peaks whose prominence is at least this.

    Returns
    -------
    Peaks
        The peaks left, with their prominences and bases.
    """
    x = _as_profile(x)
    peaks = local_maxima(x)
    if height is not None:
        peaks = peaks[x[peaks] >= height]
    if distance is not None:
        if distance < 1:
            raise ValueError(f"distance must be at least 1 sample, got {distance}")
        peaks = _by_distance(x, peaks, distance)
    found = _prominences(x, peaks)
    if prominence is not None:
        keep = found.prominences >= prominence
        found = Peaks(
            found.indices[keep],
            found.prominences[keep],
            found.left_bases[keep],
            found.right_bases[keep],
        )
    return found


def peak_widths(x: np.ndarray, peaks: Peaks, rel_height: float = 0.5) -> PeakWidths:
    """Width of each peak at ``rel_height`` of its prominence below its top.

    Parameters
    ----------
    x : numpy.ndarray
        The profile the peaks were found in.
    peaks : Peaks
        From :func:`find_peaks` on ``x``.
    rel_height : float
        0.5 gives the full width at half prominence; 1.0 the width at the higher base.

    Returns
    -------
    PeakWidths
        Widths, the level of each, and the interpolated crossings.
    """
    x = _as_profile(x)
    if rel_height < 0:
        raise ValueError(f"rel_height must be >= 0, got {rel_height}")
    n = len(peaks)
    widths, levels, left, right = (np.empty(n) for _ in range(4))
    for k, (p, prom, lb, rb) in enumerate(
        zip(peaks.indices, peaks.prominences, peaks.left_bases, peaks.right_bases, strict=True)
    ):
        level = x[p] - prom * rel_height
        below = np.flatnonzero(x[lb + 1 : p + 1] <= level)
        i = lb + 1 + int(below[-1]) if below.size else int(lb)
        lo = float(i)
        if x[i] < level:
            lo += (level - x[i]) / (x[i + 1] - x[i])
        below = np.flatnonzero(x[p:rb] <= level)
        i = p + int(below[0]) if below.size else int(rb)
        hi = float(i)
        if x[i] < level:
            hi -= (level - x[i]) / (x[i - 1] - x[i])
        widths[k], levels[k], left[k], right[k] = hi - lo, level, lo, hi
    return PeakWidths(widths, levels, left, right)


def correlate(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Full cross-correlation of two real 1-D profiles (length ``len(a) + len(v) - 1``).

    Index ``len(v) - 1`` is lag 0; index ``k`` compares ``a`` shifted by ``k - (len(v) - 1)``
    samples with ``v``.
    """
    return np.correlate(_as_profile(a), _as_profile(v), mode="full")


def smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """A profile smoothed by a Gaussian of sd ``sigma`` samples (mirrored ends, 4-sd kernel).

    Parameters
    ----------
    x : numpy.ndarray
        A 1-D profile of finite numbers.
    sigma : float
        The Gaussian's sd in samples (> 0).

    Returns
    -------
    numpy.ndarray
        The smoothed profile, the same length as ``x``.
    """
    x = _as_profile(x)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    radius = int(4.0 * float(sigma) + 0.5)
    t = np.arange(-radius, radius + 1, dtype=float)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    if x.size == 0:
        return x.copy()
    # mirrored ends, repeated when the kernel is wider than the profile: x, reversed x, x, ...
    period = np.concatenate((x, x[::-1]))
    padded = period[np.arange(-radius, x.size + radius) % period.size]
    return np.convolve(padded, kernel, mode="valid")
