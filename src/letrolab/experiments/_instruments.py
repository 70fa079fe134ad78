"""Virtual flow cytometer: what a flow cytometer would record.

The model gives noise-free phase and sub-G1 fractions. A lab sees flow events with staining
CVs, debris and doublets; this module adds that layer, vectorised over events, so the analysis
code meets realistic files. (The virtual plate reader moved to
:mod:`letrolab.instruments.plates`.)

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

import numpy as np
import pandas as pd

from letrolab.errors import InputError

__all__ = [
    "DNA_CHANNELS",
    "dna_content_events",
]


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
