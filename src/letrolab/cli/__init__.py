"""The ``letrolab`` command: one command with sub-commands.

Each module in this package that defines ``register(app)`` adds its sub-commands; modules are
found automatically, so a new sub-command is a new module and nothing else changes.

Contract (DESIGN.md): ``--json`` prints one JSON document on stdout; bad input exits with
status 2 and one line ``error: <what is wrong and how to fix it>`` on stderr, never a
traceback.
"""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
import sys
from typing import Any

import typer

try:  # typer >= 0.22 vendors click; its usage errors derive from TyperException
    from typer import TyperException as _UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click import ClickException as _UsageError

from letrolab._results import jsonable as _jsonable  # re-exported for the sub-commands
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
    sys.stdout.write(json.dumps(_jsonable(doc), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``letrolab`` command. Returns the exit status."""
    _register_all()
    command = typer.main.get_command(app)
    try:
        # With standalone_mode=False an ``Exit(n)`` raised by a command is caught by the
        # framework and its code returned here; a command that returns normally gives None.
        status = command.main(args=argv, prog_name="letrolab", standalone_mode=False)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        return 2
    except _UsageError as exc:  # usage errors, bad option values
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        sys.stderr.write(f"error: {' '.join(message.split())}\n")
        return 2
    except LetrolabError as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        return 2
    except io.UnsupportedOperation:  # an OSError, but a stream used wrongly is a bug in letrolab
        raise
    except OSError as exc:  # missing/unwritable files, full disk, read-only file system ...
        where = f": {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"error: {' '.join(str(exc.strerror or exc).split())}{where}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
