"""Cell-line, drug and PK catalogues look names up through one normaliser (model._names)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letrolab.model._names import name_key
from letrolab.model.cell_lines import get_cell_line
from letrolab.model.drugs import load_catalogue
from letrolab.model.patient.pk import load_pk_catalogue, lookup


@pytest.mark.parametrize("typed", ["mcf7-aro", "MCF7 ARO", "Mcf7_Aro", " mcf7aro "])
def test_cell_line_spellings(typed):
    assert get_cell_line(typed).name == "mcf7-aro"


@pytest.mark.parametrize("typed", ["letrozole", "LETROZOLE", "Letro-zole", "letrozole "])
def test_drug_and_pk_catalogues_agree_on_spellings(typed):
    cat = load_catalogue()
    assert typed in cat and cat[typed].name == "letrozole"
    pk = lookup(load_pk_catalogue(), typed)
    assert pk is not None and name_key(pk.drug) == "letrozole"


@given(st.text(max_size=30))
def test_name_key_is_idempotent_and_alphanumeric(s):
    k = name_key(s)
    assert name_key(k) == k
    assert all(c.isascii() and (c.isdigit() or c.islower()) for c in k)
