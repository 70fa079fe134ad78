import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from letrolab.errors import InputError, UnitError
from letrolab.units import from_molar, molar_factor, parse_quantity, to_molar


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("pM", 1e-12),
        ("nM", 1e-9),
        ("uM", 1e-6),
        ("µM", 1e-6),
        ("μM", 1e-6),
        ("mM", 1e-3),
        ("M", 1.0),
    ],
)
def test_molar_factors(unit, factor):
    assert molar_factor(unit) == factor


@pytest.mark.parametrize("unit", ["furlong", "", "nMol/kg"])
def test_unknown_unit_is_a_clear_error(unit):
    with pytest.raises(UnitError, match="concentration unit"):
        molar_factor(unit)


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, InputError)
    assert issubclass(UnitError, ValueError)


def test_mass_concentration_needs_molecular_weight():
    # Letrozole, MW 285.3 g/mol (FACTS.md): 47 ng/mL is 164.7 nM.
    assert to_molar(47.0, "ng/mL", mw=285.3) * 1e9 == pytest.approx(164.74, abs=0.01)
    with pytest.raises(UnitError, match="molecular weight"):
        to_molar(47.0, "ng/mL")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10nM", (10.0, "nM")),
        ("2.5 uM", (2.5, "uM")),
        ("1e-9 M", (1e-9, "M")),
        (".5mg/day", (0.5, "mg/day")),
    ],
)
def test_parse_quantity(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["ten nM", "nM", "", "1..2nM"])
def test_parse_quantity_rejects_garbage(text):
    with pytest.raises(UnitError, match="quantity"):
        parse_quantity(text)


def test_parse_quantity_default_unit():
    assert parse_quantity("3", default_unit="nM") == (3.0, "nM")
    with pytest.raises(UnitError, match="no unit"):
        parse_quantity("3")


@given(
    st.floats(min_value=1e-6, max_value=1e6),
    st.sampled_from(["pM", "nM", "uM", "mM", "M"]),
)
def test_round_trip(value, unit):
    assert from_molar(to_molar(value, unit), unit) == pytest.approx(value, rel=1e-12)
    assert np.isfinite(to_molar(value, unit))
