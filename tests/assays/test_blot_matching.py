"""Band matching across lanes: the shortcut for uncontested pairs gives what the assignment of
least total distance (scipy.optimize.linear_sum_assignment, the reference) gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from letrolab.assays.blot import _pair_nearest

positions = st.lists(st.integers(0, 200), min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(positions, positions, st.integers(1, 30))
def test_pairs_are_the_least_distance_assignment(rows, last, tol):
    r, t = np.array(rows), np.array(last)
    cost = np.abs(np.subtract.outer(r, t)).astype(float)
    near = cost <= tol
    got = _pair_nearest(r, t, float(tol))
    i, j = linear_sum_assignment(np.where(near, cost, 1e9))
    want = {int(a): int(b) for a, b in zip(i, j, strict=True) if near[a, b]}
    assert len(got) == len(want)  # as many pairs within tol
    assert sum(cost[a, b] for a, b in got.items()) == sum(cost[a, b] for a, b in want.items())
    assert all(near[a, b] for a, b in got.items())
    assert len(set(got.values())) == len(got)  # a track takes one peak
