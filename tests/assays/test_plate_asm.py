"""Every plate export in ../shared/data/plates gives allotropy's numbers in the right wells.

The reference is allotropy's own output, read independently of letrolab's mapping:

* for the files in ``plates/allotropy_expected/``, the expected ASM JSON that ships beside them
  in allotropy's test suite (Benchling-Open-Source/allotropy @ 889c54a, MIT);
* for the other vendor files, ``allotropy.to_allotrope.allotrope_from_file`` with the vendor
  named through allotropy's public ``Vendor`` enum (not letrolab's parser import path);
* the Gen5 exports allotropy refuses are a documented refusal: allotropy's error is asserted
  and letrolab's Gen5 reader (named in ``parser``) reads them, with the refusal in ``notes``.

Each raw measurement of the reference is a tuple (plate, well, detection, wavelength or time,
value); a value under an error document is ``None`` (a flagged well). letrolab's wells must hold
exactly these tuples, plus only ``missing`` padding wells of the plate geometry. Calculated
values: each placed one must be one of the reference's (name, value) pairs, and placed plus
unplaced must count every calculated data document.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from pathlib import Path

import pytest

from letrolab.assays.plates import parse_well, read_plate_file

pytestmark = pytest.mark.shared_data

ALLOTROPY_VENDOR = {
    "gen5": "AGILENT_GEN5",
    "envision": "PERKIN_ELMER_ENVISION",
    "kaleido": "REVVITY_KALEIDO",
    "magellan": "TECAN_MAGELLAN",
    "softmax": "MOLDEV_SOFTMAX_PRO",
    "mars": "BMG_MARS",
    "smart_control": "BMG_LABTECH_SMART_CONTROL",
    "skanit": "THERMO_SKANIT",
}

# Gen5 exports allotropy 0.1.150 refuses, with the start of its reason.
REFUSED = {
    "biotek_gen5/endpoint_stdcurve_multiplate.txt": "Only a single plate per file",
    "synergy_file_reader_sdist/column.txt": "Read type not found",
    "synergy_file_reader_sdist/example_data.txt": "Expected non-null value for Date",
    "synergy_file_reader_sdist/matrix_matrix.txt": "Read type not found",
    "synergy_file_reader_sdist/multiple_with_gain.txt": "Only a single plate per file",
    "synergy_file_reader_sdist/single_measurement_matrix.txt": "Read type not found",
    "synergy_file_reader_sdist/spectrum.txt": "Read type not found",
}

# Refused by letrolab, with the reason: allotropy misplaces the rows (test_plate_readers.py).
MISPLACED = {"perkinelmer_envision/PE_Envision_luminescence_example01.csv": "A, E, I, M"}

ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "plates"
FILES = sorted(
    str(p.relative_to(ROOT))
    for p in ROOT.rglob("*")
    if p.is_file() and p.suffix.lower() not in {".json", ".tsv"}
)


def _num(x) -> float:
    return float(x["value"]) if isinstance(x, dict) else float(x)


def _well(name: str) -> str:
    r, c = parse_well(name)
    return f"{r}{c}"


def _reference_tuples(doc: dict) -> tuple[Counter, Counter, int]:
    """(raw measurement tuples, calculated (name, value) pairs, number of calculated docs)."""
    agg = doc["plate reader aggregate document"]
    raw: Counter = Counter()
    for prd in agg["plate reader document"]:
        for md in prd["measurement aggregate document"]["measurement document"]:
            sample = md["sample document"]
            plate = str(sample.get("well plate identifier") or "Plate 1")
            well = _well(sample["location identifier"])
            errors = {
                e["error feature"].lower()
                for e in md.get("error aggregate document", {}).get("error document", [])
            }
            cube = next((v for k, v in md.items() if k.endswith("data cube")), None)
            if cube is None:
                feat = next(f for f in ("absorbance", "fluorescence", "luminescence") if f in md)
                dc = md["device control aggregate document"]["device control document"][0]
                wl = _num(dc.get("detector wavelength setting", math.nan))
                wl = wl if 190 <= wl <= 1100 else math.nan  # documented repair (notes)
                val = None if feat in errors else _num(md[feat])
                raw[(plate, well, feat, round(wl, 6) if wl == wl else None, val)] += 1
                continue
            feat = cube["cube-structure"]["measures"][0]["concept"]
            xs, vs = cube["data"]["dimensions"][0], cube["data"]["measures"][0]
            for x, v in zip(xs, vs, strict=True):
                raw[(plate, well, feat, round(float(x), 6), None if v is None else float(v))] += 1
    calcs = agg.get("calculated data aggregate document", {}).get("calculated data document", [])
    pairs = Counter((c["calculated data name"], _num(c["calculated result"])) for c in calcs)
    return raw, pairs, len(calcs)


def _our_tuples(wells) -> tuple[Counter, Counter]:
    raw_rows = wells[wells["kind"] == "raw"]
    ours: Counter = Counter()
    padding: Counter = Counter()
    for r in raw_rows.itertuples(index=False):
        feat = r.read.split()[0]
        x = r.time_s if r.time_s == r.time_s else r.wavelength
        key = (r.plate, r.well, feat, round(x, 6) if x == x else None)
        val = r.value if r.flag == "ok" else None
        ours[(*key, val)] += 1
        if r.flag == "missing" and r.raw == "":
            padding[(*key, None)] += 1
    return ours, padding


def _reference(path: Path, fmt: str) -> dict:
    expected = path.with_suffix(".json")
    if expected.is_file():
        return json.loads(expected.read_text())
    return _reference_conversion(path, fmt)


def _reference_conversion(path: Path, fmt: str) -> dict:
    """allotropy's public conversion of the file, with the vendor named by its enum."""
    from allotropy.constants import CHARDET_ENCODING
    from allotropy.to_allotrope import allotrope_from_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # dateutil.zoneinfo, in allotropy
        return allotrope_from_file(str(path), ALLOTROPY_VENDOR[fmt], encoding=CHARDET_ENCODING)


@pytest.mark.parametrize("name", FILES)
def test_wells_equal_allotropy_reference_or_documented_refusal(shared_data, name):
    path = shared_data / "plates" / name
    if name in MISPLACED:
        from letrolab.errors import FormatError

        with pytest.raises(FormatError, match=f"holds plate rows {MISPLACED[name]}; allotropy"):
            read_plate_file(path)
        return
    pf = read_plate_file(path)
    if pf.format not in ALLOTROPY_VENDOR:  # letrolab's own formats: none among these files
        pytest.fail(f"{name}: unexpected own format {pf.format}")
    if name in REFUSED:
        from allotropy.exceptions import AllotropeConversionError

        assert pf.parser == "letrolab gen5 reader"
        assert not pf.has_asm
        assert REFUSED[name] in pf.notes[0]
        with pytest.raises(AllotropeConversionError, match=REFUSED[name]):
            _reference(path, pf.format)
        return
    assert pf.parser.startswith("allotropy ") and pf.has_asm
    raw, pairs, n_calc = _reference_tuples(_reference(path, pf.format))
    ours, padding = _our_tuples(pf.wells)
    assert ours - raw == padding - raw, "values in letrolab's wells that allotropy does not have"
    assert not raw - ours, f"allotropy values missing from the wells: {list(raw - ours)[:3]}"
    calc = pf.wells[pf.wells["kind"] == "calculated"]
    names = calc["read"].str.removeprefix("calc: ").str.replace(r" @ [^@]*$", "", regex=True)
    placed = Counter(
        (n, v) for n, v in zip(names, calc["value"], strict=True) if v == v
    )  # NaN values (calculations the software could not do) are compared by count below
    assert not placed - pairs
    assert len(calc) + sum(pf.unplaced.values()) == n_calc


def test_softmax_partial_plate_keeps_every_value_in_its_column(shared_data):
    """The issue's bug: a partial plate (first column 2, 10 columns) shifted one column right.

    In the SoftMax Pro file, row A of the 260 nm read starts at column 2 with 3.084 (the
    file's first value) and row A column 11 holds the last value of the row; column 1 and 12
    are outside the read and must be missing, not shifted values.
    """
    f = (
        shared_data
        / "plates/moldev_softmax_pro/MD_SMP_absorbance_endpoint_partial_plate_example01.txt"
    )
    w = read_plate_file(f).wells
    a = w[(w["read"] == "absorbance 260") & (w["row"] == "A")].set_index("col")
    assert a.loc[2, "value"] == pytest.approx(3.084, rel=1e-12)
    assert a.loc[1, "flag"] == "missing" and a.loc[12, "flag"] == "missing"
    assert a.loc[2:11, "flag"].eq("ok").all()


def test_impossible_wavelength_from_allotropy_is_blanked_with_a_note(shared_data):
    """BMG's label 'Raw Data (450 1)' (450 nm, chromatic 1) comes out of allotropy as 1 nm."""
    pf = read_plate_file(shared_data / "plates/bmg_mars/BMG Labtech format.CSV")
    assert set(pf.wells["read"]) == {"absorbance"}
    assert pf.wells["wavelength"].isna().all()
    assert any("wavelength of 1 nm" in n for n in pf.notes)


def test_calculated_reads_are_apart_and_labelled(shared_data):
    f = shared_data / "plates/biotek_gen5/endpoint_stdcurve_singleplate.txt"
    w = read_plate_file(f).wells
    calc = w[w["kind"] == "calculated"]
    assert set(calc["read"]) == {"calc: Blank 630nmAbsRead:630", "calc: [Concentration]"}
    assert (w.loc[w["kind"] == "raw", "read"] == "absorbance 630").all()
    # raw reads sort before calculated ones
    assert w["kind"].tolist() == sorted(w["kind"].tolist(), key=lambda k: k == "calculated")


def test_kinetic_and_spectrum_reads(shared_data):
    kin = read_plate_file(shared_data / "plates/biotek_gen5/kinetic_helper_gene_growth_curve.txt")
    k = kin.wells[kin.wells["read"] == "absorbance 600"]
    assert k["time_s"].nunique() == 20 and k["well"].nunique() == 24
    assert k[(k["time_s"] == 22) & (k["well"] == "A1")]["value"].item() == -0.066
    spec = read_plate_file(
        shared_data / "plates/allotropy_expected/moldev_softmax_pro/spectrum_data.txt"
    ).wells
    s = spec[spec["read"] == "absorbance spectrum"]
    a1 = s[(s["well"] == "A1") & (s["plate"] == "Plate1")].set_index("wavelength")["value"]
    assert a1.to_dict() == {525.0: 0.1685, 526.0: 0.1688, 527.0: 0.1691, 528.0: 0.1696}
    assert s["time_s"].isna().all()


def test_allotropy_parser_classes_are_the_vendor_enums(shared_data):
    """letrolab imports each vendor's parser module directly (fast); it must be the class
    allotropy's own Vendor registry uses."""
    from allotropy.parser_factory import Vendor

    from letrolab.assays.plates.asm import ALLOTROPY_PARSERS

    for fmt, (vendor, module, cls) in ALLOTROPY_PARSERS.items():
        assert type(Vendor[vendor].get_parser()).__name__ == cls, fmt
        assert type(Vendor[vendor].get_parser()).__module__.endswith(module), fmt


@pytest.mark.parametrize(
    "name",
    [
        "perkinelmer_envision/PE_Envision_absorbance_example01.csv",
        "allotropy_expected/revvity_kaleido/fluorescence_endpoint_single_plate_example_01.csv",
    ],
)
def test_asm_document_is_allotropys_whole_document(shared_data, name):
    """The wells are mapped from a document without the custom information documents (fast);
    ``--asm`` must still write allotropy's whole document, as its public conversion gives it
    (identifiers are random UUIDs, numbered in order of appearance; allotropy's own conversion
    writes the path it was given as the UNC path, letrolab the file name)."""
    import re

    uuid = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")

    def normalised(x, ids: dict):
        if isinstance(x, dict):
            return {k: "" if k == "UNC path" else normalised(v, ids) for k, v in x.items()}
        if isinstance(x, list):
            return [normalised(v, ids) for v in x]
        if isinstance(x, str) and uuid.match(x):
            return ids.setdefault(x, f"id{len(ids)}")
        return x

    path = shared_data / "plates" / name
    pf = read_plate_file(path)
    ours = pf.asm_document()
    assert "custom information document" in json.dumps(ours)
    assert normalised(ours, {}) == normalised(_reference_conversion(path, pf.format), {})
