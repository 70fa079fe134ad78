"""Virtual cohorts: typical parameters of ``patient.ant`` plus inter-individual variability.

Each patient's parameter ``theta_i = theta_typ * exp(eta_i)`` with ``eta_i ~ N(0, omega^2)``
(log-normal variability, the population-PK convention, e.g. Tanii 2011 used NONMEM's
exponential model). Body weight is log-normal; the CYP2A6 genotype (0, 1 or 2 reduced-function
alleles) is drawn from Hardy-Weinberg proportions ``(1-q)^2, 2q(1-q), q^2`` of the population's
variant-allele frequency ``q``. Draws come from ``np.random.default_rng(seed)`` in a fixed order,
so a seed gives the same cohort on any machine and with any number of worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from letrolab.errors import InputError
from letrolab.model.patient._model import defaults
from letrolab.model.patient.pk import DrugPK, load_pk_catalogue

__all__ = ["CYP2A6_VARIANT_FREQUENCY", "IIV", "PREMENOPAUSAL", "Cohort", "sample_cohort"]

#: Log-normal inter-individual SD (omega) of endocrine and metabolic parameters, with reasons.
#: All are ASSUMPTIONS (no checked source): they set population spreads of typical size.
IIV: dict[str, tuple[float, str]] = {
    "E2_peri0": (0.40, "A: postmenopausal plasma E2 varies several-fold between women (adiposity)"),
    "FSH_0": (0.30, "A: spread of postmenopausal FSH"),
    "LH_0": (0.30, "A: spread of postmenopausal LH"),
    "GH_0": (0.50, "A: GH secretion varies widely; the model uses GH relative to baseline"),
    "IGF1_0": (0.30, "A: spread of serum IGF-I in postmenopausal women"),
    "BP3_0": (0.20, "A: spread of serum IGFBP-3"),
    "Emax_E2L": (
        0.15,
        "A: individual strength of E2 restraint on hepatic IGF-1 output (logit-normal: stays in (0, 1))",
    ),
    "G_0": (0.07, "A: fasting glucose of non-diabetic women, about 5.3 +- 0.4 mmol/L"),
    "I_0": (0.40, "A: fasting insulin varies with adiposity and insulin resistance"),
    "SI": (0.30, "A: insulin sensitivity varies about 30 % between people (minimal-model studies)"),
}

_FRACTIONS = frozenset({"Emax_E2L"})

#: Body weight (kg): median and log-SD. ASSUMPTION: typical Western postmenopausal women.
WEIGHT = (70.0, 0.18)

#: Reduced-function CYP2A6 allele frequency q by population. ASSUMPTIONS (not checked against a
#: source in this project): the sum of the common reduced-function alleles (*2, *4, *9, *12 ...)
#: is of order 0.1 in Europeans and about 0.4 in Japanese (the population of Tanii 2011).
CYP2A6_VARIANT_FREQUENCY: dict[str, float] = {"european": 0.10, "japanese": 0.40}

#: Premenopausal preset (ASSUMPTIONS: typical follicular-phase values, no menstrual cycle).
PREMENOPAUSAL: dict[str, float] = {"ovary": 1.0, "E2_ov0": 230.0, "FSH_0": 6.0, "LH_0": 5.0}


@dataclass(frozen=True)
class Cohort:
    """A sampled cohort: parameters of ``patient.ant`` (arrays of shape ``(n,)`` where they vary
    between patients, scalars where they do not) and covariates."""

    params: dict[str, np.ndarray]
    weight_kg: np.ndarray
    cyp2a6_variants: np.ndarray
    eta_pk: dict[str, dict[str, np.ndarray]]  # drug -> {"cl", "v", "ka"} multipliers
    seed: int
    menopause: str
    population: str

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.weight_kg.size)

    def pk_arrays(self, pk: DrugPK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-patient ``(ka, CL/F, V/F)`` of a catalogued drug, covariates and IIV applied."""
        eta = self.eta_pk.get(pk.drug)
        if eta is None:
            raise InputError(f"cohort was sampled without PK variability for {pk.drug!r}")
        ka = pk.ka_per_h * eta["ka"]
        cl = pk.clearance(self.cyp2a6_variants) * eta["cl"]
        v = pk.volume(self.weight_kg) * eta["v"]
        return ka, cl, v

    def patient(self, k: int) -> dict[str, float]:
        """Parameter values of patient ``k`` (for one run of ``patient.ant``)."""
        return {name: float(v[k]) if np.ndim(v) else float(v) for name, v in self.params.items()}

    def subset(self, idx) -> Cohort:
        """The patients ``idx`` (an index array or slice) as a smaller cohort."""
        return Cohort(
            params={k: v[idx] if np.ndim(v) else v for k, v in self.params.items()},
            weight_kg=self.weight_kg[idx],
            cyp2a6_variants=self.cyp2a6_variants[idx],
            eta_pk={d: {k: v[idx] for k, v in e.items()} for d, e in self.eta_pk.items()},
            seed=self.seed,
            menopause=self.menopause,
            population=self.population,
        )

    def to_frame(self):
        """Covariates and sampled parameters as a pandas DataFrame, one row per patient."""
        import pandas as pd

        cols = {
            "patient": np.arange(self.n),
            "weight_kg": self.weight_kg,
            "cyp2a6_variants": self.cyp2a6_variants,
        }
        cols.update({k: self.params[k] for k in IIV})
        return pd.DataFrame(cols)


def _checked_overrides(parameters: Mapping[str, float], known: Mapping[str, float]):
    out = {}
    for name, value in parameters.items():
        if name not in known:
            raise InputError(f"patient model has no parameter {name!r}; see parameter_table()")
        v = float(value)
        if not (math.isfinite(v) and v >= 0):
            raise InputError(f"patient parameter {name!r} must be finite and >= 0, got {value!r}")
        out[name] = v
    return out


def sample_cohort(
    n: int,
    *,
    seed: int,
    menopause: str = "post",
    population: str = "european",
    pk_catalogue: dict[str, DrugPK] | None = None,
    variability: bool = True,
    parameters: Mapping[str, float] | None = None,
) -> Cohort:
    """Draw ``n`` virtual patients.

    Parameters
    ----------
    n : int
        Number of patients (>= 1).
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same cohort.
    menopause : {"post", "pre"}
        Postmenopausal (default) or premenopausal (:data:`PREMENOPAUSAL` preset).
    population : {"european", "japanese"}
        Sets the CYP2A6 variant-allele frequency (:data:`CYP2A6_VARIANT_FREQUENCY`).
    pk_catalogue : dict, optional
        PK catalogue (default ``pk.csv``); every catalogued drug gets PK variability.
    variability : bool
        False gives ``n`` copies of the typical patient (70 kg, no CYP2A6 variant).
    parameters : mapping of str to float, optional
        Typical values of ``patient.ant`` parameters to use instead of the file's (after the
        premenopausal preset); inter-individual variability applies on top. Finite, >= 0.

    Examples
    --------
    >>> c = sample_cohort(1000, seed=1)
    >>> c.n, bool((c.cyp2a6_variants <= 2).all())
    (1000, True)
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"number of patients must be a whole number >= 1, got {n!r}")
    if menopause not in {"post", "pre"}:
        raise InputError(f"menopause must be 'post' or 'pre', got {menopause!r}")
    if population not in CYP2A6_VARIANT_FREQUENCY:
        raise InputError(
            f"unknown population {population!r}; use one of {', '.join(CYP2A6_VARIANT_FREQUENCY)}"
        )
    pk_catalogue = load_pk_catalogue() if pk_catalogue is None else pk_catalogue
    rng = np.random.default_rng(seed)
    typ = defaults()
    if menopause == "pre":
        typ.update(PREMENOPAUSAL)
    typ.update(_checked_overrides(parameters or {}, typ))
    n = int(n)
    s = 1.0 if variability else 0.0
    # parameters without variability stay scalars (broadcast by the engines), so that a cohort
    # of millions holds only the varying columns
    params: dict[str, np.ndarray | np.float64] = {k: np.float64(v) for k, v in typ.items()}
    for name, (omega, _) in IIV.items():
        z = s * omega * rng.standard_normal(n)
        if name in _FRACTIONS:  # a fraction in (0, 1): logit-normal
            logit = np.log(typ[name] / (1.0 - typ[name]))
            params[name] = 1.0 / (1.0 + np.exp(-(logit + z)))
        else:
            params[name] = typ[name] * np.exp(z)
    weight = WEIGHT[0] * np.exp(s * WEIGHT[1] * rng.standard_normal(n))
    q = CYP2A6_VARIANT_FREQUENCY[population]
    geno = (rng.random((n, 2)) < q * s).sum(axis=1).astype(np.int8)
    eta_pk = {}
    for key in sorted(pk_catalogue):
        pk = pk_catalogue[key]
        eta_pk[pk.drug] = {
            "cl": np.exp(s * pk.omega_cl * rng.standard_normal(n)),
            "v": np.exp(s * pk.omega_v * rng.standard_normal(n)),
            "ka": np.exp(s * pk.omega_ka * rng.standard_normal(n)),
        }
    params["WT"] = weight
    params["cyp2a6_variants"] = geno.astype(float)
    return Cohort(params, weight, geno, eta_pk, int(seed), menopause, population)
