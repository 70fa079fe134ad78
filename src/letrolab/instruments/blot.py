"""A virtual blot scanner: synthetic Western blot images whose band volumes are known exactly.

:func:`render_blot` draws Gaussian bands of known integrated volume on a background with a
linear gradient, Gaussian noise, detector saturation and 8/16-bit quantisation, dark-on-light
(film, Coomassie) or light-on-dark (fluorescence, chemiluminescence imager). It also draws what
makes real gels hard, each with a known truth: touching lanes (``gap=0``), doublets (close
``band_rows``), smears under the bands, tilted lanes and smiling band rows, a crop edge (the
gel's own edge caught in the crop) and dust specks. The virtual experiments and the test suite
make their blots here; :mod:`letrolab.assays.blot` reads them like any scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from letrolab._io import atomic_write_bytes
from letrolab.errors import InputError

__all__ = ["SyntheticBlot", "render_blot"]


@dataclass(frozen=True)
class SyntheticBlot:
    """A rendered blot and the truth it was made from.

    Attributes
    ----------
    image : ndarray (H, W), uint8 or uint16 (float64 for ``dtype="float"``)
        What a scanner would save (dark bands on light background if ``dark_bands``).
    volumes : ndarray (n_lanes, n_bands)
        Integrated intensity of each band above the background, in image units, before
        saturation and quantisation.
    lanes : tuple of (x0, x1)
        Column bounds of each lane at the image's middle row (x1 exclusive).
    band_rows : ndarray (n_lanes, n_bands)
        Row of each band's centre in each lane (rows differ between lanes when ``smile``).
    saturated : ndarray of bool (n_lanes, n_bands)
        True where the band reaches the saturation level (its measured area must fall short).
    full_scale : float
        The value a saturated pixel has in the signal (bands-bright) orientation.
    """

    image: np.ndarray
    volumes: np.ndarray
    lanes: tuple[tuple[int, int], ...]
    band_rows: np.ndarray
    saturated: np.ndarray
    full_scale: float

    def summary(self) -> dict[str, Any]:
        """JSON-able truth: lanes, band rows, volumes, saturated bands, full scale."""
        return {
            "lanes": [list(b) for b in self.lanes],
            "band_rows": self.band_rows.tolist(),
            "volumes": self.volumes.tolist(),
            "saturated": self.saturated.tolist(),
            "full_scale": self.full_scale,
            "dtype": self.image.dtype.name,
        }

    def save(self, path: str | Path) -> Path:
        """Write the image as PNG or TIFF (by suffix), atomically; returns the path."""
        import imageio.v3 as iio  # scikit-image's own image I/O layer

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in {".png", ".tif", ".tiff"}:
            raise InputError(f"blot images are written as .png or .tif, not {suffix!r}")
        return atomic_write_bytes(path, iio.imwrite("<bytes>", self.image, extension=suffix))


@dataclass(frozen=True)
class _Layout:
    """Geometry of a rendered blot: lane x-bounds at the middle row and band rows per lane."""

    width: int
    lane_x0: np.ndarray  # (n_lanes,)
    rows: np.ndarray  # (n_lanes, n_bands)


def _layout(vol, height, lane_width, gap, margin, band_rows, smile) -> _Layout:
    n_lanes, n_bands = vol.shape
    width = 2 * margin + n_lanes * lane_width + (n_lanes - 1) * gap
    if band_rows is None:
        band_rows = np.linspace(0, height, n_bands + 2)[1:-1]
    band_rows = np.asarray(band_rows, dtype=float)
    if band_rows.shape != (n_bands,):
        raise InputError(f"band_rows needs {n_bands} rows, got {band_rows.shape}")
    x0 = margin + np.arange(n_lanes) * (lane_width + gap)
    centre = x0 + lane_width / 2.0
    u = (centre - width / 2.0) / max(width / 2.0, 1.0)  # -1 .. 1 across the gel
    rows = band_rows[None, :] + smile * u[:, None] ** 2  # outer lanes run `smile` px lower
    return _Layout(width=int(width), lane_x0=x0.astype(float), rows=rows)


def _band_columns(x, a, b):
    """Across-lane profile of a band: a plateau from a to b with 1 px sd soft edges, sum 1."""
    from scipy.special import erf

    gx = 0.5 * (erf((x + 0.5 - a) / np.sqrt(2)) - erf((x + 0.5 - b) / np.sqrt(2)))
    return gx / max(gx.sum(), 1e-300)


def _draw_lanes(vol, lay: _Layout, height, lane_width, band_sigma, tilt, smear, fill):
    """Band (and smear) signal of every lane, and one mask per band for the saturation truth."""
    n_lanes, n_bands = vol.shape
    y = np.arange(height, dtype=float)
    x = np.arange(lay.width, dtype=float)
    shift = tilt * (y - (height - 1) / 2.0)  # lanes drift sideways down the gel (px)
    core = fill * lane_width
    clean = np.zeros((height, lay.width))
    masks = []
    for i in range(n_lanes):
        a = lay.lane_x0[i] + (lane_width - core) / 2.0
        if np.any(shift):
            gx = np.stack([_band_columns(x, a + s, a + s + core) for s in shift])  # (H, W)
        else:
            gx = _band_columns(x, a, a + core)[None, :]
        lane = np.zeros(height)
        for j in range(n_bands):
            gy = np.exp(-0.5 * ((y - lay.rows[i, j]) / band_sigma) ** 2)
            band = vol[i, j] * (gy / gy.sum())[:, None] * gx
            clean += band
            masks.append((i, j, band > 1e-3 * band.max() if vol[i, j] > 0 else None))
            lane += gy
        if smear > 0:  # a broad smear of degraded protein down the lane, not part of any band
            sm = np.exp(-0.5 * ((y - 0.6 * height) / (0.3 * height)) ** 2)
            clean += smear * vol[i].sum() * (sm / sm.sum())[:, None] * gx
    return clean, masks


def _store(signal, dtype: str, full: float, dark_bands: bool, background: float) -> np.ndarray:
    """What the scanner saves: quantised to the dtype, inverted for dark bands."""
    if dtype == "float":
        stored = signal.copy()
        if dark_bands:
            stored = float(np.max(signal)) + float(background) - stored
        return stored
    stored = np.clip(np.rint(signal), 0, full)
    if dark_bands:
        stored = full - stored
    return stored.astype(dtype)


def render_blot(
    volumes,
    *,
    height: int = 160,
    lane_width: int = 24,
    gap: int = 10,
    margin: int = 12,
    band_rows=None,
    band_sigma: float = 3.0,
    background: float = 1000.0,
    gradient: tuple[float, float] = (0.0, 0.0),
    noise: float = 0.0,
    saturation: float | None = None,
    dtype: str = "uint16",
    dark_bands: bool = False,
    fill: float = 0.8,
    tilt: float = 0.0,
    smile: float = 0.0,
    smear: float = 0.0,
    crop_edge: float = 0.0,
    specks: int = 0,
    seed: int | None = 0,
) -> SyntheticBlot:
    """Render a synthetic Western blot whose band volumes are known exactly.

    Parameters
    ----------
    volumes : array_like (n_lanes, n_bands) or (n_lanes,)
        Integrated intensity of each band above background (image units, i.e. the sum over the
        band's pixels). 0 leaves the band out.
    height, lane_width, gap, margin : int
        Image height; lane width, gap between lanes (0: touching lanes) and side margin, in px.
    band_rows : array_like (n_bands,), optional
        Centre row of each band; default evenly spaced. Two rows a few sd apart make a doublet.
    band_sigma : float
        Vertical Gaussian sd of a band (px); horizontally a band fills ``fill`` of its lane
        with soft (1 px sd) edges.
    background : float
        Background level (signal orientation: bands add to it).
    gradient : (float, float)
        Background change across the image's full height and full width (a linear ramp).
    noise : float
        Sd of additive Gaussian noise.
    saturation : float, optional
        Detector ceiling in signal units; default the dtype's full scale.
    dtype : {"uint16", "uint8", "float"}
    dark_bands : bool
        Store dark bands on a light background (``full_scale - signal``), like a film scan.
    fill : float
        Fraction of the lane width a band covers (0 < fill <= 1).
    tilt : float
        Sideways drift of the lanes in px per row (a gel scanned askew, or run crooked).
    smile : float
        How many px lower the outermost lanes' bands run than the middle lanes' (a "smile").
    smear : float
        Volume of a broad smear down each lane (sd 0.3 x height, centred at 0.6 x height), as
        a fraction of the lane's total band volume. Not part of any band's volume.
    crop_edge : float
        Amplitude (per pixel) of the gel's edge caught at the bottom of the crop: a ramp over
        the last 6 rows across the whole width, as a crop that took in the gel's border shows.
    specks : int
        Number of dust specks (2 x 2 px, 20 x the noise or 500 counts, whichever is larger)
        at random places.
    seed : int, optional
        Seed of the noise and the specks (``numpy.random.default_rng``).

    Examples
    --------
    Two lanes, one band each, of volumes 5e4 and 1e5 (noise-free, so only the 16-bit
    rounding separates the measured areas from the truth):

    >>> from letrolab.assays.blot import analyse_blot
    >>> blot = render_blot([[5e4], [1e5]])
    >>> blot.image.shape, blot.image.dtype.name, blot.lanes
    ((160, 82), 'uint16', ((12, 36), (46, 70)))
    >>> res = analyse_blot(blot.image)
    >>> bool(np.allclose(res.band_areas(1), [5e4, 1e5], rtol=1e-3))
    True
    """
    vol = np.atleast_2d(np.asarray(volumes, dtype=float))
    if np.asarray(volumes).ndim == 1:
        vol = vol.T
    if not np.all(np.isfinite(vol)) or (vol < 0).any():
        raise InputError("band volumes must be finite and >= 0")
    if dtype not in {"uint16", "uint8", "float"}:
        raise InputError(f"dtype must be uint16, uint8 or float, not {dtype!r}")
    if not 0 < fill <= 1:
        raise InputError(f"fill must be in (0, 1], not {fill}")
    lay = _layout(vol, height, lane_width, gap, margin, band_rows, smile)
    full = {"uint16": 65535.0, "uint8": 255.0, "float": np.inf}[dtype]
    ceiling = full if saturation is None else float(saturation)
    y = np.arange(height, dtype=float)
    x = np.arange(lay.width, dtype=float)
    img = (
        background
        + gradient[0] * (y[:, None] / max(height - 1, 1))
        + gradient[1] * (x[None, :] / max(lay.width - 1, 1))
    ) * np.ones((height, lay.width))
    clean, masks = _draw_lanes(vol, lay, height, lane_width, band_sigma, tilt, smear, fill)
    if crop_edge > 0:
        img += crop_edge * np.clip((y - (height - 7)) / 6.0, 0.0, 1.0)[:, None]
    rng = np.random.default_rng(seed)
    signal = img + clean + (rng.normal(0.0, noise, img.shape) if noise > 0 else 0.0)
    for _ in range(int(specks)):
        r, c = int(rng.integers(0, height - 2)), int(rng.integers(0, lay.width - 2))
        signal[r : r + 2, c : c + 2] += max(20.0 * noise, 500.0)
    sat_mask = signal >= ceiling
    signal = np.minimum(signal, ceiling)
    saturated = np.zeros(vol.shape, dtype=bool)
    for i, j, m in masks:
        if m is not None:
            saturated[i, j] = bool(sat_mask[m].any())
    stored = _store(signal, dtype, full, dark_bands, background)
    lanes = tuple((int(a), int(a + lane_width)) for a in lay.lane_x0)
    return SyntheticBlot(
        image=stored,
        volumes=vol,
        lanes=lanes,
        band_rows=lay.rows,
        saturated=saturated,
        full_scale=float(min(ceiling, full)),
    )
