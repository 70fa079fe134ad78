"""Claims on the calibrated ensemble: the readout path against full virtual experiments per set.

``reproduce`` evaluates every claim on every parameter set of the shipped ensemble through each
claim's readout (:mod:`letrolab.experiments.support`: a few direct simulations per claim). The
peer is what a naive implementation would do: run all seven virtual experiments
(:func:`letrolab.pipeline.run_experiments`, instrument files, analyses) once per set, here for
one set of the same ensemble (``N_FULL``), in the same process and run. Ratio = seconds per set, full
experiments over readouts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section

N_FULL = 1


def main() -> None:
    from letrolab.experiments import all_experiments
    from letrolab.experiments.support import claim_support
    from letrolab.model import get_model
    from letrolab.model.ensemble import load_ensemble
    from letrolab.pipeline import run_experiments

    get_model()
    ens = load_ensemble()
    sets = ens.parameters
    t0 = time.perf_counter()
    sup = claim_support(sets, workers=2)
    readout_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    claim_support(sets.iloc[:10], workers=1, backend="serial")
    serial_s = (time.perf_counter() - t0) / 10
    full = []
    for k in range(N_FULL):
        with tempfile.TemporaryDirectory(prefix="letrolab-bench-") as tmp:
            t0 = time.perf_counter()
            run_experiments(
                list(all_experiments()),
                outdir=Path(tmp),
                quick=False,
                seed=1,
                overrides=sets.iloc[k].to_dict(),
            )
            full.append(time.perf_counter() - t0)
    per_full = sum(full) / len(full)
    per_readout = readout_s / len(sets)
    lines = [
        "## Claims on the ensemble (bench_ensemble_claims.py)",
        "",
        f"{len(sets)} parameter sets of the shipped ensemble; readouts for S3-S7, S9.",
        "",
        "| path | seconds per set | all sets |",
        "|---|---:|---:|",
        f"| readouts, 2 worker processes | {per_readout:.3f} | {readout_s:.1f} s |",
        f"| readouts, serial (10 sets) | {serial_s:.3f} | — |",
        f"| full virtual experiments (run_experiments, {N_FULL} sets) | {per_full:.1f} | "
        f"{per_full * len(sets) / 60:.0f} min (extrapolated) |",
        "",
        f"**Ratio: {per_full / per_readout:.0f}× less time per set** through the readouts "
        f"({per_full / serial_s:.0f}× on one core).",
        "",
        "Support found: "
        + ", ".join(f"{s.claim} {s.support:.2f}" for s in sup if s.support is not None),
    ]
    write_section(
        "ensemble_claims",
        "\n".join(lines),
        command="PYTHONPATH=src python benchmarks/bench_ensemble_claims.py",
    )


if __name__ == "__main__":
    main()
