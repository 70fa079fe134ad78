"""FCS reading: every vendor file of ../shared/data/fcs, each quirk on hand-built files, writer.

Outside reference: flowio 1.4 (``FlowData(...).as_array(preprocess=False)``), which reads most
standard-conforming files; our values must equal its values exactly wherever it reads a file.
Event counts are checked against ../shared/data/fcs/MANIFEST.tsv.
"""

from __future__ import annotations

import csv
import struct
import warnings

import numpy as np
import pytest

from letrolab.assays.fcs import count_datasets, normalize_name, read_fcs
from letrolab.errors import FormatError, InputError
from letrolab.instruments.flow import write_fcs


def build_fcs(
    keywords: dict[str, str],
    data: bytes,
    *,
    version: str = "3.0",
    delim: bytes = b"/",
    header_data: tuple[int, int] | None = None,
    text_stop_shift: int = 0,
    data_stop_shift: int = 0,
    pad: bytes = b"",
) -> bytes:
    """An FCS file with the given TEXT keywords and DATA bytes.

    $BEGINDATA/$ENDDATA are filled in (10-digit, so the TEXT length does not depend on them);
    ``header_data`` overrides the HEADER's DATA offsets, ``*_shift`` move the stated end
    offsets, ``pad`` is inserted before each keyword and value.
    """
    kw = dict(keywords)
    kw.setdefault("$BEGINDATA", "0" * 10)
    kw.setdefault("$ENDDATA", "0" * 10)

    def text_bytes(k: dict[str, str]) -> bytes:
        out = delim
        for key, val in k.items():
            out += pad + key.encode() + delim + pad + val.encode() + delim
        return out

    text_start = 58
    probe = text_bytes(kw)
    data_start = text_start + len(probe)
    data_end = data_start + len(data) - 1 + data_stop_shift
    kw["$BEGINDATA"] = f"{data_start:010d}"
    kw["$ENDDATA"] = f"{data_end:010d}"
    text = text_bytes(kw)
    assert len(text) == len(probe)
    hd = header_data if header_data is not None else (data_start, data_end)
    header = f"FCS{version}    ".encode()
    header += f"{text_start:>8}{text_start + len(text) - 1 + text_stop_shift:>8}".encode()
    header += f"{hd[0]:>8}{hd[1]:>8}{0:>8}{0:>8}".encode()
    assert len(header) == 58
    return header + text + data


def channel_keywords(names: list[str], bits: int | list[int], rng: int | list[int] = 1024) -> dict:
    n = len(names)
    bits_l = bits if isinstance(bits, list) else [bits] * n
    rng_l = rng if isinstance(rng, list) else [rng] * n
    kw: dict[str, str] = {"$PAR": str(n)}
    for i, (nm, b, r) in enumerate(zip(names, bits_l, rng_l, strict=True), start=1):
        kw[f"$P{i}N"] = nm
        kw[f"$P{i}B"] = str(b)
        kw[f"$P{i}R"] = str(r)
        kw[f"$P{i}E"] = "0,0"
    return kw


# ------------------------------------------------------------------------------------------
# real files
# ------------------------------------------------------------------------------------------
BROKEN = {
    "vendors/fcsparser_tests/corrupted/corrupted.fcs": "too short to be FCS",
    "vendors/fcsparser_tests/cytek-nl-2000/sample_header.fcs": "truncated",
}
NOT_FCS = {
    "vendors/fcsparser_tests/FCS3.1/info.txt",
    "vendors/flowCore_extdata/compdata/compmatrix",
}


def _manifest(shared: object) -> list[dict[str, str]]:
    with open(shared / "fcs" / "MANIFEST.tsv", newline="") as fh:  # type: ignore[operator]
        return list(csv.DictReader(fh, delimiter="\t"))


def test_every_vendor_and_dna_file_reads_with_manifest_event_count(shared_data):
    rows = _manifest(shared_data)
    checked = 0
    for row in rows:
        rel = row["file"]
        path = shared_data / "fcs" / rel
        if rel in NOT_FCS or rel.endswith("annotation.txt"):
            with pytest.raises(FormatError, match="not an FCS file"):
                read_fcs(path)
            continue
        if rel in BROKEN:
            with pytest.raises(FormatError, match=BROKEN[rel]):
                read_fcs(path)
            continue
        data = read_fcs(path)
        assert data.n_events == int(row["events"]), rel
        assert data.version == row["fcs_version"], rel
        assert data.events.shape == (data.n_events, len(data.channels))
        assert np.all(np.isfinite(data.events)), rel
        first = row["channels"].split("; ")[0].split(" [")[0]
        assert data.channels[0].name == first, rel
        checked += 1
    assert checked >= 45


def test_every_vendor_file_on_disk_is_in_the_manifest(shared_data):
    listed = {r["file"] for r in _manifest(shared_data)}
    on_disk = {
        str(p.relative_to(shared_data / "fcs"))
        for p in (shared_data / "fcs" / "vendors").rglob("*")
        if p.is_file()
    }
    assert on_disk <= listed


def test_values_equal_flowio_wherever_flowio_reads_the_file(shared_data):
    import flowio

    compared = 0
    for path in sorted((shared_data / "fcs").rglob("*")):
        if not path.is_file() or path.suffix == ".txt" or path.name == "MANIFEST.tsv":
            continue
        try:
            with warnings.catch_warnings(), path.open("rb") as fh:
                warnings.simplefilter("ignore")
                ref = flowio.FlowData(
                    fh, ignore_offset_error=True, ignore_offset_discrepancy=True
                ).as_array(preprocess=False)
        except Exception:  # flowio refuses it: the tolerant reader's own tests cover it
            continue
        ours = read_fcs(path, scale=False).events
        np.testing.assert_array_equal(ours, ref, err_msg=str(path))
        compared += 1
    assert compared >= 40


@pytest.mark.parametrize(
    ("rel", "quirk"),
    [
        (
            "vendors/fcsparser_tests/FCS3.1/EY_2013-07-19_PBS_FCS_3.1_Well_A1.001.fcs",
            "one byte past",
        ),
        ("vendors/flowio_tests/data_start_offset_discrepancy_example.fcs", "disagree"),
        ("vendors/flowio_tests/data_stop_offset_discrepancy_example.fcs", "disagree"),
        ("vendors/flowio_tests/100715.fcs", "padded with spaces"),
        ("vendors/flowCore_extdata/compdata/060909.001", "TEXT end offset"),
    ],
)
def test_vendor_quirks_are_repaired_and_recorded(shared_data, rel, quirk):
    data = read_fcs(shared_data / "fcs" / rel)
    assert any(quirk in q for q in data.quirks), data.quirks


def test_multi_dataset_files(shared_data):
    lmd = shared_data / "fcs/vendors/flowio_tests/coulter.lmd"
    assert count_datasets(lmd) == 2
    first, second = read_fcs(lmd), read_fcs(lmd, dataset=1)
    assert (first.version, second.version) == ("2.0", "3.0")
    assert first.n_events == second.n_events == 18110
    assert first.datasets == second.datasets == 2
    with pytest.raises(InputError, match="holds 2 dataset"):
        read_fcs(lmd, dataset=2)
    guava = read_fcs(shared_data / "fcs/vendors/fcsparser_tests/GuavaMuse/Guava Muse.fcs")
    assert guava.datasets == 4 and guava.n_events == 108


def test_24_bit_big_endian_integers_decode_to_a_monotone_time_channel(shared_data):
    # Cytek xP3 (FlowCal test data): $PnB 24 with $BYTEORD 4,3,2,1; flowio cannot read it
    data = read_fcs(shared_data / "fcs/vendors/flowcal_tests/Data003.fcs")
    t = data.channel("time")
    assert np.all(np.diff(t) >= 0)
    assert data.channel("FSC").max() <= 1023


def test_channel_lookup_ignores_case_spaces_and_punctuation(shared_data):
    data = read_fcs(shared_data / "fcs/dna/rpe_pi_synchronized/Data.001")
    assert data.find_channel("fl2-a").name == "FL2.A"
    assert data.find_channel(" FL2_A ").name == "FL2.A"
    facs = read_fcs(shared_data / "fcs/vendors/flowio_tests/data1.fcs")
    assert facs.find_channel("cd4 fitc").name == "FL1-H"  # by $PnS
    with pytest.raises(InputError, match="no channel 'PI'"):
        data.find_channel("PI")


def test_duplicate_names_are_ambiguous_but_frame_keeps_every_column(shared_data):
    data = read_fcs(
        shared_data / "fcs/vendors/fcsparser_tests/FCS3.1/SG_2014-09-26_Duplicate_Names.fcs"
    )
    frame = data.to_frame()
    assert frame.shape == (8129, len(data.channels))
    assert len(set(frame.columns)) == len(data.channels)


# ------------------------------------------------------------------------------------------
# hand-built quirks
# ------------------------------------------------------------------------------------------
def _ints(values: np.ndarray, fmt: str) -> bytes:
    return b"".join(struct.pack(fmt, *row) for row in values)


VALS = np.array([[1, 2, 3], [1000, 513, 7], [0, 1023, 64]], dtype=np.int64)


@pytest.mark.parametrize(
    ("byteord", "fmt"), [("1,2", "<3H"), ("2,1", ">3H"), ("1,2,3,4", "<3H"), ("4,3,2,1", ">3H")]
)
def test_16_bit_integers_in_either_byte_order(byteord, fmt):
    kw = {
        **channel_keywords(["A", "B", "C"], 16),
        "$TOT": "3",
        "$DATATYPE": "I",
        "$BYTEORD": byteord,
        "$MODE": "L",
    }
    data = read_fcs(build_fcs(kw, _ints(VALS, fmt), version="2.0"))
    np.testing.assert_array_equal(data.events, VALS)


def test_permuted_byte_order_floats():
    vals = np.array([[1.5, -2.25], [1e6, 3.0]], dtype="<f4")
    raw = vals.tobytes()
    words = np.frombuffer(raw, np.uint8).reshape(-1, 4)
    stored = np.empty_like(words)
    order = [2, 3, 0, 1]  # $BYTEORD 3,4,1,2: stored byte j has significance order[j]
    stored[:] = words[:, order]
    kw = {**channel_keywords(["A", "B"], 32), "$TOT": "2", "$DATATYPE": "F", "$BYTEORD": "3,4,1,2"}
    data = read_fcs(build_fcs(kw, stored.tobytes()))
    np.testing.assert_array_equal(data.events, vals.astype(float))


def test_ten_bit_packed_fields():
    vals = np.array([[5, 1023], [512, 0], [77, 300]], dtype=np.int64)
    bits = "".join(f"{v:010b}" for v in vals.ravel())
    bits += "0" * (-len(bits) % 8)
    raw = int(bits, 2).to_bytes(len(bits) // 8, "big")
    kw = {**channel_keywords(["A", "B"], 10), "$TOT": "3", "$DATATYPE": "I", "$BYTEORD": "1,2"}
    data = read_fcs(build_fcs(kw, raw, version="2.0"))
    np.testing.assert_array_equal(data.events, vals)


def test_values_above_range_are_masked_to_the_next_power_of_two():
    vals = np.array([[1024 + 5, 70000]], dtype=np.int64)
    kw = {
        **channel_keywords(["A", "B"], 32, rng=[1000, 65536]),
        "$TOT": "1",
        "$DATATYPE": "I",
        "$BYTEORD": "1,2,3,4",
    }
    data = read_fcs(build_fcs(kw, _ints(vals, "<2I")))
    np.testing.assert_array_equal(data.events, [[5, 70000 & 65535]])


def test_mixed_integer_widths():
    kw = {
        **channel_keywords(["A", "B", "C"], [8, 32, 16], rng=[256, 2**32, 65536]),
        "$TOT": "2",
        "$DATATYPE": "I",
        "$BYTEORD": "4,3,2,1",
    }
    raw = struct.pack(">BIH", 7, 123456, 65535) + struct.pack(">BIH", 255, 0, 1)
    data = read_fcs(build_fcs(kw, raw))
    np.testing.assert_array_equal(data.events, [[7, 123456, 65535], [255, 0, 1]])


def test_ascii_fixed_width_and_log_decoding():
    kw = {**channel_keywords(["A", "B"], 4), "$TOT": "2", "$DATATYPE": "A", "$P2E": "4,1"}
    data = read_fcs(build_fcs(kw, b"   1 512  10   0", version="2.0"))
    np.testing.assert_allclose(data.events[:, 0], [1, 10])
    # FCS 3.1 section 3.3.25 is for integer data; ASCII log channels stay as stored
    raw = read_fcs(
        build_fcs(
            {**kw, "$DATATYPE": "I", "$P1B": "16", "$P2B": "16", "$BYTEORD": "1,2"},
            struct.pack("<4H", 0, 512, 1, 1023),
        ),
        scale=True,
    )
    np.testing.assert_allclose(raw.events[:, 1], [10 ** (4 * 512 / 1024), 10 ** (4 * 1023 / 1024)])


def test_padded_keywords_off_by_one_and_text_end_overshoot():
    vals = np.arange(6, dtype="<f4").reshape(3, 2)
    kw = {
        **channel_keywords(["FSC", "PI"], 32),
        "$TOT": "3",
        "$DATATYPE": "F",
        "$BYTEORD": "1,2,3,4",
    }
    blob = build_fcs(kw, vals.tobytes(), pad=b" ", data_stop_shift=1, text_stop_shift=1)
    data = read_fcs(blob)
    np.testing.assert_array_equal(data.events, vals)
    assert data.channel("pi").tolist() == [1.0, 3.0, 5.0]
    joined = " ".join(data.quirks)
    assert "padded" in joined and "one byte past" in joined


def test_header_and_text_offsets_that_disagree():
    vals = np.arange(4, dtype="<f4").reshape(2, 2)
    kw = {**channel_keywords(["A", "B"], 32), "$TOT": "2", "$DATATYPE": "F", "$BYTEORD": "1,2,3,4"}
    data = read_fcs(build_fcs(kw, vals.tobytes(), header_data=(0, 0)))
    np.testing.assert_array_equal(data.events, vals)
    data = read_fcs(build_fcs(kw, vals.tobytes(), header_data=(60, 99)))
    np.testing.assert_array_equal(data.events, vals)
    assert any("disagree" in q for q in data.quirks)


def test_backslash_delimiter_with_escaped_delimiters_and_empty_last_value():
    vals = np.arange(2, dtype="<f4").reshape(1, 2)
    kw = {
        **channel_keywords(["A", "B"], 32),
        "$TOT": "1",
        "$DATATYPE": "F",
        "$BYTEORD": "1,2,3,4",
        "$FIL": "C:\\\\data\\\\x.fcs",
    }
    blob = build_fcs(kw, vals.tobytes(), delim=b"\\")
    data = read_fcs(blob)
    assert data.keywords["$FIL"] == "C:\\data\\x.fcs"


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"", "too short"),
        (b"NOTFCS" + b" " * 100, "not an FCS file"),
        (b"FCS9.9" + b" " * 100, "unsupported FCS version"),
        (b"FCS3.0    " + b"       0       0" + b" " * 80, "TEXT segment"),
    ],
)
def test_broken_input_gives_one_line_format_error(blob, match):
    with pytest.raises(FormatError, match=match) as info:
        read_fcs(blob)
    assert "\n" not in str(info.value)


def test_truncated_data_and_missing_keywords():
    vals = np.arange(6, dtype="<f4").reshape(3, 2)
    kw = {**channel_keywords(["A", "B"], 32), "$TOT": "3", "$DATATYPE": "F", "$BYTEORD": "1,2,3,4"}
    blob = build_fcs(kw, vals.tobytes())
    with pytest.raises(FormatError, match="truncated"):
        read_fcs(blob[:-5])
    no_par = {k: v for k, v in kw.items() if k != "$PAR"}
    with pytest.raises(FormatError, match=r"\$PAR"):
        read_fcs(build_fcs(no_par, vals.tobytes()))
    with pytest.raises(FormatError, match="histogram data"):
        read_fcs(build_fcs({**kw, "$MODE": "U"}, vals.tobytes()))


# ------------------------------------------------------------------------------------------
# writer
# ------------------------------------------------------------------------------------------
def test_writer_round_trip_is_fcs31_readable_by_flowio(tmp_path):
    import flowio

    rng = np.random.default_rng(3)
    ev = rng.normal(200, 20, size=(500, 5))
    path = write_fcs(
        tmp_path / "pi.fcs",
        ev,
        channels=["FSC-A", "SSC-A", "PI-A", "PI-W", "PI-H"],
        labels=["", "", "Propidium iodide", "", ""],
        metadata={"$CYT": "letrolab virtual cytometer", "WELL ID": "B/3"},
    )
    data = read_fcs(path)
    assert data.version == "3.1" and data.parser == "flowio" and not data.quirks
    np.testing.assert_allclose(data.events, ev.astype(np.float32))
    assert data.find_channel("propidium iodide").name == "PI-A"
    assert data.keywords["$CYT"] == "letrolab virtual cytometer"
    assert data.keywords["WELL ID"] == "B/3"
    ref = flowio.FlowData(str(path)).as_array(preprocess=False)
    np.testing.assert_array_equal(ref, data.events)
    assert data.channels[2].range >= ev[:, 2].max()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.ones((2, 2)), "channels": ["A"]}, "1 channel names given for 2"),
        ({"data": np.array([[1.0, np.nan]]), "channels": ["A", "B"]}, "NaN"),
        ({"data": np.ones((2, 2, 2)), "channels": ["A", "B"]}, "2-D"),
        ({"data": np.ones((2, 2)), "channels": ["A", " "]}, "must not be empty"),
        ({"data": np.ones((2, 2)), "channels": ["A", "B"], "ranges": [1.0, -1.0]}, "positive"),
        ({"data": np.ones((2, 2)), "channels": ["A", "/B"]}, "begins with '/'"),
    ],
)
def test_writer_rejects_bad_input(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        write_fcs(tmp_path / "x.fcs", **kwargs)
    assert not (tmp_path / "x.fcs").exists()


def test_normalize_name_is_idempotent():
    for s in ["FL2-A", "PI Area", "fl2.a", "Ki-67 (FITC)"]:
        assert normalize_name(normalize_name(s)) == normalize_name(s)


def test_ten_bit_values_stored_in_16_bit_words():
    # the common layout of "10-bit" instruments: $PnB 10, each value in a 16-bit word, with
    # stray high bits that the 10-bit width masks off
    vals = np.array([[5, 1023], [512, 0]], dtype=np.int64)
    stored = vals | 0xFC00  # garbage in bits 10-15
    kw = {**channel_keywords(["A", "B"], 10), "$TOT": "2", "$DATATYPE": "I", "$BYTEORD": "1,2"}
    data = read_fcs(build_fcs(kw, _ints(stored, "<2H"), version="2.0"))
    np.testing.assert_array_equal(data.events, vals)
    assert data.channels[0].bits == 10
    assert any("whole 16-bit words" in q for q in data.quirks)


def test_zero_event_file_round_trips(tmp_path):
    path = write_fcs(tmp_path / "empty.fcs", np.zeros((0, 3)), channels=["A", "B", "C"])
    data = read_fcs(path)
    assert data.n_events == 0 and data.events.shape == (0, 3)


def test_unreadable_log_amplification_is_read_as_linear_and_recorded():
    kw = {**channel_keywords(["A", "B"], 16), "$TOT": "2", "$DATATYPE": "I", "$P2E": "x,y"}
    data = read_fcs(build_fcs({**kw, "$BYTEORD": "1,2"}, struct.pack("<4H", 0, 512, 1, 1023)))
    np.testing.assert_allclose(data.events[:, 1], [512, 1023])
    assert any("$P2E 'x,y' is not two numbers" in q for q in data.quirks)


@pytest.mark.parametrize("width", ["0", "-16"])
def test_zero_or_negative_integer_width_is_a_format_error(width):
    kw = {**channel_keywords(["A"], 16), "$TOT": "2", "$DATATYPE": "I", "$P1B": width}
    with pytest.raises(FormatError, match=rf"\$P1B is {width}; binary data need a positive width"):
        read_fcs(build_fcs({**kw, "$BYTEORD": "1,2"}, b"\x00" * 4))


@pytest.mark.parametrize("value", ["nan", "-5", "inf"])
def test_a_non_numeric_range_becomes_zero_and_is_recorded(value):
    kw = {**channel_keywords(["A"], 16), "$TOT": "2", "$DATATYPE": "I", "$P1R": value}
    data = read_fcs(build_fcs({**kw, "$BYTEORD": "1,2"}, b"\x00" * 4))
    assert data.summary()["channels"][0]["range"] == 0.0
    assert any(q.startswith(f"$P1R '{value}' is not a range") for q in data.quirks)
