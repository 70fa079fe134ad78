"""letrolab.peaks against scipy.signal (the outside reference), on random and flat-topped
profiles: same peaks, prominences, bases and widths to floating-point tolerance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from letrolab.peaks import correlate, find_peaks, local_maxima, peak_widths, smooth

# Small integers give plateaus and ties (the edge cases of the definitions); floats the rest.
profiles = st.one_of(
    arrays(np.float64, st.integers(0, 60), elements=st.integers(0, 6).map(float)),
    arrays(
        np.float64,
        st.integers(0, 200),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
)


@settings(max_examples=150, deadline=None)
@given(profiles)
def test_local_maxima_as_scipy(x):
    want, _ = ss.find_peaks(x)
    np.testing.assert_array_equal(local_maxima(x), want)


@settings(max_examples=150, deadline=None)
@given(
    profiles,
    st.one_of(st.none(), st.floats(0, 5)),
    st.one_of(st.none(), st.floats(1, 12)),
    st.one_of(st.none(), st.floats(0, 3)),
)
def test_find_peaks_as_scipy(x, height, distance, prominence):
    with warnings.catch_warnings():  # SciPy warns of zero prominences; values compared
        warnings.simplefilter("ignore")
        want, props = ss.find_peaks(
            x, height=height, distance=distance, prominence=(prominence, None)
        )
    got = find_peaks(x, height=height, distance=distance, prominence=prominence)
    np.testing.assert_array_equal(got.indices, want)
    np.testing.assert_allclose(got.prominences, props["prominences"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.left_bases, props["left_bases"])
    np.testing.assert_array_equal(got.right_bases, props["right_bases"])


@settings(max_examples=150, deadline=None)
@given(profiles, st.floats(0, 1))
def test_peak_widths_as_scipy(x, rel):
    got_peaks = find_peaks(x)
    with warnings.catch_warnings():  # SciPy warns of zero widths; the values are compared
        warnings.simplefilter("ignore")
        want = ss.peak_widths(x, got_peaks.indices, rel_height=rel) if len(got_peaks) else None
    got = peak_widths(x, got_peaks, rel_height=rel)
    if want is None:
        assert got.widths.size == 0
        return
    for mine, theirs in zip((got.widths, got.heights, got.left, got.right), want, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(profiles, profiles)
def test_correlate_as_scipy(a, v):
    if a.size == 0 or v.size == 0:
        return
    np.testing.assert_allclose(
        correlate(a, v), ss.correlate(a, v, mode="full", method="direct"), atol=1e-6
    )


def test_gaussian_peak_width_is_its_fwhm():
    """A sampled Gaussian of sd 10: width at half prominence 2 sqrt(2 ln 2) sd = 23.548."""
    t = np.arange(401.0)
    x = np.exp(-0.5 * ((t - 200.0) / 10.0) ** 2)
    found = find_peaks(x, prominence=0.5)
    assert list(found.indices) == [200]
    assert peak_widths(x, found).widths[0] == pytest.approx(23.548, abs=0.01)


@pytest.mark.parametrize("bad", [np.zeros((3, 3)), np.array([1.0, np.nan, 0.0])])
def test_bad_profile_is_refused(bad):
    with pytest.raises(ValueError, match="profile"):
        find_peaks(bad)


@settings(max_examples=150, deadline=None)
@given(profiles, st.floats(0.3, 40.0))
def test_smooth_as_scipy(x, sigma):
    from scipy.ndimage import gaussian_filter1d

    if x.size == 0:
        return
    np.testing.assert_allclose(
        smooth(x, sigma), gaussian_filter1d(x, sigma), rtol=1e-9, atol=1e-9 * (1 + abs(x).max())
    )
