"""Reference synergy scores for screens of 1 to 1,000,000 blocks, in bounded memory.

The input (CSV, TSV or Parquet in the tidy layout) is streamed in record batches; batches are
cut at block boundaries, so each chunk holds whole blocks; each chunk is normalised
(:mod:`letrolab.synergy.tidy`) and scored with every block of the chunk in one vectorised pass
(:mod:`letrolab.synergy.reference`); scores and block summaries are appended to the outputs,
which are moved into place atomically when the whole screen has been scored. Memory therefore
grows with the chunk size, not with the screen.

With ``engine="dask"`` the chunks are scored on a dask.distributed cluster: ``scheduler="local"``
starts a :class:`distributed.LocalCluster` on this machine; any other value is the address of a
running scheduler (``tcp://host:8786``). At most ``2 x workers`` chunks are in flight at once.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab._io import current_umask
from letrolab.errors import FormatError, InputError
from letrolab.synergy.reference import (
    DEFAULT_CONVENTION,
    MODELS,
    check_convention,
    check_models,
    score_table,
)
from letrolab.synergy.reference.results import TableScores
from letrolab.synergy.tidy import CombinationData, combination_columns, normalise_combination

__all__ = ["ScreenResult", "read_batches", "score_screen"]


@dataclass(frozen=True)
class ScreenResult:
    """What a screen run did.

    Attributes
    ----------
    models : tuple of str
    n_blocks, n_cells : int
        Blocks scored and combination cells scored.
    seconds : float
        Wall time.
    scores_path, blocks_path : Path or None
        Where the tidy tables were written (None when kept in memory).
    scores : pandas.DataFrame or None
        Per-cell scores, when no ``scores_out`` was given.
    blocks : pandas.DataFrame
        Per-block summaries (always kept: one row per block).
    warnings : dict
        ``{block_id: [sentence, ...]}``: scoring warnings, then the input warnings of the
        block (dropped wells, implausible responses, mixed units, off controls).
    single_agents : pandas.DataFrame or None
        The fitted single agents (as :attr:`ReferenceResult.single_agents
        <letrolab.synergy.ReferenceResult.single_agents>`), when no ``single_agents_out`` was
        given.
    single_agents_path : Path or None
        Where the single agents were written.
    """

    models: tuple[str, ...]
    n_blocks: int
    n_cells: int
    seconds: float
    scores_path: Path | None
    blocks_path: Path | None
    scores: pd.DataFrame | None
    blocks: pd.DataFrame
    warnings: dict[str, list[str]] = field(default_factory=dict)
    single_agents: pd.DataFrame | None = None
    single_agents_path: Path | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-able dict of the run (not the per-block table)."""
        return {
            "models": list(self.models),
            "n_blocks": self.n_blocks,
            "n_cells": self.n_cells,
            "seconds": self.seconds,
            "blocks_per_second": self.n_blocks / self.seconds if self.seconds > 0 else None,
            "scores_path": str(self.scores_path) if self.scores_path else None,
            "blocks_path": str(self.blocks_path) if self.blocks_path else None,
            "n_blocks_with_warnings": len(self.warnings),
        }

    def report(self) -> str:
        """A few lines of text."""
        s = self.summary()
        return (
            f"screen: {s['n_blocks']} blocks, {s['n_cells']} combination cells, "
            f"models {', '.join(self.models)}, {self.seconds:.1f} s; "
            f"{s['n_blocks_with_warnings']} blocks with warnings"
        )

    def to_frame(self) -> pd.DataFrame:
        """The per-block summaries."""
        return self.blocks


# ----------------------------------------------------------------------------- input


def read_batches(source: Any, batch_rows: int) -> Iterator[pd.DataFrame]:
    """Yield raw DataFrame batches of a table (file or DataFrame)."""
    if isinstance(source, pd.DataFrame):
        for i in range(0, max(len(source), 1), batch_rows):
            yield source.iloc[i : i + batch_rows]
        return
    path = Path(source)
    if not path.exists():
        raise InputError(f"input file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            for rb in pf.iter_batches(batch_size=batch_rows):
                yield rb.to_pandas()
        else:
            import pyarrow as pa
            import pyarrow.csv as pacsv

            delim = "\t" if suffix in {".tsv", ".tab"} else ","
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 24),
                parse_options=pacsv.ParseOptions(delimiter=delim),
            )
            buf: list[Any] = []
            n = 0
            for rb in reader:
                buf.append(rb)
                n += rb.num_rows
                if n >= batch_rows:
                    yield pa.Table.from_batches(buf).to_pandas()
                    buf, n = [], 0
            if buf:
                yield pa.Table.from_batches(buf).to_pandas()
    except (OSError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise FormatError(f"cannot read {path.name} as a table: {exc}") from None


def _chunks(
    source: Any, response: str, chunk_rows: int, scale: str | None = None
) -> Iterator[tuple[pd.DataFrame, int, tuple[str, ...]]]:
    """Yield normalised tables holding whole blocks (rows of a block must be contiguous)."""
    carry: pd.DataFrame | None = None
    done: set[str] = set()
    block_col: str | None = None
    for raw in read_batches(source, chunk_rows):
        if raw.empty:
            continue
        if block_col is None:
            combination_columns(raw)  # validates the layout, names missing columns
            cols = {c.lower().replace("_", ""): c for c in raw.columns}
            block_col = cols.get("blockid") or cols.get("pairindex") or ""
        df = raw if carry is None else pd.concat([carry, raw], ignore_index=True)
        if block_col:
            ids = df[block_col].astype(str).to_numpy()
            last = ids[-1]
            cut = len(ids)
            while cut > 0 and ids[cut - 1] == last:
                cut -= 1
            if cut == 0:
                carry = df
                continue
            carry = df.iloc[cut:]
            df = df.iloc[:cut]
        else:
            carry = None
        yield _normalise(df, response, done, block_col, scale)
    if carry is not None and len(carry):
        yield _normalise(carry, response, done, block_col, scale)


def _normalise(df, response, done, block_col, scale=None):
    data = normalise_combination(df, response=response, scale=scale)
    ids = set(data.block_ids)
    again = ids & done
    if again:
        bid = sorted(again)[0]
        raise InputError(
            f"rows of block {bid} are not contiguous in the input; sort the table by block_id"
        )
    done |= ids
    return data.table, data.n_drugs, data.block_warnings


def _split(data: CombinationData, chunk_rows: int):
    """Chunks of whole blocks of an in-memory normalised table."""
    table = data.table
    codes, ids = pd.factorize(table["block_id"], sort=False)
    rows_per_block = max(1, len(table) // max(len(ids), 1))
    per_chunk = max(1, chunk_rows // rows_per_block)
    chunk = codes // per_chunk
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(int(chunk.max()) + 2 if len(chunk) else 1))
    pos = {str(b): i for i, b in enumerate(ids)}
    notes: dict[int, dict[str, tuple[str, ...]]] = {}
    for bid, w in data.block_warnings.items():  # input warnings go with their block's chunk
        notes.setdefault(pos[bid] // per_chunk, {})[bid] = w
    for a, b in itertools.pairwise(bounds):
        if b > a:
            table_c = table.iloc[order[a:b]].reset_index(drop=True)
            yield table_c, data.n_drugs, notes.get(int(chunk[order[a]]), {})


def _score_chunk(
    table: pd.DataFrame, n_drugs: int, models: tuple[str, ...], convention: str = DEFAULT_CONVENTION
) -> TableScores:
    return score_table(table, n_drugs, models, convention=convention)


# ----------------------------------------------------------------------------- output


class _Sink:
    """Appends DataFrames to a CSV or Parquet file staged beside the target."""

    def __init__(self, target: Path | None) -> None:
        self.target = target
        self.frames: list[pd.DataFrame] = []
        self.tmp: Path | None = None
        self.writer: Any = None
        self.fh: Any = None
        if target is not None:
            target = Path(target)
            # Check the name before staging, so a refused name leaves no stray .part file.
            self.parquet = target.suffix.lower() in {".parquet", ".pq"}
            if not self.parquet and target.suffix.lower() not in {".csv", ".tsv"}:
                raise InputError(f"output {target.name}: use a .csv, .tsv or .parquet name")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
            # mkstemp creates 0600; give the file the mode an ordinary open() would (as _io does).
            os.fchmod(fd, 0o666 & ~current_umask())
            os.close(fd)
            self.tmp = Path(tmp)

    def write(self, df: pd.DataFrame) -> None:
        if self.target is None:
            self.frames.append(df)
            return
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            t = pa.Table.from_pandas(df, preserve_index=False)
            # Categorical columns arrive as dictionaries whose index width varies by chunk.
            t = t.cast(
                pa.schema(
                    [
                        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f
                        for f in t.schema
                    ]
                )
            )
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.tmp, t.schema)
            self.writer.write_table(t.cast(self.writer.schema))
        else:
            sep = "\t" if self.target.suffix.lower() == ".tsv" else ","
            first = self.fh is None
            if first:
                self.fh = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115
            from letrolab._io import csv_text

            self.fh.write(csv_text(df, sep=sep, header=first, index=False))

    def close(self, ok: bool) -> pd.DataFrame | None:
        if self.target is None:
            return pd.concat(self.frames, ignore_index=True) if self.frames else None
        if self.writer is not None:
            self.writer.close()
        if self.fh is not None:
            self.fh.close()
        if ok:
            os.replace(self.tmp, self.target)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)
        return None


# ----------------------------------------------------------------------------- driver


def score_screen(
    source: str | Path | pd.DataFrame | CombinationData,
    *,
    models: str | Iterable[str] = MODELS,
    response: str = "inhibition",
    scores_out: str | Path | None = None,
    blocks_out: str | Path | None = None,
    single_agents_out: str | Path | None = None,
    chunk_rows: int = 400_000,
    engine: str = "numpy",
    scheduler: str = "local",
    n_workers: int = 2,
    processes: bool = True,
    connect_timeout: float = 10.0,
    progress: bool | None = None,
    convention: str = DEFAULT_CONVENTION,
    scale: str | None = None,
) -> ScreenResult:
    """Score every block of a screen with the reference models, chunk by chunk.

    Parameters
    ----------
    source : path, DataFrame or CombinationData
        Tidy combination table (CSV/TSV/Parquet). Rows of one block must be contiguous.
    models : str or iterable of str
        ``bliss, hsa, loewe, zip`` or ``all``.
    response : {"inhibition", "viability"}
    scores_out, blocks_out : path, optional
        Tidy outputs (``.csv``, ``.tsv`` or ``.parquet``) for the per-cell scores and the per-block
        summaries; written atomically when the screen is done. Without ``scores_out`` the scores
        are returned in memory.
    single_agents_out : path, optional
        Likewise for the fitted single agents (kept in memory when not given).
    chunk_rows : int
        Input rows per chunk (whole blocks; memory grows with this, not with the screen).
    engine : {"numpy", "dask"}
    scheduler : str
        With ``engine="dask"``: ``"local"`` for a LocalCluster, else a scheduler address.
    n_workers : int
        Workers of the LocalCluster.
    processes : bool
        LocalCluster workers as processes (True) or threads of this process (False).
    connect_timeout : float
        Seconds to wait for a remote scheduler.
    progress : bool, optional
        Show a progress bar on stderr (default: when stderr is a terminal).
    convention : {"synergyfinder3", "free", "synergyfinder2"}
        Scoring convention, as in :func:`~letrolab.synergy.reference_scores`.
    scale : {None, "percent", "fraction"}
        Scale of the response column, as in :func:`letrolab.synergy.read_combination`.

    Returns
    -------
    ScreenResult
    """
    ms = check_models(models)
    check_convention(convention)
    if engine not in ("numpy", "dask"):
        raise InputError(f"engine must be 'numpy' or 'dask', not {engine!r}")
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if progress is None:
        progress = sys.stderr.isatty()
    t0 = time.perf_counter()
    if isinstance(source, CombinationData):
        chunks: Iterator = _split(source, chunk_rows)
    else:
        chunks = _chunks(source, response, chunk_rows, scale)
    total = _row_count(source)

    sinks = [_Sink(Path(p) if p else None) for p in (scores_out, blocks_out, single_agents_out)]
    n_blocks = n_cells = 0
    warnings: dict[str, list[str]] = {}
    summaries: list[pd.DataFrame] = []
    ok = False
    bar = _Progress(progress, total)
    try:
        for t, notes, rows in _run(
            chunks, ms, convention, engine, scheduler, n_workers, processes, connect_timeout
        ):
            sinks[0].write(t.scores)
            if blocks_out:
                sinks[1].write(t.blocks)
            sinks[2].write(t.single_agents)
            summaries.append(t.blocks)
            _merge_warnings(warnings, t.warnings, notes)
            n_blocks += len(t.blocks)
            n_cells += len(t.scores)
            bar.advance(rows, n_blocks)
        ok = True
    finally:
        bar.close()
        scores, _, single = (sink.close(ok) for sink in sinks)
    blocks = pd.concat(summaries, ignore_index=True) if summaries else pd.DataFrame()
    return ScreenResult(
        models=ms,
        n_blocks=n_blocks,
        n_cells=n_cells,
        seconds=time.perf_counter() - t0,
        scores_path=Path(scores_out) if scores_out else None,
        blocks_path=Path(blocks_out) if blocks_out else None,
        scores=scores,
        blocks=blocks,
        warnings=warnings,
        single_agents=single,
        single_agents_path=Path(single_agents_out) if single_agents_out else None,
    )


def _merge_warnings(into: dict, scoring: dict, notes: dict) -> None:
    """Scoring warnings of a chunk's blocks, then their input warnings."""
    for bid, w in scoring.items():
        into[bid] = list(w)
    for bid, w in notes.items():
        into.setdefault(str(bid), []).extend(w)


def _row_count(source: Any) -> int | None:
    if isinstance(source, pd.DataFrame):
        return len(source)
    if isinstance(source, CombinationData):
        return len(source.table)
    p = Path(source)
    if p.suffix.lower() in {".parquet", ".pq"} and p.exists():
        import pyarrow.parquet as pq

        return pq.ParquetFile(p).metadata.num_rows
    return None


def _run(chunks, ms, convention, engine, scheduler, n_workers, processes, connect_timeout):
    """Yield (TableScores, input warnings by block, input rows) per chunk, in input order."""
    if engine == "numpy":
        for table, k, notes in chunks:
            t = _score_chunk(table, k, ms, convention)
            yield t, notes, int(table["n"].sum()) if "n" in table else len(table)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is an extra
        raise InputError("engine 'dask' needs dask.distributed; install letrolab[dask]") from None
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=":0",  # any free port: never clash with a running cluster
                )
            )
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout=f"{connect_timeout}s"))
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(
                    f"cannot reach the dask scheduler at {scheduler!r} ({exc}); start one or use "
                    "--scheduler local"
                ) from None
        in_flight: list[tuple[Any, dict, int]] = []
        limit = 2 * max(1, len(client.scheduler_info().get("workers", {})) or n_workers)
        for table, k, notes in chunks:
            rows = int(table["n"].sum()) if "n" in table else len(table)
            data = client.scatter(table)  # ship the chunk once, not inside the task graph
            fut = client.submit(_score_chunk, data, k, ms, convention, pure=False)
            in_flight.append((fut, notes, rows))
            while len(in_flight) >= limit:
                fut, notes_, r = in_flight.pop(0)
                yield fut.result(), notes_, r
        for fut, notes_, r in in_flight:
            yield fut.result(), notes_, r


class _Progress:
    def __init__(self, show: bool, total: int | None) -> None:
        self.p = None
        if not show:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.p = Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TextColumn("{task.fields[blocks]} blocks"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self.p.start()
        self.task = self.p.add_task("score", total=total, blocks=0)

    def advance(self, rows: int, blocks: int) -> None:
        if self.p is not None:
            self.p.update(self.task, advance=rows, blocks=blocks)

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()
