"""Embedded results store: every table behind a report, in one DuckDB file, with provenance.

A :class:`ResultsStore` is written once, atomically: the tables go into a temporary DuckDB file
beside the target, which replaces the target with :func:`os.replace` only when everything was
written and the database closed cleanly. A reader therefore sees either the previous file or the
complete new one, never half a store.

Every store has a ``provenance`` table (``key``, ``value``: letrolab version, model version and
source digest, seed, options, library versions, time) and a ``tables`` table that lists each
results table with the experiment that produced it and a one-line description, so a store read
years later still says what made it.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> path = write_store(d / "r.duckdb", {"doses": pd.DataFrame({"conc_nM": [1.0, 10.0]})},
...                    provenance={"seed": "1"})
>>> read_table(path, "doses")["conc_nM"].tolist()
[1.0, 10.0]
>>> read_provenance(path)["seed"]
'1'
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from letrolab.errors import FormatError, InputError

__all__ = ["TableInfo", "list_tables", "read_provenance", "read_table", "write_store"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = {"provenance", "tables"}


@dataclass(frozen=True)
class TableInfo:
    """Where a results table came from: the experiment and a one-line description."""

    experiment: str = ""
    description: str = ""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"results table name {name!r} is not a plain identifier; use lower-case letters, "
            "digits and underscores, starting with a letter"
        )
    if name in _RESERVED:
        raise InputError(f"results table name {name!r} is reserved; choose another name")
    return name


def _plain_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"results table {name!r} is a {type(frame).__name__}, not a DataFrame")
    if frame.shape[1] == 0:
        raise InputError(f"results table {name!r} has no columns; a table needs at least one")
    out = frame.reset_index(drop=True).copy()
    out.columns = [str(c) for c in out.columns]
    for col in out.columns:
        # DuckDB stores pandas' string / object columns as VARCHAR; make mixed objects explicit.
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return out


def write_store(
    path: str | os.PathLike,
    tables: Mapping[str, pd.DataFrame],
    *,
    provenance: Mapping[str, Any],
    info: Mapping[str, TableInfo] | None = None,
) -> Path:
    """Write ``tables`` and ``provenance`` to a DuckDB file at ``path``, atomically.

    Parameters
    ----------
    path : path-like
        Target file (conventionally ``results.duckdb``); replaced if it exists.
    tables : mapping of str to DataFrame
        Results tables by name (lower-case identifiers; ``provenance`` and ``tables`` are
        reserved).
    provenance : mapping
        Key-value provenance; values are stored as text.
    info : mapping of str to TableInfo, optional
        Producer and description of each table, stored in the ``tables`` table.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        For a table name that is not a plain identifier, or a table that is not a DataFrame.
    """
    import duckdb

    path = Path(path)
    info = dict(info or {})
    frames = {_check_name(n): _plain_frame(n, f) for n, f in tables.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # DuckDB must create the file itself
    try:
        con = duckdb.connect(tmp)
        try:
            prov = pd.DataFrame(
                {
                    "key": [str(k) for k in provenance],
                    "value": [str(v) for v in provenance.values()],
                }
            )
            con.register("prov_df", prov)
            con.execute("CREATE TABLE provenance AS SELECT * FROM prov_df")
            con.unregister("prov_df")
            listing = pd.DataFrame(
                {
                    "name": list(frames),
                    "experiment": [info.get(n, TableInfo()).experiment for n in frames],
                    "description": [info.get(n, TableInfo()).description for n in frames],
                    "rows": [len(f) for f in frames.values()],
                }
            )
            con.register("listing_df", listing)
            con.execute("CREATE TABLE tables AS SELECT * FROM listing_df")
            con.unregister("listing_df")
            for name, frame in frames.items():
                con.register("frame_df", frame)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame_df')
                con.unregister("frame_df")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp + ".wal")
        os.replace(tmp, path)
    except BaseException:
        for leftover in (tmp, tmp + ".wal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        raise
    return path


def _connect_ro(path: str | os.PathLike):
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise InputError(f"results store {str(path)!r} not found; run `letrolab reproduce` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise FormatError(f"{str(path)!r} is not a readable DuckDB results store ({exc})") from exc


def list_tables(path: str | os.PathLike) -> pd.DataFrame:
    """The ``tables`` listing of a store: name, experiment, description, rows."""
    con = _connect_ro(path)
    try:
        return con.execute("SELECT * FROM tables ORDER BY name").df()
    finally:
        con.close()


def read_table(path: str | os.PathLike, name: str) -> pd.DataFrame:
    """Read one results table from a store.

    Raises
    ------
    InputError
        If the store has no table of that name (the message lists those it has).
    """
    name = str(name)
    con = _connect_ro(path)
    try:
        have = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        if name not in have:
            raise InputError(
                f"results store has no table {name!r}; it has {', '.join(sorted(have))}"
            )
        return con.execute(f'SELECT * FROM "{name}"').df()
    finally:
        con.close()


def read_provenance(path: str | os.PathLike) -> dict[str, str]:
    """The provenance of a store as a dict of text values."""
    con = _connect_ro(path)
    try:
        return dict(con.execute("SELECT key, value FROM provenance").fetchall())
    finally:
        con.close()
