"""Run every benchmark (``make bench``).

Peer tools (the ``synergy`` package, FlowKit, FlowCal, ...) are not project dependencies: they are
installed into a separate environment, ``benchmarks/.env``, from ``benchmarks/peers.txt``, together
with letrolab itself, and each ``bench_*.py`` runs there. Pass names to run a subset:
``python benchmarks/run.py chou_talalay fcs``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = HERE / ".env"
PY = ENV / "bin" / "python"


def ensure_env() -> None:
    stamp = ENV / ".installed"
    peers = HERE / "peers.txt"
    if stamp.exists() and stamp.stat().st_mtime >= peers.stat().st_mtime:
        return
    if not PY.exists():
        venv.create(ENV, with_pip=True)
    subprocess.run([PY, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [PY, "-m", "pip", "install", "-q", "-e", f"{ROOT}[dask]", "-r", peers], check=True
    )
    stamp.touch()


def main(names: list[str]) -> int:
    ensure_env()
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    status = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        status |= subprocess.run([PY, script], cwd=ROOT, check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
