"""The dask.distributed engine of screens (a tiny in-process LocalCluster)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from letrolab.errors import InputError
from letrolab.synergy.reference import reference_scores
from letrolab.synergy.screen import score_screen

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="dask.distributed not installed"
)


def _screen(n_blocks: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    d = np.array([0.0, 1.0, 10.0, 100.0])
    x1, x2 = (a.ravel() for a in np.meshgrid(d, d, indexing="ij"))
    rows = []
    for b in range(n_blocks):
        y = 100 - (100 - 100 * x1 / (x1 + 8)) * (100 - 100 * x2 / (x2 + 20)) / 100
        rows.append(
            pd.DataFrame(
                {
                    "block_id": f"b{b}",
                    "drug_row": "A",
                    "drug_col": "B",
                    "conc_r": x1,
                    "conc_c": x2,
                    "response": y + rng.normal(0, 4, y.size),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_dask_local_cluster_equals_numpy_engine():
    df = _screen(12)
    ref = reference_scores(df, models="all")
    r = score_screen(
        df,
        engine="dask",
        scheduler="local",
        n_workers=1,
        processes=False,
        chunk_rows=48,
        progress=False,
    )
    assert r.n_blocks == 12
    for m in ("bliss", "hsa", "loewe", "zip"):
        np.testing.assert_allclose(r.scores[m], ref.scores[m], atol=1e-9)


def test_unreachable_scheduler_is_an_input_error():
    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        score_screen(
            _screen(1),
            engine="dask",
            scheduler="tcp://127.0.0.1:1",
            connect_timeout=1.0,
            progress=False,
        )
