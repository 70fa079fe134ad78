"""Benchmark: a virtual trial of 100,000 patients over one year (``letrolab trial``).

Times ``run_trial`` (vectorised NumPy engine, 2 worker processes) for 100,000 postmenopausal
patients on letrozole 2.5 mg/day for 12 months, and records the peak resident memory of the
parent and of the worker processes. For scale it also times the reference path, libroadrunner
on ``patient.ant`` one patient at a time (compiled once), on 100 patients and extrapolates.
Goal (issue 5): under 2 minutes on this machine.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_section

from letrolab.model.patient import run_trial, sample_cohort, simulate_reference
from letrolab.model.patient.trial import HOURS_PER_MONTH

N = 100_000
MONTHS = 12
WORKERS = 2


def _rss_mb(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


_WORKER = """
import json, resource
from letrolab.model.patient import run_trial
run_trial(["std:letrozole:2.5mg/day"], patients={n}, months=1, seed=1, workers=1)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))
"""


def _worker_peak_mb(chunk: int) -> float:
    """Peak RSS of one process running one worker's chunk (memory does not grow with months)."""
    out = subprocess.run(
        [sys.executable, "-c", _WORKER.format(n=chunk)], capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = run_trial(
        ["std:letrozole:2.5mg/day"], patients=N, months=MONTHS, seed=1, workers=WORKERS
    )
    wall = time.perf_counter() - t0
    load = max(load_before, os.getloadavg()[0])
    s = result.arm_summary("std")
    parent = _rss_mb(resource.RUSAGE_SELF)
    children = _worker_peak_mb(N // WORKERS)

    # reference path: libroadrunner, one patient at a time, 100 patients
    cohort = sample_cohort(100, seed=1)
    t_end = round(MONTHS * 30.4375) * 24.0
    doses = {"let": (np.arange(0, t_end, 24.0), np.full(int(t_end // 24), 2.5))}
    t1 = time.perf_counter()
    for k in range(cohort.n):
        params = cohort.patient(k)
        simulate_reference(params, doses=doses, t_end_h=t_end, dt_h=24.0)
    rr_per_patient = (time.perf_counter() - t1) / cohort.n

    steps = max(1, round(MONTHS * HOURS_PER_MONTH))  # run_trial's default dt_h = 1 h
    body = f"""## trial — {N:,} virtual patients, {MONTHS} months (issue 5)

| what | value |
|---|---|
| patients x months | {N:,} x {MONTHS} (hourly steps, {steps:,} per patient) |
| letrolab `run_trial`, vectorised engine, {WORKERS} worker processes | **{wall:.1f} s** (goal < 120 s) |
| peak resident memory: parent / one worker ({N // WORKERS:,} patients, measured in a separate process) | {parent:.0f} MB / {children:.0f} MB |
| libroadrunner reference, one patient at a time (100 patients) | {rr_per_patient * 1e3:.0f} ms per patient, about {rr_per_patient * N / 60:.0f} min for {N:,} on one core |
| speed-up of the vectorised engine over the reference | {rr_per_patient * N / wall:.0f}x |
| cohort medians: Css / aromatase inhibition / E2 / IGF-I | {s["letrozole_css_nM"]["median"]:.0f} nM / {s["aromatase_inhibition_pct"]["median"]:.2f} % / {s["e2_change_pct"]["median"]:+.1f} % / {s["igf1_change_pct"]["median"]:+.1f} % |

Load average during the run: {load:.1f} on {os.cpu_count()} cores (a shared machine: other
jobs compete for the cores, so the wall time overstates what free cores give). The vectorised
engine is checked against libroadrunner on `patient.ant` in `tests/model/test_patient_vector.py`
(within 1 % of each time course's range) and `tests/model/test_cohort_patient.py` (cohort
readouts within 0.5 %).
"""
    print(body)
    write_section("trial", body)


if __name__ == "__main__":
    main()
