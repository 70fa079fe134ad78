"""Model names, scoring conventions and the block warnings they share.

The conventions themselves (what each fits and how) live in
:mod:`letrolab.synergy.reference.conventions`; this module holds only the names and checks, so
that every module of the package can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from letrolab.errors import InputError

__all__ = [
    "CONVENTIONS",
    "DEFAULT_CONVENTION",
    "MODELS",
    "MSA_SMALL_NOTE",
    "SF2_SA_FAILED",
    "ZIP_OBSERVED_NOTE",
    "check_convention",
    "check_models",
    "loewe_fallback_note",
    "sa_failed_note",
]

MODELS = ("bliss", "hsa", "loewe", "zip")

#: Scoring conventions. ``"synergyfinder3"`` (the default): as SynergyFinder 3 / Plus, all four
#: log-logistic parameters of the single agents fitted (its ``Emin = NA, Emax = NA``), Loewe
#: by its 100-step grid search over effects, uncapped, two-drug ZIP by its slice re-fits
#: (:mod:`letrolab.synergy.reference.zip_nd`, as for N drugs under every convention). ``"free"``:
#: the same single agents, Loewe by the exact root and its fallback, two-drug ZIP by Yadav
#: et al.'s (2015) original re-fit rule (bottom fixed at the partner's fitted effect, top at
#: 100, zero-dose well left out), as SynergyFinder 1-2 re-fitted. ``"synergyfinder2"``: bottom
#: fixed at 0 and top at 100 % inhibition (SynergyFinder 1-2's ``CalculateSynergy(..., Emin = 0,
#: Emax = 100)``), the Loewe expectation capped at 100 as in its ``CalculateLoewe``, and two-drug
#: ZIP as its ``ZIP()`` computed it (drc's fits emulated,
#: :mod:`letrolab.synergy.reference.rcompat`).
CONVENTIONS = ("free", "synergyfinder2", "synergyfinder3")

#: The convention used when none is given.
DEFAULT_CONVENTION = "synergyfinder3"

SF2_SA_FAILED = (
    "synergyfinder2: drc's LL.4 fit of a single agent failed (R's optim would stop "
    "with an error); its Loewe or ZIP is not defined for this block"
)

MSA_SMALL_NOTE = "the combination matrix is smaller than 3 x 3: no most synergistic area"

ZIP_OBSERVED_NOTE = (
    "ZIP: {n} re-fitted value(s) from row/column fits that did not converge "
    "use the observed response (SynergyFinder's rule)"
)


def check_convention(convention: str) -> str:
    """``convention`` if it is one of :data:`CONVENTIONS`; else :class:`InputError`."""
    if convention not in CONVENTIONS:
        raise InputError(f"unknown convention {convention!r}; use one of {', '.join(CONVENTIONS)}")
    return convention


def sa_failed_note(drug: str, reason: str) -> str:
    """Block warning for a single-agent fit that failed."""
    return (
        f"single-agent fit of {drug} failed ({reason}); "
        "Loewe and ZIP are not defined for this block"
    )


def loewe_fallback_note(n: int, convention: str) -> str:
    """Block warning for ``n`` Loewe cells scored by the fallback ``max_i E_i(total dose)``."""
    if convention == "synergyfinder3":
        why = "whose observed response no single drug's curve reaches"
        who = "SynergyFinder 3's fallback"
    else:
        why = "whose expected effect lies beyond a partner's maximum effect"
        who = "SynergyFinder's fallback"
    return f"Loewe: {n} cell(s) {why} use max_i E_i(total dose) instead ({who})"


def check_models(models: str | Iterable[str]) -> tuple[str, ...]:
    """Model names from ``"bliss,zip"``, ``"all"`` or an iterable; :class:`InputError` if none
    or unknown."""
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",")]
    out: list[str] = []
    for m in models:
        m = m.lower()
        names = MODELS if m == "all" else (m,)
        for n in names:
            if n not in MODELS:
                raise InputError(
                    f"unknown reference model {m!r}; use bliss, hsa, loewe, zip or all"
                )
            if n not in out:
                out.append(n)
    if not out:
        raise InputError("no model given; use bliss, hsa, loewe, zip or all")
    return tuple(out)
