"""FCS: no silent repair (issue 13).

- The Time channel is scaled by ``$TIMESTEP`` (FCS 3.1), as flowio's ``as_array`` does (FlowKit
  reads events through flowio the same way); checked on hand-built and real files against
  flowio's own parse.
- Every repair that changes which numbers are read is an :class:`FCSRepair` on the result, on
  stderr and in ``--json`` of ``letrolab fcs`` and ``letrolab cellcycle``.
- A layout the file's own numbers do not single out is refused (:class:`FCSError`, exit 2).
"""

from __future__ import annotations

import io
import json
import re
import warnings

import flowio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letrolab.assays.fcs import FCSRepair, read_fcs
from letrolab.errors import FCSError, LetrolabError
from letrolab.instruments.flow import PI_CHANNELS, simulate_dna_content, write_fcs


# ------------------------------------------------------------------------------------------
# a minimal FCS 3.0 builder: TEXT keywords, DATA bytes, optional stated DATA length and tail
# ------------------------------------------------------------------------------------------
def build(
    keywords: dict[str, str],
    data: bytes,
    *,
    stated_len: int | None = None,
    tail: bytes = b"",
    header_data: tuple[int, int] | None = None,
) -> bytes:
    """FCS bytes whose $BEGINDATA/$ENDDATA (and HEADER offsets) state ``stated_len`` bytes of
    DATA (default: ``len(data)``); ``tail`` follows the DATA segment (an ANALYSIS or CRC)."""
    kw = {**keywords, "$BEGINDATA": "0" * 10, "$ENDDATA": "0" * 10}

    def text(k: dict[str, str]) -> bytes:
        return b"/" + b"".join(f"{a}/{b}/".encode() for a, b in k.items())

    start = 58 + len(text(kw))
    end = start + (len(data) if stated_len is None else stated_len) - 1
    kw["$BEGINDATA"], kw["$ENDDATA"] = f"{start:010d}", f"{end:010d}"
    body = text(kw)
    hd = header_data or (start, end)
    header = (
        b"FCS3.0    " + f"{58:>8}{58 + len(body) - 1:>8}{hd[0]:>8}{hd[1]:>8}{0:>8}{0:>8}".encode()
    )
    return header + body + data + tail


def int_keywords(names, bits, tot, rng=1024, byteord="1,2,3,4") -> dict[str, str]:
    kw = {"$PAR": str(len(names)), "$TOT": str(tot), "$DATATYPE": "I", "$MODE": "L"}
    if byteord is not None:
        kw["$BYTEORD"] = byteord
    for i, n in enumerate(names, start=1):
        kw.update({f"$P{i}N": n, f"$P{i}B": str(bits), f"$P{i}R": str(rng), f"$P{i}E": "0,0"})
    return kw


def float_keywords(names, tot, **extra) -> dict[str, str]:
    kw = {"$PAR": str(len(names)), "$TOT": str(tot), "$DATATYPE": "F", "$MODE": "L"}
    kw["$BYTEORD"] = "1,2,3,4"
    for i, n in enumerate(names, start=1):
        kw.update({f"$P{i}N": n, f"$P{i}B": "32", f"$P{i}R": "262144", f"$P{i}E": "0,0"})
    kw.update(extra)
    return kw


def flowio_events(blob: bytes, **kwargs) -> np.ndarray:
    """Events as flowio parses and preprocesses them (gain, log, $TIMESTEP)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fd = flowio.FlowData(io.BytesIO(blob), **kwargs)
        return fd.as_array(preprocess=True)


def kinds(data) -> set[str]:
    return {r.kind for r in data.repairs}


# ------------------------------------------------------------------------------------------
# $TIMESTEP
# ------------------------------------------------------------------------------------------
def test_time_channel_is_scaled_by_timestep_like_flowio():
    stored = np.array([[0, 10, 5], [250, 11, 6], [1000, 12, 7]], dtype="<f4")
    kw = float_keywords(["Time", "FSC-A", "PI-A"], 3, **{"$TIMESTEP": "0.01", "$P1G": "2"})
    blob = build(kw, stored.tobytes())
    data = read_fcs(blob)
    # FCS 3.1 $TIMESTEP: seconds per Time unit; no gain on the Time channel (flowio, FlowKit)
    np.testing.assert_allclose(data.channel("Time"), [0.0, 2.5, 10.0], rtol=1e-12)
    np.testing.assert_array_equal(data.events[:, 1:], stored[:, 1:])
    np.testing.assert_allclose(data.events, flowio_events(blob), rtol=1e-12)
    assert not data.repairs
    raw = read_fcs(blob, scale=False)
    np.testing.assert_array_equal(raw.channel("time"), stored[:, 0])


def test_timestep_without_a_time_channel_changes_nothing():
    stored = np.arange(6, dtype="<f4").reshape(3, 2)
    blob = build(float_keywords(["FSC-A", "PI-A"], 3, **{"$TIMESTEP": "0.5"}), stored.tobytes())
    np.testing.assert_array_equal(read_fcs(blob).events, stored)


@pytest.mark.parametrize("value", ["xxxxxxxxx", "-1", "0"])
def test_unusable_timestep_is_a_visible_repair(value):
    stored = np.arange(6, dtype="<f4").reshape(3, 2)
    blob = build(float_keywords(["Time", "PI-A"], 3, **{"$TIMESTEP": value}), stored.tobytes())
    data = read_fcs(blob)
    np.testing.assert_array_equal(data.channel("time"), stored[:, 0])
    assert kinds(data) == {"timestep"} and value in data.repairs[0].detail


# ------------------------------------------------------------------------------------------
# real files from other labs (tests/data/fcs/README.md): values equal flowio's own parse
# ------------------------------------------------------------------------------------------
# tolerance: both parsers decode the same bytes; float32 data scaled in float64 by both, so
# agreement is to float64 round-off (rtol 1e-12)
REAL = {
    "cyflow_cube_8.fcs": ({}, "0.001"),
    "accuri_c6_plus_B01.fcs": ({}, "0.1"),
    "data_start_offset_discrepancy_example.fcs": ({"ignore_offset_discrepancy": True}, None),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_match_flowio(test_data, name):
    kwargs, timestep = REAL[name]
    blob = (test_data / "fcs" / name).read_bytes()
    data = read_fcs(blob)
    if timestep is not None:
        assert data.keywords["$TIMESTEP"] == timestep
        t = next(c for c in data.channels if c.name.casefold() == "time")
        raw = read_fcs(blob, scale=False)
        np.testing.assert_allclose(
            data.events[:, t.index], raw.events[:, t.index] * float(timestep), rtol=1e-12
        )
    # flowio cannot parse this file's placeholder $TIMESTEP ("xxxxxxxxx"): compare unscaled
    ref = flowio_events(blob, **kwargs) if timestep else None
    if ref is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fd = flowio.FlowData(io.BytesIO(blob), **kwargs)
        ref = np.reshape(np.array(fd.events, dtype=np.float64), (-1, fd.channel_count))
        data = read_fcs(blob, scale=False)
    assert data.events.shape == ref.shape
    np.testing.assert_allclose(data.events, ref, rtol=1e-12)


def test_real_file_with_disagreeing_offsets_shows_the_repair(test_data):
    data = read_fcs(test_data / "fcs" / "data_start_offset_discrepancy_example.fcs")
    assert "data_offsets" in kinds(data)
    assert any("TEXT pair" in r.detail for r in data.repairs)


# ------------------------------------------------------------------------------------------
# visible repairs
# ------------------------------------------------------------------------------------------
def test_tot_larger_than_the_segment_reads_the_segment_with_a_warning():
    vals = np.arange(10, dtype="<u2").reshape(5, 2)
    blob = build(int_keywords(["A", "B"], 16, tot=6), vals.tobytes(), tail=b"\xff" * 64)
    data = read_fcs(blob)
    np.testing.assert_array_equal(data.events, vals)
    (rep,) = data.repairs
    assert rep.kind == "tot" and "$TOT=6" in rep.detail and "5 events" in rep.detail


def test_segment_longer_than_tot_by_a_part_event_is_a_warning():
    vals = np.arange(8, dtype="<u2").reshape(4, 2)
    blob = build(int_keywords(["A", "B"], 16, tot=4), vals.tobytes() + b"\0\0\0")
    data = read_fcs(blob)
    np.testing.assert_array_equal(data.events, vals)
    assert kinds(data) == {"data_offsets"} and "3 bytes longer" in data.repairs[0].detail


def test_declared_bit_width_that_does_not_fit_is_a_warning_when_values_settle_it():
    # $PnB says 32 bits, the DATA segment holds 16-bit values: 3 events x 2 channels x 2 bytes.
    # Read as 32-bit it would be 1.5 events; the only layout that fits is 16-bit.
    vals = np.array([[100, 200], [300, 400], [500, 600]], dtype="<u2")
    data = read_fcs(build(int_keywords(["A", "B"], 32, tot=3), vals.tobytes()))
    np.testing.assert_array_equal(data.events, vals)
    assert kinds(data) == {"bit_width"} and "16-bit" in data.repairs[0].detail


def test_declared_bit_width_tie_is_settled_by_the_channel_range():
    # 4 events of 16-bit values under $PnB=32: 2 events of 32 bits also fit the length, but
    # give values far above $PnR=1024; the 16-bit reading is the one the file's ranges allow
    vals = np.array([[10, 20], [30, 40], [50, 60], [70, 80]], dtype="<u2")
    data = read_fcs(build(int_keywords(["A", "B"], 32, tot=4), vals.tobytes()))
    np.testing.assert_array_equal(data.events, vals)
    assert kinds(data) == {"bit_width"}


def test_odd_bit_width_in_whole_words_is_a_warning():
    vals = np.array([[1, 1023], [512, 7]], dtype="<u2")
    data = read_fcs(build(int_keywords(["A", "B"], 10, tot=2), vals.tobytes()))
    np.testing.assert_array_equal(data.events, vals)
    assert kinds(data) == {"bit_width"} and "whole 16-bit words" in data.repairs[0].detail


def test_float_data_with_an_adc_bit_width_is_a_warning():
    vals = np.arange(4, dtype="<f4").reshape(2, 2)
    kw = float_keywords(["A", "B"], 2, **{"$P1B": "18", "$P2B": "18"})
    data = read_fcs(build(kw, vals.tobytes()))
    np.testing.assert_array_equal(data.events, vals)
    assert kinds(data) == {"bit_width"} and "$P1B=18" in data.repairs[0].detail


def test_header_and_text_offsets_that_disagree_are_a_warning():
    vals = np.arange(4, dtype="<f4").reshape(2, 2)
    data = read_fcs(build(float_keywords(["A", "B"], 2), vals.tobytes(), header_data=(60, 99)))
    np.testing.assert_array_equal(data.events, vals)
    assert "data_offsets" in kinds(data)


def test_byte_order_oddities_are_warnings():
    vals = np.array([[1, 2], [3, 4]], dtype="<u2")
    # $BYTEORD missing: big-endian would give 256..1024, outside $PnR=1024 (0..1023)
    missing = read_fcs(build(int_keywords(["A", "B"], 16, 2, byteord=None), vals.tobytes()))
    np.testing.assert_array_equal(missing.events, vals)
    assert kinds(missing) == {"byte_order"} and "little-endian" in missing.repairs[0].detail
    floats = np.array([[1234.5, 87.25]], dtype=">f4")
    kw = float_keywords(["A", "B"], 1)
    del kw["$BYTEORD"]
    data = read_fcs(build(kw, floats.tobytes()))
    np.testing.assert_array_equal(data.events, floats.astype("<f4"))
    assert "big-endian" in data.repairs[0].detail
    big = vals.astype(">u4")
    short = read_fcs(build(int_keywords(["A", "B"], 32, 2, byteord="2,1"), big.tobytes()))
    np.testing.assert_array_equal(short.events, vals)
    assert kinds(short) == {"byte_order"} and "big-endian" in short.repairs[0].detail
    # FCS 3.1: $BYTEORD is stated for 32-bit words and holds for 16-bit values: no repair
    ok = read_fcs(build(int_keywords(["A", "B"], 16, 2, byteord="1,2,3,4"), vals.tobytes()))
    assert not ok.repairs


def test_values_above_the_range_masked_is_a_warning():
    vals = np.array([[1, 2000], [3, 4]], dtype="<u2")  # 2000 > $PnR 1024
    data = read_fcs(build(int_keywords(["A", "B"], 16, 2), vals.tobytes()))
    assert data.events[0, 1] == 2000 & 1023
    assert kinds(data) == {"range_mask"} and "#2 (1)" in data.repairs[0].detail


def test_repairs_are_named_fields():
    rep = FCSRepair("tot", "x")
    assert rep.summary() == {"kind": "tot", "detail": "x"} and str(rep) == "tot: x"


# ------------------------------------------------------------------------------------------
# refusals: what cannot be checked against the file's own numbers
# ------------------------------------------------------------------------------------------
def test_segment_holding_more_whole_events_than_tot_is_refused():
    # 6 whole events in the segment, $TOT 4: "the first 4" and "all 6" fit equally
    vals = np.arange(12, dtype="<u2").reshape(6, 2)
    with pytest.raises(FCSError, match=r"2 ways.*refusing to guess"):
        read_fcs(build(int_keywords(["A", "B"], 16, tot=4), vals.tobytes()))


def test_segment_fitting_no_layout_is_refused():
    # $TOT 6 events of 4 bytes = 24 bytes; the segment states 19, and the file goes on
    vals = np.arange(12, dtype="<u2").reshape(6, 2)
    blob = build(int_keywords(["A", "B"], 16, tot=6), vals.tobytes(), stated_len=19)
    with pytest.raises(FCSError, match="fits neither"):
        read_fcs(blob)


def test_two_offset_pairs_that_both_fit_are_refused():
    vals = np.arange(4, dtype="<f4").reshape(2, 2)
    blob = build(float_keywords(["A", "B"], 2), vals.tobytes() + vals.tobytes())
    start = int(re.search(rb"\$BEGINDATA/(\d+)", blob).group(1))
    blob = build(
        float_keywords(["A", "B"], 2),
        vals.tobytes() + vals.tobytes()[::-1],
        stated_len=16,
        header_data=(start + 16, start + 31),
    )
    with pytest.raises(FCSError, match="refusing to guess"):
        read_fcs(blob)


def test_missing_byteorder_that_values_do_not_settle_is_refused():
    both = np.array([[1, 256]], dtype="<u2")  # 1,256 or 256,1: both within $PnR 65536
    with pytest.raises(FCSError, match="both byte orders"):
        read_fcs(build(int_keywords(["A", "B"], 16, 1, rng=65536, byteord=None), both.tobytes()))
    neither = np.array([[1, 2]], dtype="<u2")  # no $PnR to check against
    kw = int_keywords(["A", "B"], 16, 1, byteord=None)
    del kw["$P1R"], kw["$P2R"]
    with pytest.raises(FCSError, match="neither byte order"):
        read_fcs(build(kw, neither.tobytes()))
    same = np.array([[0, 0]], dtype="<u2")  # the same numbers either way: nothing to repair
    assert not read_fcs(
        build(int_keywords(["A", "B"], 16, 1, byteord=None), same.tobytes())
    ).repairs


def test_tot_missing_with_a_part_event_is_refused():
    vals = np.arange(8, dtype="<u2").reshape(4, 2)
    kw = int_keywords(["A", "B"], 16, tot=4)
    del kw["$TOT"]
    ok = read_fcs(build(kw, vals.tobytes()))
    assert kinds(ok) == {"tot"} and ok.n_events == 4
    with pytest.raises(FCSError, match="not a whole number"):
        read_fcs(build(kw, vals.tobytes() + b"\0\0\0"))


# ------------------------------------------------------------------------------------------
# the CLI: stderr, --json, and cellcycle
# ------------------------------------------------------------------------------------------
def _pi_file(tmp_path, name="pi.fcs", n=4000, seed=3):
    ev = simulate_dna_content(n, g1=0.55, s=0.3, g2m=0.15, rng=seed)
    return write_fcs(tmp_path / name, ev, channels=PI_CHANNELS)


def _set_tot(blob: bytes, tot: int, tail: bytes = b"") -> bytes:
    """The same file with $TOT replaced by a value of the same number of digits."""
    old = re.search(rb"/\$TOT/(\d+)/", blob).group(1)
    new = str(tot).encode()
    assert len(new) == len(old)
    return blob.replace(b"/$TOT/" + old + b"/", b"/$TOT/" + new + b"/", 1) + tail


def test_cli_fcs_shows_repairs_on_stderr_and_in_json(run_cli, tmp_path):
    path = tmp_path / "tot.fcs"
    path.write_bytes(_set_tot(_pi_file(tmp_path).read_bytes(), 4100, tail=b"\x7f" * 4096))
    code, out, err = run_cli("fcs", path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["events"] == 4000 and [r["kind"] for r in doc["repairs"]] == ["tot"]
    assert err.startswith(f"warning: {path}: FCS repair tot: $TOT=4100")
    code, out, err = run_cli("fcs", path)
    assert code == 0 and "warning: repair changed the numbers read: tot" in out


def test_cli_cellcycle_carries_the_reader_repairs(run_cli, tmp_path):
    good = _pi_file(tmp_path, "good.fcs")
    bad = tmp_path / "tot.fcs"
    bad.write_bytes(_set_tot(_pi_file(tmp_path, "x.fcs", seed=4).read_bytes(), 4100, b"\0" * 64))
    code, out, err = run_cli("cellcycle", good, bad, "--json")
    assert code == 0, err
    first, second = json.loads(out)["files"]
    assert "repairs" not in first
    assert second["events"] == 4000 and second["repairs"][0]["kind"] == "tot"
    assert [ln for ln in err.splitlines() if ln.startswith("warning:")] == [
        f"warning: {bad}: FCS repair {second['repairs'][0]['kind']}: "
        f"{second['repairs'][0]['detail']}"
    ]
    code, out, _ = run_cli("cellcycle", bad)
    assert code == 0 and f"repairs: {bad}" in out and "  tot: $TOT=4100" in out
    # the control's repairs are shown too, and --out keeps every file's repairs
    code, _, err = run_cli("cellcycle", good, "--control", bad, "--out", tmp_path / "o")
    assert code == 0 and f"warning: control {bad}: FCS repair tot:" in err
    code, _, err = run_cli("cellcycle", good, bad, "--out", tmp_path / "o2")
    saved = json.loads((tmp_path / "o2" / "cellcycle.json").read_text())
    assert code == 0 and [(r["file"], r["kind"]) for r in saved["repairs"]] == [(str(bad), "tot")]


def test_cell_cycle_result_carries_the_reader_repairs(tmp_path):
    """The Python API says what the command line says: the analysis of a repaired file keeps
    the reader's repairs, and a clean file has none."""
    from letrolab.assays import analyse_cell_cycle, read_fcs

    good = _pi_file(tmp_path, "good.fcs")
    bad = tmp_path / "tot.fcs"
    bad.write_bytes(_set_tot(_pi_file(tmp_path, "x.fcs", seed=4).read_bytes(), 4100, b"\0" * 64))
    assert analyse_cell_cycle(good).repairs == ()
    res = analyse_cell_cycle(bad)
    assert res.repairs == read_fcs(bad).repairs and [r.kind for r in res.repairs] == ["tot"]


def test_cli_cellcycle_failure_after_a_repair_is_still_one_line(run_cli, tmp_path):
    bad = tmp_path / "tot.fcs"
    bad.write_bytes(_set_tot(_pi_file(tmp_path, "x.fcs").read_bytes(), 4100, b"\0" * 64))
    code, out, err = run_cli("cellcycle", bad, "--channel", "FL9-A", "--json")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: ")
    assert "no channel 'FL9-A'" in err and "(after FCS repairs: tot: $TOT=4100" in err
    assert json.loads(out)["files"][0]["repairs"][0]["kind"] == "tot"


def test_cli_cellcycle_refuses_what_it_used_to_fit_as_garbage(run_cli, tmp_path):
    """Before: $TOT smaller than the events in the DATA segment was read as the first $TOT
    events with the disagreement only in ``quirks`` -- fitted, exit 0. Now: refused, exit 2."""
    path = tmp_path / "short_tot.fcs"
    path.write_bytes(_set_tot(_pi_file(tmp_path).read_bytes(), 3000))
    code, out, err = run_cli("cellcycle", path, "--json")
    assert code == 2
    (entry,) = json.loads(out)["files"]
    assert entry["g1_pct"] is None and "refusing to guess" in entry["error"]
    assert err.count("\n") == 1 and err.startswith("error: ")
    code, out, err = run_cli("fcs", path)
    assert (code, out) == (2, "") and "refusing to guess" in err and err.count("\n") == 1


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------
PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(
    n_ch=st.integers(1, 8),
    n_ev=st.integers(1, 60),
    seed=st.integers(0, 2**16),
)
def test_written_float_files_read_back_equal(tmp_path_factory, n_ch, n_ev, seed):
    rng = np.random.default_rng(seed)
    ev = rng.normal(1000, 300, size=(n_ev, n_ch)).astype(np.float32).astype(np.float64)
    names = [f"C{i}" for i in range(n_ch)]
    path = write_fcs(tmp_path_factory.mktemp("w") / "p.fcs", ev, channels=names)
    data = read_fcs(path)
    np.testing.assert_array_equal(data.events, ev)
    assert not data.repairs


@PROPS
@given(
    n_ch=st.integers(1, 6),
    n_ev=st.integers(1, 40),
    bits=st.sampled_from([8, 16, 32, 64]),
    big=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_written_integer_files_read_back_equal(n_ch, n_ev, bits, big, seed):
    rng = np.random.default_rng(seed)
    top = min(2**bits, 2**20)
    vals = rng.integers(0, top, size=(n_ev, n_ch), dtype=np.uint64)
    dt = np.dtype((">" if big else "<") + f"u{bits // 8}")
    kw = int_keywords([f"C{i}" for i in range(n_ch)], bits, n_ev, rng=top, byteord=None)
    kw["$BYTEORD"] = "4,3,2,1" if big else "1,2,3,4"
    data = read_fcs(build(kw, vals.astype(dt).tobytes()))
    np.testing.assert_array_equal(data.events, vals.astype(np.float64))
    assert not data.repairs


@PROPS
@given(
    n_ch=st.integers(1, 5),
    n_ev=st.integers(2, 40),
    bits=st.sampled_from([8, 16, 32]),
    wrong=st.integers(1, 200),
    tail=st.integers(0, 300),
    seed=st.integers(0, 2**16),
)
def test_corrupted_tot_is_a_visible_repair_or_a_refusal(n_ch, n_ev, bits, wrong, tail, seed):
    rng = np.random.default_rng(seed)
    vals = rng.integers(0, 2**bits, size=(n_ev, n_ch), dtype=np.uint64)
    assume_tot = wrong if wrong != n_ev else n_ev + 1
    kw = int_keywords([f"C{i}" for i in range(n_ch)], bits, assume_tot, rng=2**bits)
    blob = build(kw, vals.astype(f"<u{bits // 8}").tobytes(), tail=rng.bytes(tail))
    try:
        data = read_fcs(blob)
    except LetrolabError as exc:
        assert "\n" not in str(exc)
        return
    # never silent: a repair names $TOT, and the numbers are the file's events
    assert "tot" in kinds(data) or "bit_width" in kinds(data), data.repairs
    if "tot" in kinds(data) and data.n_events == n_ev:
        np.testing.assert_array_equal(data.events, vals.astype(np.float64))


# ------------------------------------------------------------------------------------------
# every FCS file of ../shared/data that flowio parses: the same events (Time in seconds)
# ------------------------------------------------------------------------------------------
# flowio 1.4 refuses these; letrolab reads them (or refuses them itself, test_fcs_read.py)
FLOWIO_REFUSES = {
    "Cytek_xP5.fcs": "reshape error on the TIME channel's keywords",
    "Data003.fcs": "reshape error on the TIME channel's keywords",
    "Guava Muse.fcs": "multiple datasets (read_multiple_data_sets)",
    "coulter.lmd": "multiple datasets (read_multiple_data_sets)",
    "fake_large_fcs.fcs": "blank HEADER offsets",
    "sample_header.fcs": "truncated (TEXT only)",
    "corrupted.fcs": "not FCS",
    "variable_int_example.fcs": "placeholder $TIMESTEP",
}


def test_shared_fcs_files_match_flowio(shared_data):
    files = sorted(
        p
        for p in (shared_data / "fcs").rglob("*")
        if p.is_file() and p.read_bytes()[:3] == b"FCS" and p.name not in FLOWIO_REFUSES
    )
    assert len(files) >= 50
    for path in files:
        blob = path.read_bytes()
        # MACSQuant files state DATA one byte long; flowio reads them when told to
        kwargs = {"ignore_offset_error": True}
        if "discrepancy" in path.name:  # placeholder $TIMESTEP as well: the stored values
            kwargs["ignore_offset_discrepancy"] = True
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fd = flowio.FlowData(io.BytesIO(blob), **kwargs)
            ref = np.reshape(np.array(fd.events, dtype=np.float64), (-1, fd.channel_count))
            ours = read_fcs(blob, scale=False).events
        else:
            ref, ours = flowio_events(blob, **kwargs), read_fcs(blob).events
        assert ours.shape == ref.shape, path
        np.testing.assert_allclose(ours, ref, rtol=1e-12, err_msg=str(path))
