"""Property: any partial-plate layout written by ``write_plate`` reads back to the same wells.

Partial plates are where a reader puts a value one column off (issue 13: a SoftMax Pro plate
starting at column 2). Here hypothesis draws the plate format (96, 384, 1536 wells), which
wells hold a value (empty edge columns and rows, a block in the middle, scattered wells), the
values (any finite float) and some flagged wells; every value must come back in its own well,
every written flag unchanged, and every well not written must be ``missing``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letrolab.assays.plates import read_plate, row_letters
from letrolab.instruments.plates import write_plate

GEOMETRY = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}


@st.composite
def partial_plates(draw):
    n = draw(st.sampled_from(sorted(GEOMETRY)))
    nr, nc = GEOMETRY[n]
    # a rectangle (edge rows/columns left empty) or scattered wells
    if draw(st.booleans()):
        r0 = draw(st.integers(0, nr - 1))
        r1 = draw(st.integers(r0, nr - 1))
        c0 = draw(st.integers(0, nc - 1))
        c1 = draw(st.integers(c0, nc - 1))
        cells = [(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
    else:
        idx = draw(st.sets(st.integers(0, nr * nc - 1), min_size=1, max_size=60))
        cells = [divmod(i, nc) for i in sorted(idx)]
    cells = cells[:300]  # keep examples small; the positions are what matters
    # the writer sizes the plate from its last row and column: keep the drawn format's corner
    # inside the written set by always writing the plate's last well (as a reader would)
    if (nr - 1, nc - 1) not in cells:
        cells.append((nr - 1, nc - 1))
    letters = row_letters(nr)
    values = draw(
        st.lists(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            min_size=len(cells),
            max_size=len(cells),
        )
    )
    flags = draw(
        st.lists(
            st.sampled_from(["ok", "ok", "ok", "saturated"]),
            min_size=len(cells),
            max_size=len(cells),
        )
    )
    wells = pd.DataFrame(
        {
            "plate": "P1",
            "well": [f"{letters[r]}{c + 1}" for r, c in cells],
            "read": "A490",
            "value": [v if f == "ok" else np.nan for v, f in zip(values, flags, strict=True)],
            "flag": flags,
        }
    )
    return n, wells


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=partial_plates(), fmt=st.sampled_from(["matrix", "tidy", "gen5"]))
def test_partial_plate_reads_back_to_the_same_wells(tmp_path, case, fmt):
    n, wells = case
    path = write_plate(tmp_path / f"p.{fmt}.txt", wells, format=fmt)
    back = read_plate(path)
    got = back.set_index("well")
    for w, v, f in zip(wells["well"], wells["value"], wells["flag"], strict=True):
        assert got.loc[w, "flag"] == f, w
        if f == "ok":
            assert got.loc[w, "value"] == v, w  # bit for bit, in its own well
    others = back[~back["well"].isin(set(wells["well"]))]
    assert (others["flag"] == "missing").all()
    if fmt != "tidy":  # matrix and Gen5 exports hold the whole plate
        assert len(back) == n
    assert set(back["kind"]) == {"raw"}
