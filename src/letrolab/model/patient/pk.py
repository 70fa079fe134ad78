"""The clinical PK catalogue: one-compartment oral PK of drugs with verified clinical data.

``pk.csv`` beside this module holds one row per drug::

    drug, route, ka_per_h, cl_f_L_per_h, v_f_L, v_ref_weight_kg, v_weight_exponent, f, mw,
    cyp2a6_factor_1, cyp2a6_factor_2, omega_cl, omega_v, omega_ka, status, source

with the apparent clearance ``CL/F`` of a patient without CYP2A6 variant alleles, the apparent
volume ``V/F = v_f_L (WT / v_ref_weight_kg)^v_weight_exponent`` (blank reference weight: no
weight effect), the factors on ``CL/F`` for one and two reduced-function CYP2A6 alleles (blank:
1), and the log-normal inter-individual SDs. A user adds a drug by adding a row (or by passing
their own CSV to :func:`load_pk_catalogue`); a drug without a row can still be given as a steady
plasma exposure (``nvp-aew541:1uM``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from letrolab.errors import FormatError, InputError

# the drug and PK catalogues must normalise names alike: one normaliser for both
from letrolab.model._names import name_key

__all__ = ["DrugPK", "load_pk_catalogue"]

DEFAULT_PK = Path(__file__).with_name("pk.csv")
_REQUIRED = ("drug", "route", "ka_per_h", "cl_f_L_per_h", "v_f_L", "f", "mw", "source")


@dataclass(frozen=True)
class DrugPK:
    """Typical-patient oral PK of one drug, with covariate effects and variability."""

    drug: str
    ka_per_h: float
    cl_f_L_per_h: float
    v_f_L: float
    v_ref_weight_kg: float | None
    v_weight_exponent: float
    f: float
    mw: float
    cyp2a6_factor_1: float
    cyp2a6_factor_2: float
    omega_cl: float
    omega_v: float
    omega_ka: float
    status: str
    source: str

    def volume(self, weight_kg):
        """Apparent volume (L) at body weight ``weight_kg``."""
        if self.v_ref_weight_kg is None:
            return self.v_f_L + 0.0 * weight_kg
        return self.v_f_L * (weight_kg / self.v_ref_weight_kg) ** self.v_weight_exponent

    def clearance(self, cyp2a6_variants):
        """Apparent clearance (L/h) for 0, 1 or 2 reduced-function CYP2A6 alleles."""
        import numpy as np

        g = np.asarray(cyp2a6_variants)
        factor = np.select(
            [g == 0, g == 1, g == 2], [1.0, self.cyp2a6_factor_1, self.cyp2a6_factor_2]
        )
        return self.cl_f_L_per_h * factor


def _float(row: dict, col: str, path: Path, *, default: float | None = None) -> float | None:
    text = (row.get(col) or "").strip()
    if not text:
        if default is not None or col in {"v_ref_weight_kg"}:
            return default
        raise FormatError(f"{path.name}: drug {row.get('drug')!r} has no {col}; fill it in")
    try:
        value = float(text)
    except ValueError:
        raise FormatError(
            f"{path.name}: {col} of {row.get('drug')!r} is {text!r}, not a number"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise FormatError(f"{path.name}: {col} of {row.get('drug')!r} must be finite and >= 0")
    return value


def load_pk_catalogue(path: str | Path | None = None) -> dict[str, DrugPK]:
    """Read the PK catalogue (``pk.csv`` by default) into ``{normalised name: DrugPK}``.

    Examples
    --------
    >>> pk = load_pk_catalogue()
    >>> round(pk["letrozole"].volume(51.1), 1), pk["letrozole"].f
    (94.2, 0.999)
    """
    path = Path(path) if path is not None else DEFAULT_PK
    if path.exists() and not path.is_file():  # a folder, device or pipe
        raise FormatError(f"{path}: not a regular file; give a CSV PK catalogue like pk.csv")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fieldnames = list(reader.fieldnames or [])
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FormatError(
            f"{path.name}: not a readable CSV PK catalogue ({exc}); give a UTF-8 CSV like pk.csv"
        ) from None
    missing = [c for c in _REQUIRED if c not in fieldnames]
    if missing:
        raise FormatError(f"{path.name}: missing column(s) {', '.join(missing)}")
    out: dict[str, DrugPK] = {}
    for row in rows:
        name = (row["drug"] or "").strip()
        if not name:
            continue
        if (row.get("route") or "").strip() != "oral":
            raise FormatError(f"{path.name}: {name}: only route 'oral' is supported")
        pk = DrugPK(
            drug=name,
            ka_per_h=_float(row, "ka_per_h", path),
            cl_f_L_per_h=_float(row, "cl_f_L_per_h", path),
            v_f_L=_float(row, "v_f_L", path),
            v_ref_weight_kg=_float(row, "v_ref_weight_kg", path),
            v_weight_exponent=_float(row, "v_weight_exponent", path, default=0.0),
            f=_float(row, "f", path),
            mw=_float(row, "mw", path),
            cyp2a6_factor_1=_float(row, "cyp2a6_factor_1", path, default=1.0),
            cyp2a6_factor_2=_float(row, "cyp2a6_factor_2", path, default=1.0),
            omega_cl=_float(row, "omega_cl", path, default=0.0),
            omega_v=_float(row, "omega_v", path, default=0.0),
            omega_ka=_float(row, "omega_ka", path, default=0.0),
            status=(row.get("status") or "").strip(),
            source=(row.get("source") or "").strip(),
        )
        if pk.ka_per_h <= 0 or pk.cl_f_L_per_h <= 0 or pk.v_f_L <= 0 or pk.mw <= 0:
            raise FormatError(f"{path.name}: {name}: ka, CL/F, V/F and MW must be > 0")
        if not 0 < pk.f <= 1:
            raise FormatError(f"{path.name}: {name}: bioavailability f must be in (0, 1]")
        out[name_key(name)] = pk
    return out


def lookup(catalogue: dict[str, DrugPK], name: str) -> DrugPK | None:
    """The catalogue row of ``name`` (case and punctuation ignored), or None."""
    return catalogue.get(name_key(name))


def require(catalogue: dict[str, DrugPK], name: str) -> DrugPK:
    """Like :func:`lookup` but raising an :class:`InputError` that says how to fix it."""
    pk = lookup(catalogue, name)
    if pk is None:
        raise InputError(
            f"drug {name!r} has no clinical PK in the catalogue; give a steady plasma exposure "
            f"instead (e.g. {name}:1uM) or add a row to pk.csv"
        )
    return pk
