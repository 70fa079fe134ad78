"""Result objects of the reference models, with named fields.

:class:`ReferenceResult` (tables of many blocks), :class:`GridScores` (arrays of regular
grids), and the two internal records the scoring paths return: :class:`TableScores` and
:class:`GridCore`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab._io import atomic_write_bytes, atomic_write_text, csv_text, safe_names
from letrolab._results import jsonable
from letrolab.doseresponse.hill import HillFits
from letrolab.errors import InputError
from letrolab.synergy import ref_plots

__all__ = ["GridCore", "GridScores", "ReferenceResult", "TableScores", "block_json", "num"]


def num(v: Any) -> float | None:
    """``float(v)``, or ``None`` where it is not finite (JSON has no NaN)."""
    v = float(v)
    return v if np.isfinite(v) else None


def _json_list(a: np.ndarray) -> list:
    """Floats of ``a`` as a Python list with ``None`` for non-finite values."""
    a = np.asarray(a, dtype=float)
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def block_json(
    scores: pd.DataFrame,
    blocks: pd.DataFrame,
    models: tuple[str, ...],
    warnings: dict[str, list[str]],
) -> dict[str, dict[str, Any]]:
    """Per-block JSON of :class:`ReferenceResult` from whole-table columns (see its
    :meth:`~ReferenceResult.block_json`)."""
    dcols = [c for c in scores.columns if c.startswith("drug")]
    codes, uniq = pd.factorize(scores["block_id"].astype(str), sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    conc = [scores[f"conc{c[4:]}"].to_numpy(float)[order].tolist() for c in dcols]
    cols = [_json_list(scores["response"].to_numpy(float)[order])]
    cols += [_json_list(scores[m].to_numpy(float)[order]) for m in models]
    names = [scores[c].to_numpy(dtype=object)[order] for c in dcols]
    keys = ("response", *models)
    out: dict[str, dict[str, Any]] = {}
    for b, bid in enumerate(uniq):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        drugs = [n[lo] for n in names]
        out[str(bid)] = {
            "scores": [
                {
                    "conc": {d: conc[i][j] for i, d in enumerate(drugs)},
                    **{key: col[j] for key, col in zip(keys, cols, strict=True)},
                }
                for j in range(lo, hi)
            ]
        }
    summ = {"n_combinations": blocks["n_combinations"].to_numpy().tolist()}
    for m in models:
        for s in ("mean", "msa"):
            summ[f"{m}_{s}"] = _json_list(blocks[f"{m}_{s}"].to_numpy(float))
    order_keys = [f"{m}_{s}" for m in models for s in ("mean", "msa")] + ["n_combinations"]
    for i, bid in enumerate(blocks["block_id"].astype(str).tolist()):
        entry = out.setdefault(bid, {"scores": []})
        entry["summary"] = {key: summ[key][i] for key in order_keys}
        entry["warnings"] = list(warnings.get(bid, []))
    return out


@dataclass(frozen=True)
class TableScores:
    """What the table path computes: the three tables and the warnings of
    :class:`ReferenceResult` (see there for the columns)."""

    scores: pd.DataFrame
    blocks: pd.DataFrame
    single_agents: pd.DataFrame
    warnings: dict[str, list[str]]


@dataclass(frozen=True)
class GridCore:
    """What the grid path computes for regular grids (arrays over blocks).

    Attributes
    ----------
    scores, mean, msa : dict
        Per model: scores (nb, R - 1, C - 1), block means and most synergistic areas (nb,).
    loewe_fallback : ndarray of int
        Loewe cells per block that used the fallback.
    fit_ok : ndarray of bool
        Both least-squares single-agent fits succeeded.
    fit1, fit2 : HillFits or None
        The single-agent fits (None when neither Loewe nor ZIP was asked for).
    n_observed : ndarray of int
        ZIP re-fitted values per block that use the observed response.
    own_ok : ndarray of bool
        The convention's own single-agent fits succeeded (``"synergyfinder2"``; else True).
    """

    scores: dict[str, np.ndarray]
    mean: dict[str, np.ndarray]
    msa: dict[str, np.ndarray]
    loewe_fallback: np.ndarray
    fit_ok: np.ndarray
    fit1: HillFits | None
    fit2: HillFits | None
    n_observed: np.ndarray
    own_ok: np.ndarray


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
        """``{block_id: {"scores": [...], "summary": {...}, "warnings": [...]}}`` (JSON-able).

        Built from whole columns (one conversion per column, then slices per block).
        """
        return block_json(self.scores, self.blocks, self.models, self.warnings)

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
        for the ``max_figure_blocks`` blocks of :meth:`top_blocks` ``block_<id>/ref_dose_response.png``
        (needs the normalised ``table``) and ``block_<id>/ref_heatmap_<model>.png`` (two drugs).
        Use :func:`letrolab._io.staged_dir` around it for an atomic folder.
        """

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
                data = csv_text(df, index=False).encode()
            else:
                buf = io.BytesIO()
                df.to_parquet(buf, index=False)
                data = buf.getvalue()
            written.append(atomic_write_bytes(path, data))
        if not figures:
            return written
        for m in self.models:
            written.append(ref_plots.plot_block_ranking(self.blocks, m, out / f"ranking_{m}.png"))
        two = "drug3" not in self.scores
        ids = list(self.blocks["block_id"].astype(str))
        names = safe_names(ids, prefix="block_")  # the folders Chou-Talalay writes too
        for bid in self.top_blocks(max_figure_blocks):
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

    def top_blocks(self, n: int) -> list[str]:
        """Ids of the ``n`` most synergistic blocks: highest ``<model>_mean`` of the first
        model, blocks without a score last, ties in input order."""
        if n <= 0 or self.blocks.empty:
            return []
        v = self.blocks[f"{self.models[0]}_mean"].to_numpy(dtype=float)
        order = np.argsort(-np.where(np.isfinite(v), v, -np.inf), kind="stable")
        ids = self.blocks["block_id"].astype(str).to_numpy()
        return ids[order[:n]].tolist()

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
                {k: num(v) for k, v in row.items()}
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
