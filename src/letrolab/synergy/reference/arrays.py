"""Array plumbing shared by the table and grid paths: ragged curves to padded arrays, ranks
within blocks, categorical columns, lookups, batched Hill fits of several curve sets.

Own code: these are layout steps around :func:`letrolab.doseresponse.hill.fit_hill` (the
fitting itself), with no equivalent in NumPy/pandas as one call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from letrolab.doseresponse.hill import HillFits, fit_hill

__all__ = ["block_means", "dense_rank", "fit_joint", "lookup", "pad", "take"]


def pad(cid: np.ndarray, n_curves: int, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """Scatter ragged per-curve values into (n_curves, max_len) arrays padded with NaN.

    Within a curve the points are ordered by the first column (the dose), so the result does
    not depend on the order of the input rows. Returns the padded arrays followed by the
    position of every input element within its curve.
    """
    order = np.lexsort((cols[0], cid))
    cs = cid[order]
    counts = np.bincount(cs, minlength=n_curves)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(cs.size) - starts[cs]
    width = int(counts.max()) if cs.size else 1
    out = []
    for c in cols:
        a = np.full((n_curves, max(width, 1)), np.nan)
        a[cs, pos] = c[order]
        out.append(a)
    rowpos = np.empty(cid.size, dtype=np.int64)
    rowpos[order] = pos
    return (*out, rowpos)


def dense_rank(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
    """0-based dense rank of ``value`` within each ``group`` (codes 0..n_groups-1)."""
    codes, uniq = pd.factorize(value, sort=True)  # hash-based; codes follow sorted order
    nu = len(uniq)
    if n_groups * nu <= 20_000_000:
        present = np.zeros((n_groups, nu), dtype=np.int32)
        present[group, codes] = 1
        return (np.cumsum(present, axis=1) - 1)[group, codes]
    uk, ik = np.unique(group * nu + codes, return_inverse=True)
    kb = uk // nu
    first = np.searchsorted(kb, kb, side="left")
    return (np.arange(uk.size) - first)[ik.ravel()]


def take(names: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """Categorical column names[codes] without materialising one string per row."""
    cat = pd.Categorical(names)
    return pd.Categorical.from_codes(cat.codes[codes], dtype=cat.dtype)


def lookup(keys_table: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """values[keys_table == key] for each key (NaN where absent); keys_table unique."""
    order = np.argsort(keys_table, kind="stable")
    kt = keys_table[order]
    i = np.searchsorted(kt, keys)
    i = np.clip(i, 0, max(kt.size - 1, 0))
    out = np.full(keys.size, np.nan)
    if kt.size:
        hit = kt[i] == keys
        out[hit] = values[order][i[hit]]
    return out


def block_means(bc: np.ndarray, v: np.ndarray, nb: int) -> np.ndarray:
    """Mean of the finite ``v`` per block code ``bc`` (NaN for a block with none)."""
    fin = np.isfinite(v)
    s = np.bincount(bc[fin], weights=v[fin], minlength=nb)
    c = np.bincount(bc[fin], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, s / np.maximum(c, 1), np.nan)


def _slice_fits(f: HillFits, sl: slice) -> HillFits:
    return HillFits(
        e0=f.e0[sl],
        emax=f.emax[sl],
        ec50=f.ec50[sl],
        h=f.h[sl],
        rss=f.rss[sl],
        n=f.n[sl],
        ok=f.ok[sl],
        reason=f.reason[sl],
        labels=f.labels[sl],
    )


def fit_joint(parts, emax=None) -> list[HillFits]:
    """Fit several sets of curves ``(x, y, e0)`` in one batched call (rows padded with NaN)."""
    width = max(x.shape[1] for x, _, _ in parts)
    xs, ys, e0s = [], [], []
    for x, yv, e0 in parts:
        w = width - x.shape[1]
        xs.append(np.pad(x, ((0, 0), (0, w)), constant_values=np.nan))
        ys.append(np.pad(yv, ((0, 0), (0, w)), constant_values=np.nan))
        e0s.append(np.full(x.shape[0], np.nan) if e0 is None else e0)
    f = fit_hill(np.concatenate(xs), np.concatenate(ys), e0=np.concatenate(e0s), emax=emax)
    out, start = [], 0
    for x, _, _ in parts:
        out.append(_slice_fits(f, slice(start, start + x.shape[0])))
        start += x.shape[0]
    return out
