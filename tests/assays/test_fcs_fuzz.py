"""Fuzzing the FCS parser: mutated HEADER, TEXT and DATA of real and written files.

Whatever the bytes, :func:`read_fcs` either returns consistent events or raises
:class:`FormatError` / :class:`InputError` with a one-line message; it never crashes with
another exception and never hangs (each call runs under a 20 s alarm).
"""

from __future__ import annotations

import re
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letrolab.assays.fcs import read_fcs
from letrolab.errors import FormatError, InputError
from letrolab.instruments.flow import write_fcs

_SEEDS: list[bytes] = []


@pytest.fixture(scope="module", autouse=True)
def _seeds(test_data, tmp_path_factory):
    _SEEDS.clear()
    _SEEDS.append((test_data / "fcs" / "variable_int_example.fcs").read_bytes())
    rng = np.random.default_rng(0)
    path = write_fcs(
        tmp_path_factory.mktemp("fuzz") / "w.fcs",
        rng.normal(100, 10, size=(40, 3)),
        channels=["FSC-A", "PI-A", "PI-W"],
    )
    _SEEDS.append(path.read_bytes())
    yield


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang("read_fcs did not return within 20 s: a hang")


def _check(blob: bytes) -> None:
    # A hang guard, not a speed test: the limit is far above any real parse (milliseconds), so
    # a loaded machine cannot trip it, while an endless loop on crafted offsets still fails.
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        data = read_fcs(blob)
    except (FormatError, InputError) as exc:
        assert "\n" not in str(exc)
    else:
        assert data.events.shape == (data.n_events, len(data.channels))
        assert data.events.dtype in (np.float32, np.float64)
        assert not data.events.flags.writeable
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_KEYS = [
    b"$TOT",
    b"$PAR",
    b"$P1B",
    b"$P2B",
    b"$BYTEORD",
    b"$DATATYPE",
    b"$NEXTDATA",
    b"$BEGINDATA",
    b"$ENDDATA",
    b"$P1R",
    b"$P1E",
    b"$MODE",
    b"$BEGINSTEXT",
]
_VALUES = st.one_of(
    st.integers(-(2**40), 2**40).map(lambda i: str(i).encode()),
    st.sampled_from(
        [
            b"",
            b" ",
            b"F",
            b"I",
            b"A",
            b"D",
            b"X",
            b"4,3,2,1",
            b"1,2",
            b"3,4,1,2",
            b"1,1,1,1",
            b"*",
            b"nan",
            b"inf",
            b"1e308",
            b"0,0",
            b"4,0",
            b"-1",
        ]
    ),
    st.binary(max_size=12),
)

settings_ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@settings_
@given(seed=st.integers(0, 1), key=st.sampled_from(_KEYS), value=_VALUES)
def test_mutated_text_values(seed, key, value):
    blob = _SEEDS[seed]
    delim = blob[int(blob[10:18]) : int(blob[10:18]) + 1]
    pattern = re.escape(key) + re.escape(delim) + b"[^" + re.escape(delim) + b"]*"
    _check(re.sub(pattern, lambda m: key + delim + value, blob, count=1))


@settings_
@given(
    seed=st.integers(0, 1),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)), max_size=6
    ),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_random_byte_edits_and_truncations(seed, edits, cut):
    blob = bytearray(_SEEDS[seed])
    for pos, new in edits:
        pos %= len(blob)
        blob[pos : pos + len(new)] = new
    if cut is not None:
        del blob[cut % (len(blob) + 1) :]
    _check(bytes(blob))


@settings_
@given(seed=st.integers(0, 1), field=st.integers(0, 5), value=st.integers(-9_999_999, 99_999_999))
def test_mutated_header_offsets(seed, field, value):
    blob = bytearray(_SEEDS[seed])
    blob[10 + 8 * field : 18 + 8 * field] = f"{value:>8}".encode()[:8]
    _check(bytes(blob))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(raw):
    _check(b"FCS3.1" + raw)
    _check(raw)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n_events=st.integers(0, 50),
    names=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
            lambda s: s.strip() and not s.startswith("/")
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda s: s.strip().casefold(),
    ),
    data=st.data(),
)
def test_write_then_read_is_the_identity(tmp_path_factory, n_events, names, data):
    """Any finite float32 table with any channel names survives write_fcs -> read_fcs."""
    floats = st.floats(allow_nan=False, allow_infinity=False, width=32).filter(
        lambda v: abs(v) <= 1e30
    )
    rows = data.draw(
        st.lists(
            st.lists(floats, min_size=len(names), max_size=len(names)),
            min_size=n_events,
            max_size=n_events,
        )
    )
    ev = np.array(rows, dtype=np.float32).reshape(n_events, len(names))
    path = write_fcs(tmp_path_factory.mktemp("rt") / "x.fcs", ev, channels=names)
    back = read_fcs(path)
    np.testing.assert_array_equal(back.events, ev)
    assert back.names == [n.strip() for n in names]
