"""Fixtures of the report tests: one real ``letrolab reproduce --quick`` per test session.

Under pytest-xdist every worker has its own session; the run is shared between them through a
folder beside the workers' temporary folders and a file lock, so it happens once per
``pytest`` invocation (the pattern of the pytest-xdist documentation, "Making session-scoped
fixtures execute only once").
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory, worker_id) -> Path:
    """Folder of one ``reproduce(quick=True)`` run shared by all workers of the session."""
    from letrolab.pipeline import reproduce

    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent
    out = root / "letrolab-quick-run"
    with open(root / "letrolab-quick-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (out / "claims.json").is_file():
                reproduce(out, quick=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return out


@pytest.fixture(scope="session")
def quick_claims(quick_run) -> list[dict]:
    """The claims.json of the quick run."""
    return json.loads((quick_run / "claims.json").read_text())


def chromium_dump_dom(html: Path, profile: Path, *, timeout: float = 90.0) -> str:
    """Load ``html`` in headless Chromium and return the DOM after the load event."""
    cmd = [
        str(CHROMIUM),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        html.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


@pytest.fixture
def chromium(tmp_path):
    """``dump(html_path) -> DOM text``; skips where Debian's chromium is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            "headless Chromium not installed at /usr/bin/chromium; `make test` installs it "
            "(tests/report/ensure_chromium.sh)"
        )
    profile = tmp_path / "chromium-profile"
    profile.mkdir()

    def dump(html: Path) -> str:
        return chromium_dump_dom(html, profile)

    yield dump
    shutil.rmtree(profile, ignore_errors=True)
