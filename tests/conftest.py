"""Shared test fixtures.

Real instrument data lives in ``../shared/data`` beside the project root (see its README). Tests
that need it take the ``shared_data`` fixture, which skips with a reason when it is absent (a
user's fresh clone); CI always has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (``derandomize``): CI lands or refuses a
# change on one run, so a failure must be the change's, reproducible, not a draw's. Explore
# new examples with HYPOTHESIS_PROFILE=explore (random draws, and more of them).
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LETROLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))
TEST_DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set LETROLAB_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Path of tests/data (small attributed reference files shipped with the tests)."""
    return TEST_DATA


@pytest.fixture
def run_cli(capsys):
    """Run the ``letrolab`` command in-process; returns (exit status, stdout, stderr)."""
    from letrolab.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
