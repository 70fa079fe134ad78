"""Atomic output: nothing letrolab writes is ever seen half-written.

Files are written to a temporary sibling and moved into place with :func:`os.replace`, which is
atomic on POSIX within one file system. Output folders are staged the same way: everything is
written into a hidden staging folder beside the target, and only when the whole job succeeded
is that folder swapped with the target by renames (one atomic exchange on Linux), so that the
target is at every instant either the whole old output or the whole new one; a failed run
leaves the previous output untouched, and staging folders of killed runs go on the next run.

Also here: output names from user ids (:func:`safe_names`), CSV cells a spreadsheet would run
as formulas (:func:`csv_text`, OWASP's CSV-injection advice), reproducible figures.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from letrolab.errors import InputError

__all__ = [
    "MARKER",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_dir",
    "clean_stale",
    "commit_stage",
    "csv_text",
    "discard_stage",
    "figure_bytes",
    "neutralise_cell",
    "new_stage",
    "plain_log_ticks",
    "pyplot",
    "safe_names",
    "save_figure",
    "staged_dir",
]


def current_umask() -> int:
    """The process umask, read without changing it (files made by mkstemp start at 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    Raises
    ------
    InputError
        If ``path`` is a folder, a file stands where a parent folder should be, or the folder
        cannot be written (permissions, read-only or virtual file system).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"output {str(path)!r} is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"cannot write {str(path)!r}: a file stands in its path") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise InputError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}; choose a writable location"
        ) from None
    try:
        # mkstemp creates 0600; give the file the mode an ordinary open() would (0666 - umask).
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def check_output_dir(target: str | os.PathLike) -> Path:
    """Make sure ``target`` can become an output folder (creating its parent); return it.

    Commands call this before long work so that a bad ``--out`` fails at once.

    Raises
    ------
    InputError
        If ``target`` is an existing file, a file stands in its path, or it cannot be written.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InputError(f"output folder {str(target)!r} is an existing file; give a folder path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(
            f"cannot create output folder {str(target)!r}: a file stands in its path"
        ) from None
    # Probe: the output is staged beside the target and moved into it (see staged_dir)
    for where in (target.parent, target) if target.is_dir() else (target.parent,):
        try:
            tempfile.TemporaryDirectory(prefix=".letrolab-probe.", dir=where).cleanup()
        except OSError as exc:
            raise InputError(
                f"cannot write output folder {str(target)!r}: {exc.strerror or exc}; "
                "choose a writable location"
            ) from None
    return target


def comment_header(path: str | os.PathLike) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a text table (the ensemble and Sobol files).

    Reading stops at the first line that is not a comment; a comment without ``:`` is kept
    with an empty value.
    """
    out: dict[str, str] = {}
    with Path(path).open(encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            out[key.strip()] = value.strip()
    return out


def pyplot():
    """Return :mod:`matplotlib.pyplot` on the non-interactive Agg backend, imported on first use.

    Every plotting module calls this instead of importing matplotlib at module level, so that
    ``import letrolab`` never loads matplotlib and no figure ever needs a display.

    It also sets the two rcParams every letrolab figure needs: ``text.parse_math`` off (user
    text such as a drug named ``$x^{$`` is drawn as written, never parsed as mathtext, which
    failed on layout already) and a fixed ``svg.hashsalt`` (the same figure gives the same
    SVG bytes). letrolab's own labels use no mathtext.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["svg.hashsalt"] = "letrolab"

    return plt


def save_figure(
    fig,
    path: str | os.PathLike,
    *,
    dpi: int = 110,
    close: bool = True,
    default_format: str = "png",
    **kwargs,
) -> Path:
    """Render a matplotlib figure to ``path`` atomically (format from the suffix).

    The figure is rendered into memory first, so a failure while drawing leaves no file behind;
    a path without a suffix is written as ``default_format``; ``kwargs`` go to
    :meth:`matplotlib.figure.Figure.savefig`. The figure is closed unless ``close=False``.

    Raises
    ------
    InputError
        If matplotlib cannot write the format, or the file cannot be written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or default_format
    if fmt not in fig.canvas.get_supported_filetypes():
        if close:
            pyplot().close(fig)
        raise InputError(
            f"figure format {fmt!r} ({path.name}) is not supported; use .png, .svg or .pdf"
        )
    return atomic_write_bytes(path, figure_bytes(fig, fmt=fmt, dpi=dpi, close=close, **kwargs))


def figure_bytes(fig, *, fmt: str = "png", dpi: int = 110, close: bool = True, **kwargs) -> bytes:
    """Render a matplotlib figure to bytes the way :func:`save_figure` writes it (text drawn as
    written, plain log labels, reproducible SVG/PDF), for pages that embed figures."""
    import io

    buf = io.BytesIO()
    try:
        _render(fig, buf, fmt=fmt, dpi=dpi, **kwargs)
    finally:
        if close:
            pyplot().close(fig)
    return buf.getvalue()


def plain_log_ticks(axis) -> None:
    """Label a log axis with plain numbers (0.01, 1, 100) and, when it spans less than about
    one and a half decades, its 2 and 5 minor ticks too.

    letrolab draws text without mathtext (:func:`pyplot`), so matplotlib's default log labels
    (``$\\mathdefault{10^{0}}$``) would show as raw markup; :func:`save_figure` applies this to
    every log axis that still has matplotlib's default log formatter.
    """
    import math

    from matplotlib.ticker import FuncFormatter

    def minor(v: float, _pos: int) -> str:
        lo, hi = sorted(axis.get_view_interval())
        lead = round(v / 10 ** math.floor(math.log10(v)), 6) if v > 0 else 0.0
        return f"{v:g}" if lo > 0 and hi / lo < 30 and lead in (2.0, 5.0) else ""

    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(minor))


def _plain_default_log_axes(fig) -> None:
    """:func:`plain_log_ticks` on every log axis whose labels are still matplotlib's mathtext."""
    from matplotlib.ticker import LogFormatter

    for ax in fig.get_axes():
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log" and isinstance(axis.get_major_formatter(), LogFormatter):
                plain_log_ticks(axis)


def _render(fig, buf, *, fmt: str, dpi: int, **kwargs) -> None:
    """Draw ``fig`` into ``buf``: user text literally, the same bytes for the same figure.

    Every text of the figure is drawn as written, not parsed as matplotlib mathtext (a drug
    named ``$x^{$`` is a label, not a formula to fail on); log axes get plain-number labels
    (:func:`plain_log_ticks`). SVG element ids are salted with a fixed string and SVG/PDF carry
    no date, so the same seed gives byte-identical figures.
    """
    import matplotlib
    from matplotlib.text import Text

    _plain_default_log_axes(fig)
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    if meta is not None:
        kwargs.setdefault("metadata", meta)
    with matplotlib.rc_context({"svg.hashsalt": "letrolab"}):
        fig.savefig(buf, format=fmt, dpi=dpi, **kwargs)


# --------------------------------------------------------------------------------------------
# Output folders: staged beside the target, swapped in whole
# --------------------------------------------------------------------------------------------
#: File that marks a folder as written by letrolab. A folder without it is never replaced,
#: so ``--out ~/Documents`` cannot wipe a user's own files.
MARKER = ".letrolab-output"

_STAGE_SUFFIX = ".staging"
_OLD_SUFFIX = ".replaced"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap the directory entries ``a`` and ``b`` in one atomic step (Linux renameat2).

    Returns False where the system or the file system has no atomic exchange; the caller then
    falls back to two renames.
    """
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _leftovers(target: Path) -> list[tuple[Path, int]]:
    """Staging and replaced folders beside ``target``, with the pid that made each."""
    found = []
    prefix = f".{target.name}."
    with contextlib.suppress(FileNotFoundError):
        for p in target.parent.iterdir():
            name = p.name
            if not name.startswith(prefix) or not name.endswith((_STAGE_SUFFIX, _OLD_SUFFIX)):
                continue
            pid = name[len(prefix) :].split(".", 1)[0]
            if pid.isdigit():
                found.append((p, int(pid)))
    return found


def clean_stale(target: str | os.PathLike) -> list[Path]:
    """Remove staging folders that killed runs left beside ``target``; return what went.

    A run that was killed between the two renames of the fallback swap left ``target`` absent
    and the previous output as a ``.replaced`` folder: that folder is put back first, so the
    target is again the whole old output.
    """
    target = Path(target)
    removed = []
    for p, pid in _leftovers(target):
        if pid != os.getpid() and _pid_alive(pid):
            continue  # a run still going on
        if p.name.endswith(_OLD_SUFFIX) and not target.exists():
            os.rename(p, target)
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _replaceable(target: Path) -> None:
    """Refuse to replace a non-empty folder that letrolab did not write."""
    if not target.is_dir() or (target / MARKER).exists():
        return
    if any(target.iterdir()):
        raise InputError(
            f"output folder {str(target)!r} holds files letrolab did not write; letrolab "
            "replaces the whole output folder, so give a new or empty folder"
        )


def new_stage(target: str | os.PathLike) -> Path:
    """Create and return an empty staging folder beside ``target`` (same file system).

    Stale staging folders of killed runs are removed first (:func:`clean_stale`).

    Raises
    ------
    InputError
        If ``target`` cannot be an output folder (:func:`check_output_dir`) or is a non-empty
        folder letrolab did not write.
    """
    target = check_output_dir(target)
    clean_stale(target)
    _replaceable(target)
    stage = Path(
        tempfile.mkdtemp(
            prefix=f".{target.name}.{os.getpid()}.", suffix=_STAGE_SUFFIX, dir=target.parent
        )
    )
    stage.chmod(0o777 & ~current_umask())  # mkdtemp creates 0700
    return stage


def discard_stage(stage: str | os.PathLike) -> None:
    """Remove a staging folder (the target is not touched)."""
    shutil.rmtree(stage, ignore_errors=True)


def commit_stage(
    stage: str | os.PathLike,
    target: str | os.PathLike,
    *,
    hook: Callable[[str], None] | None = None,
) -> Path:
    """Put the finished ``stage`` in place of ``target``: the whole new folder replaces the
    whole old one, and the old one is removed only after the swap.

    On Linux the two folders are exchanged by one ``renameat2(RENAME_EXCHANGE)``, so at every
    instant ``target`` is the whole old folder or the whole new one. Elsewhere ``target`` is
    renamed aside and the stage renamed in; a run killed between the two renames leaves the
    old folder aside, and :func:`clean_stale` puts it back on the next run.

    ``hook`` (tests only) is called with ``"before-swap"``, ``"between-renames"`` (fallback
    only) and ``"after-swap"``; raising from it simulates a kill at that point.
    """
    stage, target = Path(stage), Path(target)
    call = hook or (lambda _where: None)
    atomic_write_text(stage / MARKER, "written by letrolab; this folder is replaced as a whole\n")
    _replaceable(target)
    call("before-swap")
    if not target.exists():
        os.rename(stage, target)
        call("after-swap")
        return target
    old = stage.with_name(stage.name[: -len(_STAGE_SUFFIX)] + _OLD_SUFFIX)
    if _exchange(stage, target):
        os.rename(stage, old)  # the stage path now holds the old output
    else:
        os.rename(target, old)
        call("between-renames")
        os.rename(stage, target)
    call("after-swap")
    shutil.rmtree(old, ignore_errors=True)
    return target


@contextlib.contextmanager
def staged_dir(
    target: str | os.PathLike, *, hook: Callable[[str], None] | None = None
) -> Iterator[Path]:
    """Stage an output folder and swap it in for ``target`` only on success.

    Yields an empty folder beside ``target`` (:func:`new_stage`). When the ``with`` block ends
    without an exception, the staging folder replaces ``target`` as a whole
    (:func:`commit_stage`): files of an earlier run are not kept. On an exception the staging
    folder is removed and ``target`` is left as it was.
    """
    stage = new_stage(target)
    try:
        yield stage
    except BaseException:
        discard_stage(stage)
        raise
    try:
        commit_stage(stage, target, hook=hook)
    finally:
        discard_stage(stage)


# --------------------------------------------------------------------------------------------
# Names and CSV cells
# --------------------------------------------------------------------------------------------
def safe_names(ids: Iterable[str], *, prefix: str = "") -> dict[str, str]:
    """File-system-safe, unique folder names for ``ids`` (``{id: name}``).

    Characters outside ``A-Za-z0-9._-`` become ``_``; where that makes two ids collide (``a/b``
    and ``a_b``), or an id is empty, each colliding name gets the first 8 hex digits of the
    SHA-256 of its id.

    Examples
    --------
    >>> safe_names(["a b", "a_b", "c"], prefix="block_")
    {'a b': 'block_a_b-c8687a08', 'a_b': 'block_a_b-648fa9b3', 'c': 'block_c'}
    """
    import hashlib
    import re
    from collections import Counter

    ids = list(dict.fromkeys(str(i) for i in ids))
    base = {i: prefix + (re.sub(r"[^A-Za-z0-9._-]+", "_", i).strip("._") or "x") for i in ids}
    counts = Counter(base.values())
    out = {}
    for i in ids:
        name = base[i]
        if counts[name] > 1 or not i.strip():
            name += "-" + hashlib.sha256(i.encode()).hexdigest()[:8]
        out[i] = name
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    """A CSV cell that a spreadsheet would not run as a formula (OWASP, "CSV Injection").

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``; numbers
    (negative ones included) and other text are returned unchanged.

    Examples
    --------
    >>> neutralise_cell("=HYPERLINK(1)"), neutralise_cell(-1.5), neutralise_cell("-1.5")
    ("'=HYPERLINK(1)", -1.5, '-1.5')
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    with contextlib.suppress(ValueError):
        float(value)  # "-1.5" as text is a number, not a formula
        return value
    return "'" + value


def _neutralise_column(col):
    """:func:`neutralise_cell` over a column; a categorical column is neutralised once per
    category (same cells, no per-row Python call) unless two categories would collide."""
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [neutralise_cell(v) for v in col.cat.categories]
        if len(set(cats)) == len(cats):
            return col.cat.rename_categories(cats)
    return col.astype(object).map(neutralise_cell)


def csv_text(df, **kwargs) -> str:
    """``df.to_csv(**kwargs)`` with every text cell and column name neutralised
    (:func:`neutralise_cell`); the frame itself is not changed."""
    import pandas as pd

    df = df.rename(columns=neutralise_cell)
    text = [
        c
        for c in df.columns
        if pd.api.types.is_object_dtype(df[c])
        or pd.api.types.is_string_dtype(df[c])
        or isinstance(df[c].dtype, pd.CategoricalDtype)
    ]
    if text:
        df = df.copy()
        for c in text:
            df[c] = _neutralise_column(df[c])
    if "index" in kwargs and kwargs["index"] is not False and df.index.dtype == object:
        df.index = df.index.map(neutralise_cell)
    return df.to_csv(**kwargs)
