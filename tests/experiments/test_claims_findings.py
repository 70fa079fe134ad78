"""A claim that fails as a prediction says what biology the model is missing (issue 12)."""

from __future__ import annotations

from letrolab.experiments.claims import CLAIMS, FINDINGS


def test_findings_name_real_claims():
    assert set(FINDINGS) <= set(CLAIMS)


def test_a_failing_claim_carries_its_finding_and_a_holding_one_does_not():
    claim = CLAIMS["S7"]
    failed = claim.result("fails", "model text")
    assert failed.finding == FINDINGS["S7"]
    assert claim.result("holds", "model text").finding == ""
    assert claim.result("not evaluated", "n/a").finding == ""
    # claims.json keeps its contract: the finding is report text, not a new key
    assert "finding" not in failed.summary()
