"""Reference synergy models: Bliss, HSA, Loewe and ZIP, vectorised over many blocks.

All four follow SynergyFinder's definitions (Ianevski et al. 2017 Bioinformatics 33:2413;
Ianevski et al. 2020 NAR 48:W488; Zheng et al. 2022 GPB 20:587) on the % inhibition scale.
A score is *observed minus expected*: positive is synergy, negative antagonism.

* **Bliss** independence (Bliss 1939 Ann Appl Biol 26:585): expected
  ``100 (1 - prod_i (1 - y_i / 100))`` from the *observed* single-agent responses ``y_i`` at the
  cell's doses; for two drugs ``y1 + y2 - y1 y2 / 100``.
* **HSA**, highest single agent (Berenbaum 1989 Pharmacol Rev 41:93): expected ``max_i y_i``.
* **Loewe** additivity (Loewe 1953 Arzneimittelforschung 3:285): the expected effect ``y``
  solves ``sum_i x_i / X_i(y) = 1`` where ``X_i`` is the inverse of drug ``i``'s fitted
  four-parameter log-logistic curve (:mod:`letrolab.doseresponse.hill`). It is solved
  numerically (bisection, then bracketed Newton steps on ``log sum_i x_i / X_i(y)``) inside the
  interval where every inverse exists. Where no solution lies there —
  the expected effect would be beyond a partner's maximum effect — the model is undefined;
  like SynergyFinder's code (``CalculateLoewe``) the expected effect then falls back to
  ``max_i E_i(sum_j x_j)`` (each drug's curve at the total dose, exact for equipotent drugs),
  and the number of such cells is reported as a warning of the block. (This is the Loewe of
  ``"free"`` and, with its own fits, of ``"synergyfinder2"``; the default ``"synergyfinder3"``
  uses SynergyFinder 3's grid search instead, below.)
* **ZIP**, zero interaction potency (Yadav et al. 2015 CSBJ 13:504): single agents are fitted
  by the log-logistic model (the zero-dose well included as the control); every row of the
  combination matrix is re-fitted as a log-logistic curve of the varied drug, and likewise
  every column. By default the re-fits follow SynergyFinder 3 (below); under Yadav et al.'s
  original rule (convention ``"free"``, as SynergyFinder 1-2) the bottom is fixed at the other
  drug's fitted single-agent effect and the top at 100, and
  delta = mean of the two re-fitted values minus the ZIP expectation
  ``f1 + f2 - f1 f2 / 100`` of the fitted single agents. A row with one point is not re-fitted
  (its observed value is used), and a re-fit that does not converge uses the observed values,
  as in SynergyFinder; such re-fits are counted in the block's warnings.

Three conventions (``convention=``). ``"synergyfinder3"`` (the default) is what today's
SynergyFinder (3.x / Plus) computes: single agents with all four log-logistic parameters fitted
(its ``Emin = NA, Emax = NA``), and two-drug ZIP by its R code (function ``ZIP``,
R/calculate_synergy_score.R of shuyuzheng/synergyfinder 3.x; Zheng et al. 2022 GPB 20:587):
every row and column, its zero-dose well included, is re-fitted with one asymptote fixed at that
well's observed response and the other free, and the reference is the Bliss combination of the
fitted single agents (:mod:`letrolab.synergy.zip_nd`; regular grids via
:mod:`letrolab.synergy._sf3`). Its Loewe is SynergyFinder 3's function ``Loewe`` (same file,
with ``.SolveLoewe`` and ``.SolveExpDoesLL4``; :func:`letrolab.synergy._sf3.sf3_loewe_expected`,
any number of drugs), not the exact root above: where no drug's curve reaches the observed
response the expected effect is ``max_i E_i(sum_j x_j)``; otherwise it is the effect, among 100
equally spaced values from the lowest to the highest asymptote of the block's drugs, that
minimises ``|sum_i x_i / X_i(E) - 1|``, a drug beyond its maximum counting as an infinite dose
(term 0). It is exact only to that grid step (a drug combined with itself scores within one
step of 0) and is not capped at 100. On SynergyFinder's O'Neil example (4 replicates) the
block means are within 2.2 points of the published SynergyFinder 3 means: ZIP 35.4 and -77.9
against 35.6 and -75.8, Loewe 37.5 and -74.0 against 38.1 and -73.6 (the exact root with
its fallback, ``"free"``, gives 25.3 on block 1); see tests/synergy/test_convention_sf3.py.

``"free"`` keeps the same single agents, scores Loewe by the exact root (above), and two-drug
ZIP by Yadav et al.'s (2015) original re-fit rule, the one SynergyFinder 1-2 used: rows and
columns re-fitted with the bottom fixed at the partner's *fitted* single-agent effect and the
top at 100, the zero-dose well left out (described above). With free single agents this is a hybrid no released tool
produces; on the O'Neil example it misses SynergyFinder 3's second block mean by 51 points.
``"synergyfinder2"`` fixes the bottom at 0 and the top at 100 % inhibition, as SynergyFinder
1-2's ``CalculateSynergy(..., Emin = 0, Emax = 100)`` did, and caps the Loewe expectation at 100
as its ``CalculateLoewe`` did. Its two-drug Loewe follows ``CalculateLoewe`` step by step
(:mod:`letrolab.synergy._sf2`): single agents by drc's ``LL.4`` path on their non-zero doses
with the top fixed at 100 and the bottom at 0 (at the lowest response where a curve goes below
0, as the published table was computed), the Loewe equation solved by an emulation of
nleqslv's Newton / double-dogleg path (R's iterates to the bit), the max-of-curves fallback
where nleqslv gives up, the cap. It reproduces the published per-cell Loewe of SynergyFinder
2's example table: all 294 cells within 5.5e-10 points (tests/synergy/test_reference_sf2.py).
(The single-agent table lists letrolab's least-squares 0-100 fits, not these.) Its ZIP is
SynergyFinder 1-2's ``ZIP()`` as that table was computed (``correction = FALSE, Emin = NA,
Emax = NA``): single agents fitted by drc's free ``LL.4`` on their non-zero doses, rows and
columns re-fitted by drc's logistic ``L.4`` in linear dose with the bottom fixed at the
partner's fitted effect and the top free, no cap. These
re-fits sit on flat residual surfaces, so drc's fitting path is emulated step by step
(:mod:`letrolab.synergy._sf2`: its scaling, start values and R's BFGS), which reproduces the
published per-cell ZIP: median difference 4e-15, at most 0.023 points (two chaotic single-agent
fits; see tests/synergy/test_reference_sf2.py). That path is slower than the others (about
15 ms per 8 x 8 block against 0.5 ms).

Per block the summaries are the mean over the combination cells and the *most synergistic
area*: the largest mean over a 3 x 3 window of adjacent doses of the combination matrix (two
drugs; Ianevski 2017, 2020). Bliss, HSA, Loewe and ZIP are defined for N drugs (ZIP for three
or more drugs as SynergyFinder 3 defines it: :mod:`letrolab.synergy.zip_nd`); the most
synergistic area only for two (no higher-order definition exists; it is NaN for N drugs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab._results import jsonable
from letrolab.doseresponse.hill import HillFits, fit_hill, hill_effect
from letrolab.errors import InputError
from letrolab.synergy.tidy import CombinationData, _unit_factors, read_combination

__all__ = [
    "CONVENTIONS",
    "MODELS",
    "GridScores",
    "ReferenceResult",
    "grid_scores",
    "reference_scores",
]

MODELS = ("bliss", "hsa", "loewe", "zip")

#: Scoring conventions. ``"synergyfinder3"`` (the default): as SynergyFinder 3 / Plus, all four
#: log-logistic parameters of the single agents fitted (its ``Emin = NA, Emax = NA``), Loewe
#: by its 100-step grid search over effects, uncapped, two-drug ZIP by its slice re-fits
#: (:mod:`letrolab.synergy.zip_nd`, as for N drugs under every convention). ``"free"``: the
#: same single agents, Loewe by the exact root and its fallback, two-drug ZIP by Yadav
#: et al.'s (2015) original re-fit rule (bottom fixed at the partner's fitted effect, top at 100,
#: zero-dose well left out), as SynergyFinder 1-2 re-fitted. ``"synergyfinder2"``: bottom fixed
#: at 0 and top at 100 % inhibition (SynergyFinder 1-2's ``CalculateSynergy(..., Emin = 0,
#: Emax = 100)``), the Loewe expectation capped at 100 as in its ``CalculateLoewe``, and two-drug
#: ZIP as its ``ZIP()`` computed it (drc's fits emulated, :mod:`letrolab.synergy._sf2`).
CONVENTIONS = ("free", "synergyfinder2", "synergyfinder3")

#: The convention used when none is given.
DEFAULT_CONVENTION = "synergyfinder3"

_SF2_SA_FAILED = (
    "synergyfinder2: drc's LL.4 fit of a single agent failed (R's optim would stop "
    "with an error); its Loewe or ZIP is not defined for this block"
)


def _check_convention(convention: str) -> tuple[float, float, bool]:
    """(fixed e0, fixed emax, cap Loewe at 100) of a convention; NaN = free."""
    if convention in ("free", "synergyfinder3"):  # same single-agent fits (SF3: own ZIP, Loewe)
        return np.nan, np.nan, False
    if convention == "synergyfinder2":
        return 0.0, 100.0, True
    raise InputError(f"unknown convention {convention!r}; use one of {', '.join(CONVENTIONS)}")


def _loewe_fallback_note(n: int, convention: str) -> str:
    """Block warning for ``n`` Loewe cells scored by the fallback ``max_i E_i(total dose)``."""
    if convention == "synergyfinder3":
        why = "whose observed response no single drug's curve reaches"
        who = "SynergyFinder 3's fallback"
    else:
        why = "whose expected effect lies beyond a partner's maximum effect"
        who = "SynergyFinder's fallback"
    return f"Loewe: {n} cell(s) {why} use max_i E_i(total dose) instead ({who})"


def _check_models(models: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",")]
    out: list[str] = []
    for m in models:
        m = m.lower()
        names = MODELS if m == "all" else (m,)
        for n in names:
            if n not in MODELS:
                raise InputError(
                    f"unknown reference model {m!r}; use bliss, hsa, loewe, zip or all"
                )
            if n not in out:
                out.append(n)
    if not out:
        raise InputError("no model given; use bliss, hsa, loewe, zip or all")
    return tuple(out)


# ----------------------------------------------------------------------------- helpers


def _pad(cid: np.ndarray, n_curves: int, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
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


def _dense_rank(group: np.ndarray, value: np.ndarray, n_groups: int) -> np.ndarray:
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


def _take(names: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """Categorical column names[codes] without materialising one string per row."""
    cat = pd.Categorical(names)
    return pd.Categorical.from_codes(cat.codes[codes], dtype=cat.dtype)


def _lookup(keys_table: np.ndarray, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
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


def _loewe_expected(x, e0, emax, ec50, h, n_bisect: int = 6, n_newton: int = 14):
    """Loewe-additive effect for cells with doses ``x`` (n, k); NaN parameters = drug absent.

    Solves ``G(y) = log(sum_i x_i / X_i(y)) = 0`` — monotone in ``y`` when all curves run the
    same way — inside ``(max_i min(E0_i, Emax_i), min_i max(E0_i, Emax_i))``: a few bisection
    steps, then Newton steps on ``G`` kept inside the shrinking bracket (a step leaving it
    bisects instead). Returns (expected, fallback mask).
    """
    present = x > 0
    inc = emax > e0
    lo_i = np.where(present, np.minimum(e0, emax), -np.inf)
    hi_i = np.where(present, np.maximum(e0, emax), np.inf)
    lo = lo_i.max(1)
    hi = hi_i.min(1)
    all_inc = np.where(present, inc, True).all(1)
    all_dec = np.where(present, ~inc, True).all(1)
    same = all_inc | all_dec
    sign = np.where(all_inc, 1.0, -1.0)  # g = sign * G decreases in y
    lx = np.log(np.where(present, x, 1.0)) - np.log(np.where(present, ec50, 1.0))
    inv_h = np.where(present, 1.0 / np.where(present, h, 1.0), 0.0)

    def g(y, deriv=False):
        yy = y[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = lx - np.log((yy - e0) / (emax - yy)) * inv_h  # log of x_i / X_i(y)
        below = np.where(inc, yy <= e0, yy >= e0)  # dose 0 reaches it: term infinite
        beyond = np.where(inc, yy >= emax, yy <= emax)  # never reached: term 0
        v = np.where(below, np.inf, np.where(beyond | ~present, -np.inf, v))
        m = v.max(1)
        mf = np.where(np.isfinite(m), m, 0.0)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            w = np.exp(v - mf[:, None])
            sw = w.sum(1)
            tot = np.where(np.isfinite(m), mf + np.log(sw), m)
        if not deriv:
            return sign * tot
        with np.errstate(divide="ignore", invalid="ignore"):
            dv = -inv_h * (1.0 / (yy - e0) + 1.0 / (emax - yy))
            d = np.where(present & np.isfinite(v), w * dv, 0.0).sum(1) / sw
        return sign * tot, sign * d

    ok = same & (lo < hi) & np.isfinite(lo) & np.isfinite(hi)
    a = np.where(ok, lo, 0.0)
    b = np.where(ok, hi, 1.0)
    ga, gb = g(a), g(b)
    root = ok & (ga > 0) & (gb < 0)
    for _ in range(n_bisect):
        m = 0.5 * (a + b)
        right = g(m) > 0
        a = np.where(right, m, a)
        b = np.where(right, b, m)
    y = 0.5 * (a + b)
    for _ in range(n_newton):
        gy, dy = g(y, deriv=True)
        right = gy > 0
        a = np.where(right, y, a)
        b = np.where(right, b, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            yn = y - gy / dy
        inside = np.isfinite(yn) & (yn >= a) & (yn <= b)
        y = np.where(inside, yn, 0.5 * (a + b))
    # Fallback (SynergyFinder's): each curve at the total dose, the larger effect.
    total = np.where(present, x, 0.0).sum(1, keepdims=True)
    each = np.where(present, hill_effect(total, e0, emax, ec50, h), -np.inf)
    fb = each.max(1)
    fallback = ~root
    return np.where(root, y, fb), fallback


def _window_max(grid: np.ndarray, size: int = 3) -> np.ndarray:
    """Largest mean over complete size x size windows of each (B, R, C) grid (NaN if none)."""
    nb, r, c = grid.shape
    if r < size or c < size:
        return np.full(nb, np.nan)
    fin = np.isfinite(grid)
    v = np.where(fin, grid, 0.0)
    sums = np.zeros((nb, r - size + 1, c - size + 1))
    bad = np.zeros(sums.shape, dtype=bool)
    for di in range(size):
        for dj in range(size):
            sums += v[:, di : di + r - size + 1, dj : dj + c - size + 1]
            bad |= ~fin[:, di : di + r - size + 1, dj : dj + c - size + 1]
    means = np.where(bad, -np.inf, sums / (size * size))
    best = means.reshape(nb, -1).max(1)
    return np.where(np.isfinite(best), best, np.nan)


# ----------------------------------------------------------------------------- core


def _score_table(
    table: pd.DataFrame,
    n_drugs: int,
    models: Sequence[str],
    *,
    allow_grid: bool = True,
    convention: str = DEFAULT_CONVENTION,
):
    """Score a normalised combination table (see tidy.CombinationData.table), all blocks at once.

    Returns (scores DataFrame, summary DataFrame, single-agent DataFrame, {block: [warnings]}).
    """
    k = n_drugs
    sa_e0, sa_emax, cap = _check_convention(convention)
    if "zip" in models and k != 2:  # SynergyFinder 3's N-drug ZIP: letrolab.synergy.zip_nd
        from letrolab.synergy.zip_nd import score_table_with_zip

        return score_table_with_zip(
            table, k, models, convention=convention, score_table=_score_table
        )
    ccols = [f"conc{i + 1}" for i in range(k)]
    dcols = [f"drug{i + 1}" for i in range(k)]
    bcode, block_ids = pd.factorize(table["block_id"], sort=False)
    bcode = bcode.astype(np.int64)
    nb = len(block_ids)
    conc = table[ccols].to_numpy(dtype=float)
    y = table["response"].to_numpy(dtype=float)
    nz = conc > 0
    nnz = nz.sum(1)
    zero = nnz == 0
    combo = nnz >= 2
    first_idx = np.unique(bcode, return_index=True)[1]
    if k == 2 and allow_grid:
        grid = _as_grid(bcode, nb, conc, y)
        if grid is not None:
            return _score_grid_table(table, grid, bcode, block_ids, first_idx, models, convention)
    if "zip" in models and convention == "synergyfinder3":  # two drugs, not a regular grid
        from letrolab.synergy.zip_nd import score_table_with_zip

        return score_table_with_zip(
            table, k, models, convention=convention, score_table=_score_table
        )
    drugs_of_block = table[dcols].iloc[first_idx].to_numpy(dtype=object)
    units = (
        table["unit"].iloc[first_idx].to_numpy(dtype=object)
        if "unit" in table
        else np.array([""] * nb, dtype=object)
    )
    warns: dict[int, list[str]] = {}

    def warn(mask: np.ndarray, text_fn) -> None:
        for b in np.flatnonzero(mask):
            warns.setdefault(int(b), []).append(text_fn(int(b)))

    # Single agents of every drug of every block: one batched fit.
    need_fit = any(m in models for m in ("loewe", "zip"))
    n_curves = nb * k
    e0 = emax = ec50 = hh = np.full(n_curves, np.nan)
    fit_ok = np.zeros(n_curves, bool)
    fit_reason = np.array([""] * n_curves, dtype=object)
    fit_n = np.zeros(n_curves, int)
    fit_rss = np.full(n_curves, np.nan)
    if need_fit:
        rows, drug = [], []
        zi = np.flatnonzero(zero)
        for i in range(k):
            si = np.concatenate([np.flatnonzero(nz[:, i] & (nnz == 1)), zi])
            rows.append(si)
            drug.append(np.full(si.size, i))
        rr = np.concatenate(rows)
        dd = np.concatenate(drug)
        xs, ys, _ = _pad(bcode[rr] * k + dd, n_curves, conc[rr, dd], y[rr])
        fits = fit_hill(xs, ys, e0=sa_e0, emax=sa_emax)
        e0, emax, ec50, hh = fits.e0, fits.emax, fits.ec50, fits.h
        fit_ok, fit_reason, fit_n, fit_rss = fits.ok, fits.reason, fits.n, fits.rss
        bad = ~fit_ok.reshape(nb, k)
        for b, i in zip(*np.nonzero(bad), strict=True):
            warns.setdefault(int(b), []).append(
                f"single-agent fit of {drugs_of_block[b, i]} failed ({fit_reason[b * k + i]}); "
                "Loewe and ZIP are not defined for this block"
            )

    ci = np.flatnonzero(combo)
    bc = bcode[ci]
    xc = conc[ci]
    out: dict[str, np.ndarray] = {}

    if "bliss" in models or "hsa" in models:
        obs = np.full((ci.size, k), np.nan)
        for i in range(k):
            codes, _ = pd.factorize(conc[:, i])
            ucount = int(codes.max()) + 1 if codes.size else 1
            key = bcode * ucount + codes
            si = np.flatnonzero(nz[:, i] & (nnz == 1))
            got = _lookup(key[si], y[si], key[ci])
            obs[:, i] = np.where(xc[:, i] > 0, got, np.nan)
        missing = (xc > 0) & np.isnan(obs)
        if missing.any():
            nmiss = np.bincount(bc[missing.any(1)], minlength=nb)
            warn(
                nmiss > 0,
                lambda b: (
                    f"{nmiss[b]} combination cell(s) lack an observed "
                    "single-agent response at the same dose: Bliss and HSA are not defined there"
                ),
            )
        present = xc > 0
        if "bliss" in models:
            # e <- e + y_i - e y_i / 100, drug by drug: 100 (1 - prod(1 - y_i/100)) written
            # so that two drugs give SynergyFinder's y1 + y2 - y1 y2 / 100 to the last bit.
            e = np.zeros(ci.size)
            for i in range(k):
                yi = np.where(present[:, i], obs[:, i], 0.0)
                e = e + yi - e * yi / 100.0
            out["bliss"] = y[ci] - e
        if "hsa" in models:
            with np.errstate(invalid="ignore"):
                hsa_exp = np.where(present, obs, -np.inf).max(1)
            hsa_exp = np.where(missing.any(1), np.nan, hsa_exp)
            out["hsa"] = y[ci] - hsa_exp

    par = np.stack([e0, emax, ec50, hh], 1).reshape(nb, k, 4)
    blk_fit_ok = fit_ok.reshape(nb, k).all(1) if need_fit else np.ones(nb, bool)
    if "loewe" in models and convention == "synergyfinder2" and k == 2:
        # SynergyFinder 1-2's CalculateLoewe: drc's 0-100 fits, nleqslv (letrolab.synergy._sf2)
        from letrolab.synergy._sf2 import sf2_loewe_curves, sf2_loewe_expected

        rows = [np.flatnonzero(nz[:, i] & (nnz == 1)) for i in range(k)]
        rr = np.concatenate(rows)
        dd = np.concatenate([np.full(r_.size, i) for i, r_ in enumerate(rows)])
        xs, ys, _ = _pad(bcode[rr] * k + dd, n_curves, conc[rr, dd], y[rr])
        lpar, lok = sf2_loewe_curves(xs, ys)
        lpar = lpar.reshape(nb, k, 4)
        lok = lok.reshape(nb, k).all(1)
        exp_l = np.full(ci.size, np.nan)
        fb = np.zeros(ci.size, bool)
        good = lok[bc]
        if good.any():
            exp_l[good], fb[good], _ = sf2_loewe_expected(
                xc[good, 0], xc[good, 1], lpar[bc[good], 0], lpar[bc[good], 1]
            )
        warn(~lok, lambda b: _SF2_SA_FAILED)
        out["loewe"] = y[ci] - exp_l
    elif "loewe" in models:
        p = par[bc]  # (n_c, k, 4)
        if convention == "synergyfinder3":  # SynergyFinder 3's grid search over effects
            from letrolab.synergy._sf3 import sf3_loewe_expected

            exp_l, fb = sf3_loewe_expected(xc, y[ci], p[..., 0], p[..., 1], p[..., 2], p[..., 3])
        else:
            exp_l, fb = _loewe_expected(xc, p[..., 0], p[..., 1], p[..., 2], p[..., 3])
        if cap:
            exp_l = np.minimum(exp_l, 100.0)
        exp_l = np.where(blk_fit_ok[bc], exp_l, np.nan)
        fb &= blk_fit_ok[bc]
        out["loewe"] = y[ci] - exp_l
    if "loewe" in models:
        nfb = np.bincount(bc[fb], minlength=nb)
        warn(
            nfb > 0,
            lambda b: _loewe_fallback_note(int(nfb[b]), convention),
        )

    if "zip" in models:
        sf2 = convention == "synergyfinder2"
        if sf2:  # SynergyFinder 1-2's ZIP with drc's fits emulated (letrolab.synergy._sf2)
            from letrolab.synergy._sf2 import drc_l4_bottom, drc_ll4, ll4_effect

            rows = [np.flatnonzero(nz[:, i] & (nnz == 1)) for i in range(k)]
            rr = np.concatenate(rows)
            dd = np.concatenate([np.full(r_.size, i) for i, r_ in enumerate(rows)])
            xs, ys, _ = _pad(bcode[rr] * k + dd, n_curves, conc[rr, dd], y[rr])
            zpar = np.stack(drc_ll4(xs, ys)[:4], 1).reshape(nb, k, 4)
            zip_ok = np.isfinite(zpar).all((1, 2))
            f1 = ll4_effect(xc[:, 0], *zpar[bc, 0].T)
            f2 = ll4_effect(xc[:, 1], *zpar[bc, 1].T)
            warn(~zip_ok, lambda b: _SF2_SA_FAILED)
        else:
            f1 = hill_effect(xc[:, 0], *par[bc, 0].T)
            f2 = hill_effect(xc[:, 1], *par[bc, 1].T)
            zip_ok = blk_fit_ok
        refit = []
        n_raw = np.zeros(nb, int)
        for vary, fixed, bottom in ((0, 1, f2), (1, 0, f1)):
            codes, _ = pd.factorize(xc[:, fixed])
            gid, _ = pd.factorize(bc * (int(codes.max()) + 1 if codes.size else 1) + codes)
            ng = int(gid.max()) + 1 if gid.size else 0
            xs, ys, bots, rowpos = _pad(gid, ng, xc[:, vary], y[ci], bottom)
            if sf2:
                fitted, ok_fit = drc_l4_bottom(xs, ys, bots[:, 0])
                pred = fitted[gid, rowpos]
                single = np.isfinite(xs).sum(1)[gid] == 1
                use_raw = ~ok_fit[gid] | ~np.isfinite(pred) | single
            else:
                fits = fit_hill(xs, ys, e0=bots[:, 0], emax=100.0)
                pred = fits.predict(xs)[gid, rowpos]
                single = fits.n[gid] == 1
                use_raw = ~fits.ok[gid] | ~np.isfinite(pred)
            failed_fit = use_raw & ~single
            n_raw += np.bincount(bc[failed_fit], minlength=nb)
            refit.append(np.where(use_raw, y[ci], pred))
        delta = 0.5 * (refit[0] + refit[1]) - (f1 + f2 - f1 * f2 / 100.0)
        out["zip"] = np.where(zip_ok[bc], delta, np.nan)
        warn(
            n_raw > 0,
            lambda b: (
                f"ZIP: {n_raw[b]} re-fitted value(s) from row/column fits "
                "that did not converge use the observed response (SynergyFinder's rule)"
            ),
        )

    # Tables.
    # String columns as categoricals (codes per cell, names once per block).
    ufac = _unit_factors(units)  # molar per display unit, one per block
    fac = ufac[bc]
    sc = pd.DataFrame({"block_id": _take(np.asarray(block_ids, dtype=object), bc)})
    for i in range(k):
        sc[f"drug{i + 1}"] = _take(drugs_of_block[:, i], bc)
    for i in range(k):
        sc[f"conc{i + 1}"] = xc[:, i] / fac
    sc["unit"] = _take(units, bc)
    sc["response"] = y[ci]
    if "sd" in table:
        sc["sd"] = table["sd"].to_numpy(dtype=float)[ci]
        sc["n"] = table["n"].to_numpy()[ci]
    for m in models:
        sc[m] = out[m]

    summ = pd.DataFrame({"block_id": np.asarray(block_ids, dtype=object)})
    for i in range(k):
        summ[f"drug{i + 1}"] = drugs_of_block[:, i]
    ncomb = np.bincount(bc, minlength=nb)
    summ["n_combinations"] = ncomb
    if k == 2 and ci.size:
        r1 = _dense_rank(bc, xc[:, 0], nb)
        r2 = _dense_rank(bc, xc[:, 1], nb)
        shape = (nb, int(r1.max()) + 1, int(r2.max()) + 1)
    for m in models:
        v = out[m]
        fin = np.isfinite(v)
        s = np.bincount(bc[fin], weights=v[fin], minlength=nb)
        c = np.bincount(bc[fin], minlength=nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            summ[f"{m}_mean"] = np.where(c > 0, s / np.maximum(c, 1), np.nan)
        if k == 2 and ci.size:
            grid = np.full(shape, np.nan)
            grid[bc, r1, r2] = v
            summ[f"{m}_msa"] = _window_max(grid)
        else:
            summ[f"{m}_msa"] = np.nan
    if k == 2 and (ncomb > 0).any() and ci.size:
        big = np.zeros(nb, bool)
        np.maximum.at(big, bc, (r1 >= 2) & (r2 >= 2))
        warn(
            ~big & (ncomb > 0),
            lambda b: "the combination matrix is smaller than 3 x 3: no most synergistic area",
        )
    warn(ncomb == 0, lambda b: "no combination cells (every well has at most one drug)")

    sa = pd.DataFrame(
        {
            "block_id": np.repeat(np.asarray(block_ids, dtype=object), k),
            "drug": drugs_of_block.reshape(-1),
            "unit": np.repeat(units, k),
            "ok": fit_ok,
            "e0": e0,
            "emax": emax,
            "ec50": ec50 / np.repeat(ufac, k),
            "h": hh,
            "rss": fit_rss,
            "n": fit_n,
            "reason": fit_reason,
        }
    )
    if not need_fit:
        sa = sa.iloc[:0]
    warn_by_id = {str(block_ids[b]): w for b, w in warns.items()}
    return sc, summ, sa, warn_by_id


def _as_grid(bcode, nb, conc, y):
    """(c1 (nb, R), c2 (nb, C), Y (nb, R, C), r1, r2) when every block is a full R x C grid with
    its zero row and column (same R, C for all blocks); else None."""
    if nb == 0:
        return None
    r1 = _dense_rank(bcode, conc[:, 0], nb)
    r2 = _dense_rank(bcode, conc[:, 1], nb)
    r, c = int(r1.max()) + 1, int(r2.max()) + 1
    if r < 2 or c < 2 or len(y) != nb * r * c:
        return None
    key = (bcode * r + r1) * c + r2
    if np.bincount(key, minlength=nb * r * c).max() != 1:
        return None
    if (conc[r1 == 0, 0] != 0).any() or (conc[r2 == 0, 1] != 0).any():
        return None
    if not np.isfinite(y).all():
        return None
    c1 = np.empty((nb, r))
    c2 = np.empty((nb, c))
    c1[bcode, r1] = conc[:, 0]
    c2[bcode, r2] = conc[:, 1]
    yy = np.empty(nb * r * c)
    yy[key] = y
    return c1, c2, yy.reshape(nb, r, c), key


def _score_grid_table(
    table, grid, bcode, block_ids, first_idx, models, convention=DEFAULT_CONVENTION
):
    """The table outputs of :func:`_score_table` computed on regular grids."""
    c1, c2, y, key = grid
    nb, r, c = y.shape
    ms = tuple(models)
    out, mean, msa, fallback, _ok, f1, f2, n_raw, zip_sa_ok = _grid_core(c1, c2, y, ms, convention)
    dcols = ["drug1", "drug2"]
    drugs_of_block = table[dcols].iloc[first_idx].to_numpy(dtype=object)
    units = (
        table["unit"].iloc[first_idx].to_numpy(dtype=object)
        if "unit" in table
        else np.array([""] * nb, dtype=object)
    )
    ncell = (r - 1) * (c - 1)
    bc = np.repeat(np.arange(nb), ncell)
    ufac = _unit_factors(units)  # molar per display unit, one per block
    fac = ufac[bc]
    sc = pd.DataFrame({"block_id": _take(np.asarray(block_ids, dtype=object), bc)})
    for i in range(2):
        sc[f"drug{i + 1}"] = _take(drugs_of_block[:, i], bc)
    sc["conc1"] = np.broadcast_to(c1[:, 1:, None], (nb, r - 1, c - 1)).ravel() / fac
    sc["conc2"] = np.broadcast_to(c2[:, None, 1:], (nb, r - 1, c - 1)).ravel() / fac
    sc["unit"] = _take(units, bc)
    sc["response"] = y[:, 1:, 1:].ravel()
    if "sd" in table:
        for col, dtype in (("sd", float), ("n", np.int64)):
            g = np.empty(nb * r * c, dtype=dtype)
            g[key] = table[col].to_numpy(dtype=dtype)
            sc[col] = g.reshape(nb, r, c)[:, 1:, 1:].ravel()
    for m in ms:
        sc[m] = out[m].ravel()
    summ = pd.DataFrame({"block_id": np.asarray(block_ids, dtype=object)})
    for i in range(2):
        summ[f"drug{i + 1}"] = drugs_of_block[:, i]
    summ["n_combinations"] = np.full(nb, ncell)
    for m in ms:
        summ[f"{m}_mean"] = mean[m]
        summ[f"{m}_msa"] = msa[m]
    warns: dict[int, list[str]] = {}
    if f1 is not None:
        for i, f in enumerate((f1, f2)):
            for b in np.flatnonzero(~f.ok):
                warns.setdefault(int(b), []).append(
                    f"single-agent fit of {drugs_of_block[b, i]} failed ({f.reason[b]}); "
                    "Loewe and ZIP are not defined for this block"
                )
    for b in np.flatnonzero(fallback):
        warns.setdefault(int(b), []).append(_loewe_fallback_note(int(fallback[b]), convention))
    if "zip" in ms:
        for b in np.flatnonzero(n_raw):
            warns.setdefault(int(b), []).append(
                f"ZIP: {n_raw[b]} re-fitted value(s) from row/column fits that did not converge "
                "use the observed response (SynergyFinder's rule)"
            )
    for b in np.flatnonzero(~zip_sa_ok):
        warns.setdefault(int(b), []).append(_SF2_SA_FAILED)
    if r < 4 or c < 4:
        for b in range(nb):
            warns.setdefault(b, []).append(
                "the combination matrix is smaller than 3 x 3: no most synergistic area"
            )
    if f1 is not None:
        fits = [f1, f2]
        sa = pd.DataFrame(
            {
                "block_id": np.repeat(np.asarray(block_ids, dtype=object), 2),
                "drug": drugs_of_block.reshape(-1),
                "unit": np.repeat(units, 2),
                "ok": np.stack([f.ok for f in fits], 1).ravel(),
                "e0": np.stack([f.e0 for f in fits], 1).ravel(),
                "emax": np.stack([f.emax for f in fits], 1).ravel(),
                "ec50": np.stack([f.ec50 for f in fits], 1).ravel() / np.repeat(ufac, 2),
                "h": np.stack([f.h for f in fits], 1).ravel(),
                "rss": np.stack([f.rss for f in fits], 1).ravel(),
                "n": np.stack([f.n for f in fits], 1).ravel(),
                "reason": np.stack([f.reason for f in fits], 1).ravel(),
            }
        )
    else:
        sa = pd.DataFrame(
            columns=["block_id", "drug", "unit", "ok", "e0", "emax", "ec50", "h", "rss", "n"]
        )
    warn_by_id = {str(block_ids[b]): w for b, w in warns.items()}
    return sc, summ, sa, warn_by_id


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class ReferenceResult:
    """Reference-model scores of many blocks.

    Attributes
    ----------
    models : tuple of str
        The models scored, among ``bliss, hsa, loewe, zip``.
    scores : pandas.DataFrame
        One row per combination cell: ``block_id, drug1..K, conc1..K`` (in the block's unit),
        ``unit, response`` (% inhibition), replicate ``sd, n`` and one column per model.
    blocks : pandas.DataFrame
        One row per block: drugs, ``n_combinations``, ``<model>_mean`` and ``<model>_msa``
        (most synergistic 3 x 3 area).
    single_agents : pandas.DataFrame
        The fitted log-logistic curve of every drug of every block (EC50 in the block's unit).
    warnings : dict
        ``{block_id: [sentence, ...]}`` for blocks with fallbacks or undefined scores.
    """

    models: tuple[str, ...]
    scores: pd.DataFrame
    blocks: pd.DataFrame
    single_agents: pd.DataFrame
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per-cell scores (tidy)."""
        return self.scores

    def block_json(self) -> dict[str, dict[str, Any]]:
        """``{block_id: {"scores": [...], "summary": {...}, "warnings": [...]}}`` (JSON-able)."""
        dcols = [c for c in self.scores.columns if c.startswith("drug")]
        ccols = [f"conc{c[4:]}" for c in dcols]
        out: dict[str, dict[str, Any]] = {}
        summ = self.blocks.set_index("block_id")
        for bid, g in self.scores.groupby("block_id", sort=False, observed=True):
            drugs = g[dcols].iloc[0].tolist()
            conc = g[ccols].to_numpy(float)
            vals = {m: g[m].to_numpy(float) for m in self.models}
            resp = g["response"].to_numpy(float)
            rows = []
            for j in range(len(g)):
                row: dict[str, Any] = {
                    "conc": {d: float(conc[j, i]) for i, d in enumerate(drugs)},
                    "response": _num(resp[j]),
                }
                for m in self.models:
                    row[m] = _num(vals[m][j])
                rows.append(row)
            out[str(bid)] = {"scores": rows}
        for bid, r in summ.iterrows():
            entry = out.setdefault(str(bid), {"scores": []})
            s = {}
            for m in self.models:
                s[f"{m}_mean"] = _num(r[f"{m}_mean"])
                s[f"{m}_msa"] = _num(r[f"{m}_msa"])
            s["n_combinations"] = int(r["n_combinations"])
            entry["summary"] = s
            entry["warnings"] = list(self.warnings.get(str(bid), []))
        return out

    def write(
        self,
        out_dir: str | Path,
        *,
        table: pd.DataFrame | None = None,
        figures: bool = True,
        max_figure_blocks: int = 50,
        fmt: str = "csv",
    ) -> list[Path]:
        """Write tidy tables (and figures) into ``out_dir``; returns the paths written.

        Tables: ``reference_scores``, ``reference_blocks``, ``reference_single_agents`` as
        ``fmt`` (``"csv"`` or ``"parquet"``). Figures (PNG): a ranking of blocks per model, and
        for the first ``max_figure_blocks`` blocks ``block_<id>/ref_dose_response.png`` (needs the
        normalised ``table``) and ``block_<id>/ref_heatmap_<model>.png`` (two drugs). Use
        :func:`letrolab._io.staged_dir` around it for an atomic folder.
        """

        from letrolab._io import atomic_write_bytes, atomic_write_text, safe_names

        if fmt not in ("csv", "parquet"):
            raise InputError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in (
            ("reference_scores", self.scores),
            ("reference_blocks", self.blocks),
            ("reference_single_agents", self.single_agents),
        ):
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                from letrolab._io import csv_text

                data = csv_text(df, index=False).encode()
            else:
                import io

                buf = io.BytesIO()
                df.to_parquet(buf, index=False)
                data = buf.getvalue()
            written.append(atomic_write_bytes(path, data))
        if not figures:
            return written
        from letrolab.synergy import ref_plots

        for m in self.models:
            written.append(ref_plots.plot_block_ranking(self.blocks, m, out / f"ranking_{m}.png"))
        two = "drug3" not in self.scores
        ids = list(self.blocks["block_id"].astype(str))
        names = safe_names(ids, prefix="block_")  # the folders Chou-Talalay writes too
        for bid in ids[:max_figure_blocks]:
            d = out / names[bid]
            written.append(atomic_write_text(d / "block_id.txt", bid + "\n"))
            if table is not None and len(self.single_agents):
                written.append(
                    ref_plots.plot_dose_response(
                        table, self.single_agents, bid, d / "ref_dose_response.png"
                    )
                )
            has = (self.scores["block_id"].astype(str) == bid).any()
            if two and has:
                for m in self.models:
                    written.append(
                        ref_plots.plot_synergy_heatmap(
                            self.scores, bid, m, d / f"ref_heatmap_{m}.png"
                        )
                    )
        return written

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: models and the per-block summaries and warnings."""
        return {
            "models": list(self.models),
            "blocks": [
                {
                    **jsonable(row),
                    "warnings": list(self.warnings.get(str(row["block_id"]), [])),
                }
                for row in self.blocks.to_dict(orient="records")
            ],
        }

    def report(self, *, max_blocks: int = 20) -> str:
        """Text table of the block summaries."""
        lines = [f"Reference synergy scores ({', '.join(self.models)}); positive = synergy"]
        cols = [f"{m}_{s}" for m in self.models for s in ("mean", "msa")]
        head = f"{'block':>12} " + " ".join(f"{c:>11}" for c in cols)
        lines.append(head)
        for row in self.blocks.head(max_blocks).itertuples(index=False):
            d = row._asdict()
            lines.append(
                f"{str(d['block_id'])[:12]:>12} "
                + " ".join(f"{d[c]:>11.3f}" if np.isfinite(d[c]) else f"{'-':>11}" for c in cols)
            )
            for w in self.warnings.get(str(d["block_id"]), []):
                lines.append(f"{'':>12}   warning: {w}")
        if len(self.blocks) > max_blocks:
            lines.append(f"... {len(self.blocks) - max_blocks} more blocks")
        return "\n".join(lines)


def _num(v: Any) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def reference_scores(
    data: CombinationData | pd.DataFrame | str | Path,
    *,
    models: str | Iterable[str] = MODELS,
    response: str = "inhibition",
    convention: str = DEFAULT_CONVENTION,
) -> ReferenceResult:
    """Score combination blocks with the Bliss, HSA, Loewe and ZIP reference models.

    Every block is scored in one vectorised pass: all single-agent curves of all blocks are
    fitted together, then all ZIP row and column re-fits together.

    Parameters
    ----------
    data : CombinationData, DataFrame or path
        A normalised table (:func:`letrolab.synergy.tidy.read_combination`), or a tidy table /
        CSV / Parquet file to read.
    models : str or iterable of str
        Any of ``"bliss", "hsa", "loewe", "zip"``, or ``"all"``.
    response : {"inhibition", "viability"}
        Used when ``data`` is read here.
    convention : {"synergyfinder3", "free", "synergyfinder2"}
        See :data:`CONVENTIONS`. ``"synergyfinder3"`` (default) fits all four single-agent
        parameters and scores two-drug ZIP by SynergyFinder 3's slice re-fits; ``"free"``
        likewise, with two-drug ZIP by Yadav et al.'s (2015) original re-fit rule;
        ``"synergyfinder2"`` fixes the bottom at 0 and the top at 100 and caps the Loewe
        expectation at 100, and scores ZIP by SynergyFinder 1-2's ``ZIP()`` with drc's fits
        emulated, reproducing SynergyFinder 2's published per-cell Loewe and ZIP scores
        (median differences 0.01 and 4e-15 points on its example table).

    Returns
    -------
    ReferenceResult

    Examples
    --------
    >>> df = pd.DataFrame({"block_id": 1, "drug_row": "A", "drug_col": "B",
    ...     "conc_r": [0, 1, 0, 1], "conc_c": [0, 0, 1, 1],
    ...     "response": [0.0, 20.0, 30.0, 60.0]})
    >>> r = reference_scores(df, models="bliss,hsa")
    >>> r.scores[["bliss", "hsa"]].to_numpy().round(6).tolist()
    [[16.0, 30.0]]
    """
    ms = _check_models(models)
    if not isinstance(data, CombinationData):
        data = read_combination(data, response=response)
    _check_convention(convention)
    sc, summ, sa, warns = _score_table(data.table, data.n_drugs, ms, convention=convention)
    return ReferenceResult(models=ms, scores=sc, blocks=summ, single_agents=sa, warnings=warns)


@dataclass(frozen=True)
class GridScores:
    """Scores of many two-drug blocks that share one R x C grid shape (arrays, no tables).

    Attributes
    ----------
    models : tuple of str
    scores : dict
        ``{model: array (n_blocks, R - 1, C - 1)}`` over the combination cells.
    mean, msa : dict
        ``{model: array (n_blocks,)}``: mean over the combination cells and most synergistic
        3 x 3 area (NaN where the combination grid is smaller than 3 x 3).
    loewe_fallback : ndarray of int
        Cells per block where Loewe used the fallback (see module notes); zeros if not scored.
    fit_ok : ndarray of bool, shape (n_blocks,)
        Both single-agent fits succeeded (Loewe and ZIP are NaN where not).
    """

    models: tuple[str, ...]
    scores: dict[str, np.ndarray]
    mean: dict[str, np.ndarray]
    msa: dict[str, np.ndarray]
    loewe_fallback: np.ndarray
    fit_ok: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per block: ``<model>_mean`` and ``<model>_msa``."""
        cols: dict[str, np.ndarray] = {}
        for m in self.models:
            cols[f"{m}_mean"] = self.mean[m]
            cols[f"{m}_msa"] = self.msa[m]
        return pd.DataFrame(cols)

    def summary(self) -> dict[str, Any]:
        """JSON-able block summaries (``None`` for undefined values)."""
        return {
            "models": list(self.models),
            "blocks": [
                {k: _num(v) for k, v in row.items()}
                for row in self.to_frame().to_dict(orient="records")
            ],
        }

    def report(self) -> str:
        """One line per model: the average block mean."""
        n = len(self.fit_ok)
        lines = [f"grid scores of {n} blocks"]
        for m in self.models:
            lines.append(f"  {m}: average block mean {np.nanmean(self.mean[m]):.3f}")
        return "\n".join(lines)


def grid_scores(
    conc1: Any,
    conc2: Any,
    response: Any,
    *,
    models: str | Iterable[str] = MODELS,
    convention: str = DEFAULT_CONVENTION,
) -> GridScores:
    """Score many two-drug blocks given as dose grids (the fast path for regular screens).

    Same definitions and numbers as :func:`reference_scores`, with no table handling.

    Parameters
    ----------
    conc1 : array_like, shape (n_blocks, R)
        Doses of drug 1 along the rows, ascending, ``conc1[:, 0] == 0`` (the control row).
    conc2 : array_like, shape (n_blocks, C)
        Doses of drug 2 along the columns, likewise.
    response : array_like, shape (n_blocks, R, C)
        % inhibition; ``response[:, 0, 0]`` is the untreated control.
    models : str or iterable of str
    convention : {"synergyfinder3", "free", "synergyfinder2"}
        Scoring convention, as in :func:`reference_scores` (default ``"synergyfinder3"``).

    Returns
    -------
    GridScores

    Examples
    --------
    >>> c = np.array([[0.0, 1.0]])
    >>> y = np.array([[[0.0, 30.0], [20.0, 60.0]]])
    >>> float(grid_scores(c, c, y, models="bliss").scores["bliss"][0, 0, 0])
    16.0
    """
    ms = _check_models(models)
    _check_convention(convention)
    c1 = np.asarray(conc1, dtype=float)
    c2 = np.asarray(conc2, dtype=float)
    y = np.asarray(response, dtype=float)
    if c1.ndim != 2 or c2.ndim != 2 or y.shape != (c1.shape[0], c1.shape[1], c2.shape[1]):
        raise InputError(
            "grid_scores needs conc1 (n, R), conc2 (n, C) and response (n, R, C); got "
            f"{c1.shape}, {c2.shape}, {y.shape}"
        )
    if (c1[:, 0] != 0).any() or (c2[:, 0] != 0).any():
        raise InputError("the first dose of each grid axis must be 0 (the single-agent row/column)")
    if (np.diff(c1, axis=1) <= 0).any() or (np.diff(c2, axis=1) <= 0).any():
        raise InputError("grid doses must be strictly ascending along each axis")
    out, mean, msa, fallback, fit_ok, _f1, _f2, _nraw, _zok = _grid_core(c1, c2, y, ms, convention)
    return GridScores(
        models=ms, scores=out, mean=mean, msa=msa, loewe_fallback=fallback, fit_ok=fit_ok
    )


def _fit_joint(parts, emax=None):
    """Fit several sets of curves ``(x, y, e0)`` in one batched call (rows padded with NaN)."""
    width = max(x.shape[1] for x, _, _ in parts)
    xs, ys, e0s = [], [], []
    for x, yv, e0 in parts:
        pad = width - x.shape[1]
        xs.append(np.pad(x, ((0, 0), (0, pad)), constant_values=np.nan))
        ys.append(np.pad(yv, ((0, 0), (0, pad)), constant_values=np.nan))
        e0s.append(np.full(x.shape[0], np.nan) if e0 is None else e0)
    f = fit_hill(
        np.concatenate(xs),
        np.concatenate(ys),
        e0=np.concatenate(e0s),
        emax=emax,
    )
    out, start = [], 0
    for x, _, _ in parts:
        sl = slice(start, start + x.shape[0])
        start += x.shape[0]
        out.append(
            HillFits(
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
        )
    return out


def _grid_core(c1, c2, y, ms, convention=DEFAULT_CONVENTION):
    """Scores of regular grids; also returns the single-agent fits and ZIP raw-value counts."""
    sa_e0, sa_emax, cap = _check_convention(convention)
    if "zip" in ms and convention == "synergyfinder3":  # SynergyFinder 3's two-drug ZIP
        from letrolab.synergy._sf3 import sf3_grid_core

        return sf3_grid_core(c1, c2, y, tuple(ms))
    nb, r, c = y.shape
    comb = y[:, 1:, 1:]
    out: dict[str, np.ndarray] = {}
    f1 = f2 = None
    n_raw = np.zeros(nb, dtype=np.int64)
    zip_sa_ok = np.ones(nb, bool)  # synergyfinder2: its own single-agent fits for ZIP
    if "bliss" in ms:
        y1 = y[:, 1:, :1]
        y2 = y[:, :1, 1:]
        out["bliss"] = comb - (y1 + y2 - y1 * y2 / 100.0)
    if "hsa" in ms:
        out["hsa"] = comb - np.maximum(y[:, 1:, :1], y[:, :1, 1:])
    fallback = np.zeros(nb, dtype=np.int64)
    fit_ok = np.ones(nb, bool)
    if "loewe" in ms or "zip" in ms:
        e0s = None if np.isnan(sa_e0) else np.full(nb, sa_e0)
        f1, f2 = _fit_joint(
            [(c1, y[:, :, 0], e0s), (c2, y[:, 0, :], e0s)],
            emax=None if np.isnan(sa_emax) else sa_emax,
        )
        fit_ok = f1.ok & f2.ok
        p1 = np.stack([f1.e0, f1.emax, f1.ec50, f1.h], -1)  # (nb, 4)
        p2 = np.stack([f2.e0, f2.emax, f2.ec50, f2.h], -1)
        x1 = np.broadcast_to(c1[:, 1:, None], comb.shape)
        x2 = np.broadcast_to(c2[:, None, 1:], comb.shape)
        if "loewe" in ms and convention == "synergyfinder2":
            # SynergyFinder 1-2's CalculateLoewe: drc's 0-100 fits, nleqslv (letrolab.synergy._sf2)
            from letrolab.synergy._sf2 import sf2_loewe_grid

            exp_l, fb, lok = sf2_loewe_grid(c1, c2, y)
            out["loewe"] = comb - exp_l
            fallback = fb.reshape(nb, -1).sum(1)
            zip_sa_ok &= lok
        elif "loewe" in ms:
            x = np.stack([x1.ravel(), x2.ravel()], 1)
            ncell = (r - 1) * (c - 1)
            pp = np.stack([np.repeat(p1, ncell, 0), np.repeat(p2, ncell, 0)], 1)  # (n, 2, 4)
            if convention == "synergyfinder3":  # SynergyFinder 3's grid search over effects
                from letrolab.synergy._sf3 import sf3_loewe_expected

                exp_l, fb = sf3_loewe_expected(
                    x, comb.ravel(), pp[..., 0], pp[..., 1], pp[..., 2], pp[..., 3]
                )
            else:
                exp_l, fb = _loewe_expected(x, pp[..., 0], pp[..., 1], pp[..., 2], pp[..., 3])
            if cap:
                exp_l = np.minimum(exp_l, 100.0)
            okc = np.repeat(fit_ok, ncell)
            out["loewe"] = comb - np.where(okc, exp_l, np.nan).reshape(comb.shape)
            fallback = (fb & okc).reshape(nb, -1).sum(1)
        if "zip" in ms and convention == "synergyfinder2":
            from letrolab.synergy._sf2 import sf2_zip_grid

            delta, (sa1, sa2), nraw2 = sf2_zip_grid(c1, c2, y)
            out["zip"] = delta
            n_raw += nraw2
            zip_sa_ok &= sa1[4] & sa2[4]
        elif "zip" in ms:
            g1 = f1.predict(c1[:, 1:])  # (nb, R-1) fitted drug-1 effects
            g2 = f2.predict(c2[:, 1:])  # (nb, C-1)
            # Column j: vary drug 1 over the rows, bottom = drug 2's fitted effect at its dose;
            # row i likewise. Both sets of re-fits go in one batched fit.
            xa = np.repeat(c1[:, 1:], c - 1, 0)  # (nb*(C-1), R-1)
            ya = comb.transpose(0, 2, 1).reshape(-1, r - 1)
            xb = np.repeat(c2[:, 1:], r - 1, 0)  # (nb*(R-1), C-1)
            yb = comb.reshape(-1, c - 1)
            parts = []
            if r - 1 >= 2:
                parts.append((xa, ya, g2.ravel()))
            if c - 1 >= 2:
                parts.append((xb, yb, g1.ravel()))
            fits = iter(_fit_joint(parts, emax=100.0)) if parts else iter(())
            col_fit, row_fit = comb, comb
            if r - 1 >= 2:
                fa = next(fits)
                pa = fa.predict(xa)
                use_a = fa.ok[:, None] & np.isfinite(pa)
                n_raw += (~use_a).reshape(nb, -1).sum(1)
                pa = np.where(use_a, pa, ya)
                col_fit = pa.reshape(nb, c - 1, r - 1).transpose(0, 2, 1)
            if c - 1 >= 2:
                fb2 = next(fits)
                pb = fb2.predict(xb)
                use_b = fb2.ok[:, None] & np.isfinite(pb)
                n_raw += (~use_b).reshape(nb, -1).sum(1)
                pb = np.where(use_b, pb, yb)
                row_fit = pb.reshape(nb, r - 1, c - 1)
            a = g1[:, :, None]
            b = g2[:, None, :]
            delta = 0.5 * (col_fit + row_fit) - (a + b - a * b / 100.0)
            out["zip"] = np.where(fit_ok[:, None, None], delta, np.nan)
    mean = {}
    msa = {}
    for m in ms:
        v = out[m]
        with np.errstate(invalid="ignore"):
            mean[m] = v.reshape(nb, -1).mean(1)
        msa[m] = _window_max(v)
    return out, mean, msa, fallback, fit_ok, f1, f2, n_raw, zip_sa_ok
