"""Cell-cycle analysis of real PI and yeast DNA-content files (../shared/data/fcs/dna).

Outside references:
- MANIFEST.tsv gives, per file, G1 and G2 peak positions estimated independently by the data
  curator (full width at half maximum on the raw histogram); fitted means must agree within 3 %
  (human RPE, CV 2-7 %) or 10 % (yeast, CV 12-18 %, where peak positions are less defined).
- A second, independent method on the same events: manual gating as a lab does it by hand
  (singlets: FL2-W < 100; G1 = 0.9-1.1 x G1 mode, G2/M = 0.9-1.1 x G2 mode, S between). Window
  gating counts the S-phase cells whose DNA lies under the peaks as G1 or G2/M, so it
  undercounts S by construction: the model's S must be at least the window S, and every phase
  must agree within 7 percentage points.
- The RPE series (annotation.txt) is a synchronisation time course: S phase peaks at 3-4 h
  after release, G2/M at 6-8 h, and G1 returns from 10 h on.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from letrolab.assays.cellcycle import analyze_batch, analyze_cell_cycle
from letrolab.assays.fcs import read_fcs

RPE = "fcs/dna/rpe_pi_synchronized"


def _hours(shared) -> dict[str, float]:
    out = {}
    for line in (shared / RPE / "annotation.txt").read_text().splitlines():
        parts = line.split("\t")
        if parts[0].startswith("Data."):
            label = parts[3].lower()
            out[parts[0]] = 0.0 if label.startswith("asynch") else float(label.split()[0])
    return out


@pytest.fixture(scope="module")
def rpe_course(shared_data):
    """DJF and Watson fits of the whole series, G1 guided by the late asynchronous control."""
    control = shared_data / RPE / "Data.016"
    files = sorted((shared_data / RPE).glob("Data.0*"))
    djf = analyze_batch(files, control=control, model="djf")
    watson = analyze_batch(files, control=control, model="watson")
    assert not djf.failed and not watson.failed
    return _hours(shared_data), djf, watson


def _window_split(x: np.ndarray, g1: float, g2: float) -> np.ndarray:
    n_g1 = np.count_nonzero((x >= 0.9 * g1) & (x < 1.1 * g1))
    n_g2 = np.count_nonzero((x >= 0.9 * g2) & (x < 1.1 * g2))
    n_s = np.count_nonzero((x >= 1.1 * g1) & (x < 0.9 * g2))
    tot = n_g1 + n_g2 + n_s
    return 100.0 * np.array([n_g1, n_s, n_g2]) / tot


def _mode(x: np.ndarray, lo: float, hi: float) -> float:
    sel = x[(x >= lo) & (x < hi)]
    vals, counts = np.unique(np.round(sel), return_counts=True)
    return float(vals[np.argmax(counts)])


@pytest.mark.parametrize("name", ["Data.001", "Data.016"])
@pytest.mark.parametrize("model", ["djf", "watson"])
def test_asynchronous_rpe_split_is_sensible_and_matches_window_gating(shared_data, name, model):
    path = shared_data / RPE / name
    res = analyze_cell_cycle(path, model=model)
    assert res.channel == "FL2.A" and res.singlet_gate.method == "width"
    # an asynchronous epithelial line: most cells in G1, a sizeable S, some G2/M
    assert 60 < res.g1_pct < 85
    assert 8 < res.s_pct < 25
    assert 5 < res.g2m_pct < 20
    assert res.g1_pct + res.s_pct + res.g2m_pct == pytest.approx(100.0, abs=1e-9)
    assert 1.85 < res.g2_g1_ratio < 2.0
    assert res.sub_g1_pct < 2.0  # healthy culture
    assert res.rcs < 3.0
    # independent window gating on the same singlets
    data = read_fcs(path)
    x = data.channel("FL2.A")[data.channel("FL2.W") < 100]
    g1 = _mode(x, 100, 260)
    g2 = _mode(x, 1.8 * g1, 2.2 * g1)
    ref = _window_split(x, g1, g2)
    got = np.array([res.g1_pct, res.s_pct, res.g2m_pct])
    np.testing.assert_allclose(got, ref, atol=7.0)
    assert res.s_pct >= ref[1]
    assert res.g1_mean == pytest.approx(g1, rel=0.02)


def test_rpe_peak_positions_match_manifest_estimates(shared_data, rpe_course):
    _, djf, _ = rpe_course
    rows = {
        r["file"].rsplit("/", 1)[-1]: r
        for r in csv.DictReader(
            (shared_data / "fcs/MANIFEST.tsv").read_text().splitlines(), delimiter="\t"
        )
        if r["file"].startswith("dna/rpe")
    }
    for res in djf.results:
        name = res.file.rsplit("/", 1)[-1]
        note = rows[name]["dna_content_note"]
        g1 = float(re.search(r"G1~([\d.]+)", note).group(1))
        g2 = float(re.search(r"G2~([\d.]+)", note).group(1))
        if name in ("Data.002", "Data.003"):
            # the curator's peak finder took the early-S peak for G1 in these two (no G2 at
            # twice it); the control-guided fit keeps the true G1 below it instead
            assert res.g1_mean < 0.8 * g1
            continue
        assert res.g1_mean == pytest.approx(g1, rel=0.03), name
        assert res.g2_mean == pytest.approx(g2, rel=0.03), name


@pytest.mark.parametrize("which", [1, 2])
def test_rpe_synchronisation_wave(rpe_course, which):
    hours, *batches = rpe_course
    batch = batches[which - 1]
    by_h = {hours[r.file.rsplit("/", 1)[-1]]: r for r in batch.results if "Data.016" not in r.file}
    s = {h: r.s_pct for h, r in by_h.items()}
    g2 = {h: r.g2m_pct for h, r in by_h.items()}
    g1 = {h: r.g1_pct for h, r in by_h.items()}
    asyn = by_h[0.0]
    # 3-4 h after release: the cohort is in S phase
    assert min(s[3], s[4]) > 60 and min(s[3], s[4]) > 3 * asyn.s_pct
    # 6-8 h: it has reached G2/M
    assert min(g2[6], g2[7], g2[8]) > 70
    assert min(g2[6], g2[7], g2[8]) > 5 * asyn.g2m_pct
    # 11-15 h: divided, back in G1
    assert min(g1[h] for h in (11, 12, 13, 14, 15)) > 80
    # order of the maxima: S before G2/M before G1
    peak = lambda d: max((h for h in d if h > 0), key=d.get)  # noqa: E731
    assert peak(s) < peak(g2) < peak(g1)
    # G1 falls, then rises monotonically from its minimum after mitosis
    assert g1[5] < asyn.g1_pct / 3
    assert g1[9] < g1[10] < g1[11]


def test_djf_and_watson_agree_on_rpe_series(rpe_course):
    _, djf, watson = rpe_course
    for a, b in zip(djf.results, watson.results, strict=True):
        # Watson keeps the means of its own DJF stage; that stage starts from the control's
        # Watson CV rather than its DJF CV, so it may stop a little away: measured over the
        # series at most 1.4e-4 relative (Data.007), 1e-6 or less on 10 of the 16 files
        assert a.g1_mean == pytest.approx(b.g1_mean, rel=5e-4)
        diff = np.abs([a.g1_pct - b.g1_pct, a.s_pct - b.s_pct, a.g2m_pct - b.g2m_pct])
        if a.rcs < 5:
            assert diff.max() < 6.0, a.file
        else:
            # early S (3-4 h): a narrow S-phase cohort is no quadratic, and DJF's RCS says so;
            # Watson, which assumes no S shape, is the model to trust there
            assert diff.max() < 15.0, a.file
            assert b.rcs < a.rcs / 3
            assert any("Watson" in n for n in a.notes), a.file
        assert any("Watson" in n for n in a.notes) == (a.rcs > 8), a.file


def test_auto_mode_needs_the_control_for_s_phase_samples(shared_data):
    # without a control the early-S peak (3 h) is taken for G1: FlowJo's advice holds
    auto = analyze_cell_cycle(shared_data / RPE / "Data.002")
    guided = analyze_cell_cycle(
        shared_data / RPE / "Data.002", control=shared_data / RPE / "Data.016"
    )
    assert auto.g1_mean > 1.3 * guided.g1_mean
    assert guided.s_pct > 60 > auto.s_pct
    assert guided.control.endswith("Data.016")


def test_yeast_peaks_match_manifest(shared_data):
    rows = [
        r
        for r in csv.DictReader(
            (shared_data / "fcs/MANIFEST.tsv").read_text().splitlines(), delimiter="\t"
        )
        if r["file"].startswith("dna/yeast")
    ]
    batch = analyze_batch([shared_data / "fcs" / r["file"] for r in rows], channel="FITC-A")
    assert not batch.failed
    close = 0
    for r, res in zip(rows, batch.results, strict=True):
        note = r["dna_content_note"]
        g2 = float(re.search(r"G2~([\d.]+)", note).group(1))
        assert res.singlet_gate.method == "none"  # no pulse width/height for FITC-A
        assert 1.75 <= res.g2_g1_ratio <= 2.2
        close += abs(res.g2_mean / g2 - 1) < 0.10
    assert close >= len(rows) - 2


def test_yeast_against_ploidypeaks_output(shared_data):
    """PloidyPeaks' own analysis of these files (margothenry/PloidyPeaks,
    inst/analysis/ploidyPeaksOutput.csv, commit d894feb2c182) places G1/G2 of A07-G12 at
    165/325 (on 5-unit bins) and flags A09-A02 for investigation (a second population). Our
    fit agrees with the clean one within 2 % and flags the other one too."""
    yeast = shared_data / "fcs/dna/yeast_dna_stain"
    clean = analyze_cell_cycle(yeast / "A07-G12", channel="FITC-A")
    assert clean.g1_mean == pytest.approx(165, rel=0.02)
    assert clean.g2_mean == pytest.approx(325, rel=0.02)
    # events at the first and last channel are excluded and said so (issue 15), nothing else
    assert (clean.off_scale.low, clean.off_scale.high) == (128, 463)
    assert [n for n in clean.notes if "excluded" not in n] == []
    odd = analyze_cell_cycle(yeast / "A09-A02", channel="FITC-A")
    assert any("bound" in n for n in odd.notes)


def test_auto_s_degree_is_no_f_test_when_no_degree_fits(shared_data):
    """3 h after release the S phase is a narrow cohort (RCS ~20 for every polynomial): the
    F test, which presumes a fitting quadratic, would pick a trapezoid that pushes G1 onto
    the lower bound of its range (149.9); auto keeps the degree with the least chi-square
    (here the quadratic, G1 at the visible G1 peak near 160) and says the fit is poor."""
    control = analyze_cell_cycle(shared_data / RPE / "Data.016")
    path = shared_data / RPE / "Data.002"
    # the S-degree rule is tested under the G2/G1 bounds it was written for (1.75-2.2); the
    # default 1.9-2.05 pins this cohort file at L = 1.9 with G1 at 151 (RCS 23 either way)
    lin = "range=1.75:2.2"
    auto = analyze_cell_cycle(path, control=control, linearity=lin)
    fixed = [
        analyze_cell_cycle(path, control=control, s_degree=d, linearity=lin) for d in (0, 1, 2)
    ]
    assert auto.rcs > 8 and any("Watson" in n for n in auto.notes)
    assert auto.rcs <= 1.001 * min(r.rcs for r in fixed)
    assert auto.s_degree == 2 and auto.g1_mean == pytest.approx(fixed[2].g1_mean, rel=1e-6)
    assert 155 < auto.g1_mean < 165
