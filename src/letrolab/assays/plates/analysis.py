"""Read + layout -> % viability, per-plate quality control and the tidy combination table.

Viability of a well on plate *p* (blank-subtracted, vehicle = 100 %)::

    viability = 100 * (x - mean(blank_p)) / (mean(vehicle_p) - mean(blank_p))

the usual normalisation of MTS/MTT/ATP read-outs (e.g. Riss et al., "Cell Viability Assays",
Assay Guidance Manual, NCBI 2013/2016). Only wells flagged ``ok`` enter: saturated,
non-numeric and missing wells are dropped with a warning naming them.

Quality control per plate:

* Z'-factor of the controls, Z' = 1 - 3 (sd_vehicle + sd_blank) / |mean_vehicle - mean_blank|
  (Zhang, Chung & Oldenburg 1999, J Biomol Screen 4:67-73); warning below 0.5, the paper's
  lower bound of an "excellent assay".
* Coefficient of variation of vehicle and blank wells; warning above 20 %.
* Edge effect: vehicle wells on the outer ring against interior vehicle wells, Welch's t-test;
  warning when p < 0.01 and the means differ by more than 10 % (evaporation at the plate edge,
  Lundholt, Scudder & Pagliaro 2003, J Biomol Screen 8:566).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from letrolab._results import Failed
from letrolab.assays.plates.layout import Layout, read_layout
from letrolab.errors import FormatError, InputError

__all__ = ["PlateAnalysis", "PlateQC", "analyse_plate", "plate_qc", "read_plate_combination"]

Z_PRIME_MIN = 0.5
CV_MAX = 20.0
EDGE_P = 0.01
EDGE_DIFF = 0.10


@dataclass(frozen=True)
class PlateQC:
    """Quality control of one plate (controls of the analysed read).

    Attributes
    ----------
    plate, read : str
    n_blank, n_vehicle : int
        Usable (flag ``ok``) control wells.
    z_prime : float or Failed
        Z'-factor (Zhang et al. 1999); a :class:`~letrolab._results.Failed` (falsy, says why)
        with fewer than 2 wells of either control.
    cv_vehicle, cv_blank : float or Failed
        Coefficients of variation in %; Failed with fewer than 2 wells.
    edge_ratio : float or Failed
        mean(edge vehicle) / mean(interior vehicle); Failed when not assessable (fewer than 2
        vehicle wells on the outer ring or inside).
    edge_p : float or Failed
        Welch's t-test p-value for edge against interior vehicle wells.
    warnings : tuple of str
    """

    plate: str
    read: str
    n_blank: int
    n_vehicle: int
    z_prime: float | Failed
    cv_vehicle: float | Failed
    cv_blank: float | Failed
    edge_ratio: float | Failed
    edge_p: float | Failed
    warnings: tuple[str, ...] = field(default=())

    _NUMBERS = ("z_prime", "cv_vehicle", "cv_blank", "edge_ratio", "edge_p")

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: numbers (null where not assessed), ``not_assessed`` reasons, warnings."""
        out: dict[str, Any] = {
            "plate": self.plate,
            "read": self.read,
            "n_blank": self.n_blank,
            "n_vehicle": self.n_vehicle,
        }
        reasons = {}
        for name in self._NUMBERS:
            v = getattr(self, name)
            out[name] = None if isinstance(v, Failed) else float(v)
            if isinstance(v, Failed):
                reasons[name] = v.reason
        out["not_assessed"] = reasons
        out["warnings"] = list(self.warnings)
        return out

    def report(self) -> str:
        """One paragraph of text."""

        def fmt(v, spec: str) -> str:
            return f"n/a ({v.reason})" if isinstance(v, Failed) else format(v, spec)

        edge = (
            f"edge/interior vehicle = {self.edge_ratio:.3f} (p = {self.edge_p:.3g})"
            if not isinstance(self.edge_ratio, Failed)
            else f"edge effect not assessed ({self.edge_ratio.reason})"
        )
        lines = [
            f"plate {self.plate} ({self.read}): Z' = {fmt(self.z_prime, '.3f')}, CV vehicle = "
            f"{fmt(self.cv_vehicle, '.1f')} %, CV blank = {fmt(self.cv_blank, '.1f')} %, {edge}"
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _cv(x: np.ndarray, what: str) -> float | Failed:
    if len(x) < 2:
        return Failed(f"{len(x)} well(s); needs >= 2", what=what)
    if np.mean(x) == 0:
        return Failed("mean is 0", what=what)
    return float(100.0 * np.std(x, ddof=1) / abs(np.mean(x)))


def plate_qc(
    plate: str,
    read: str,
    vehicle: np.ndarray,
    blank: np.ndarray,
    *,
    vehicle_edge: np.ndarray | None = None,
) -> PlateQC:
    """QC numbers of one plate from its control values (see the module docstring).

    Examples
    --------
    Zhang et al. (1999) define Z' = 1 - 3 (sd_p + sd_n) / |mean_p - mean_n|; controls with
    means 100 and 10 and sds 5 and 2 give 1 - 21/90:

    >>> qc = plate_qc("P1", "A490", np.array([95.0, 100, 105]), np.array([8.0, 10, 12]))
    >>> round(qc.z_prime, 4) == round(1 - 3 * (5 + 2) / 90, 4)
    True
    """
    vehicle = np.asarray(vehicle, dtype=float)
    blank = np.asarray(blank, dtype=float)
    warns = []
    z: float | Failed = Failed(
        f"{len(blank)} blank and {len(vehicle)} vehicle wells; needs >= 2 of each",
        what=f"Z'-factor of plate {plate}",
    )
    if len(vehicle) >= 2 and len(blank) >= 2:
        sep = abs(vehicle.mean() - blank.mean())
        sd = np.std(vehicle, ddof=1) + np.std(blank, ddof=1)
        z = float(1.0 - 3.0 * sd / sep) if sep > 0 else float("-inf")
        if z < Z_PRIME_MIN:
            warns.append(
                f"plate {plate}: Z' = {z:.2f} < {Z_PRIME_MIN} (controls overlap; Zhang 1999 calls "
                "0.5 <= Z' < 1 an excellent assay)"
            )
    else:
        warns.append(f"plate {plate}: Z' not computed (needs >= 2 blank and >= 2 vehicle wells)")
    cv_v = _cv(vehicle, f"CV of vehicle wells of plate {plate}")
    cv_b = _cv(blank, f"CV of blank wells of plate {plate}")
    if not isinstance(cv_v, Failed) and cv_v > CV_MAX:
        warns.append(f"plate {plate}: CV of vehicle wells {cv_v:.1f} % > {CV_MAX:.0f} %")
    if not isinstance(cv_b, Failed) and cv_b > CV_MAX:
        warns.append(f"plate {plate}: CV of blank wells {cv_b:.1f} % > {CV_MAX:.0f} %")
    why = "no well positions given"
    if vehicle_edge is not None:
        edge = vehicle[vehicle_edge]
        inner = vehicle[~vehicle_edge]
        why = f"{len(edge)} vehicle wells on the edge, {len(inner)} inside; needs >= 2 of each"
    ratio: float | Failed = Failed(why, what=f"edge effect of plate {plate}")
    p: float | Failed = ratio
    if vehicle_edge is not None and len(edge) >= 2 and len(inner) >= 2 and inner.mean() != 0:
        ratio = float(edge.mean() / inner.mean())
        p = _welch_p(edge, inner)
        if p < EDGE_P and abs(ratio - 1.0) > EDGE_DIFF:
            warns.append(
                f"plate {plate}: edge effect, outer-ring vehicle wells at {100 * ratio:.0f} % "
                f"of interior ones (Welch p = {p:.2g})"
            )
    return PlateQC(
        plate=str(plate),
        read=str(read),
        n_blank=len(blank),
        n_vehicle=len(vehicle),
        z_prime=z,
        cv_vehicle=cv_v,
        cv_blank=cv_b,
        edge_ratio=ratio,
        edge_p=p,
        warnings=tuple(warns),
    )


def _welch_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided p-value of Welch's t-test (Welch 1947, Biometrika 34:28).

    Written out rather than via scipy.stats.ttest_ind, which warns on (near-)identical
    values; two groups without spread get p = 0 if their means differ (relative 1e-12), else 1.
    """
    from scipy import stats

    vx, vy = np.var(x, ddof=1) / len(x), np.var(y, ddof=1) / len(y)
    diff = float(np.mean(x) - np.mean(y))
    scale = max(abs(float(np.mean(x))), abs(float(np.mean(y))), 1e-300)
    if vx + vy <= (1e-12 * scale) ** 2:
        return 0.0 if abs(diff) > 1e-12 * scale else 1.0
    t = diff / np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    return float(2.0 * stats.t.sf(abs(t), df))


@dataclass(frozen=True)
class PlateAnalysis:
    """A plate read analysed with its layout.

    Attributes
    ----------
    wells : DataFrame
        The tidy wells table of the read (all reads, all plates).
    read : str
        The read label analysed.
    viability : DataFrame
        One row per layout well of the analysed read: ``plate, well, row, col, role,
        drug1..N, conc1..N, unit1..N, replicate, block_id, value, flag, viability``.
    combination : DataFrame or None
        The tidy combination table (DESIGN.md), ``response`` = % viability; None when the
        layout has fewer than two drugs.
    qc : tuple of PlateQC
    warnings : tuple of str
        Everything dropped or doubtful, one sentence each (QC warnings included).
    """

    wells: pd.DataFrame
    read: str
    viability: pd.DataFrame
    combination: pd.DataFrame | None
    qc: tuple[PlateQC, ...]
    warnings: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """JSON-able dict: read, QC per plate, warnings, combination rows."""
        comb = None
        if self.combination is not None:
            comb = self.combination.to_dict(orient="records")
        return {
            "read": self.read,
            "qc": [q.summary() for q in self.qc],
            "warnings": list(self.warnings),
            "combination": comb,
        }

    def report(self) -> str:
        """Text report: one QC paragraph per plate and the warnings."""
        lines = [f"read {self.read}: {self.viability['plate'].nunique()} plate(s)"]
        lines += [q.report() for q in self.qc]
        other = [w for w in self.warnings if not any(w in q.warnings for q in self.qc)]
        lines += [f"warning: {w}" for w in other]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The per-well viability table."""
        return self.viability.copy()

    def plot(self, path: str | Path | None = None):
        """QC figure of every plate; see :func:`letrolab.assays.plates.plots.plot_plates`."""
        from letrolab.assays.plates.plots import plot_plates

        return plot_plates(self, path=path)


def _complete(wells: pd.DataFrame) -> pd.DataFrame:
    """Fill the optional columns of a wells table given as a DataFrame."""
    from letrolab.assays.plates._wells import parse_well

    missing = {"well", "value"} - set(wells.columns)
    if missing:
        raise InputError(f"the wells table lacks column(s) {sorted(missing)}")
    w = wells.copy()
    defaults = {"plate": "Plate 1", "read": "value", "time_s": np.nan, "kind": "raw"}
    for col, val in defaults.items():
        if col not in w:
            w[col] = val
    if "flag" not in w:
        w["flag"] = np.where(np.isfinite(w["value"].to_numpy(dtype=float)), "ok", "missing")
    parsed = [parse_well(x) for x in w["well"]]
    w["well"] = [f"{r}{c}" for r, c in parsed]
    w["row"] = [r for r, _ in parsed]
    w["col"] = [c for _, c in parsed]
    return w


def _choose_read(wells: pd.DataFrame, wanted: str | None, source: str) -> str:
    reads = list(pd.unique(wells["read"]))
    if wanted is not None:
        if wanted not in reads:
            raise InputError(f"{source} has no read {wanted!r}; its reads are {reads}")
        return wanted
    # calculated reads (kind) are never chosen for the user; name one to analyse it
    raw = wells["kind"].eq("raw") if "kind" in wells else pd.Series(True, index=wells.index)
    usable = (wells["time_s"].isna() & raw).groupby(wells["read"], sort=False).all()
    endpoint = [r for r in reads if usable[r]]
    if len(endpoint) == 1:
        return endpoint[0]
    if not endpoint:
        raise InputError(
            f"{source} holds only kinetic reads {reads}; export an endpoint read for viability"
        )
    raise InputError(
        f"{source} holds several reads {endpoint}; name one with a '# read: LABEL' line in "
        "the layout, or --read LABEL (read_label= in Python)"
    )


def _match_plates(layout: Layout, plates: list[str], source: str) -> dict[str, list[str]]:
    """Map each layout plate key to the read's plate name(s)."""
    keys = list(pd.unique(layout.table["plate"]))
    out: dict[str, list[str]] = {}
    for key in keys:
        if key == "":
            out[key] = plates
        elif key in plates:
            out[key] = [key]
        elif key.isdigit() and 1 <= int(key) <= len(plates):
            out[key] = [plates[int(key) - 1]]
        else:
            raise FormatError(
                f"layout and read disagree: layout plate {key!r} is not in {source} "
                f"(its plates are {plates}; use those names or 1-based positions)"
            )
    return out


def analyse_plate(
    read: str | Path | pd.DataFrame,
    layout: str | Path | pd.DataFrame | Layout,
    *,
    read_label: str | None = None,
) -> PlateAnalysis:
    """Analyse a plate read with its layout: viability, QC and the combination table.

    Parameters
    ----------
    read : path or DataFrame
        A plate-reader file (any format :func:`~letrolab.assays.plates.read_plate` knows) or
        its tidy wells table.
    layout : path, DataFrame or Layout
        The plate map (format in :mod:`letrolab.assays.plates.layout`).
    read_label : str, optional
        The read to analyse; default: the layout's ``# read:`` line, else the file's only
        endpoint read.

    Raises
    ------
    FormatError
        The layout names plates or wells the read does not have.
    InputError
        No usable vehicle wells on a plate, vehicle not above blank, several reads and none
        chosen.
    """
    from letrolab.assays.plates import read_plate

    source = Path(read).name if not isinstance(read, pd.DataFrame) else "the wells table"
    wells = read_plate(read) if not isinstance(read, pd.DataFrame) else _complete(read)
    lay = layout if isinstance(layout, Layout) else read_layout(layout)
    label = _choose_read(wells, read_label or lay.read, source)
    w = wells[(wells["read"] == label) & wells["time_s"].isna()]
    plates = list(pd.unique(w["plate"]))
    mapping = _match_plates(lay, plates, source)
    parts = []
    for key, names in mapping.items():
        sub = lay.table[lay.table["plate"] == key]
        for name in names:
            parts.append(sub.assign(plate=name))
    lt = pd.concat(parts, ignore_index=True)
    dup = lt.duplicated(["plate", "well"])
    if dup.any():
        x = lt.loc[dup].iloc[0]
        raise InputError(
            f"layout describes well {x['well']} of plate {x['plate']!r} twice (once for all "
            "plates and once by name); keep one"
        )
    merged = lt.merge(w[["plate", "well", "value", "flag"]], on=["plate", "well"], how="left")
    absent = merged["flag"].isna()
    if absent.any():
        x = merged.loc[absent].iloc[0]
        geometry = int(w.loc[w["plate"] == x["plate"], "well"].count())
        raise FormatError(
            f"layout and read disagree: layout well {x['well']} of plate {x['plate']!r} is not "
            f"in {source} (a {geometry}-well read); check the plate format of the layout"
        )
    warnings: list[str] = []
    used = merged[merged["role"] != "empty"].copy()
    unusable = used["flag"] != "ok"
    for (plate, role), g in used[unusable].groupby(["plate", "role"], sort=False):
        warnings.append(
            f"plate {plate}: {len(g)} {role} well(s) dropped, not usable "
            f"({', '.join(f'{a} {b}' for a, b in zip(g['well'], g['flag'], strict=True))})"
        )
    viab = np.full(len(used), np.nan)
    qcs = []
    for plate in pd.unique(used["plate"]):
        on = (used["plate"] == plate).to_numpy()
        ok = on & ~unusable.to_numpy()
        role = used["role"].to_numpy()
        vals = used["value"].to_numpy(dtype=float)
        veh = ok & (role == "vehicle")
        blk = ok & (role == "blank")
        if not veh.any():
            raise InputError(
                f"plate {plate}: no usable vehicle wells; mark untreated (solvent) wells "
                "role=vehicle in the layout"
            )
        b = vals[blk].mean() if blk.any() else 0.0
        if not blk.any():
            warnings.append(f"plate {plate}: no usable blank wells; viability not blank-subtracted")
        v = vals[veh].mean()
        if not v > b:
            raise InputError(
                f"plate {plate}: mean vehicle signal {v:.4g} is not above mean blank {b:.4g}; "
                "check the roles in the layout"
            )
        viab[ok] = 100.0 * (vals[ok] - b) / (v - b)
        rows = used.loc[veh, "row"].to_numpy()
        cols = used.loc[veh, "col"].to_numpy()
        plate_rows = w.loc[w["plate"] == plate, "row"]
        plate_cols = w.loc[w["plate"] == plate, "col"]
        last_row = max(plate_rows, key=lambda r: (len(r), r))
        edge = (rows == "A") | (rows == last_row) | (cols == 1) | (cols == int(plate_cols.max()))
        q = plate_qc(plate, label, vals[veh], vals[blk], vehicle_edge=edge)
        qcs.append(q)
        warnings.extend(q.warnings)
    used["viability"] = viab
    comb = _combination(used, lay.n_drugs, warnings) if lay.n_drugs >= 2 else None
    return PlateAnalysis(
        wells=wells,
        read=label,
        viability=used.reset_index(drop=True),
        combination=comb,
        qc=tuple(qcs),
        warnings=tuple(warnings),
    )


def _combination(used: pd.DataFrame, k: int, warnings: list[str]) -> pd.DataFrame:
    """Tidy combination table from the per-well viability (vehicle wells as the 0,...,0 dose)."""
    treated = used[(used["role"] == "treated") & used["viability"].notna()].copy()
    if treated.empty:
        raise InputError("the layout has no usable treated wells; nothing to combine")
    dcols = [f"drug{i}" for i in range(1, k + 1)]
    # Fill drug names left empty (single agents) from the plate's only name in that column.
    for d in dcols:
        empty = treated[d] == ""
        if empty.any():
            for plate in pd.unique(treated.loc[empty, "plate"]):
                names = [n for n in pd.unique(treated.loc[treated["plate"] == plate, d]) if n]
                if len(names) != 1:
                    raise InputError(
                        f"plate {plate}: a treated well leaves {d} empty and the plate has "
                        f"{len(names)} names for it ({names}); write the drug name in every row"
                    )
                treated.loc[empty & (treated["plate"] == plate), d] = names[0]
    for i in range(1, k + 1):
        u = f"unit{i}"
        blank_u = treated[u] == ""
        if blank_u.any():
            for plate in pd.unique(treated.loc[blank_u, "plate"]):
                units = [x for x in pd.unique(treated.loc[treated["plate"] == plate, u]) if x]
                treated.loc[blank_u & (treated["plate"] == plate), u] = units[0] if units else "nM"
    auto = treated["block_id"] == ""
    treated.loc[auto, "block_id"] = treated.loc[auto, dcols].agg(" + ".join, axis=1)
    # Vehicle wells join every block present on their plate as the all-zero dose.
    veh = used[(used["role"] == "vehicle") & used["viability"].notna()]
    extra = []
    blocks = treated.drop_duplicates(["plate", "block_id"])
    for _, b in blocks.iterrows():
        v = veh[veh["plate"] == b["plate"]].copy()
        if v.empty:
            continue
        v["block_id"] = b["block_id"]
        for i in range(1, k + 1):
            v[f"drug{i}"] = b[f"drug{i}"]
            v[f"conc{i}"] = 0.0
            v[f"unit{i}"] = b[f"unit{i}"]
        extra.append(v)
    allw = pd.concat([treated, *extra], ignore_index=True)
    ccols = [f"conc{i}" for i in range(1, k + 1)]
    rep = allw["replicate"].astype(str)
    autonum = allw.groupby(["block_id", *ccols], sort=False).cumcount() + 1
    allw["replicate"] = np.where(rep == "", autonum.astype(str), rep)
    allw["replicate"] = (
        pd.to_numeric(allw["replicate"], errors="coerce").fillna(autonum).astype(int)
    )
    if k == 2:
        out = pd.DataFrame(
            {
                "block_id": allw["block_id"],
                "drug_row": allw["drug1"],
                "drug_col": allw["drug2"],
                "conc_r": allw["conc1"],
                "conc_c": allw["conc2"],
                "conc_r_unit": allw["unit1"],
                "conc_c_unit": allw["unit2"],
            }
        )
    else:
        out = pd.DataFrame({"block_id": allw["block_id"]})
        for i in range(1, k + 1):
            out[f"drug{i}"] = allw[f"drug{i}"]
        for i in range(1, k + 1):
            out[f"conc{i}"] = allw[f"conc{i}"]
        for i in range(1, k + 1):
            out[f"conc_unit{i}"] = allw[f"unit{i}"]
    out["response"] = allw["viability"].to_numpy(dtype=float)
    out["replicate"] = allw["replicate"].to_numpy()
    out["plate"] = allw["plate"].to_numpy()
    out["well"] = allw["well"].to_numpy()
    sort_cols = ["block_id", *(["conc_r", "conc_c"] if k == 2 else ccols), "replicate"]
    return out.sort_values(sort_cols, kind="stable").reset_index(drop=True)


def read_plate_combination(
    read_path: str | Path, layout_path: str | Path, *, read_label: str | None = None
) -> pd.DataFrame:
    """Plate read + layout -> the tidy combination table of DESIGN.md, response = % viability.

    Parameters
    ----------
    read_path : path
        A plate-reader export (format detected from its content).
    layout_path : path
        Its plate map (see :mod:`letrolab.assays.plates.layout`), with at least two drugs.
    read_label : str, optional
        The read to use when the file holds several (see :func:`analyse_plate`).

    Returns
    -------
    DataFrame
        ``block_id, drug_row, drug_col, conc_r, conc_c, conc_r_unit, conc_c_unit, response,
        replicate, plate, well`` (two drugs) or ``block_id, drug1..N, conc1..N,
        conc_unit1..N, response, replicate, plate, well``; one row per usable well,
        ``response`` = % viability (blank-subtracted, vehicle = 100). Vehicle wells appear as
        the all-zero dose of every block on their plate. ``df.attrs["warnings"]`` lists what was
        dropped and the QC warnings; ``df.attrs["qc"]`` holds each plate's QC summary. Feed it
        to the synergy models with ``response="viability"``.

    Raises
    ------
    InputError, FormatError
        See :func:`analyse_plate`; also when the layout has fewer than two drugs.
    """
    res = analyse_plate(read_path, layout_path, read_label=read_label)
    if res.combination is None:
        raise InputError(
            f"{Path(layout_path).name}: the layout names fewer than two drugs (drug1, drug2 "
            "columns); a combination table needs two or more"
        )
    df = res.combination
    df.attrs["warnings"] = list(res.warnings)
    df.attrs["qc"] = [q.summary() for q in res.qc]
    df.attrs["read"] = res.read
    return df
