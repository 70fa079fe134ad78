"""Virtual instruments: what a plate reader and a flow cytometer would record.

The model gives noise-free readouts (relative MTS signal, phase and sub-G1 fractions). A lab
never sees those: it sees absorbances with pipetting and reader noise and evaporation at the
plate edge, and flow events with staining CVs, debris and doublets. These functions add that
layer, vectorised over wells and events, so the analysis code meets realistic files.

Plate reads (MTS, 490 nm)
-------------------------
Absorbance of a well with relative signal ``v`` (vehicle = 1) is ::

    A = A_blank + (A_vehicle - A_blank) * v * e_ring * (1 + eps_p) + eps_r

MTS formazan absorbance is linear in viable cell number over the working range (Cory et al.
1991, Cancer Commun 3:207; Riss et al., Assay Guidance Manual "Cell Viability Assays", 2013).
``eps_p`` ~ N(0, cv_well) is seeding/pipetting noise (5 % is typical of a manual 96-well
assay), ``eps_r`` ~ N(0, sd_reader) the reader noise. ``e_ring`` is the evaporation edge effect,
``1 - edge_loss * exp(-ring / 0.6)`` for ring 0 (outer) inwards: the outer ring loses growth,
the next ring a little (Lundholt, Scudder & Pagliaro 2003, J Biomol Screen 8:566). Blank wells
(medium only) get ``A_blank`` with reader noise and, on the edge, the evaporation increase of
the medium's own absorbance.

DNA content (PI, linear scale)
------------------------------
Singlets are drawn by the cell-cycle model of Dean & Jett (1974, J Cell Biol 60:523): G1 and
G2/M Gaussians at ``g1`` and ``linearity * g1`` with a common CV, S phase uniform between them
and broadened by the same CV. Apoptotic (sub-G1) cells carry a fraction of the G1 content
(a broad hump between 0.1 and 0.9 × G1; Nicoletti et al. 1991, J Immunol Methods 139:271). Debris is
an exponentially decaying tail from the origin, and doublets add the DNA of two singlets with a
wider pulse (area vs width gating, Wersto et al. 2001, Cytometry 46:296). Pulse width of a
particle is ``w0`` times the cube root of its DNA content relative to G1 (its diameter), with a
4 % CV; height is area × w0 / width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from letrolab.errors import InputError

__all__ = [
    "DNA_CHANNELS",
    "PlateNoise",
    "dna_content_events",
    "mts_absorbance",
    "plate_rings",
]


@dataclass(frozen=True)
class PlateNoise:
    """Plate-reader noise model (see the module docstring); defaults are typical MTS values."""

    a_blank: float = 0.12
    a_vehicle: float = 1.35
    cv_well: float = 0.05
    sd_reader: float = 0.004
    edge_loss: float = 0.12
    edge_blank_rise: float = 0.03


def plate_rings(rows: int = 8, cols: int = 12) -> np.ndarray:
    """Ring index of each well (0 = outer ring), shape ``(rows, cols)``.

    >>> plate_rings(4, 6)
    array([[0, 0, 0, 0, 0, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 1, 1, 1, 1, 0],
           [0, 0, 0, 0, 0, 0]])
    """
    r = np.arange(rows)[:, None]
    c = np.arange(cols)[None, :]
    return np.minimum(np.minimum(r, rows - 1 - r), np.minimum(c, cols - 1 - c))


def mts_absorbance(
    relative: np.ndarray,
    ring: np.ndarray,
    has_cells: np.ndarray,
    rng: np.random.Generator,
    *,
    noise: PlateNoise = PlateNoise(),
) -> np.ndarray:
    """Absorbance at 490 nm of wells with relative MTS signal ``relative`` (vehicle = 1).

    Parameters
    ----------
    relative : array
        Model MTS signal relative to vehicle, one per well (ignored where ``has_cells`` is
        False). Must be finite and ≥ 0.
    ring : array of int
        Ring index of each well (:func:`plate_rings`).
    has_cells : array of bool
        False for medium-only wells (blanks, empty edge wells).
    rng : numpy.random.Generator
    noise : PlateNoise, keyword-only

    Returns
    -------
    numpy.ndarray
        Absorbances, same shape as ``relative``.
    """
    relative = np.asarray(relative, dtype=float)
    ring = np.asarray(ring)
    has_cells = np.asarray(has_cells, dtype=bool)
    if relative.shape != ring.shape or relative.shape != has_cells.shape:
        raise InputError("relative, ring and has_cells must have the same shape (one per well)")
    live = relative[has_cells]
    if not np.all(np.isfinite(live)) or np.any(live < 0):
        raise InputError("relative MTS signals must be finite and >= 0; check the model output")
    edge = np.exp(-ring / 0.6)
    growth = 1.0 - noise.edge_loss * edge
    pip = rng.normal(0.0, noise.cv_well, size=relative.shape)
    reader = rng.normal(0.0, noise.sd_reader, size=relative.shape)
    blank = noise.a_blank * (1.0 + noise.edge_blank_rise * edge)
    signal = (noise.a_vehicle - noise.a_blank) * np.where(has_cells, relative, 0.0) * growth
    return blank + signal * (1.0 + pip) + reader


DNA_CHANNELS = ("FSC-A", "SSC-A", "PI-A", "PI-W", "PI-H")
#: Apoptotic (hypodiploid) nuclei: DNA content ``SUB_G1_LOW + SUB_G1_SPAN * Beta(a, b)`` x G1,
#: a broad hump between 0.1 and 0.9 x G1.
SUB_G1_LOW, SUB_G1_SPAN, SUB_G1_BETA = 0.1, 0.8, (2.0, 2.2)


def dna_content_events(
    fractions: pd.DataFrame | dict,
    n_events: int,
    rng: np.random.Generator,
    *,
    g1: float = 200.0,
    cv: float = 0.045,
    linearity: float = 1.96,
    debris: float = 0.04,
    doublets: float = 0.04,
    w0: float = 80.0,
) -> np.ndarray:
    """Draw PI-stained flow events for given sub-G1 and cell-cycle fractions.

    Parameters
    ----------
    fractions : mapping
        ``sub_g1`` (fraction of singlets that are apoptotic) and ``g1``, ``s``, ``g2m`` (fractions
        of the non-apoptotic singlets; they must sum to 1 within 1e-6).
    n_events : int
        Total events, debris and doublets included.
    rng : numpy.random.Generator
    g1 : float, keyword-only
        G1 peak position (PI-A, linear scale, 1024-channel range).
    cv : float, keyword-only
        Coefficient of variation of the G1 and G2 peaks (3–5 % for good PI staining).
    linearity : float, keyword-only
        G2/G1 peak ratio of the instrument (1.9–2.0).
    debris, doublets : float, keyword-only
        Fractions of all events.
    w0 : float, keyword-only
        Mean pulse width of a singlet.

    Returns
    -------
    numpy.ndarray
        ``(n_events, 5)`` array in the channel order :data:`DNA_CHANNELS`, rows shuffled.

    Raises
    ------
    InputError
        For fractions outside [0, 1], phases that do not sum to 1, or too few events.
    """
    f = {k: float(fractions[k]) for k in ("sub_g1", "g1", "s", "g2m")}
    for k, v in f.items():
        if not (np.isfinite(v) and 0.0 <= v <= 1.0):
            raise InputError(f"fraction {k} = {v!r} is not in [0, 1]; check the model output")
    if abs(f["g1"] + f["s"] + f["g2m"] - 1.0) > 1e-6:
        raise InputError(
            f"phase fractions g1 + s + g2m = {f['g1'] + f['s'] + f['g2m']:.6f}, not 1; "
            "normalise them over the non-apoptotic cells"
        )
    if not (isinstance(n_events, (int, np.integer)) and n_events >= 100):
        raise InputError(f"n_events must be an integer >= 100, got {n_events!r}")
    if not (0 <= debris < 0.5 and 0 <= doublets < 0.5):
        raise InputError("debris and doublets must be fractions below 0.5")

    n_deb = round(n_events * debris)
    n_dbl = round(n_events * doublets)
    n_sing = n_events - n_deb - n_dbl
    p = np.array([f["sub_g1"], *(np.array([f["g1"], f["s"], f["g2m"]]) * (1 - f["sub_g1"]))])
    counts = rng.multinomial(n_sing, p / p.sum())

    def singlets(k_sub: int, k_g1: int, k_s: int, k_g2: int) -> np.ndarray:
        dna_sub = g1 * (SUB_G1_LOW + SUB_G1_SPAN * rng.beta(*SUB_G1_BETA, size=k_sub))
        dna_g1 = g1 * (1 + cv * rng.standard_normal(k_g1))
        pos = g1 * (1 + (linearity - 1) * rng.uniform(0, 1, size=k_s))
        dna_s = pos * (1 + cv * rng.standard_normal(k_s))
        dna_g2 = linearity * g1 * (1 + cv * rng.standard_normal(k_g2))
        return np.concatenate([dna_sub, dna_g1, dna_s, dna_g2])

    area = singlets(*counts)
    kind = np.repeat(np.array([1, 0, 0, 0]), counts)  # 1 = apoptotic
    # Doublets: two singlets of the same population stuck together.
    pick = rng.integers(0, n_sing, size=(n_dbl, 2)) if n_sing else np.zeros((0, 2), int)
    dbl_area = area[pick].sum(axis=1) if n_dbl else np.zeros(0)
    deb_area = g1 * (0.02 + rng.exponential(0.18, size=n_deb))

    a = np.maximum(np.concatenate([area, dbl_area, deb_area]), 0.5)
    # Pulse width follows the particle's diameter, ~ cube root of its DNA content; a doublet
    # passes the laser as two cells in a row, about twice a G1 cell's width.
    size_w = np.cbrt(np.concatenate([area, np.full(n_dbl, g1), deb_area]) / g1)
    size_w[n_sing : n_sing + n_dbl] = 1.75 + 0.12 * rng.standard_normal(n_dbl)
    width = np.maximum(w0 * size_w * (1 + 0.04 * rng.standard_normal(a.size)), 1.0)
    height = a * w0 / width
    size = np.concatenate([np.where(kind == 1, 0.6, 1.0), np.full(n_dbl, 1.6), np.full(n_deb, 0.2)])
    fsc = 5.0e4 * size * np.exp(0.15 * rng.standard_normal(a.size))
    ssc = 2.0e4 * np.sqrt(size) * np.exp(0.2 * rng.standard_normal(a.size))
    events = np.column_stack([fsc, ssc, a, width, height])
    return events[rng.permutation(events.shape[0])]
