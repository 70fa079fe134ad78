"""Reading Flow Cytometry Standard (FCS 2.0, 3.0, 3.1) files.

flowio's standard parser reads the HEADER and TEXT of every file first; a file it accepts, and
whose layout keywords ($PAR, $TOT, $DATATYPE, $BYTEORD, $P1N, $P1B) it reads as letrolab's own
tolerant parser does, is marked ``parser="flowio"``. The keyword values themselves come from the
tolerant parser, which keeps every character (flowio drops ``$`` inside values) and also reads
the files flowio refuses. The event data (the DATA segment) is always decoded with NumPy in one
vectorised step (a zero-copy view for float data), so a million-event file reads in about
10 ms; flowio's own decoder builds Python arrays and cannot read 10-bit or 24-bit fields.

No silent repair. Every departure from the standard that is met is recorded in
:attr:`FcsData.quirks`; those that change which numbers are read are also
:class:`FCSRepair` objects (``kind``, ``detail``) in :attr:`FcsData.repairs`, which the
``letrolab fcs`` and ``letrolab cellcycle`` commands show on stderr and in ``--json``. A repair
is made only when the file's own numbers single it out (the DATA length, the file length, the
channels' ``$PnR``); where two readings fit equally, or none does, the file is refused with
:class:`~letrolab.errors.FCSError` naming them, rather than read as garbage.

The Time channel (``$PnN`` "Time", any case) is multiplied by ``$TIMESTEP`` when read with
``scale=True``, giving seconds (FCS 3.1, keyword ``$TIMESTEP``), and gets no ``$PnG`` gain;
flowio's ``FlowData.as_array`` and FlowKit do the same.

Quirks handled (each one, when met, is recorded; the ones marked (R) are repairs):

- keywords and values padded with spaces (Partec/FloMax, Beckman) are stripped;
- DATA end offsets that point one byte past the segment (MACSQuant) are corrected (R);
- HEADER and TEXT offsets that disagree (CyAn, Accuri, BD Accuri C6 Plus, S1400): the pair that
  matches ``$TOT`` x bytes-per-event wins (R);
- HEADER offsets left blank or zero (files over 99,999,999 bytes, some exporters): TEXT is used;
- TEXT end offsets that cut the last value or overshoot: the segment is re-delimited;
- several datasets in one file (Beckman LMD, Guava): follow ``$NEXTDATA``; ``dataset=`` picks one;
- ``$PnB`` widths that are not 8/16/32/64 bits (10-bit FACScan and others): bit-packed fields are
  unpacked; odd widths stored in whole words are read as such (R); values above ``$PnR`` are
  masked to the next power of two as FCS 3.1 section 3.3.22 prescribes (R);
- ``$TOT`` that disagrees with the DATA segment, or is missing: the count the segment holds,
  when that is the only consistent reading (R); a ``$PnB`` that fits neither the segment nor
  the data type: the one width that does (R);
- mixed integer widths per channel (CyFlow: 16, 32 and 8 bits) via a structured dtype;
- either byte order, including permuted ``$BYTEORD`` such as ``3,4,1,2``; a ``$BYTEORD``
  stated for another word size (R); a missing one, when only one order gives plausible
  values (R);
- ``$DATATYPE`` I, F, D and A (fixed-width or delimited ASCII).

A file that is truly broken (not FCS, truncated, inconsistent beyond repair) raises
:class:`~letrolab.errors.FormatError` with one line that says what is wrong.

The writer, ``write_fcs``, lives with the other virtual instruments in
:mod:`letrolab.instruments.flow`: this module only reads.

References
----------
Spidlen J et al. (2010) Data File Standard for Flow Cytometry, version FCS 3.1. Cytometry A
77:97-100. Seamer LC et al. (1997) Proposed new data file standard for flow cytometry, version
FCS 3.0. Cytometry 28:118-122.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from letrolab.errors import FCSError, FormatError, InputError, LetrolabError

__all__ = ["Channel", "FCSRepair", "FcsData", "count_datasets", "normalize_name", "read_fcs"]

_HEADER_LEN = 58
_MAX_DATASETS = 1024


# --------------------------------------------------------------------------------------------
# channel names
# --------------------------------------------------------------------------------------------
def normalize_name(name: str) -> str:
    """Channel-name key used for lookup: case-folded, with spaces and punctuation removed.

    >>> normalize_name(" FL2-A "), normalize_name("fl2.a"), normalize_name("PI_Area")
    ('fl2a', 'fl2a', 'piarea')
    """
    return re.sub(r"[\W_]+", "", str(name).casefold())


@dataclass(frozen=True)
class Channel:
    """One parameter of an FCS file.

    Attributes
    ----------
    index : int
        0-based column index in :attr:`FcsData.events`.
    name : str
        ``$PnN``, the short name ("FL2-A").
    label : str
        ``$PnS``, the optional long name ("PI"), "" when absent.
    range : float
        ``$PnR``, the channel's full-scale value.
    bits : int
        ``$PnB`` (0 for delimited ASCII).
    decades, log_zero : float
        ``$PnE`` = f1,f2: log amplification (0,0 means linear).
    gain : float
        ``$PnG`` (1.0 when absent).
    """

    index: int
    name: str
    label: str
    range: float
    bits: int
    decades: float = 0.0
    log_zero: float = 0.0
    gain: float = 1.0

    def summary(self) -> dict[str, Any]:
        """``{"name", "label", "range"}`` as in ``letrolab fcs --json``."""
        return {"name": self.name, "label": self.label, "range": float(self.range)}


@dataclass(frozen=True)
class FCSRepair:
    """A departure from the standard that changed which numbers were read.

    Attributes
    ----------
    kind : str
        "tot" ($TOT disagrees with the DATA segment, or is missing), "bit_width" (a ``$PnB``
        that does not fit the DATA segment or the data type), "data_offsets" (HEADER and TEXT
        DATA offsets that disagree, or a stated end past the segment), "byte_order"
        (``$BYTEORD`` missing or declared for another word size), "range_mask" (values above
        ``$PnR`` masked), "scale" (``$PnE`` unusable), "timestep" (``$TIMESTEP`` unusable).
    detail : str
        One sentence: what the file says, and what was read instead.
    """

    kind: str
    detail: str

    def summary(self) -> dict[str, str]:
        """``{"kind", "detail"}`` as in the ``--json`` outputs."""
        return {"kind": self.kind, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


@dataclass(frozen=True, eq=False)
class FcsData:
    """Events and metadata of one FCS dataset.

    Attributes
    ----------
    path : str
        File the dataset was read from.
    version : str
        "2.0", "3.0" or "3.1".
    channels : tuple of Channel
    events : numpy.ndarray
        ``(n_events, n_channels)`` read-only array: float32 when the file stores 32-bit floats
        (kept as stored, without a copy), float64 otherwise. Log-amplified integer channels
        are decoded to linear values, and gains divided out, when read with ``scale=True``.
    keywords : Mapping[str, str]
        TEXT keywords, upper-case, surrounding spaces removed (``"$P1N"``, ``"$CYT"``...).
    dataset : int
        Which dataset of the file this is (0-based).
    datasets : int
        How many datasets the file holds.
    quirks : tuple of str
        The departures from the standard that were met and repaired, one sentence each.
    parser : str
        "flowio" when flowio's standard parser read the TEXT, "tolerant" otherwise.
    repairs : tuple of FCSRepair
        The repairs among :attr:`quirks` that changed which numbers were read (the CLI shows
        them on stderr and in ``--json``); empty for a file read exactly as it declares itself.
    """

    path: str
    version: str
    channels: tuple[Channel, ...]
    events: np.ndarray = field(repr=False)
    keywords: Mapping[str, str] = field(repr=False)
    dataset: int = 0
    datasets: int = 1
    quirks: tuple[str, ...] = ()
    parser: str = "tolerant"
    repairs: tuple[FCSRepair, ...] = ()

    @property
    def n_events(self) -> int:
        """Number of events."""
        return int(self.events.shape[0])

    @property
    def names(self) -> list[str]:
        """``$PnN`` of every channel, in order."""
        return [c.name for c in self.channels]

    def find_channel(self, name: str) -> Channel:
        """Channel whose ``$PnN`` or ``$PnS`` matches ``name``, ignoring case, spaces, punctuation.

        ``$PnN`` matches take precedence over ``$PnS`` matches.

        Raises
        ------
        InputError
            When no channel, or more than one, matches.
        """
        key = normalize_name(name)
        if not key:
            raise InputError(f"channel name {name!r} is empty; give a $PnN or $PnS name")
        for attr in ("name", "label"):
            hits = [c for c in self.channels if normalize_name(getattr(c, attr)) == key]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InputError(
                    f"channel {name!r} is ambiguous in {self.path}: it matches "
                    f"{', '.join(f'#{c.index + 1} {c.name}' for c in hits)}; give a more specific name"
                )
        available = ", ".join(c.name + (f" [{c.label}]" if c.label else "") for c in self.channels)
        raise InputError(f"no channel {name!r} in {self.path}; available: {available}")

    def channel(self, name: str) -> np.ndarray:
        """Event values of the channel called ``name`` (see :meth:`find_channel`)."""
        return self.events[:, self.find_channel(name).index]

    def summary(self) -> dict[str, Any]:
        """The ``letrolab fcs --json`` document: version, events, channels, datasets."""
        return {
            "version": self.version,
            "events": self.n_events,
            "channels": [c.summary() for c in self.channels],
            "datasets": int(self.datasets),
        }

    def report(self) -> str:
        """Human-readable description of the dataset."""
        lines = [
            f"{Path(self.path).name}: FCS {self.version}, {self.n_events} events, "
            f"{len(self.channels)} channels, dataset {self.dataset + 1} of {self.datasets}",
        ]
        cyt = self.keywords.get("$CYT")
        if cyt:
            lines.append(f"cytometer: {cyt}")
        for c in self.channels:
            label = f" [{c.label}]" if c.label else ""
            lines.append(f"  {c.index + 1:>3} {c.name}{label}  range {c.range:g}")
        shown = {r.detail for r in self.repairs}
        lines.extend(f"quirk repaired: {q}" for q in self.quirks if q not in shown)
        lines.extend(f"warning: repair changed the numbers read: {r}" for r in self.repairs)
        return "\n".join(lines)

    def to_frame(self) -> Any:
        """Events as a pandas DataFrame with the ``$PnN`` names as columns."""
        import pandas as pd

        names = self.names
        if len(set(names)) != len(names):  # duplicate $PnN (seen in MACSQuant exports)
            names = [f"{n} ({i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]
        return pd.DataFrame(self.events, columns=names)


# --------------------------------------------------------------------------------------------
# HEADER and TEXT
# --------------------------------------------------------------------------------------------
def _int_or_none(raw: bytes) -> int | None:
    txt = raw.strip()
    if not txt:
        return None
    try:
        return int(txt)
    except ValueError:
        return None


def _parse_header(buf: memoryview, base: int, label: str) -> dict[str, Any]:
    if len(buf) - base < _HEADER_LEN - 16:
        raise FormatError(f"{label}: file is too short to be FCS ({len(buf) - base} bytes)")
    head = bytes(buf[base : base + _HEADER_LEN])
    if head[:3] != b"FCS":
        raise FormatError(f"{label}: not an FCS file (it does not start with 'FCS')")
    version = head[3:6].decode("ascii", "replace")
    if version not in ("2.0", "3.0", "3.1"):
        raise FormatError(f"{label}: unsupported FCS version {version!r} (2.0, 3.0, 3.1 are read)")
    fields = [_int_or_none(head[10 + 8 * i : 18 + 8 * i]) for i in range(6)]
    return {
        "version": version,
        "text": (fields[0], fields[1]),
        "data": (fields[2], fields[3]),
        "analysis": (fields[4], fields[5]),
    }


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _split_text(seg: bytes, quirks: list[str]) -> dict[str, str]:
    """Split a TEXT (or supplemental TEXT) segment into keyword -> value.

    The first byte is the delimiter; a doubled delimiter inside a keyword or value stands for
    one literal delimiter (FCS 3.1 section 3.2.9).
    """
    if len(seg) < 2:
        return {}
    delim = seg[:1]
    body = seg[1:]
    placeholder = b"\x00\x00"
    if delim != b"\x00":
        body = body.replace(delim + delim, placeholder)
    parts = body.split(delim)
    if parts and parts[-1].strip(b" \r\n\x00") == b"":
        parts = parts[:-1]
    if len(parts) % 2 and parts and parts[-1].endswith(placeholder):
        # "keyword\\\\" at the very end: an empty last value (BD CellQuest "Analysis Doc.")
        parts[-1] = parts[-1][: -len(placeholder)]
        parts.append(b"")
        quirks.append("empty value for the last keyword")
    if len(parts) % 2:
        quirks.append("TEXT segment ended in the middle of a keyword/value pair; last one ignored")
        parts = parts[:-1]
    out: dict[str, str] = {}
    padded = False
    for k_raw, v_raw in zip(parts[0::2], parts[1::2], strict=True):
        k = _decode(k_raw.replace(placeholder, delim))
        v = _decode(v_raw.replace(placeholder, delim))
        ks, vs = k.strip().upper(), v.strip()
        if ks != k.upper() or (vs != v and ks.startswith("$")):
            padded = True
        if ks:
            out[ks] = vs
    if padded:
        quirks.append("keywords or values padded with spaces (stripped)")
    return out


def _read_text(buf: memoryview, base: int, hdr: dict, label: str, quirks: list[str]) -> dict:
    n = len(buf)
    t0, t1 = hdr["text"]
    if t0 is None or t1 is None or t0 < _HEADER_LEN - 16 or base + t0 >= n:
        raise FormatError(f"{label}: HEADER gives no usable TEXT segment offsets ({t0}, {t1})")
    start = base + t0
    delim = buf[start : start + 1].tobytes()
    stop = base + t1
    if stop >= n:
        quirks.append("TEXT end offset beyond the end of the file; TEXT re-delimited")
        stop = n - 1
    if stop <= start:
        raise FormatError(f"{label}: TEXT segment is empty (offsets {t0}..{t1})")
    if buf[stop : stop + 1].tobytes() != delim:
        # the TEXT end offset disagrees with the segment itself (CyAn, Accuri): look just
        # around the stated end for the closing delimiter
        lo, hi = max(start + 1, stop - 64), min(n - 1, stop + 64)
        window = buf[lo : hi + 1].tobytes()
        cands = [lo + i for i, b in enumerate(window) if window[i : i + 1] == delim]
        if cands:
            new = min(cands, key=lambda p: (abs(p - stop), -p))
            if new != stop:
                quirks.append(f"TEXT end offset {t1} corrected to {new - base}")
            stop = new
    kw = _split_text(buf[start : stop + 1].tobytes(), quirks)
    if not kw:
        raise FormatError(f"{label}: TEXT segment holds no keywords")
    return kw


def _kw_int(kw: Mapping[str, str], key: str) -> int | None:
    val = kw.get(key)
    if val is None:
        return None
    try:
        out = int(val.strip())
        return out if abs(out) < 2**53 else None
    except ValueError:
        try:
            f = float(val)
        except ValueError:
            return None
        return int(f) if np.isfinite(f) and abs(f) < 2**53 and f == int(f) else None


def _kw_float(kw: Mapping[str, str], key: str, default: float) -> float:
    val = kw.get(key)
    if val is None or not val.strip():
        return default
    try:
        out = float(val)
    except ValueError:
        return default
    return out if np.isfinite(out) else default


def _flowio_text(raw: bytes) -> dict[str, str] | None:
    """TEXT keywords of the first dataset from flowio's standard parser, or None when flowio
    refuses the file."""
    try:
        import flowio

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fd = flowio.FlowData(io.BytesIO(raw), only_text=True)
    except Exception:  # any failure sends the file to the tolerant parser
        return None
    text = getattr(fd, "text", None)
    if not isinstance(text, dict) or not text:
        return None
    out: dict[str, str] = {}
    for k, v in text.items():
        key = str(k).strip().upper()
        if re.fullmatch(
            r"P\d+[A-Z]|BEGIN\w+|END\w+|PAR|TOT|DATATYPE|BYTEORD|MODE|NEXTDATA", key
        ) or key in {"CYT", "DATE", "FIL", "TIMESTEP", "SPILLOVER", "SYS", "SRC", "BTIM", "ETIM"}:
            key = "$" + key
        out[key] = str(v).strip()
    return out


# --------------------------------------------------------------------------------------------
# DATA
# --------------------------------------------------------------------------------------------
def _byteorder(kw: Mapping[str, str], label: str) -> list[int] | None:
    """Byte permutation from $BYTEORD (0-based significance order), None when absent."""
    raw = kw.get("$BYTEORD", "").replace(" ", "")
    if not raw:
        return None
    try:
        order = [int(x) for x in raw.split(",")]
    except ValueError:
        raise FormatError(f"{label}: $BYTEORD {raw!r} is not a list of byte numbers") from None
    if sorted(order) != list(range(1, len(order) + 1)):
        raise FormatError(f"{label}: $BYTEORD {raw!r} is not a permutation of 1..{len(order)}")
    return [o - 1 for o in order]


def _to_little(block: np.ndarray, width: int, order: list[int] | None) -> np.ndarray:
    """Reorder the bytes of ``width``-byte words (uint8 array ``(..., width)``) to little-endian."""
    if width == 1 or order is None:
        return block
    if len(order) == width:
        perm = order
    elif order == sorted(order):  # little-endian declared for a different word size
        perm = list(range(width))
    elif order == sorted(order, reverse=True):
        perm = list(range(width))[::-1]
    else:
        raise FormatError(f"$BYTEORD {order} does not fit {width}-byte values")
    if perm == list(range(width)):
        return block
    # byte j of the stored word has significance perm[j]; put it at position perm[j]
    out = np.empty_like(block)
    out[..., perm] = block
    return out


def _is_little(order: list[int] | None, width: int) -> bool | None:
    if order is None or width == 1:
        return True
    if len(order) in (width, 2, 4, 8) and order == sorted(order):
        return True
    if len(order) in (width, 2, 4, 8) and order == sorted(order, reverse=True):
        return False
    return None  # permuted


def _decode_data(
    seg: memoryview,
    kw: Mapping[str, str],
    n_par: int,
    n_tot: int,
    bits: list[int],
    label: str,
    declared: list[int] | None = None,
    quirks: list | None = None,
) -> np.ndarray:
    dtype_code = kw.get("$DATATYPE", "").strip().upper()
    order = _byteorder(kw, label) if dtype_code != "A" else None
    notes = quirks if quirks is not None else []
    if dtype_code in ("F", "D", "I"):
        _note_byteorder(kw, order, bits, dtype_code, notes)
    if dtype_code in ("F", "D"):
        width = 4 if dtype_code == "F" else 8
        count = n_tot * n_par
        little = _is_little(order, width)
        if little is None:  # permuted byte order: reorder the bytes, then view
            raw = np.frombuffer(seg, dtype=np.uint8, count=count * width)
            seg = _to_little(raw.reshape(-1, width), width, order).reshape(-1).data
            little = True
        dt = np.dtype(("<" if little else ">") + f"f{width}")
        # floats are kept as stored (float32 stays float32): a zero-copy view of the file's
        # bytes when they are in the machine's byte order
        vals = np.frombuffer(seg, dtype=dt, count=count).reshape(n_tot, n_par)
        if not dt.isnative:
            vals = vals.astype(dt.newbyteorder("="))
        return vals
    if dtype_code == "I":
        return _decode_int(seg, kw, n_par, n_tot, bits, order, label, declared or bits, notes)
    if dtype_code == "A":
        return _decode_ascii(seg, n_par, n_tot, bits, label)
    raise FormatError(f"{label}: $DATATYPE {dtype_code!r} is not I, F, D or A")


def _range_mask(kw: Mapping[str, str], n_par: int, bits: list[int]) -> np.ndarray:
    """Per-channel bit masks: next power of two of $PnR (FCS 3.1 section 3.3.22)."""
    masks = np.empty(n_par, dtype=np.uint64)
    for i in range(n_par):
        full = (1 << bits[i]) - 1
        r = _kw_float(kw, f"$P{i + 1}R", 0.0)
        if r >= 1:
            m = (1 << int(np.ceil(np.log2(r)))) - 1 if r > 1 else 1
            masks[i] = min(m, full)
        else:
            masks[i] = full
    return masks


def _decode_int(
    seg: memoryview,
    kw: Mapping[str, str],
    n_par: int,
    n_tot: int,
    bits: list[int],
    order: list[int] | None,
    label: str,
    declared: list[int],
    quirks: list,
) -> np.ndarray:
    """Integer DATA: ``bits`` are the stored field widths, ``declared`` the $PnB values (they
    differ when odd widths are stored in whole words)."""
    if any(b <= 0 or b > 64 for b in bits):
        raise FormatError(f"{label}: integer $PnB widths {sorted(set(bits))} are out of 1..64")
    masks = _range_mask(kw, n_par, declared)
    if all(b % 8 == 0 for b in bits):
        widths = [b // 8 for b in bits]
        row = sum(widths)
        raw = np.frombuffer(seg, dtype=np.uint8, count=n_tot * row).reshape(n_tot, row)
        if len(set(widths)) == 1 and widths[0] in (1, 2, 4, 8):
            w = widths[0]
            little = _is_little(order, w)
            if little is None:
                raw = _to_little(raw.reshape(n_tot, n_par, w), w, order).reshape(n_tot, row)
                little = True
            dt = np.dtype(("<" if little else ">") + f"u{w}")
            vals = raw.reshape(-1).view(dt).reshape(n_tot, n_par)
        else:  # mixed or odd byte widths: assemble each column from its bytes
            vals = np.empty((n_tot, n_par), dtype=np.uint64)
            pos = 0
            for i, w in enumerate(widths):
                block = raw[:, pos : pos + w]
                little = _is_little(order, w)
                if little is None:
                    block = _to_little(block, w, order)
                elif not little:
                    block = block[:, ::-1]
                weights = np.left_shift(np.uint64(1), np.arange(w, dtype=np.uint64) * np.uint64(8))
                vals[:, i] = (block.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
                pos += w
        full = np.array([(1 << b) - 1 for b in bits], dtype=np.uint64)
        if np.any(masks < full):
            vals = _masked(vals.astype(np.uint64), masks, quirks)
        return vals.astype(np.float64)
    # bit-packed fields (FCS 2.0/3.0 allow any $PnB): unpack the bit stream, most significant
    # bit first within each field as the standard's bit order prescribes
    total_bits = sum(bits)
    need = (n_tot * total_bits + 7) // 8
    raw = np.frombuffer(seg, dtype=np.uint8, count=need)
    bitstream = np.unpackbits(raw)[: n_tot * total_bits].reshape(n_tot, total_bits)
    vals = np.empty((n_tot, n_par), dtype=np.uint64)
    pos = 0
    for i, b in enumerate(bits):
        weights = np.left_shift(np.uint64(1), np.arange(b - 1, -1, -1, dtype=np.uint64))
        vals[:, i] = (bitstream[:, pos : pos + b].astype(np.uint64) * weights).sum(
            axis=1, dtype=np.uint64
        )
        pos += b
    return _masked(vals, masks, quirks).astype(np.float64)


def _masked(vals: np.ndarray, masks: np.ndarray, quirks: list) -> np.ndarray:
    """Values with the bits above $PnR cleared; a repair is recorded when any value changed."""
    out = vals & masks
    changed = np.count_nonzero(out != vals, axis=0)
    if changed.any():
        cols = [f"#{j + 1} ({int(c)})" for j, c in enumerate(changed) if c]
        _repair(
            quirks,
            "range_mask",
            f"values above $PnR masked to the range's bits (FCS 3.1 section 3.3.22) in "
            f"channel(s) {', '.join(cols[:6])}{' ...' if len(cols) > 6 else ''}",
        )
    return out


def _note_byteorder(
    kw: Mapping[str, str], order: list[int] | None, bits: list[int], dtype_code: str, quirks: list
) -> None:
    """Record how multi-byte values were ordered when $BYTEORD does not say it for them."""
    widths = {max(1, b // 8) for b in bits if b % 8 == 0} or {1}
    if max(widths) == 1:
        return
    if order is None:
        _repair(
            quirks,
            "byte_order",
            "$BYTEORD is missing; multi-byte values read as little-endian (1,2,3,4)",
        )
        return
    # FCS 3.1, keyword $BYTEORD (Spidlen 2010): the order is stated for 32-bit words and
    # applies to every width
    if len(order) not in widths | {4}:
        ends = "little" if order == sorted(order) else "big"
        _repair(
            quirks,
            "byte_order",
            f"$BYTEORD {kw.get('$BYTEORD', '').strip()} is stated for {len(order)}-byte words "
            f"but values are {'/'.join(str(w) for w in sorted(widths))}-byte; read {ends}-endian",
        )


def _decode_ascii(
    seg: memoryview, n_par: int, n_tot: int, bits: list[int], label: str
) -> np.ndarray:
    raw = bytes(seg)
    try:
        if all(b > 0 for b in bits):  # fixed-width fields of $PnB characters
            row = sum(bits)
            rows = np.frombuffer(raw, dtype=f"S{row}", count=n_tot)
            cols = []
            pos = 0
            for b in bits:
                cols.append(np.char.strip(np.array([r[pos : pos + b] for r in rows])).astype(float))
                pos += b
            return np.column_stack(cols).astype(np.float64)
        tokens = re.split(rb"[\s,]+", raw.strip())
        vals = np.array([float(t) for t in tokens[: n_tot * n_par]], dtype=np.float64)
    except ValueError as exc:
        raise FormatError(f"{label}: ASCII DATA segment holds a non-number ({exc})") from None
    if vals.size < n_tot * n_par:
        raise FormatError(
            f"{label}: ASCII DATA segment holds {vals.size} values, expected {n_tot * n_par}"
        )
    return vals.reshape(n_tot, n_par)


def _bits(kw: Mapping[str, str], n_par: int, label: str, quirks: list) -> list[int]:
    out = []
    forced: list[str] = []
    dtype_code = kw.get("$DATATYPE", "").strip().upper()
    for i in range(1, n_par + 1):
        raw = kw.get(f"$P{i}B", "").strip()
        if raw == "*" and dtype_code == "A":
            out.append(0)
            continue
        b = _kw_int(kw, f"$P{i}B")
        if b is None:
            if dtype_code == "F":
                b = 32
            elif dtype_code == "D":
                b = 64
            else:
                raise FormatError(
                    f"{label}: $P{i}B (bits of channel {i}) is missing or not a number"
                )
        # $PnB must be 32 (F) or 64 (D) for float data; some exporters write the ADC resolution
        want = {"F": 32, "D": 64}.get(dtype_code)
        if want is not None and b != want:
            forced.append(f"$P{i}B={b}")
            b = want
        out.append(b)
    if forced:
        _repair(
            quirks,
            "bit_width",
            f"{', '.join(forced[:4])}{' ...' if len(forced) > 4 else ''} declared for "
            f"$DATATYPE {dtype_code}; read as {out[0]}-bit values as the data type requires",
        )
    return out


def _word_storage(
    hdr: dict, kw: Mapping[str, str], bits: list[int], n_tot: int | None, quirks: list[str]
) -> list[int]:
    """Odd integer widths (10-bit ADCs...) are either bit-packed, as FCS 2.0/3.0 allow, or each
    kept in a whole 8/16/32/64-bit word, as most instruments write them; the stated DATA length
    tells which. Returns the stored widths."""
    if any(b <= 0 or b > 64 for b in bits) or n_tot is None:
        return bits
    words = [next(w for w in (8, 16, 32, 64) if b <= w) for b in bits]
    lengths = []
    for a, b in (hdr["data"], (_kw_int(kw, "$BEGINDATA"), _kw_int(kw, "$ENDDATA"))):
        if a is not None and b is not None and b >= a > 0:
            lengths.append(b - a + 1)
    need = n_tot * sum(words) // 8
    if any(length in (need, need + 1) for length in lengths):
        _repair(
            quirks,
            "bit_width",
            f"$PnB widths {sorted(set(bits))} are stored in whole "
            f"{'/'.join(str(w) for w in sorted(set(words)))}-bit words (the DATA length fits "
            f"words, not packed bits)",
        )
        return words
    return bits


def _event_bytes(kw: Mapping[str, str], bits: list[int]) -> float:
    dtype_code = kw.get("$DATATYPE", "").strip().upper()
    if dtype_code == "A":  # $PnB counts characters; delimited ASCII ("*") has no fixed size
        return float("nan") if any(b == 0 for b in bits) else float(sum(bits))
    if dtype_code == "I" and any(b % 8 for b in bits):
        return sum(bits) / 8.0
    return float(sum(bits) // 8)


def _repair(quirks: list, kind: str, detail: str) -> None:
    """Record a repair that changes which numbers are read (see :class:`FCSRepair`)."""
    quirks.append(FCSRepair(kind, detail))


@dataclass(frozen=True)
class _Reading:
    """One way of reading the DATA segment: absolute start, events, bytes, stored widths."""

    src: str
    start: int
    count: int
    nbytes: int
    bits: tuple[int, ...] | None = None  # stored widths when they differ from $PnB
    kind: str = ""  # "" when the file is read as it declares itself
    detail: str = ""

    def key(self) -> tuple:
        return (self.start, self.count, self.nbytes, self.bits)


def _data_candidates(hdr: dict, kw: Mapping[str, str], label: str) -> list[tuple[str, int, int]]:
    """(source, begin, end) DATA offset pairs, the one the version prefers first."""
    h0, h1 = hdr["data"]
    t0, t1 = _kw_int(kw, "$BEGINDATA"), _kw_int(kw, "$ENDDATA")
    pairs = [("TEXT", t0, t1), ("HEADER", h0, h1)]
    if hdr["version"] == "2.0":
        pairs.reverse()
    cands = [(s, a, b) for s, a, b in pairs if a is not None and b is not None and 0 < a <= b]
    if not cands:
        raise FormatError(f"{label}: neither HEADER nor TEXT gives the DATA segment offsets")
    return cands


def _readings(
    n: int,
    base: int,
    cand: tuple[str, int, int],
    kw: Mapping[str, str],
    bits: list[int],
    n_tot: int,
) -> tuple[list[_Reading], list[_Reading]]:
    """Readings of one offset pair that are consistent with the file's own numbers.

    Returns (declared, repaired): ``declared`` read $TOT events of $PnB widths inside the
    stated segment (less than one event of slack); ``repaired`` are the alternatives that
    fit the segment exactly when $TOT or $PnB is wrong.
    """
    src, a, b = cand
    per_event = _event_bytes(kw, bits)
    length, avail = b - a + 1, n - base - a
    need = int(np.ceil(n_tot * per_event))
    declared: list[_Reading] = []
    repaired: list[_Reading] = []
    where = f"{src} offsets {a}..{b}, {length} bytes"
    if need <= avail and 0 <= length - need < max(per_event, 1.0):
        detail = ""
        if length == need + 1:  # MACSQuant and others: end offset one past the segment
            detail = f"DATA end offset ({src}) one byte past the segment; corrected"
        elif length > need:
            detail = (
                f"DATA segment ({where}) is {length - need} bytes longer than $TOT={n_tot} "
                f"events need; the extra bytes are not read"
            )
        declared.append(_Reading(src, base + a, n_tot, need, None, "data_offsets", detail))
        return declared, repaired
    if length > avail:
        return declared, repaired  # the segment runs past the end of the file
    if length >= need + per_event:
        repaired.append(
            _Reading(
                src,
                base + a,
                n_tot,
                need,
                None,
                "tot",
                f"DATA segment ({where}) is longer than $TOT={n_tot} events of {per_event:g} "
                f"bytes; the first {n_tot} events are read and {length - need} bytes are not",
            )
        )
    total_bits = sum(bits)
    if total_bits > 0 and (length * 8) % total_bits == 0 and length * 8 // total_bits != n_tot:
        k = length * 8 // total_bits
        repaired.append(
            _Reading(
                src,
                base + a,
                k,
                length,
                None,
                "tot",
                f"$TOT={n_tot} disagrees with the DATA segment ({where}), which holds {k} "
                f"events of {per_event:g} bytes; {k} events are read",
            )
        )
    if kw.get("$DATATYPE", "").strip().upper() == "I":
        n_par = len(bits)
        for w in (8, 16, 32, 64):
            if [w] * n_par != bits and n_tot * n_par * w // 8 == length:
                repaired.append(
                    _Reading(
                        src,
                        base + a,
                        n_tot,
                        length,
                        (w,) * n_par,
                        "bit_width",
                        f"$PnB {sorted(set(bits))} does not fit the DATA segment ({where}) "
                        f"for $TOT={n_tot} x $PAR={n_par}; read as {w}-bit values, which fit",
                    )
                )
    return declared, repaired


def _pick(options: list[_Reading]) -> list[_Reading]:
    """Distinct readings (two offset pairs can give the same one)."""
    out: dict[tuple, _Reading] = {}
    for r in options:
        out.setdefault(r.key(), r)
    return list(out.values())


def _locate_data(
    buf: memoryview,
    base: int,
    hdr: dict,
    kw: Mapping[str, str],
    bits: list[int],
    n_tot: int | None,
    label: str,
    quirks: list,
) -> _Reading:
    """Where the DATA segment is, how many events it holds and how wide they are.

    A repair is accepted only when the file's own numbers single it out: a reading that
    matches $TOT and $PnB inside a stated segment wins; otherwise exactly one alternative
    (another event count, another integer width) must fit the segment. When several do, the
    values each gives are checked against the channels' ``$PnR``; two readings that survive
    equally, or none, raise :class:`~letrolab.errors.FCSError` naming them.
    """
    n = len(buf)
    if n_tot == 0:  # no events: whatever the offsets say, there is nothing to read
        return _Reading("", base, 0, 0)
    cands = _data_candidates(hdr, kw, label)
    disagree = len(cands) == 2 and cands[0][1:] != cands[1][1:]
    if disagree:
        h0, h1 = hdr["data"]
        t0, t1 = _kw_int(kw, "$BEGINDATA"), _kw_int(kw, "$ENDDATA")
        quirks.append(
            f"HEADER DATA offsets {h0}..{h1} disagree with TEXT $BEGINDATA/$ENDDATA {t0}..{t1}"
        )
    per_event = _event_bytes(kw, bits)
    if not (np.isfinite(per_event) and per_event > 0):  # delimited ASCII
        return _ascii_segment(n, base, cands[0], n_tot, label, quirks)
    if n_tot is None:
        return _count_from_length(n, base, cands[0], per_event, sum(bits), label, quirks)
    declared: list[_Reading] = []
    repaired: list[_Reading] = []
    for cand in cands:
        d, r = _readings(n, base, cand, kw, bits, n_tot)
        declared += d
        repaired += r
    tier = _pick(declared) or _pick(repaired)
    if len(tier) > 1:
        tier = [r for r in tier if _within_range(buf, kw, bits, r, label)] or tier
    if len(tier) > 1:
        ways = "; or ".join(r.detail or f"{r.count} events from the {r.src} offsets" for r in tier)
        raise FCSError(
            f"{label}: the DATA segment can be read in {len(tier)} ways that fit the file "
            f"equally well ({ways}); refusing to guess"
        )
    if not tier:
        src, a, b = cands[0]
        need = int(np.ceil(n_tot * per_event))
        have = max(0, n - base - a)
        if need > have:
            raise FormatError(
                f"{label}: file is truncated: $TOT={n_tot} events need {need} bytes of DATA "
                f"but only {have} remain after offset {a}"
            )
        raise FCSError(
            f"{label}: the DATA segment ({src} offsets {a}..{b}, {b - a + 1} bytes) fits "
            f"neither $TOT={n_tot} events of {per_event:g} bytes nor any other consistent "
            f"layout; refusing to guess"
        )
    (chosen,) = tier
    if chosen.detail:
        _repair(quirks, chosen.kind, chosen.detail)
    if disagree:
        quirks.append(f"HEADER and TEXT DATA offsets disagree; the {chosen.src} pair fits $TOT")
        _repair(
            quirks,
            "data_offsets",
            f"HEADER and TEXT DATA offsets disagree; the {chosen.src} pair is the only one "
            f"that fits the data ({chosen.count} events, {chosen.nbytes} bytes)",
        )
    return chosen


def _within_range(
    buf: memoryview, kw: Mapping[str, str], bits: list[int], r: _Reading, label: str
) -> bool:
    """Whether every integer value of a reading lies within its channel's ``$PnR``: the file's
    own numbers, used to tell apart layouts that fit the DATA length equally."""
    if kw.get("$DATATYPE", "").strip().upper() != "I":
        return True
    stored = list(r.bits) if r.bits is not None else bits
    n_par = len(stored)
    ranges = np.array([_kw_float(kw, f"$P{i}R", 0.0) for i in range(1, n_par + 1)])
    if not np.all(ranges >= 1):
        return True  # no range to check against
    raw = {k: v for k, v in kw.items() if not re.fullmatch(r"\$P\d+R", k)}  # unmasked values
    try:
        vals = _decode_data(buf[r.start : r.start + r.nbytes], raw, n_par, r.count, stored, label)
    except (LetrolabError, ValueError, TypeError):
        return False
    return _in_range(vals, ranges)


def _in_range(vals: np.ndarray, ranges: np.ndarray) -> bool:
    """Integer values within ``$PnR`` (FCS 3.1 section 3.3.22: 0 to ``$PnR`` - 1)."""
    return bool(np.all(vals < ranges))


def _plausible(vals: np.ndarray, kw: Mapping[str, str]) -> bool:
    """Whether decoded values look like the instrument's: integers within ``$PnR``; floats
    finite, and each non-zero magnitude between 1e-15 and 1e15 (bytes read in the wrong
    order give denormals or astronomic values)."""
    n_par = vals.shape[1]
    if kw.get("$DATATYPE", "").strip().upper() == "I":
        ranges = np.array([_kw_float(kw, f"$P{i}R", 0.0) for i in range(1, n_par + 1)])
        return bool(np.all(ranges >= 1)) and _in_range(vals, ranges)
    with np.errstate(over="ignore", invalid="ignore"):
        mag = np.abs(vals.astype(np.float64))
    if not np.all(np.isfinite(mag)):
        return False
    nz = mag[mag > 0]
    return bool(np.all((nz > 1e-15) & (nz < 1e15)))


def _settle_byteorder(
    seg: memoryview,
    kw: dict[str, str],
    count: int,
    bits: list[int],
    label: str,
    quirks: list,
) -> dict[str, str]:
    """``$BYTEORD`` is a required keyword (FCS 3.1). When it is missing from a file with
    multi-byte values, the order is taken only if the values settle it: exactly one order gives
    plausible values (:func:`_plausible`). Otherwise the file is refused."""
    dtype_code = kw.get("$DATATYPE", "").strip().upper()
    if kw.get("$BYTEORD", "").strip() or dtype_code not in ("I", "F", "D") or count == 0:
        return kw
    widths = {b // 8 for b in bits if b % 8 == 0}
    if not widths or max(widths) <= 1:
        return kw  # single bytes or bit-packed fields: no byte order to choose
    unmasked = {k: v for k, v in kw.items() if not re.fullmatch(r"\$P\d+R", k)}
    trials = {}
    for name, order in (("little", "1,2,3,4"), ("big", "4,3,2,1")):
        vals = _decode_data(seg, {**unmasked, "$BYTEORD": order}, len(bits), count, bits, label)
        trials[name] = ({**kw, "$BYTEORD": order}, vals)
    if np.array_equal(trials["little"][1], trials["big"][1]):
        return trials["little"][0]  # the same numbers either way
    ok = [name for name, (_, vals) in trials.items() if _plausible(vals, kw)]
    if len(ok) != 1:
        raise FCSError(
            f"{label}: $BYTEORD is missing and "
            f"{'both byte orders give' if ok else 'neither byte order gives'} plausible values "
            f"(within $PnR, or finite floats of instrument size); refusing to guess"
        )
    _repair(
        quirks,
        "byte_order",
        f"$BYTEORD is missing; values read {ok[0]}-endian, the only byte order whose values "
        f"are plausible (within $PnR, or finite floats of instrument size)",
    )
    return trials[ok[0]][0]


def _ascii_segment(
    n: int, base: int, cand: tuple[str, int, int], n_tot: int | None, label: str, quirks: list
) -> _Reading:
    """Delimited ASCII: the stated segment; $TOT is required to know the event count."""
    src, a, b = cand
    if n_tot is None:
        raise FormatError(f"{label}: delimited ASCII data without $TOT cannot be read")
    if base + a >= n:
        raise FormatError(f"{label}: DATA offset {a} is beyond the end of the file")
    if base + b + 1 > n:
        raise FCSError(
            f"{label}: the DATA segment ({src} offsets {a}..{b}) runs past the end of the "
            f"file; the file is truncated or its offsets are wrong"
        )
    return _Reading(src, base + a, n_tot, b - a + 1)


def _count_from_length(
    n: int,
    base: int,
    cand: tuple[str, int, int],
    per_event: float,
    total_bits: int,
    label: str,
    quirks: list,
) -> _Reading:
    """$TOT absent (optional in FCS 2.0): the event count must follow from the segment."""
    src, a, b = cand
    length = b - a + 1
    if base + a + length > n:
        raise FCSError(
            f"{label}: $TOT is missing and the DATA segment ({src} offsets {a}..{b}) runs "
            f"past the end of the file; the event count cannot be checked"
        )
    count = length * 8 // total_bits
    if length * 8 - count * total_bits >= 8:  # more than byte padding left over
        raise FCSError(
            f"{label}: $TOT is missing and the DATA segment ({length} bytes) is not a whole "
            f"number of {per_event:g}-byte events; the event count cannot be checked"
        )
    quirks.append("$TOT missing; event count taken from the DATA segment length")
    _repair(
        quirks,
        "tot",
        f"$TOT is missing; {count} events counted from the DATA segment length "
        f"({length} bytes / {per_event:g} bytes per event)",
    )
    return _Reading(src, base + a, count, int(np.ceil(count * per_event)))


# --------------------------------------------------------------------------------------------
# public reading API
# --------------------------------------------------------------------------------------------
def _nextdata_chain(buf: memoryview, label: str) -> list[tuple[int, dict, dict, list[str]]]:
    """Parse HEADER+TEXT of every dataset, following $NEXTDATA (relative offsets)."""
    out = []
    base = 0
    seen: set[int] = set()
    n = len(buf)
    while True:
        quirks: list[str] = []
        hdr = _parse_header(buf, base, label)
        kw = _read_text(buf, base, hdr, label, quirks)
        out.append((base, hdr, kw, quirks))
        seen.add(base)
        nxt = _kw_int(kw, "$NEXTDATA") or 0
        if nxt <= 0 or len(out) >= _MAX_DATASETS:
            break
        new = base + nxt
        if new in seen or new + _HEADER_LEN > n or buf[new : new + 3].tobytes() != b"FCS":
            # a dangling $NEXTDATA is common (writers that reserve room); the chain ends here
            if new not in seen:
                out[-1][3].append(f"$NEXTDATA {nxt} does not point at another dataset; ignored")
            break
        base = new
    return out


def _open(source: str | os.PathLike | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    path = Path(source)
    if path.is_dir():
        raise InputError(f"{path} is a folder; give an FCS file")
    if path.exists() and not path.is_file():  # a device or pipe could be endless
        raise InputError(f"{path} is not a regular file; give an FCS file")
    return path.read_bytes(), str(path)


def count_datasets(source: str | os.PathLike | bytes) -> int:
    """Number of datasets in an FCS file (following ``$NEXTDATA``)."""
    raw, label = _open(source)
    return len(_nextdata_chain(memoryview(raw), label))


def read_fcs(
    source: str | os.PathLike | bytes,
    *,
    dataset: int = 0,
    scale: bool = True,
) -> FcsData:
    """Read one dataset of an FCS 2.0 / 3.0 / 3.1 file.

    Parameters
    ----------
    source : path or bytes
        The FCS file (or its content).
    dataset : int, keyword-only
        Which dataset to read when the file holds several (0-based; Beckman LMD files hold an
        FCS 2.0 and an FCS 3.0 copy of the same events).
    scale : bool, keyword-only
        Decode log-amplified integer channels (``$PnE`` = f1,f2 with f1 > 0) to linear values,
        ``f2 * 10**(f1 * x / $PnR)``, and divide linear channels by ``$PnG`` (FCS 3.1 sections
        3.3.25 and 3.3.23), and multiply the Time channel by ``$TIMESTEP`` (seconds; FCS 3.1,
        as flowio and FlowKit do). ``False`` returns the stored values.

    Returns
    -------
    FcsData

    Raises
    ------
    FormatError
        The file is not FCS, is truncated, or is inconsistent beyond repair.
    FCSError
        (a FormatError) The file could be read in more than one way, or in none, and its own
        numbers do not tell which: the message names the readings.

    Examples
    --------
    >>> import numpy as np
    >>> from letrolab.assays.fcs import read_fcs
    >>> from letrolab.instruments.flow import write_fcs
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.fcs"
    >>> _ = write_fcs(p, np.array([[1.0, 2.0], [3.0, 4.0]]), channels=["FSC-A", "PI-A"])
    >>> d = read_fcs(p)
    >>> d.n_events, d.names, d.channel("pi a").tolist()
    (2, ['FSC-A', 'PI-A'], [2.0, 4.0])
    """
    if not isinstance(dataset, (int, np.integer)) or isinstance(dataset, bool) or dataset < 0:
        raise InputError(f"dataset must be a non-negative integer, not {dataset!r}")
    raw, label = _open(source)
    buf = memoryview(raw)
    try:
        chain = _nextdata_chain(buf, label)
    except RecursionError:  # pragma: no cover - defensive
        raise FormatError(f"{label}: TEXT segment cannot be parsed") from None
    if dataset >= len(chain):
        raise InputError(f"{label} holds {len(chain)} dataset(s); dataset={dataset} does not exist")
    base, hdr, kw_tol, quirks = chain[dataset]
    parser = "tolerant"
    kw: dict[str, str] = dict(kw_tol)
    # flowio's standard parser first (first dataset of a standard-conforming file)
    if dataset == 0:
        kw_fio = _flowio_text(raw)
        if kw_fio is not None and _same_core(kw_fio, kw_tol):
            parser = "flowio"
    # supplemental TEXT (FCS 3.x)
    s0, s1 = _kw_int(kw, "$BEGINSTEXT"), _kw_int(kw, "$ENDSTEXT")
    if s0 and s1 and 0 < s0 < s1 and base + s1 < len(buf):
        extra = _split_text(buf[base + s0 : base + s1 + 1].tobytes(), [])
        for k, v in extra.items():
            kw.setdefault(k, v)
    try:
        return _build(buf, base, hdr, kw, quirks, label, dataset, len(chain), parser, scale)
    except LetrolabError:
        raise
    except (ValueError, OverflowError, IndexError, MemoryError) as exc:
        # last line of defence: keywords that are individually plausible but inconsistent
        raise FormatError(f"{label}: inconsistent or corrupt FCS keywords ({exc})") from None


def _same_core(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    keys = ("$PAR", "$TOT", "$DATATYPE", "$BYTEORD", "$P1N", "$P1B")
    return all(a.get(k, "").strip() == b.get(k, "").strip() for k in keys)


def _build(
    buf: memoryview,
    base: int,
    hdr: dict,
    kw: dict[str, str],
    quirks: list[str],
    label: str,
    dataset: int,
    datasets: int,
    parser: str,
    scale: bool,
) -> FcsData:
    mode = kw.get("$MODE", "L").strip().upper() or "L"
    if mode != "L":
        raise FormatError(
            f"{label}: $MODE {mode!r} (histogram data) is not supported; only list mode (L)"
        )
    n_par = _kw_int(kw, "$PAR")
    if n_par is None or n_par <= 0 or n_par > 10_000:
        cut = any(q.startswith("TEXT end offset beyond the end") for q in quirks)
        raise FormatError(
            f"{label}: $PAR (number of channels) is missing or invalid: {kw.get('$PAR')!r}"
            + ("; the file ends inside its TEXT segment (truncated?)" if cut else "")
        )
    if "$DATATYPE" not in kw:
        raise FormatError(f"{label}: $DATATYPE keyword is missing")
    bits = _bits(kw, n_par, label, quirks)
    dtype_code = kw["$DATATYPE"].strip().upper()
    bad = [j for j, b in enumerate(bits) if b < 0 or (b == 0 and dtype_code != "A")]
    if bad:
        i = bad[0] + 1
        raise FormatError(
            f"{label}: $P{i}B is {bits[i - 1]}; binary data need a positive width in bits"
        )
    n_tot = _kw_int(kw, "$TOT")
    if n_tot is not None and n_tot < 0:
        raise FormatError(f"{label}: $TOT is negative ({n_tot})")
    declared = bits
    if kw.get("$DATATYPE", "").strip().upper() == "I" and any(b % 8 for b in bits):
        bits = _word_storage(hdr, kw, bits, n_tot, quirks)
    where = _locate_data(buf, base, hdr, kw, bits, n_tot, label, quirks)
    if where.bits is not None:  # the segment fits another integer width only
        bits = declared = list(where.bits)
    seg = buf[where.start : where.start + where.nbytes]
    count = where.count
    try:
        kw = _settle_byteorder(seg, kw, count, bits, label, quirks)
        events = _decode_data(seg, kw, n_par, count, bits, label, declared, quirks)
    except FormatError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        raise FormatError(f"{label}: DATA segment cannot be decoded ({exc})") from None
    channels = []
    for i in range(1, n_par + 1):
        name = kw.get(f"$P{i}N", "").strip() or f"P{i}"
        pne = kw.get(f"$P{i}E", "0,0")
        try:
            dec, l0 = (float(x) for x in pne.replace(" ", "").split(",")[:2])
        except ValueError:
            dec, l0 = float("nan"), 0.0
        if not (np.isfinite(dec) and np.isfinite(l0)):
            quirks.append(f"$P{i}E {pne!r} is not two numbers f1,f2; channel {i} read as linear")
            if scale:
                _repair(
                    quirks,
                    "scale",
                    f"$P{i}E {pne!r} is not two numbers f1,f2; channel {i} read as linear",
                )
            dec, l0 = 0.0, 0.0
        if dec > 0 and l0 <= 0:
            l0 = 1.0  # FCS 3.1 3.3.25: f2 = 0 with f1 > 0 is read as 1
        rng = _kw_float(kw, f"$P{i}R", float("nan"))
        if not (rng >= 0):  # missing, unreadable, non-finite or negative
            if kw.get(f"$P{i}R", "").strip():
                quirks.append(
                    f"$P{i}R {kw[f'$P{i}R']!r} is not a range; channel {i} range set to 0"
                )
            rng = 0.0
        channels.append(
            Channel(
                index=i - 1,
                name=name,
                label=kw.get(f"$P{i}S", "").strip(),
                range=rng,
                bits=declared[i - 1],
                decades=dec,
                log_zero=l0,
                gain=_kw_float(kw, f"$P{i}G", 1.0) or 1.0,
            )
        )
    if scale:
        with np.errstate(over="ignore", invalid="ignore"):
            events = _apply_scale(events, channels, kw, quirks)
    # cheap screen: a sum is finite when every term is; only a non-finite sum (a NaN or an
    # infinity, or an overflow of the sum itself) needs the exact count
    with np.errstate(over="ignore", invalid="ignore"):
        screen = np.isfinite(np.sum(events)) if events.size else True
    bad = 0 if screen else int(np.count_nonzero(~np.isfinite(events)))
    if bad:
        quirks.append(f"DATA holds {bad} NaN or infinite values (kept; analyses reject them)")
    if events.flags.writeable:
        events.setflags(write=False)
    version = hdr["version"]
    return FcsData(
        path=label,
        version=version,
        channels=tuple(channels),
        events=events,
        keywords=dict(kw),
        dataset=dataset,
        datasets=datasets,
        quirks=tuple(dict.fromkeys(q.detail if isinstance(q, FCSRepair) else q for q in quirks)),
        parser=parser,
        repairs=tuple(dict.fromkeys(q for q in quirks if isinstance(q, FCSRepair))),
    )


def _is_time(c: Channel) -> bool:
    """The Time parameter: ``$PnN`` "Time" in any case (FCS 3.1, $TIMESTEP; flowio's test)."""
    return c.name.strip().casefold() == "time"


def _timestep(kw: Mapping[str, str], channels: list[Channel], quirks: list) -> float | None:
    """``$TIMESTEP`` when the file has a Time channel and a usable value, else None."""
    raw = kw.get("$TIMESTEP")
    if raw is None or not any(_is_time(c) for c in channels):
        return None
    step = _kw_float(kw, "$TIMESTEP", float("nan"))
    if not (np.isfinite(step) and step > 0):
        _repair(
            quirks,
            "timestep",
            f"$TIMESTEP {raw!r} is not a positive number; the Time channel is left in "
            f"stored units, not seconds",
        )
        return None
    return step


def _apply_scale(
    events: np.ndarray, channels: list[Channel], kw: Mapping[str, str], quirks: list
) -> np.ndarray:
    """Stored values to physical ones: log decoding and gain (FCS 3.1 sections 3.3.25 and
    3.3.23) and the Time channel times ``$TIMESTEP``.

    FCS 3.1 (Spidlen et al. 2010, keyword ``$TIMESTEP``) gives the time step of the Time
    parameter in seconds: time = stored value x ``$TIMESTEP``. flowio (``FlowData.as_array``,
    preprocess=True) and FlowKit apply it the same way, and give the Time channel no gain.
    """
    is_int = kw.get("$DATATYPE", "").strip().upper() == "I"
    step = _timestep(kw, channels, quirks)
    todo = [
        c
        for c in channels
        if (is_int and c.decades > 0 and c.range > 0)
        or (c.gain not in (0.0, 1.0) and c.decades == 0)
        or (step is not None and _is_time(c))
    ]
    if not todo:
        return events
    events = np.array(events, dtype=np.float64)  # a writable copy
    for c in todo:
        if step is not None and _is_time(c):
            events[:, c.index] *= step
        elif is_int and c.decades > 0:
            events[:, c.index] = c.log_zero * np.power(
                10.0, c.decades * events[:, c.index] / c.range
            )
        else:
            events[:, c.index] /= c.gain
    return events
