"""Virtual instruments: plate reads and PI DNA-content events (letrolab.instruments)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab.errors import InputError
from letrolab.instruments.flow import PI_CHANNELS, DnaStain, simulate_dna_content
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


def test_dna_events_carry_the_requested_fractions():
    ev = simulate_dna_content(200_000, g1=0.6, s=0.25, g2m=0.15, sub_g1=0.2, rng=2)
    assert ev.shape == (200_000, len(PI_CHANNELS))
    a = ev[:, 2]
    from scipy.stats import beta

    # apoptotic content is 0.1 + 0.75 Beta(2, 2.5) x G1 (the generator's docstring): the part
    # below 0.8 x G1, plus the G1 tail (20 SD away: nothing), is counted
    below = beta.cdf((0.8 - 0.1) / 0.75, 2.0, 2.5)
    assert np.mean(a < 0.8 * 200) == pytest.approx(0.2 * below, abs=0.004)
    st = DnaStain()
    g2 = np.mean(np.abs(a - st.linearity * 200) < 2.5 * st.cv * st.linearity * 200)
    assert g2 > 0.8 * 0.15 * 0.8


def test_pulse_width_follows_particle_size():
    """Singlet width ~ cube root of DNA content, so apoptotic nuclei are narrow, not doublets."""
    ev = simulate_dna_content(40_000, g1=0.7, s=0.1, g2m=0.2, sub_g1=0.3, rng=4)
    a, w = ev[:, 2], ev[:, 3]
    slope = np.polyfit(np.log(a), np.log(w), 1)[0]
    assert slope == pytest.approx(1 / 3, abs=0.02)


def test_doublets_are_wide_and_debris_is_small():
    ev = simulate_dna_content(50_000, g1=1, s=0, g2m=0, debris=0.1, doublets=0.1, rng=3)
    w, a = ev[:, 3], ev[:, 2]
    wide = w > DnaStain().width * 1.6
    assert wide.mean() == pytest.approx(0.1, abs=0.01)
    assert np.median(a[wide]) == pytest.approx(400, rel=0.03)  # two G1 nuclei
    # single-cut debris of G1 nuclei is uniform on (0, G1): half of it lies below 0.5 x G1
    small = a < 0.5 * 200
    assert small.mean() == pytest.approx(0.9 * 0.1 * 0.5, abs=0.01)


@settings(max_examples=25, deadline=None)
@given(
    sub=st.floats(0, 0.9),
    g1=st.floats(0.01, 1),
    s=st.floats(0, 1),
    n=st.integers(100, 3000),
    seed=st.integers(0, 2**32 - 1),
)
def test_dna_events_are_finite_positive(sub, g1, s, n, seed):
    s = min(s, 1 - g1)
    ev = simulate_dna_content(n, g1=g1, s=s, g2m=1 - g1 - s, sub_g1=sub, rng=seed)
    assert ev.shape == (n, 5)
    assert np.all(np.isfinite(ev)) and np.all(ev[:, 2:] > 0)


def test_dna_events_errors():
    with pytest.raises(InputError, match="non-negative"):
        simulate_dna_content(1000, g1=-0.1, s=0.5, g2m=0.5)
    with pytest.raises(InputError, match="sub_g1"):
        simulate_dna_content(1000, g1=1, s=0, g2m=0, sub_g1=1.5)
    with pytest.raises(InputError, match="positive"):
        simulate_dna_content(0, g1=1, s=0, g2m=0)
    with pytest.raises(InputError, match="DnaStain"):
        DnaStain(cv=0.0)
