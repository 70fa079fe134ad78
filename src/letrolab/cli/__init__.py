"""The ``letrolab`` command: one command with sub-commands.

Each module in this package that defines ``register(app)`` adds its sub-commands; modules are
found automatically, so a new sub-command is a new module and nothing else changes.

Contract (DESIGN.md): ``--json`` prints one JSON document on stdout; bad input exits with
status 2 and one line ``error: <what is wrong and how to fix it>`` on stderr, never a
traceback. What C libraries write to the process's stderr (libroadrunner's CVODE ``[ERROR]``
lines) and Python warnings (numpy's RuntimeWarning, PIL's DecompressionBombWarning) are
captured while a command runs: on failure they are folded into that one line, on success each
becomes one ``warning: ...`` line.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import pkgutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import typer

try:  # typer >= 0.22 vendors click; its usage errors derive from TyperException
    from typer import TyperException as _UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException as _UsageError

from letrolab._results import jsonable as jsonable  # re-exported for the sub-commands
from letrolab.errors import LetrolabError

__all__ = ["app", "main", "print_json"]

app = typer.Typer(
    name="letrolab",
    help="The letrozole - IGF-1 system: lab-data analysis, mechanistic model, virtual experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from letrolab import __version__

        typer.echo(f"letrolab {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """The letrozole - IGF-1 system: lab-data analysis, mechanistic model, virtual experiments."""


_REGISTERED: set[int] = set()


def _register_all() -> None:
    if id(app) in _REGISTERED:  # main() may run many times in one process (tests, notebooks)
        return
    _REGISTERED.add(id(app))
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


def print_json(doc: Any) -> None:
    """Print ``doc`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


@dataclass
class _Captured:
    """What a command's C libraries and warnings said (filled when the command ends)."""

    lines: list[str] = field(default_factory=list)

    def folded(self, limit: int = 400) -> str:
        """The captured lines as one clause, or ``""``."""
        text = "; ".join(dict.fromkeys(self.lines))
        return text if len(text) <= limit else text[: limit - 3] + "..."


def _stderr_fd_usable() -> bool:
    try:
        os.fstat(2)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _capture_stderr() -> Iterator[_Captured]:
    """Send fd 2 (C libraries) to a temporary file and record Python warnings.

    Python's own ``sys.stderr`` keeps writing to the terminal (progress bars, ``warning:`` and
    ``error:`` lines), through a duplicate of the original fd 2 where ``sys.stderr`` was fd 2.
    """
    got = _Captured()
    if not _stderr_fd_usable():
        yield got
        return
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    old_stream = sys.stderr
    try:
        on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        on_fd2 = False
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        if on_fd2:
            sys.stderr = open(  # noqa: SIM115 - closed in the finally below
                saved,
                "w",
                buffering=1,
                encoding=getattr(old_stream, "encoding", None) or "utf-8",
                errors="backslashreplace",
                closefd=False,
            )
        try:
            with warnings.catch_warnings(record=True) as caught:
                yield got
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            if on_fd2:
                sys.stderr.close()
                sys.stderr = old_stream
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "backslashreplace")
            got.lines.extend(" ".join(ln.split()) for ln in text.splitlines() if ln.strip())
            got.lines.extend(
                f"{w.category.__name__}: {' '.join(str(w.message).split())}" for w in caught
            )


def _error_line(message: str, captured: _Captured) -> str:
    extra = captured.folded()
    message = " ".join(message.split())
    return f"error: {message}" + (f" [captured: {extra}]" if extra else "") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``letrolab`` command. Returns the exit status."""
    _register_all()
    command = typer.main.get_command(app)
    failed: list[str] = []
    with _capture_stderr() as captured:
        status = _run(command, argv, failed)
    if failed:
        sys.stderr.write(_error_line(failed[0], captured))
    else:
        for line in dict.fromkeys(captured.lines):
            sys.stderr.write(f"warning: {line}\n")
    return status


def _run(command: Any, argv: list[str] | None, failed: list[str]) -> int:
    """Run the command; an expected failure's message goes to ``failed`` (one entry)."""
    try:
        # With standalone_mode=False an ``Exit(n)`` raised by a command is caught by the
        # framework and its code returned here; a command that returns normally gives None.
        status = command.main(args=argv, prog_name="letrolab", standalone_mode=False)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        failed.append("aborted")
        return 2
    except _UsageError as exc:  # usage errors, bad option values
        failed.append(exc.format_message() if hasattr(exc, "format_message") else str(exc))
        return 2
    except LetrolabError as exc:
        failed.append(str(exc))
        return 2
    except io.UnsupportedOperation:  # an OSError, but a stream used wrongly is a bug in letrolab
        raise
    except OSError as exc:  # missing/unwritable files, full disk, read-only file system ...
        where = f": {exc.filename}" if exc.filename else ""
        failed.append(f"{exc.strerror or exc}{where}")
        return 2
    except KeyboardInterrupt:
        failed.append("interrupted")
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
