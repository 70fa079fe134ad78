"""One validation layer at the input boundary, shared by every sub-command and reader.

Bad input never becomes a number: each function here either returns a usable value or raises
an :class:`~letrolab.errors.InputError` whose one-line message names the value, the bound and
the fix (the CLI prints it as ``error: ...``, exit status 2). Repairs that change numbers
(doses snapped to the block's grid) are said by the caller as warnings.

The bounds are stated once, in :class:`Bound` objects, and the command-line help quotes them
(:meth:`Bound.describe`), so ``--help`` and the refusal say the same thing.

This is the project's own code: the checks are about letrolab's own tables and options
(pandera/pydantic would add a dependency for a few comparisons and would not give the
one-line, fix-naming messages the CLI contract asks for).
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from letrolab.errors import InputError

__all__ = [
    "CONTROL_TOLERANCE_PCT",
    "MAX_CONC_MOLAR",
    "MAX_CONC_UNITLESS",
    "MAX_RESPONSE_PCT",
    "MIN_CONC_MOLAR",
    "RESPONSE_SCALES",
    "Bound",
    "available_memory",
    "check_concentrations",
    "check_memory",
    "control_warnings",
    "finite_array",
    "response_to_percent",
    "snap_to_grid",
    "unique_columns",
]

#: Highest concentration accepted, in molar. No solute reaches 10 M in a culture medium or
#: plasma (water itself is 55.5 M); a larger dose is a unit or typing error.
MAX_CONC_MOLAR = 10.0
#: Lowest non-zero concentration accepted, in molar: 1e-24 M is less than one molecule per
#: litre (Avogadro's number is 6.022e23 per mole).
MIN_CONC_MOLAR = 1e-24
#: Highest concentration accepted where the input gives no unit (10 M written in pM).
MAX_CONC_UNITLESS = 1e13
#: Responses beyond +-this many percent are raw instrument reads, not percentages.
MAX_RESPONSE_PCT = 1e4
#: A zero-dose control further than this from 0 % inhibition (100 % viability) is flagged.
CONTROL_TOLERANCE_PCT = 15.0
#: What ``--response-scale`` accepts. ``None`` (default): percent, refusing data that look like
#: fractions; ``"percent"``: percent, no check; ``"fraction"``: 0-1, multiplied by 100.
RESPONSE_SCALES = ("percent", "fraction")


@dataclass(frozen=True)
class Bound:
    """Closed (or left-open) interval a number must lie in, with the option's name.

    Attributes
    ----------
    name : str
        How the value is called in messages (``"--days"``).
    lo, hi : float
        Bounds; ``lo_open`` makes the lower one exclusive (``> 0``).
    integer : bool
        Whether a whole number is required.
    unit : str
        Unit shown after the numbers in messages.

    Examples
    --------
    >>> days = Bound("--days", 0, 3650, lo_open=True, unit="days")
    >>> days.describe()
    '> 0 and <= 3650 days'
    >>> days(6)
    6.0
    >>> days(float("nan"))
    Traceback (most recent call last):
    ...
    letrolab.errors.InputError: --days must be a finite number > 0 and <= 3650 days, not nan
    """

    name: str
    lo: float
    hi: float
    lo_open: bool = False
    integer: bool = False
    unit: str = ""

    def describe(self) -> str:
        """The bounds as the help text and the error message state them."""
        lo = f"> {_num(self.lo)}" if self.lo_open else f">= {_num(self.lo)}"
        return f"{lo} and <= {_num(self.hi)}" + (f" {self.unit}" if self.unit else "")

    def __call__(self, value) -> float | int:
        """Return ``value`` (a float, or an int with ``integer``) or raise InputError."""
        kind = "a whole number" if self.integer else "a finite number"
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            raise InputError(
                f"{self.name} must be {kind} {self.describe()}, not {value!r}"
            ) from None
        ok = math.isfinite(x) and (x > self.lo if self.lo_open else x >= self.lo) and x <= self.hi
        if ok and self.integer and x != int(x):
            ok = False
        if not ok:
            raise InputError(f"{self.name} must be {kind} {self.describe()}, not {value!r}")
        return int(x) if self.integer else x


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def finite_array(values, name: str) -> np.ndarray:
    """``values`` as a float array, refusing NaN and infinities (naming ``name``)."""
    arr = np.asarray(values, dtype=float)
    if not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)][0]
        raise InputError(f"{name} holds {bad!r}; give finite numbers")
    return arr


# --------------------------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------------------------
def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_bytes: float, what: str, fix: str) -> None:
    """Refuse a job whose estimated memory ``n_bytes`` exceeds what the machine has free.

    Parameters
    ----------
    n_bytes : float
        Estimate of the largest allocation set of the job.
    what : str
        The job (``"--bootstrap 1000000000 on 66 wells"``).
    fix : str
        What to do instead (``"give fewer resamples"``).

    Raises
    ------
    InputError
        Naming the estimate and the free memory.
    """
    free = available_memory()
    if free is not None and n_bytes > free:
        raise InputError(
            f"{what} would need about {_size(n_bytes)} of memory, more than the "
            f"{_size(free)} free; {fix}"
        )


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
_MANGLED = re.compile(r"^(.*)\.(\d+)$")


def unique_columns(
    columns: Iterable, *, where: str, key: Callable[[str], str] | None = None
) -> None:
    """Refuse a table whose column names repeat.

    Catches exact repeats, pandas' renamed repeats (``response`` and ``response.1``, which
    :func:`pandas.read_csv` makes of a repeated header) and, with ``key``, names that the
    reader would take for the same column (``Response`` and ``response``).

    Raises
    ------
    InputError
        Naming the repeated column and ``where`` (the file).
    """
    cols = [str(c) for c in columns]
    counts = Counter(cols)
    dup = [c for c, n in counts.items() if n > 1]
    present = set(cols)
    dup += [m.group(1) for c in cols if (m := _MANGLED.match(c)) and m.group(1) in present]
    if key is not None and not dup:
        seen: dict[str, str] = {}
        for c in cols:
            k = key(c)
            if k in seen:
                raise InputError(
                    f"{where}: columns '{seen[k]}' and '{c}' name the same column (letrolab "
                    "ignores case, spaces and punctuation in column names); keep one"
                )
            seen[k] = c
    if dup:
        raise InputError(
            f"{where}: column '{dup[0]}' appears more than once; give each column once "
            "(letrolab would not know which one to use)"
        )


def check_concentrations(values, name: str, *, unitless: bool) -> np.ndarray:
    """Concentrations as a float array: finite, >= 0 and physically possible.

    ``values`` are in molar, or as given when ``unitless`` (no unit in the input).

    Raises
    ------
    InputError
        For NaN, infinite, negative or impossible (> :data:`MAX_CONC_MOLAR` M, or positive
        below :data:`MIN_CONC_MOLAR` M) values, naming the column ``name``.
    """
    arr = np.asarray(values, dtype=float)
    if np.isnan(arr).any():
        raise InputError(f"column {name!r} has missing or non-numeric concentrations")
    if np.isinf(arr).any():
        raise InputError(f"column {name!r} has infinite concentrations; give finite doses")
    if (arr < 0).any():
        raise InputError(f"column {name!r} has negative concentrations")
    top = MAX_CONC_UNITLESS if unitless else MAX_CONC_MOLAR
    if arr.size and arr.max() > top:
        shown = f"{arr.max():g}" if unitless else f"{arr.max():g} M"
        limit = f"{top:g} (no unit given)" if unitless else f"{top:g} M"
        raise InputError(
            f"column {name!r} has a concentration of {shown}, above the {limit} any solution "
            "can hold; check the dose and its unit"
        )
    pos = arr[arr > 0]
    if not unitless and pos.size and pos.min() < MIN_CONC_MOLAR:
        raise InputError(
            f"column {name!r} has a concentration of {pos.min():g} M, below one molecule per "
            "litre; check the dose and its unit"
        )
    return arr


def snap_to_grid(
    values, grid, *, rtol: float = 1e-9, digits: int = 12, unit_factor: float = 1.0
) -> np.ndarray:
    """Put unit-converted doses onto the block's dose grid.

    ``0.1 uM`` converted to molar is ``1.0000000000000001e-07`` while ``100 nM`` is ``1e-07``;
    left alone, the two would be different doses and the block's grid would misalign. Each
    value within ``rtol`` of a grid value takes that grid value exactly; the others are
    rounded to ``digits`` significant digits (far above any pipette's precision) in the
    block's display unit (``unit_factor``: molar per display unit), as a dose written in that
    unit would be.

    Examples
    --------
    >>> snap_to_grid([0.1 * 1e-6, 3e-9 * (1 + 1e-15)], [1e-7])
    array([1.e-07, 3.e-09])
    """
    x = np.asarray(values, dtype=float)
    g = np.unique(np.asarray(grid, dtype=float))
    out = np.array([float(f"{v / unit_factor:.{digits}g}") * unit_factor for v in x])
    out = out.reshape(x.shape)
    if g.size and x.size:
        i = np.clip(np.searchsorted(g, x), 1, g.size) - 1
        best = g[i]
        alt = g[np.minimum(i + 1, g.size - 1)]
        best = np.where(np.abs(alt - x) < np.abs(best - x), alt, best)
        close = np.abs(best - x) <= rtol * np.maximum(np.abs(x), np.abs(best))
        out = np.where(close, best, out)
    return out


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------
def response_to_percent(values, scale: str | None, *, where: str = "response") -> np.ndarray:
    """Responses in percent, checked: fractions are refused unless ``scale == "fraction"``.

    Parameters
    ----------
    values : array_like
        The response column as read (NaN where unreadable: those are kept, the caller drops
        and reports them).
    scale : {None, "percent", "fraction"}
        None: percent, and a column whose every value lies in [-0.5, 1.5] with a spread of at
        least 0.2 is refused as fractions (a percent-scale experiment whose every well lies
        within 1.5 % of zero has no effect to analyse). ``"percent"`` skips that check;
        ``"fraction"`` multiplies by 100.

    Raises
    ------
    InputError
        For fractions without ``scale="fraction"``, an unknown ``scale``, infinite values or
        values beyond +-:data:`MAX_RESPONSE_PCT` % (raw reads, not percentages).
    """
    if scale not in (None, *RESPONSE_SCALES):
        raise InputError(f"--response-scale must be 'percent' or 'fraction', not {scale!r}")
    r = np.asarray(values, dtype=float)
    if np.isinf(r).any():
        raise InputError(f"{where} has infinite values; give finite percentages")
    fin = r[np.isfinite(r)]
    if scale == "fraction":
        if fin.size and np.abs(fin).max() > 1.5:
            raise InputError(
                f"{where} has values up to {np.abs(fin).max():g}, which are not fractions; "
                "drop --response-scale fraction"
            )
        return r * 100.0
    if (
        scale is None
        and fin.size >= 3
        and fin.min() >= -0.5
        and fin.max() <= 1.5
        and fin.max() - fin.min() >= 0.2
    ):
        raise InputError(
            f"{where} looks like fractions (every value between {fin.min():.3g} and "
            f"{fin.max():.3g}), not percentages; give --response-scale fraction (API: "
            "scale='fraction'), or --response-scale percent if they really are percentages"
        )
    if fin.size and np.abs(fin).max() > MAX_RESPONSE_PCT:
        raise InputError(
            f"{where} has a value of {fin[np.argmax(np.abs(fin))]:g} %, beyond "
            f"+-{MAX_RESPONSE_PCT:g} %: raw instrument reads, not percentages; normalise them "
            "to the vehicle control first"
        )
    return r


def control_warnings(block_ids, conc, inhibition) -> list[str]:
    """Warnings for blocks whose zero-dose control is far from 0 % inhibition.

    Responses are expected normalised to the vehicle control: its wells read 0 % inhibition
    (100 % viability) up to noise. A control mean further than
    :data:`CONTROL_TOLERANCE_PCT` points from 0 usually means a wrong normalisation or the
    wrong ``--response``.

    Parameters
    ----------
    block_ids : array_like of str, shape (n,)
    conc : array_like, shape (n, k)
        Concentrations of the k drugs per well.
    inhibition : array_like, shape (n,)
        % inhibition per well.
    """
    bids = np.asarray(block_ids).astype(str)
    zero = (np.asarray(conc, dtype=float) == 0).all(axis=1)
    y = np.asarray(inhibition, dtype=float)
    out = []
    for bid in dict.fromkeys(bids[zero]):
        m = float(np.mean(y[zero & (bids == bid)]))
        if abs(m) > CONTROL_TOLERANCE_PCT:
            out.append(
                f"block {bid}: the zero-dose control reads {m:.3g} % inhibition "
                f"({100 - m:.3g} % viability), more than {CONTROL_TOLERANCE_PCT:g} points from "
                "0 %; responses should be normalised to the vehicle control - check the "
                "normalisation and --response"
            )
    return out
