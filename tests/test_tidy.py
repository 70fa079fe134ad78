import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError, UnitError
from letrolab.synergy.tidy import read_combination


def _two_drug(**over):
    df = pd.DataFrame(
        {
            "block_id": [1, 1, 1, 1],
            "drug_row": ["A"] * 4,
            "drug_col": ["B"] * 4,
            "conc_r": [0, 1, 0, 1],
            "conc_c": [0, 0, 2, 2],
            "response": [0.0, 20.0, 30.0, 60.0],
            "conc_r_unit": ["nM"] * 4,
            "conc_c_unit": ["nM"] * 4,
        }
    )
    for k, v in over.items():
        df[k] = v
    return df


def test_two_drug_layout_is_normalised_to_molar():
    d = read_combination(_two_drug())
    (b,) = list(d.blocks())
    assert b.drugs == ("A", "B")
    assert b.unit == "nM"
    np.testing.assert_allclose(b.conc[:, 0], [0, 1e-9, 0, 1e-9])
    np.testing.assert_allclose(b.conc_display[:, 1], [0, 0, 2, 2])


def test_viability_is_converted_to_inhibition():
    d = read_combination(_two_drug(response=[100.0, 80.0, 70.0, 40.0]), response="viability")
    np.testing.assert_allclose(next(d.blocks()).response, [0, 20, 30, 60])


def test_mixed_units_are_converted_with_a_warning():
    d = read_combination(_two_drug(conc_c=[0, 0, 0.002, 0.002], conc_c_unit=["uM"] * 4))
    b = next(d.blocks())
    np.testing.assert_allclose(b.conc_display[:, 1], [0, 0, 2, 2])
    assert any("mixed concentration units" in w for w in d.warnings)


def test_replicates_are_averaged_and_counted():
    df = pd.concat([_two_drug(), _two_drug(response=[2.0, 22.0, 32.0, 62.0])])
    b = next(read_combination(df).blocks())
    np.testing.assert_allclose(b.response, [1, 21, 31, 61])
    np.testing.assert_array_equal(b.n, [2, 2, 2, 2])
    np.testing.assert_allclose(b.sd, np.sqrt(2.0))


def test_nan_wells_are_dropped_with_a_warning():
    d = read_combination(_two_drug(response=[0.0, np.nan, 30.0, 60.0]))
    assert len(d.table) == 3
    assert d.warnings == ("block 1: 1 well(s) with missing or non-numeric response dropped",)


def test_unknown_unit_is_rejected():
    with pytest.raises(UnitError, match="furlong"):
        read_combination(_two_drug(conc_r_unit=["furlong"] * 4))


def test_negative_concentration_is_rejected():
    with pytest.raises(InputError, match="negative"):
        read_combination(_two_drug(conc_r=[0, -1, 0, 1]))


def test_missing_response_column_is_rejected():
    with pytest.raises(InputError, match="no 'response' column"):
        read_combination(_two_drug().drop(columns="response"))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_combination(tmp_path / "nope.csv")


def test_shared_examples_read(shared_data):
    ncats = read_combination(shared_data / "synergy" / "synergyfinder_NCATS_screening_data.csv")
    assert ncats.n_drugs == 3
    oneil = read_combination(shared_data / "synergy" / "synergyfinder_ONEIL_screening_data.csv")
    assert (oneil.table["n"] == 4).all()
    v1 = read_combination(shared_data / "synergy" / "synergyfinder_v1_exampleTable.csv")
    assert len(v1.block_ids) == 6


def test_empty_and_misnamed_files_say_what_is_wrong(tmp_path):
    from letrolab.errors import FormatError

    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(FormatError, match=r"empty.csv is empty; give a table with a header row"):
        read_combination(tmp_path / "empty.csv")
    (tmp_path / "commas.tsv").write_text(
        "block_id,drug_row,drug_col,conc_r,conc_c,response,conc_r_unit,conc_c_unit\n"
        "b,x,y,1,0,10,nM,nM\n"
    )
    with pytest.raises(FormatError, match=r"commas.tsv is named .tsv .* name it .csv"):
        read_combination(tmp_path / "commas.tsv")


def test_implausible_responses_are_scored_but_named():
    """-200 % inhibition (a viability of 300 %) or 150 % (far below the blank) is flagged per
    block with its count and the most extreme value; plausible blocks get no such warning."""
    from letrolab.synergy.tidy import RESPONSE_RANGE, normalise_combination

    df = pd.DataFrame(
        {
            "block_id": ["a"] * 4 + ["b"] * 4,
            "drug_row": "A",
            "drug_col": "B",
            "conc_r": [0, 1, 0, 1] * 2,
            "conc_c": [0, 0, 1, 1] * 2,
            "response": [0.0, -200.0, -150.0, 150.0, 0.0, 20.0, 30.0, 119.0],
        }
    )
    data = normalise_combination(df)
    assert RESPONSE_RANGE == (-100.0, 120.0)
    assert data.warnings == (
        "block a: 3 response(s) outside -100 to 120 % inhibition (e.g. -200); check that "
        "responses are percentages and that --response (inhibition) is right",
    )
    # Scored as given: the values are kept.
    assert sorted(data.table["response"])[:2] == [-200.0, -150.0]
