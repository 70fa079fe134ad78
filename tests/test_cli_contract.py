"""The command-line contract shared by every sub-command (DESIGN.md)."""

import io
import subprocess
import sys

import pytest


def test_unknown_option_is_one_error_line(run_cli):
    code, out, err = run_cli("--no-such-option")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1


def test_unknown_command_is_one_error_line(run_cli):
    code, _, err = run_cli("frobnicate")
    assert code == 2
    assert err.startswith("error: ") and "frobnicate" in err


def test_help_exits_zero(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    assert "letrolab" in out


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "letrolab", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_exit_codes_raised_by_commands_are_returned():
    import typer

    from letrolab import cli

    probe = typer.Typer()

    @probe.command()
    def one() -> None:
        raise typer.Exit(3)

    @probe.command()
    def two() -> None:
        return None

    original = cli.app
    cli.app = probe
    try:
        assert cli.main(["one"]) == 3
        assert cli.main(["two"]) == 0
    finally:
        cli.app = original


def test_os_errors_raised_by_commands_are_one_error_line(capsys):
    """A full disk or read-only file system met mid-command: one line and exit 2."""
    import errno

    import typer

    from letrolab import cli

    probe = typer.Typer()

    @probe.command()
    def full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "out/table.csv")

    @probe.command()
    def other() -> None:
        raise OSError("socket closed")

    @probe.command()
    def misuse() -> None:
        io.BytesIO().fileno()  # an in-memory stream has no file descriptor

    original = cli.app
    cli.app = probe
    try:
        assert cli.main(["full"]) == 2
        assert capsys.readouterr().err == "error: No space left on device: out/table.csv\n"
        assert cli.main(["other"]) == 2
        assert capsys.readouterr().err == "error: socket closed\n"
        # a programming error that happens to subclass OSError stays a traceback
        with pytest.raises(io.UnsupportedOperation, match="fileno"):
            cli.main(["misuse"])
    finally:
        cli.app = original
