"""Vendor exports through allotropy, and the Allotrope Simple Model (ASM) mapped to wells.

allotropy (Benchling, MIT; https://github.com/Benchling-Open-Source/allotropy) parses the
plate-reader exports of most vendors into the ASM ``plate-reader`` schema. letrolab uses it as
the parser for every format it covers (:data:`ALLOTROPY_PARSERS`) and maps its document into
the tidy wells table (:mod:`letrolab.assays.plates._wells`):

* one ``plate reader document`` per well: ``sample document`` gives the plate (``well plate
  identifier``) and the well (``location identifier``); each ``measurement document`` in it is
  one raw read of that well;
* a wavelength outside 190-1100 nm is no plate reader's (allotropy reads the BMG label
  ``Raw Data (450 1)`` as 1 nm): it is left NaN and said in :attr:`AsmWells.notes`;
* a read is labelled by its detection and its wavelengths, ``"absorbance 450"``,
  ``"fluorescence 485/535"`` (excitation/emission, nm), ``"luminescence"``; when one well holds
  several measurements with the same label (SoftMax Pro blocks read at one wavelength), they
  are numbered in the file's order: ``"absorbance 426 #1"``, ``"absorbance 426 #2"``;
* an ``error document`` on the measured quantity sets the flag and leaves ``value`` NaN:
  ``nan`` or empty → ``missing`` (a well the export leaves empty, e.g. outside a partial
  plate), an overflow word (``OVRFLW``, ``>4.0`` ...) → ``saturated``, anything else →
  ``non_numeric`` (``raw`` keeps the text);
* ``absorption profile data cube`` (kinetics) → one row per time point, ``time_s`` the elapsed
  time in s; ``... spectrum data cube`` → one row per scanned wavelength, which is then the
  row's ``wavelength``;
* ``calculated data document``\\s (blank-corrected values, concentrations, ratios ...) become
  rows with ``kind == "calculated"`` and read ``"calc: NAME"`` (``"calc: NAME @ READ"`` when the same calculation is made once per read of a well), placed in the well their data
  sources belong to. A calculated value whose sources span several wells (a group mean, a
  standard curve's fit) belongs to no single well; it is left out and counted in
  :attr:`AsmWells.unplaced`.

Raw endpoint reads are padded to the plate's geometry (``plate well count``) with ``missing``
wells, so that an absent well is never confused with a shifted one.

allotropy is imported only here and only when a vendor file is read (its import takes about a
second); the parser class of each vendor is imported from its own module rather than through
``allotropy.parser_factory``, which imports every parser allotropy has.

How allotropy is called, and why not through ``to_allotrope`` (:func:`parse`,
:meth:`AllotropyParse.model`): a vendor parser's public ``to_allotrope`` is its ``create_data``
(the parse) followed by its schema mapper's ``map_model`` (the ASM document). letrolab makes
the two calls itself, so that

* the wells are mapped from a document built without the ``custom information document``
  entries (vendor extras such as instrument settings per well, which the wells table never
  reads).
  allotropy builds each of those as a new dataclass type (``dataclasses.make_dataclass`` in
  ``allotropy.allotrope.converter.structure_custom_information_document``), two to three per
  well; for a 384-well EnVision export that was about 80 % of allotropy's time;
* ``--asm`` still gets the whole document, mapped from the same parse (no second parse).

allotropy's EnVision parser forces full garbage collections (``gc.collect()`` in
``allotropy.parsers.utils.warnings_tools.suppress_unused_keys_warning``, once per filter and
label block: four for a one-filter export), whose cost grows with every object the calling
process holds. The objects alive before a parse are frozen while it runs (:func:`gc.freeze`),
so those collections only look at the parse's own objects.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import importlib
import io
import math
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from letrolab.assays.plates._wells import (
    GEOMETRIES,
    finish,
    parse_well,
    row_index,
    wells_frame,
)
from letrolab.errors import FormatError

__all__ = [
    "ALLOTROPY_PARSERS",
    "AllotropyParse",
    "AsmWells",
    "allotropy_version",
    "asm_to_wells",
    "parse",
    "unstructured",
    "validated_document",
]

#: letrolab format name -> (allotropy Vendor name, parser module, parser class).
ALLOTROPY_PARSERS: dict[str, tuple[str, str, str]] = {
    "gen5": ("AGILENT_GEN5", "agilent_gen5.agilent_gen5_parser", "AgilentGen5Parser"),
    "envision": (
        "PERKIN_ELMER_ENVISION",
        "perkin_elmer_envision.perkin_elmer_envision_parser",
        "PerkinElmerEnvisionParser",
    ),
    "kaleido": ("REVVITY_KALEIDO", "revvity_kaleido.kaleido_parser", "KaleidoParser"),
    "magellan": ("TECAN_MAGELLAN", "tecan_magellan.tecan_magellan_parser", "TecanMagellanParser"),
    "softmax": ("MOLDEV_SOFTMAX_PRO", "moldev_softmax_pro.softmax_pro_parser", "SoftmaxproParser"),
    "mars": ("BMG_MARS", "bmg_mars.bmg_mars_parser", "BmgMarsParser"),
    "smart_control": (
        "BMG_LABTECH_SMART_CONTROL",
        "bmg_labtech_smart_control.bmg_labtech_smart_control_parser",
        "BmgLabtechSmartControlParser",
    ),
    "skanit": ("THERMO_SKANIT", "thermo_skanit.thermo_skanit_parser", "ThermoSkanItParser"),
}

_FEATURES = ("absorbance", "fluorescence", "luminescence")


@dataclass(frozen=True)
class AsmWells:
    """The wells of an ASM document and what could not be placed in a well.

    Attributes
    ----------
    wells : DataFrame
        The tidy wells table (``kind`` is ``raw`` or ``calculated``).
    unplaced : dict
        Calculated-data name -> number of values whose data sources span several wells.
    notes : tuple of str
        Repairs made to allotropy's document (a wavelength no reader measures at, left NaN).
    """

    wells: pd.DataFrame
    unplaced: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def allotropy_version() -> str:
    """The installed allotropy version (without importing allotropy)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("allotropy")
    except PackageNotFoundError:
        return "not installed"


@contextmanager
def _quiet_dateutil() -> Iterator[None]:
    """allotropy imports ``dateutil.zoneinfo``, which warns (DeprecationWarning) under
    python-dateutil >= 2.9; that is allotropy's and dateutil's business, not the user's."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"The `dateutil.zoneinfo` module", category=DeprecationWarning
        )
        yield


def _parser(fmt: str) -> Any:
    vendor, module, cls = ALLOTROPY_PARSERS[fmt]
    try:
        with _quiet_dateutil():
            mod = importlib.import_module(f"allotropy.parsers.{module}")
            from allotropy.parsers.utils.timestamp_parser import TimestampParser
    except ImportError as exc:
        raise FormatError(
            f"reading {vendor} exports needs allotropy (pip install allotropy): {exc}"
        ) from None
    return getattr(mod, cls)(TimestampParser())


@contextmanager
def _allotropy_errors(source: str) -> Iterator[None]:
    """allotropy's refusals and failures, as :class:`FormatError` naming the file."""
    from allotropy.exceptions import AllotropeConversionError, AllotropyParserError

    try:
        with _quiet_dateutil():
            yield
    except (AllotropeConversionError, AllotropyParserError) as exc:
        raise FormatError(f"{source}: allotropy cannot read it: {exc}") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise FormatError(
            f"{source}: allotropy failed on it ({type(exc).__name__}: {exc}); the file is "
            "truncated or a variant allotropy does not know"
        ) from None


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Keep the objects alive now out of the collections the parse forces (see the module
    docstring); left alone when the caller has frozen objects itself."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


#: Fields of allotropy's parse that hold the records :func:`_without_custom_information` copies.
_RECORD_FIELDS = frozenset({"metadata", "measurement_groups", "measurements", "calculated_data"})


@functools.cache
def _fields_to_visit(cls: type) -> tuple[tuple[str, bool], ...]:
    """(field name, is a custom-information field) for the fields of ``cls`` that
    :func:`_without_custom_information` empties or descends into."""
    return tuple(
        (f.name, f.name not in _RECORD_FIELDS)
        for f in dataclasses.fields(cls)
        if f.init and ("custom_info" in f.name or f.name in _RECORD_FIELDS)
    )


def _without_custom_information(record: Any) -> Any:
    """A copy of allotropy's parse (or one record of it) with every ``*custom_info*`` field
    None; the records are copied, never changed (the whole document is mapped from them)."""
    if not hasattr(type(record), "__dataclass_fields__"):
        return record
    changes: dict[str, Any] = {}
    for name, custom in _fields_to_visit(type(record)):
        value = getattr(record, name)
        if value is None:
            continue
        if custom:
            changes[name] = None
        elif isinstance(value, list):
            changes[name] = [_without_custom_information(v) for v in value]
        else:
            changes[name] = _without_custom_information(value)
    return dataclasses.replace(record, **changes) if changes else record


@dataclass(frozen=True)
class AllotropyParse:
    """allotropy's parse of one export, before it is mapped into an ASM document.

    Attributes
    ----------
    data : object
        What the vendor parser's ``create_data`` returned (its schema mapper's input).
    mapper : object
        The vendor's schema mapper (its parser's ``SCHEMA_MAPPER``, built as the parser builds
        it: the ASM converter name and the parser's timestamp parser, here memoised for the
        file, since the mapper converts the same measurement time once per well).
    source : str
        The file name, for messages.
    """

    data: Any = field(repr=False)
    mapper: Any = field(repr=False)
    source: str

    def model(self, *, custom_information: bool = True) -> Any:
        """The ASM model (not yet serialised).

        Parameters
        ----------
        custom_information : bool
            False leaves out the vendor-specific ``custom information document`` entries
            (what letrolab's wells do not read; most of allotropy's mapping time for EnVision
            and Kaleido exports).

        Raises
        ------
        FormatError
            allotropy's mapper refused the parse; its reason is in the message.
        """
        data = self.data if custom_information else _without_custom_information(self.data)
        with _allotropy_errors(self.source):
            return self.mapper.map_model(data)


def parse(data: bytes, *, fmt: str, source: str) -> AllotropyParse:
    """Parse an export with allotropy (its vendor parser's ``create_data``).

    Parameters
    ----------
    data : bytes
        The file's bytes; text exports are given re-encoded as UTF-8.
    fmt : str
        A key of :data:`ALLOTROPY_PARSERS`.
    source : str
        The file name (allotropy reads the extension from it).

    Returns
    -------
    AllotropyParse
        The parse; :meth:`AllotropyParse.model` maps it into the ASM model.

    Raises
    ------
    FormatError
        allotropy refused the file; its reason is in the message.
    """
    parser = _parser(fmt)
    from allotropy.named_file_contents import NamedFileContents

    contents = NamedFileContents(io.BytesIO(data), source, "utf-8")
    with _allotropy_errors(source), _older_objects_frozen():
        parsed = parser.create_data(contents)
    timestamp = functools.lru_cache(maxsize=None)(parser.timestamp_parser.parse)
    mapper = parser.SCHEMA_MAPPER(parser.asm_converter_name, timestamp)
    return AllotropyParse(parsed, mapper, source)


def unstructured(model: Any) -> dict[str, Any]:
    """The ASM model as a plain dict (no schema validation; fast)."""
    from allotropy.allotrope.converter import unstructure

    return unstructure(model)


def validated_document(model: Any, *, source: str) -> dict[str, Any]:
    """The ASM model as a JSON-able dict, validated against its schema (for ``--asm``)."""
    from allotropy.allotrope.allotrope import serialize_and_validate_allotrope
    from allotropy.exceptions import AllotropyError

    try:
        return serialize_and_validate_allotrope(model)
    except AllotropyError as exc:
        raise FormatError(f"{source}: the ASM document does not validate: {exc}") from None


# --- ASM -> wells -----------------------------------------------------------------------------


def _num(x: Any) -> float:
    if isinstance(x, dict):
        x = x.get("value")
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


#: Wavelengths a plate reader can measure at, nm: monochromator readers span about 200-1000 nm
#: (SpectraMax M5: 200-1000 nm; Synergy H1: 230-999 nm, vendors' specification sheets).
WAVELENGTH_RANGE = (190.0, 1100.0)


def _wavelength(x: Any, bad: set) -> float:
    v = _num(x)
    if np.isfinite(v) and not WAVELENGTH_RANGE[0] <= v <= WAVELENGTH_RANGE[1]:
        bad.add(v)
        return math.nan
    return v


def _label(feature: str, dc: dict, bad: set) -> tuple[str, float]:
    em = _wavelength(dc.get("detector wavelength setting"), bad)
    ex = _wavelength(dc.get("excitation wavelength setting"), bad)
    if np.isfinite(ex) and np.isfinite(em):
        return f"{feature} {ex:g}/{em:g}", em
    if np.isfinite(em):
        return f"{feature} {em:g}", em
    return feature, math.nan


def _cell(value: Any, errors: dict[str, str], feature: str) -> object:
    """The cell text the wells table classifies: the number, or the error's text."""
    err = errors.get(feature)
    if err is None:
        v = _num(value)
        return "" if not np.isfinite(v) else v
    text = str(err).strip()
    if text.lower() in {"nan", "", "none", "n/a"}:
        return ""
    return text  # classify_cells flags overflow words and ">4.0" as saturated


def _errors(doc: dict) -> dict[str, str]:
    agg = doc.get("error aggregate document") or {}
    return {
        str(e.get("error feature", "")).strip().lower(): e.get("error", "")
        for e in agg.get("error document", [])
    }


def _cube(md: dict) -> tuple[str, dict] | None:
    for key, val in md.items():
        if key.endswith("data cube") and isinstance(val, dict):
            return key, val
    return None


@dataclass
class _Collector:
    """Rows gathered from the document, as parallel lists (one DataFrame at the end)."""

    plate: list = field(default_factory=list)
    row: list = field(default_factory=list)
    col: list = field(default_factory=list)
    cells: list = field(default_factory=list)
    read: list = field(default_factory=list)
    wavelength: list = field(default_factory=list)
    time_s: list = field(default_factory=list)
    kind: list = field(default_factory=list)

    def add(self, plate, r, c, cell, read, wl, t, kind):
        self.plate.append(plate)
        self.row.append(r)
        self.col.append(c)
        self.cells.append(cell)
        self.read.append(read)
        self.wavelength.append(wl)
        self.time_s.append(t)
        self.kind.append(kind)


def _measurements(
    doc: dict, out: _Collector, ids: dict, geometry: dict, bad: set, source: str
) -> None:
    """Rows of one plate reader document (one well, one or more measurements)."""
    agg = doc["measurement aggregate document"]
    count = _num(agg.get("plate well count"))
    n_wells = int(count) if np.isfinite(count) else 0
    mds = agg.get("measurement document", [])
    labels = []
    for md in mds:
        feature = next((f for f in _FEATURES if f in md), None)
        cube = _cube(md)
        if feature is None and cube is not None:
            feature = cube[1].get("cube-structure", {}).get("measures", [{}])[0].get("concept")
        dc = md.get("device control aggregate document", {}).get("device control document", [{}])
        labels.append((feature or "value", *_label(feature or "value", dc[0], bad)))
    counts = Counter(lab for _, lab, _ in labels)
    seen: Counter = Counter()
    for md, (feature, label, wl) in zip(mds, labels, strict=True):
        sample = md.get("sample document", {})
        plate = str(sample.get("well plate identifier") or "Plate 1")
        well = sample.get("location identifier")
        if well is None:
            raise FormatError(f"{source}: a measurement without a well (location identifier)")
        letters, c = parse_well(well)
        r = row_index(letters)
        if counts[label] > 1:
            seen[label] += 1
            label = f"{label} #{seen[label]}"
        if n_wells:
            geometry.setdefault(plate, n_wells)
        ids[md.get("measurement identifier")] = (plate, r, c - 1, label)
        errors = _errors(md)
        cube = _cube(md)
        if cube is None:
            out.add(
                plate,
                r,
                c - 1,
                _cell(md[feature]["value"], errors, feature),
                label,
                wl,
                math.nan,
                "raw",
            )
            continue
        key, body = cube
        data = body.get("data", {})
        dims = data.get("dimensions", [[]])[0]
        vals = data.get("measures", [[]])[0]
        concept = body.get("cube-structure", {}).get("dimensions", [{}])[0].get("concept", "")
        spectrum = "spectrum" in key or concept == "wavelength"
        if not spectrum and concept != "elapsed time":
            raise FormatError(f"{source}: a {key} over {concept!r}, which letrolab cannot place")
        if len(dims) != len(vals):
            raise FormatError(
                f"{source}: {key} of well {well} has {len(dims)} points and {len(vals)} values"
            )
        read = label if not spectrum else f"{feature} spectrum"
        for x, v in zip(dims, vals, strict=True):
            cell = "" if v is None else _cell(v, {}, feature)
            out.add(
                plate,
                r,
                c - 1,
                cell,
                read,
                _num(x) if spectrum else wl,
                math.nan if spectrum else _num(x),
                "raw",
            )


def _source_wells(ident: str, ids: dict, sources: dict, depth: int = 0) -> set:
    """Measurements a calculated value derives from: its direct measurement sources when it
    has any (a blank-corrected value: the well's own read, not the blanks averaged into a
    second calculation), else those of the calculations it derives from."""
    direct = [s for s in sources.get(ident, []) if s in ids]
    if direct:
        return {ids[s] for s in direct}
    if depth > 20:
        return set()
    out: set = set()
    for s in sources.get(ident, []):
        out |= _source_wells(s, ids, sources, depth + 1)
    return out


def _calculated(agg: dict, out: _Collector, ids: dict) -> dict[str, int]:
    """Calculated values placed in their source well; the rest counted by name."""
    docs = agg.get("calculated data aggregate document", {}).get("calculated data document", [])
    sources = {
        d.get("calculated data identifier"): [
            s.get("data source identifier")
            for s in d.get("data source aggregate document", {}).get("data source document", [])
        ]
        for d in docs
    }
    placed: dict[tuple, list] = {}
    unplaced: Counter = Counter()
    for d in docs:
        name = str(d.get("calculated data name", "calculated"))
        found = _source_wells(d.get("calculated data identifier"), ids, sources)
        wells = {(p, r, c) for p, r, c, _ in found}
        if len(wells) != 1:
            unplaced[name] += 1
            continue
        ((p, r, c),) = wells
        placed.setdefault((p, name), []).append((r, c, d, sorted({x[3] for x in found})))
    for (p, name), items in placed.items():
        keys = Counter((r, c) for r, c, _, _ in items)
        for r, c, d, reads in items:
            label = f"calc: {name}"
            if keys[(r, c)] > 1:  # the same calculation once per read: name the read
                label = f"calc: {name} @ {', '.join(reads)}"
            value = _num(d.get("calculated result"))
            cell = value if np.isfinite(value) else ""
            out.add(p, r, c, cell, label, math.nan, math.nan, "calculated")
    return dict(unplaced)


def _pad(out: _Collector, geometry: dict) -> None:
    """Add ``missing`` rows for the wells of each raw endpoint read the document lacks."""
    present: dict[tuple, set] = {}
    wl_of: dict[tuple, float] = {}
    for p, r, c, rd, wl, t, k in zip(
        out.plate, out.row, out.col, out.read, out.wavelength, out.time_s, out.kind, strict=True
    ):
        if k == "raw" and not np.isfinite(t) and "spectrum" not in rd:
            present.setdefault((p, rd), set()).add((r, c))
            wl_of[(p, rd)] = wl
    for (p, rd), have in present.items():
        n = geometry.get(p)
        if n not in GEOMETRIES:
            continue
        nr, nc = GEOMETRIES[n]
        if max(r for r, _ in have) >= nr or max(c for _, c in have) >= nc:
            continue  # the wells do not fit the declared count: do not guess
        for r in range(nr):
            for c in range(nc):
                if (r, c) not in have:
                    out.add(p, r, c, "", rd, wl_of[(p, rd)], math.nan, "raw")


def asm_to_wells(doc: dict[str, Any], *, source: str) -> AsmWells:
    """Map an ASM plate-reader document (dict) into the tidy wells table.

    Parameters
    ----------
    doc : dict
        The document (``allotropy``'s output, or an ASM JSON file read back).
    source : str
        File name for messages.

    Returns
    -------
    AsmWells
        The wells (sorted by plate, read, time, wavelength, row, column) and the count of
        calculated values that belong to no single well.

    Raises
    ------
    FormatError
        The document is not a plate-reader ASM or holds a value letrolab cannot place.
    """
    agg = doc.get("plate reader aggregate document")
    if agg is None:
        raise FormatError(f"{source}: not an ASM plate-reader document")
    out = _Collector()
    ids: dict = {}
    geometry: dict = {}
    bad: set = set()
    for prd in agg.get("plate reader document", []):
        _measurements(prd, out, ids, geometry, bad, source)
    unplaced = _calculated(agg, out, ids)
    _pad(out, geometry)
    block = wells_frame(
        plate=np.asarray(out.plate, dtype=object),
        row=out.row,
        col=out.col,
        cells=out.cells,
        read=np.asarray(out.read, dtype=object),
        wavelength=np.asarray(out.wavelength, dtype=float),
        time_s=np.asarray(out.time_s, dtype=float),
        kind=np.asarray(out.kind, dtype=object),
    )
    notes = tuple(
        f"allotropy gives a wavelength of {v:g} nm, outside what a plate reader measures "
        f"({WAVELENGTH_RANGE[0]:g}-{WAVELENGTH_RANGE[1]:g} nm); the read is left without one"
        for v in sorted(bad)
    )
    return AsmWells(finish([block], source=source), unplaced, notes)
