"""Atomic output: nothing letrolab writes is ever seen half-written.

Files are written to a temporary sibling and moved into place with :func:`os.replace`, which is
atomic on POSIX within one file system. Output folders are staged the same way: everything is
written into a hidden staging folder beside the target and moved in only when the whole job
succeeded, so a failed run leaves the previous output untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from letrolab.errors import InputError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_dir",
    "pyplot",
    "save_figure",
    "staged_dir",
]


def _umask() -> int:
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
        os.fchmod(fd, 0o666 & ~_umask())
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


def pyplot():
    """Return :mod:`matplotlib.pyplot` on the non-interactive Agg backend, imported on first use.

    Every plotting module calls this instead of importing matplotlib at module level, so that
    ``import letrolab`` never loads matplotlib and no figure ever needs a display.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    import io

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or default_format
    buf = io.BytesIO()
    try:
        if fmt not in fig.canvas.get_supported_filetypes():
            raise InputError(
                f"figure format {fmt!r} ({path.name}) is not supported; use .png, .svg or .pdf"
            )
        fig.savefig(buf, format=fmt, dpi=dpi, **kwargs)
    finally:
        if close:
            pyplot().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


@contextlib.contextmanager
def staged_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Stage an output folder and move its files into ``target`` only on success.

    Yields a temporary folder on the same file system as ``target``. When the ``with`` block
    ends without an exception every file in it replaces its counterpart under ``target``
    (other files already in ``target`` are kept). On an exception the staging folder is
    removed and ``target`` is left as it was.
    """
    target = check_output_dir(target)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=target.parent))
    stage.chmod(0o777 & ~_umask())  # mkdtemp creates 0700
    try:
        yield stage
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(stage.rglob("*")):
            if src.is_dir():
                continue
            dst = target / src.relative_to(stage)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
