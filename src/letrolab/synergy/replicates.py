"""Replicates: per-cell statistics and bootstrap intervals of block synergy summaries.

Each cell's replicate wells are averaged (mean, sd with ddof = 1, count; done by
:func:`letrolab.synergy.tidy.normalise_combination`). Uncertainty of a block's summaries
(the mean score and the most synergistic 3 x 3 area of each model) comes from the
nonparametric bootstrap (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 6
and 13), as SynergyFinder 3 does for replicate screens (Zheng et al. 2022 GPB 20:587): every
resample draws, in every cell, as many wells as the cell has, with replacement, from that
cell's replicates; the resampled matrix is re-scored from scratch (single-agent fits, ZIP
re-fits and all), and all resamples of all blocks are scored together in one vectorised pass.

* interval: the percentile interval at ``level`` of the resampled summaries;
* p-value for "summary != 0": the two-sided bootstrap p-value
  ``min(1, 2 min((1 + #{s*_b <= 0}) / (B + 1), (1 + #{s*_b >= 0}) / (B + 1)))``
  (Davison & Hinkley 1997, *Bootstrap Methods and their Application*, eq. 4.11 with the
  +1 correction), so it is never 0 with finite ``B``.

The generator is local and seeded (``numpy.random.default_rng(seed)``): the same seed gives the
same intervals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab.errors import InputError
from letrolab.synergy.reference import (
    DEFAULT_CONVENTION,
    MODELS,
    check_convention,
    check_models,
    score_table,
)
from letrolab.synergy.screen import read_batches
from letrolab.synergy.tidy import normalise_combination, normalise_rows
from letrolab.validate import check_memory

__all__ = ["BootstrapResult", "bootstrap_summaries"]


@dataclass(frozen=True)
class BootstrapResult:
    """Block summaries with bootstrap intervals and p-values.

    Attributes
    ----------
    models : tuple of str
    n_boot : int
    seed : int
    level : float
    cells : pandas.DataFrame
        Per combination cell: doses, response mean, ``sd``, ``n`` and the model scores of the
        replicate means.
    blocks : pandas.DataFrame
        Per block and summary (``<model>_mean``, ``<model>_msa``): the estimate (from the
        replicate means), ``_lo``, ``_hi`` (percentile interval) and ``_p`` (two-sided p-value
        for "summary != 0").
    warnings : dict
        ``{block_id: [sentence, ...]}``.
    """

    models: tuple[str, ...]
    n_boot: int
    seed: int
    level: float
    cells: pd.DataFrame
    blocks: pd.DataFrame
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per-block table."""
        return self.blocks

    def summary(self) -> dict[str, Any]:
        """JSON-able dict."""
        recs = []
        for row in self.blocks.to_dict(orient="records"):
            recs.append(
                {
                    k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in row.items()
                }
            )
        return {
            "models": list(self.models),
            "n_boot": self.n_boot,
            "seed": self.seed,
            "level": self.level,
            "blocks": recs,
            "warnings": self.warnings,
        }

    def report(self) -> str:
        """Text table: estimate [interval] p per block and summary."""
        pct = round(100 * self.level)
        lines = [f"bootstrap ({self.n_boot} resamples, seed {self.seed}), {pct}% intervals"]
        for row in self.blocks.to_dict(orient="records"):
            lines.append(f"block {row['block_id']}:")
            for m in self.models:
                for s in ("mean", "msa"):
                    c = f"{m}_{s}"
                    est, lo, hi, p = (row[c], row[c + "_lo"], row[c + "_hi"], row[c + "_p"])
                    if np.isfinite(est):
                        lines.append(f"  {c:<12} {est:8.3f} [{lo:8.3f}, {hi:8.3f}]  p = {p:.3g}")
            for w in self.warnings.get(str(row["block_id"]), []):
                lines.append(f"  warning: {w}")
        return "\n".join(lines)


def bootstrap_summaries(
    source: pd.DataFrame | str | Path,
    *,
    models: str | Iterable[str] = MODELS,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    response: str = "inhibition",
    convention: str = DEFAULT_CONVENTION,
    scale: str | None = None,
) -> BootstrapResult:
    """Bootstrap intervals and p-values of block synergy summaries from replicate wells.

    Parameters
    ----------
    source : DataFrame or path
        Tidy table with one row per well (replicates as repeated dose combinations, with or
        without a ``replicate`` column).
    models : str or iterable of str
    n_boot : int
        Bootstrap resamples (>= 20).
    seed : int
        Seed of the local generator.
    level : float
        Interval coverage, in (0, 1).
    response : {"inhibition", "viability"}
    convention : {"synergyfinder3", "free", "synergyfinder2"}
        Scoring convention of the point estimates and of every resample, as in
        :func:`letrolab.synergy.reference.reference_scores`.
    scale : {None, "percent", "fraction"}
        Scale of the response column, as in :func:`letrolab.synergy.tidy.read_combination`.

    Returns
    -------
    BootstrapResult

    Raises
    ------
    InputError
        For bad options, or when the resamples would not fit in the free memory.
    """
    ms = check_models(models)
    check_convention(convention)
    if int(n_boot) < 20:
        raise InputError(f"n_boot must be at least 20 for a percentile interval, got {n_boot}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    if not isinstance(source, pd.DataFrame):
        source = pd.concat(list(read_batches(source, 10**9)), ignore_index=True)
    rows, k, _w = normalise_rows(source, response=response, scale=scale)
    data = normalise_combination(source, response=response, scale=scale)
    cells = data.table
    dcols = [f"drug{i + 1}" for i in range(k)]
    ccols = [f"conc{i + 1}" for i in range(k)]
    keys = ["block_id", *dcols, *ccols, "unit"]
    cell_of_row = rows.groupby(keys, sort=False).ngroup().to_numpy()
    y_raw = rows["response"].to_numpy(float)
    ncell = len(cells)
    # The resamples are drawn at once: uniforms and picks per well, and a scored table of
    # ncell rows (about 400 bytes each with its block-id strings) per resample.
    check_memory(
        int(n_boot) * (y_raw.size * 24 + ncell * 400),
        f"a bootstrap of {int(n_boot)} resamples of {y_raw.size} wells",
        "give fewer resamples",
    )

    # Point estimates from the replicate means.
    point = score_table(cells, k, ms, convention=convention)
    sc, summ, warns = point.scores, point.blocks, point.warnings
    if (cells["n"] <= 1).all():
        for bid in summ["block_id"].astype(str):
            warns.setdefault(bid, []).append(
                "no replicates: every cell has one well, so the intervals have zero width"
            )

    # Resample wells within cells, all resamples at once.
    rng = np.random.default_rng(seed)
    order = np.argsort(cell_of_row, kind="stable")
    ys = y_raw[order]
    counts = np.bincount(cell_of_row, minlength=ncell)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    cs = cell_of_row[order]
    u = rng.random((int(n_boot), ys.size))
    pick = starts[cs] + np.minimum((u * counts[cs]).astype(np.int64), counts[cs] - 1)
    sums = np.zeros((int(n_boot), ncell))
    np.add.at(sums, (np.arange(int(n_boot))[:, None], cs[None, :]), ys[pick])
    means = sums / counts

    boot = pd.concat([cells] * int(n_boot), ignore_index=True)
    rep = np.repeat(np.arange(int(n_boot)), ncell)
    boot["block_id"] = cells["block_id"].astype(str).to_numpy().tolist() * int(n_boot)
    boot["block_id"] = boot["block_id"] + "\x00" + rep.astype(str)
    boot["response"] = means.ravel()
    bsumm = score_table(boot, k, ms, convention=convention).blocks
    nb = len(summ)
    alpha = (1 - level) / 2
    out = summ[["block_id", *dcols, "n_combinations"]].copy()
    for m in ms:
        for s in ("mean", "msa"):
            c = f"{m}_{s}"
            est = summ[c].to_numpy(float)
            bs = bsumm[c].to_numpy(float).reshape(int(n_boot), nb)
            fin = np.isfinite(bs)
            nfin = fin.sum(0)
            bsf = np.where(fin, bs, np.nan)
            bsf[:, nfin == 0] = 0.0  # undefined everywhere: masked below
            lo = np.nanquantile(bsf, alpha, axis=0)
            hi = np.nanquantile(bsf, 1 - alpha, axis=0)
            le = ((bs <= 0) & fin).sum(0)
            ge = ((bs >= 0) & fin).sum(0)
            p = np.minimum(1.0, 2 * np.minimum(le + 1, ge + 1) / (nfin + 1))
            undefined = ~np.isfinite(est) | (nfin == 0)
            out[c] = est
            out[c + "_lo"] = np.where(undefined, np.nan, lo)
            out[c + "_hi"] = np.where(undefined, np.nan, hi)
            out[c + "_p"] = np.where(undefined, np.nan, p)
    return BootstrapResult(
        models=ms,
        n_boot=int(n_boot),
        seed=int(seed),
        level=float(level),
        cells=sc,
        blocks=out,
        warnings=warns,
    )
