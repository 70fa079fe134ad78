"""Virtual instruments: plate reads and PI DNA-content events (letrolab.instruments.plates, letrolab.experiments._instruments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.errors import InputError
from letrolab.experiments._instruments import DNA_CHANNELS, dna_content_events
from letrolab.instruments.plates import PlateNoise, mts_absorbance, plate_rings


def test_noise_free_plate_is_the_linear_mts_model():
    noise = PlateNoise(cv_well=0.0, sd_reader=0.0, edge_loss=0.0, edge_blank_rise=0.0)
    rel = np.linspace(0, 1.5, 96).reshape(8, 12)
    cells = np.ones((8, 12), bool)
    cells[:, 0] = False
    a = mts_absorbance(rel, plate_rings(), cells, np.random.default_rng(0), noise=noise)
    expect = noise.a_blank + (noise.a_vehicle - noise.a_blank) * np.where(cells, rel, 0)
    np.testing.assert_allclose(a, expect, rtol=0, atol=1e-12)


def test_plate_noise_has_the_stated_cv_and_edge_loss():
    rng = np.random.default_rng(1)
    n = 400
    ring = np.tile(plate_rings(), (n, 1, 1))
    rel = np.ones_like(ring, dtype=float)
    a = mts_absorbance(rel, ring, np.ones_like(ring, bool), rng)
    noise = PlateNoise()
    inner = a[ring >= 3] - noise.a_blank
    outer = a[ring == 0] - noise.a_blank * (1 + noise.edge_blank_rise)
    assert inner.std() / inner.mean() == pytest.approx(noise.cv_well, rel=0.05)
    assert outer.mean() / inner.mean() == pytest.approx(1 - noise.edge_loss, abs=0.005)


def test_plate_input_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="same shape"):
        mts_absorbance(np.ones(3), np.zeros(4, int), np.ones(3, bool), rng)
    with pytest.raises(InputError, match="finite and >= 0"):
        mts_absorbance(np.array([1.0, np.nan]), np.zeros(2, int), np.ones(2, bool), rng)


def _gate_counts(ev: np.ndarray, g1: float = 200.0):
    """Truth-side check: width gate for singlets, then content bins (not the analysis code)."""
    a, w = ev[:, 2], ev[:, 3]
    singlet = (w > 80 * 0.8) & (w < 80 * 1.3)
    return a[singlet]


def test_dna_events_carry_the_requested_fractions():
    rng = np.random.default_rng(2)
    fr = {"sub_g1": 0.2, "g1": 0.6, "s": 0.25, "g2m": 0.15}
    ev = dna_content_events(fr, 200_000, rng, debris=0.0, doublets=0.0)
    assert ev.shape == (200_000, len(DNA_CHANNELS))
    a = ev[:, 2]
    # G1 peak: narrow window around 200 holds ~ most of the G1 cells (CV 4.5 %).
    sub = np.mean(a < 0.8 * 200)
    from scipy.stats import beta

    from letrolab.experiments._instruments import SUB_G1_BETA, SUB_G1_LOW, SUB_G1_SPAN

    # Apoptotic content is 0.1 + 0.8 Beta(2, 2.2) x G1: the part below 0.8 x G1 is counted.
    below = beta.cdf((0.8 - SUB_G1_LOW) / SUB_G1_SPAN, *SUB_G1_BETA)
    assert sub == pytest.approx(0.2 * below, abs=0.004)
    g2 = np.mean(np.abs(a - 1.96 * 200) < 2.5 * 0.045 * 1.96 * 200)
    assert g2 > 0.8 * 0.15 * 0.8


def test_pulse_width_follows_particle_size():
    """Singlet width ~ cube root of DNA content, so apoptotic nuclei are narrow, not doublets."""
    rng = np.random.default_rng(4)
    fr = {"sub_g1": 0.3, "g1": 0.7, "s": 0.1, "g2m": 0.2}
    ev = dna_content_events(fr, 40_000, rng, debris=0.0, doublets=0.0)
    a, w = ev[:, 2], ev[:, 3]
    slope = np.polyfit(np.log(a), np.log(w), 1)[0]
    assert slope == pytest.approx(1 / 3, abs=0.02)


def test_doublets_are_wide_and_debris_is_small():
    rng = np.random.default_rng(3)
    fr = {"sub_g1": 0.0, "g1": 1.0, "s": 0.0, "g2m": 0.0}
    ev = dna_content_events(fr, 50_000, rng, debris=0.1, doublets=0.1)
    w, a = ev[:, 3], ev[:, 2]
    wide = w > 80 * 1.4
    assert wide.mean() == pytest.approx(0.1, abs=0.01)
    assert np.median(a[wide]) == pytest.approx(400, rel=0.03)  # two G1 nuclei
    small = a < 0.5 * 200
    assert small.mean() == pytest.approx(0.1, abs=0.015)


@settings(max_examples=25, deadline=None)
@given(
    sub=st.floats(0, 1),
    g1=st.floats(0, 1),
    s=st.floats(0, 1),
    n=st.integers(100, 3000),
    seed=st.integers(0, 2**32 - 1),
)
def test_dna_events_are_finite_positive(sub, g1, s, n, seed):
    s = min(s, 1 - g1)
    fr = {"sub_g1": sub, "g1": g1, "s": s, "g2m": 1 - g1 - s}
    ev = dna_content_events(fr, n, np.random.default_rng(seed))
    assert ev.shape == (n, 5)
    assert np.all(np.isfinite(ev)) and np.all(ev > 0)


def test_dna_events_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="not 1"):
        dna_content_events({"sub_g1": 0.1, "g1": 0.5, "s": 0.2, "g2m": 0.2}, 1000, rng)
    with pytest.raises(InputError, match=r"sub_g1 = 1.5 is not in \[0, 1\]"):
        dna_content_events({"sub_g1": 1.5, "g1": 1, "s": 0, "g2m": 0}, 1000, rng)
    with pytest.raises(InputError, match="n_events"):
        dna_content_events({"sub_g1": 0, "g1": 1, "s": 0, "g2m": 0}, 10, rng)


def test_plate_roundtrip_through_the_plate_reader_code(tmp_path):
    """Absorbances written as a Gen5 export + layout come back as the right % viability."""
    from letrolab.assays.plates import read_plate_combination, row_letters
    from letrolab.instruments.plates import write_layout, write_plate

    rng = np.random.default_rng(5)
    rows, cols = row_letters(8), list(range(1, 13))
    ring = plate_rings()
    truth = np.zeros((8, 12))
    role = np.full((8, 12), "empty", dtype=object)
    c1 = np.zeros((8, 12))
    c2 = np.zeros((8, 12))
    doses = [0.0, 10.0, 100.0]
    for i in range(1, 7):
        for j in range(1, 10):
            role[i, j] = "treated"
            c1[i, j], c2[i, j] = doses[j % 3], doses[(j // 3) % 3]
            truth[i, j] = 1 / (1 + c1[i, j] / 30) / (1 + c2[i, j] / 60)
        role[i, 10], truth[i, 10] = "vehicle", 1.0
        role[i, 0] = "blank"
    frames = []
    for p in range(4):
        a = mts_absorbance(truth, ring, role != "blank", rng)
        frames.append(
            pd.DataFrame(
                {
                    "plate": f"Plate {p + 1}",
                    "well": [f"{r}{c}" for r in rows for c in cols],
                    "read": "490",
                    "value": a.ravel(),
                }
            )
        )
    write_plate(tmp_path / "read.csv", pd.concat(frames), format="matrix")
    lay = pd.DataFrame(
        {
            "well": [f"{r}{c}" for r in rows for c in cols],
            "role": role.ravel(),
            "drug1": np.where(role.ravel() == "treated", "letrozole", ""),
            "conc1": c1.ravel(),
            "drug2": np.where(role.ravel() == "treated", "nvp-aew541", ""),
            "conc2": c2.ravel(),
            "unit": np.where(role.ravel() == "treated", "nM", ""),
        }
    )
    write_layout(tmp_path / "layout.csv", lay)
    comb = read_plate_combination(tmp_path / "read.csv", tmp_path / "layout.csv")
    means = comb.groupby(["conc_r", "conc_c"])["response"].mean()
    for (x, y), v in means.items():
        assert v == pytest.approx(100 / (1 + x / 30) / (1 + y / 60), abs=3.0)
