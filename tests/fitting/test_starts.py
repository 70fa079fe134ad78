"""A start of the multi-start fit counts as converged only where the model could be simulated."""

from __future__ import annotations

import numpy as np


def test_a_start_where_the_model_fails_is_not_converged():
    """Where the model cannot be simulated every residual is FAILED_RESIDUAL: least_squares
    then stops at once with status 1 (zero gradient), which must not count as converged."""
    from types import SimpleNamespace

    from letrolab.fitting.estimate import _one_start
    from letrolab.fitting.problem import FAILED_RESIDUAL

    stub = SimpleNamespace(
        residuals=lambda x: np.full(4, FAILED_RESIDUAL),
        lower=np.array([-1.0, -1.0]),
        upper=np.array([1.0, 1.0]),
    )
    start = _one_start(stub, np.zeros(2), max_nfev=20)
    assert not start.converged and "could not be simulated" in start.message
    ok = SimpleNamespace(residuals=lambda x: x - 0.5, lower=stub.lower, upper=stub.upper)
    assert _one_start(ok, np.zeros(2), max_nfev=50).converged
