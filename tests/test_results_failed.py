import pytest

from letrolab._results import Failed
from letrolab.errors import FitError


def test_failed_is_falsy_and_says_why():
    f = Failed("only 1 usable point", what="median-effect fit of A")
    assert not f
    with pytest.raises(
        FitError, match=r"median-effect fit of A failed: only 1 usable point \(no 'dm'\)"
    ):
        _ = f.dm
    with pytest.raises(FitError, match="only 1 usable point"):
        float(f)
    assert f.summary() == {
        "ok": False,
        "what": "median-effect fit of A",
        "reason": "only 1 usable point",
    }


def test_failed_is_immutable():
    f = Failed("x")
    with pytest.raises(AttributeError, match="immutable"):
        f.reason = "y"
