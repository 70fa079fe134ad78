"""``letrolab synergy --plate READ --layout LAYOUT``: from the instrument file to CIs in one command.

The read is a Gen5 export written by :func:`write_plate` from a Bliss-independent surface of two
drugs with median-effect slopes m = 1 (letrozole Dm = 10 nM, NVP-AEW541 Dm = 100 nM):
fu(a, b) = 1 / (1 + a/10) / (1 + b/100). For such data Chou & Talalay's (1984, Adv Enzyme
Regul 22:27) combination index at a point has the closed form CI = a/Dx1 + b/Dx2 (mutually
exclusive) and CI + a b / (Dx1 Dx2) (non-exclusive), with Dx_i = Dm_i (fa / fu).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from letrolab.instruments.plates import write_plate

DM = {"letrozole": 10.0, "NVP-AEW541": 100.0}


@pytest.fixture
def combo_read(tmp_path, test_data):
    layout = test_data / "plates" / "combo_6x6.layout.csv"
    lay = pd.read_csv(layout, keep_default_na=False)
    rows = []
    for x in lay.itertuples():
        if x.role == "blank":
            v = 0.08
        elif x.role == "vehicle":
            v = 1.60
        else:
            fu = (
                1 / (1 + float(x.conc1) / DM["letrozole"]) / (1 + float(x.conc2) / DM["NVP-AEW541"])
            )
            v = 0.08 + 1.52 * fu
        rows.append({"plate": "Plate 1", "well": x.well, "read": "A490", "value": v})
    read = tmp_path / "mts.txt"
    write_plate(read, pd.DataFrame(rows), format="gen5")
    return read, layout


def test_synergy_from_plate_read(run_cli, combo_read):
    read, layout = combo_read
    code, out, err = run_cli(
        "synergy", "--plate", read, "--layout", layout, "--model", "chou-talalay", "--json"
    )
    assert code == 0, err
    block = json.loads(out)["blocks"][0]
    assert block["block_id"] == "letrozole + NVP-AEW541"
    for drug, dm in DM.items():
        assert block["single_agents"][drug]["dm"] == pytest.approx(dm, rel=1e-9)
        assert block["single_agents"][drug]["m"] == pytest.approx(1.0, rel=1e-9)
    assert len(block["points"]) == 25  # the 5 x 5 combinations
    for p in block["points"]:
        a, b = p["conc"]["letrozole"], p["conc"]["NVP-AEW541"]
        fu = 1 / (1 + a / DM["letrozole"]) / (1 + b / DM["NVP-AEW541"])
        dx1, dx2 = (DM[d] * (1 - fu) / fu for d in DM)
        assert p["fa"] == pytest.approx(1 - fu, rel=1e-9)
        assert p["ci"] == pytest.approx(a / dx1 + b / dx2, rel=1e-6)
        assert p["ci_nonexclusive"] == pytest.approx(
            a / dx1 + b / dx2 + a * b / (dx1 * dx2), rel=1e-6
        )


def test_synergy_plate_errors(run_cli, combo_read, tmp_path):
    read, _ = combo_read
    (tmp_path / "one.csv").write_text(
        "well,role,drug1,conc1,unit\nA1,blank,,,\nA2,vehicle,,,\nB2,treated,x,1,nM\n"
    )
    code, out, err = run_cli("synergy", "--plate", read, "--layout", tmp_path / "one.csv", "--json")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "fewer than two drugs" in err


def test_synergy_plate_refuses_a_response_it_would_ignore(run_cli, combo_read):
    """A plate read is % viability; --response inhibition there must not be silently dropped."""
    read, layout = combo_read
    base = ("synergy", "--plate", read, "--layout", layout, "--model", "chou-talalay", "--json")
    code, out, err = run_cli(*base, "--response", "inhibition")
    assert code == 2 and out == ""
    assert err.startswith("error: --response inhibition does not apply to --plate")
    assert "plate reads are % viability" in err and err.count("\n") == 1
    # --response viability says what the plate gives anyway: same numbers as no --response
    code_v, out_v, err_v = run_cli(*base, "--response", "viability")
    code_n, out_n, _ = run_cli(*base)
    assert code_v == code_n == 0, err_v
    assert json.loads(out_v) == json.loads(out_n)
    # an unknown value is still named as such
    code, _, err = run_cli(*base, "--response", "percent")
    assert code == 2 and "--response must be 'inhibition' or 'viability'" in err


def test_bootstrap_from_plate_read(run_cli, combo_read):
    """--bootstrap reads the plate's wells (not the averaged table): an exact Bliss-independent
    read scores Bliss 0, and every resample of it too, so the interval is [0, 0]."""
    read, layout = combo_read
    code, out, err = run_cli(
        "synergy", "--plate", read, "--layout", layout, "--model", "bliss",
        "--bootstrap", "20", "--json",
    )  # fmt: skip
    assert code == 0, err
    s = json.loads(out)["blocks"][0]["summary"]
    assert s["bliss_mean"] == pytest.approx(0.0, abs=1e-9)
    assert s["bliss_mean_lo"] == pytest.approx(0.0, abs=1e-9)
    assert s["bliss_mean_hi"] == pytest.approx(0.0, abs=1e-9)
    assert s["bootstrap"]["n_boot"] == 20


def test_synergy_plate_with_two_reads_takes_read(run_cli, combo_read, tmp_path):
    read, layout = combo_read
    from letrolab.assays.plates import read_plate

    one = read_plate(read)
    two = pd.concat([one, one.assign(read="A650", value=0.05)], ignore_index=True)
    both = tmp_path / "two_reads.txt"
    write_plate(both, two[["plate", "well", "read", "value"]], format="gen5")
    base = ("synergy", "--plate", both, "--layout", layout, "--model", "chou-talalay", "--json")
    code, out, err = run_cli(*base)
    assert code == 2 and out == ""
    assert "holds several reads" in err and "--read LABEL" in err
    code, out, err = run_cli(*base, "--read", "A490")
    assert code == 0, err
    _, ref, _ = run_cli("synergy", "--plate", read, "--layout", layout, "--json")
    assert json.loads(out) == json.loads(ref)  # the same as the one-read file
    code, _, err = run_cli(*base, "--read", "A999")
    assert code == 2 and "has no read 'A999'" in err


def test_synergy_read_and_seed_are_checked(run_cli):
    from pathlib import Path

    import letrolab

    example = Path(letrolab.__file__).parent / "data" / "examples" / "letrozole_nvp_aew541.csv"
    code, _, err = run_cli("synergy", example, "--read", "A490")
    assert code == 2 and err.startswith("error: --read picks a read of a --plate file")
    code, _, err = run_cli(
        "synergy", example, "--model", "bliss", "--bootstrap", "20", "--seed", "-1"
    )
    assert code == 2 and err == "error: --seed must be a whole number >= 0, not -1\n"
