"""Vectorised cohort engine: many patients of ``patient.ant`` at once with NumPy.

The same equations as ``patient.ant``, integrated for a whole batch of patients in lock-step
on a fixed grid (default 1 h):

* oral one-compartment PK with first-order absorption is advanced **exactly** (the closed-form
  solution of the linear system over each step, i.e. superposition of the Bateman function);
  doses are added to the gut at grid times, each patient with her own taken/missed pattern;
* the endocrine states (E2, FSH, LH, ovarian IGF-1, IGF-1, IGFBP-3) are advanced with the
  exponential integrator, exact for ``dy/dt = k (target - y)`` when the target is frozen over
  the step; targets use step-midpoint inputs (aromatase inhibition averaged over the step by
  Simpson's rule);
* GH (half-life 20 min) is held at its quasi-steady state;
* the fasting glucose-insulin system is at its steady state (:func:`fasting_steady_state`,
  safeguarded Newton) when IR inhibition is constant; when an oral drug with IR potency makes
  it vary, G, X and insulin are integrated in 5-min split exponential sub-steps.

``tests/model/test_patient_vector.py`` checks this engine against libroadrunner on
``patient.ant`` (agreement within 1 %).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from letrolab.errors import InputError

__all__ = ["OralDrug", "fasting_steady_state", "simulate_batch"]

LN2 = float(np.log(2.0))
_GLUCOSE_KEYS = ("G_0", "I_0", "EG0", "SI", "alpha_G", "n_ins", "w_IR_glc")


@dataclass
class OralDrug:
    """One orally dosed drug for a batch of patients (all arrays have shape ``(n,)``)."""

    name: str
    ka: np.ndarray  # 1/h
    cl: np.ndarray  # L/h (apparent, CL/F)
    v: np.ndarray  # L (apparent, V/F)
    mw: float  # g/mol
    f: float  # bioavailability applied to each dose
    dose_times_h: np.ndarray  # shared schedule
    dose_mg: np.ndarray  # amount per dose (shared)
    taken: np.ndarray | None = None  # (n, n_doses) bool, None = every dose taken
    ic50_igf1r_nM: float = np.inf
    ic50_ir_nM: float = np.inf


@dataclass
class ConstDrug:
    """A drug held at a steady plasma exposure (nM) for every patient."""

    name: str
    conc_nM: float
    ic50_igf1r_nM: float = np.inf
    ic50_ir_nM: float = np.inf


@dataclass
class BatchResult:
    """What :func:`simulate_batch` records for each patient (arrays of shape ``(n,)``)."""

    values: dict[str, np.ndarray]
    trace_t_h: np.ndarray
    traces: dict[str, np.ndarray] = field(default_factory=dict)  # (n_trace, n_times)


def fasting_steady_state(p: dict[str, np.ndarray], f_ir) -> tuple[np.ndarray, np.ndarray]:
    """Fasting glucose (mmol/L) and insulin (pmol/L) at steady state for IR inhibition ``f_ir``.

    Solves ``R0 = (EG0 + SI (1 - w f_IR) I(G)) G`` (``w`` = ``w_IR_glc``) with ``I(G) = sigma/n G^2 / (alpha + G^2)``,
    the steady state of the Bergman minimal model with Topp-type secretion in ``patient.ant``
    (``R0`` and ``sigma`` anchored at the patient's untreated ``G_0``, ``I_0``). The left side is
    increasing in ``G``, so the root is unique; Newton steps are kept inside a bisection bracket.
    """
    g0, i0 = np.asarray(p["G_0"], float), np.asarray(p["I_0"], float)
    eg0, si, alpha = (np.asarray(p[k], float) for k in ("EG0", "SI", "alpha_G"))
    f_ir = np.asarray(f_ir, float) * np.asarray(p.get("w_IR_glc", 1.0), float)
    r0 = (eg0 + si * i0) * g0
    imax = i0 * (alpha + g0**2) / g0**2  # sigma / n
    s_eff = si * (1.0 - f_ir)
    shape = np.broadcast(g0, f_ir, si).shape
    lo = np.zeros(shape)
    hi = np.broadcast_to(r0 / eg0, shape).copy()
    g = np.broadcast_to(g0, shape).copy()
    # A fixed number of steps (no global convergence test), so that each patient's result does
    # not depend on which other patients share the batch (bitwise-reproducible chunking).
    for _ in range(60):
        ins = imax * g**2 / (alpha + g**2)
        h = g * (eg0 + s_eff * ins) - r0
        lo = np.where(h < 0, g, lo)
        hi = np.where(h >= 0, g, hi)
        dins = imax * 2 * alpha * g / (alpha + g**2) ** 2
        dh = eg0 + s_eff * ins + g * s_eff * dins
        step = g - h / dh
        bad = (step <= lo) | (step >= hi)
        g = np.where(h == 0, g, np.where(bad, 0.5 * (lo + hi), step))
    ins = imax * g**2 / (alpha + g**2)
    return g, ins


def _bateman_factors(ka, k, h):
    """Exact one-step propagator of the oral one-compartment model over ``h`` hours."""
    ea = np.exp(-ka * h)
    ek = np.exp(-k * h)
    diff = ka - k
    close = np.abs(diff) < 1e-9 * ka
    safe = np.where(close, 1.0, diff)
    cross = np.where(close, ka * h * ek, ka / safe * (ek - ea))
    return ea, ek, cross


def _step_integral_weights(ka, k, h):
    """Weights ``(w_c, w_g)``: mean central concentration over a step of ``h`` hours equals
    ``w_c C(0) + w_g G(0)`` (``G``: gut amount in concentration units), from integrating the
    Bateman solution."""
    ek = np.exp(-k * h)
    ic = -np.expm1(-k * h) / k
    diff = ka - k
    close = np.abs(diff) < 1e-9 * ka
    safe = np.where(close, 1.0, diff)
    ig = np.where(
        close,
        ka * (1 - ek * (1 + k * h)) / k**2,
        ka / safe * (ic + np.expm1(-ka * h) / ka),
    )
    return ic / h, ig / h


# ---------------------------------------------------------------------------------- stages
@dataclass
class _OralPK:
    """Exact step propagators of one oral drug and its gut/central amounts (nM units)."""

    drug: OralDrug
    dose_steps: np.ndarray
    ea: np.ndarray  # gut decay over a half step
    ek: np.ndarray  # central decay over a half step
    cross: np.ndarray  # gut -> central transfer over a half step
    per_mg: np.ndarray  # nM per mg dosed
    w_c: np.ndarray  # step-mean weights of C(0) and G(0)
    w_g: np.ndarray
    gut: np.ndarray
    central: np.ndarray
    next_dose: int = 0


@dataclass(frozen=True)
class _StepConc:
    """Plasma concentrations of every oral drug at the start, middle and end of a step."""

    start: list[np.ndarray]
    mid: list[np.ndarray]
    end: list[np.ndarray]
    gut_start: list[np.ndarray]


def _prepare_pk(oral: list[OralDrug], n: int, h: float) -> list[_OralPK]:
    """Propagators of each oral drug over half a step (doses must lie on the grid)."""
    out = []
    for d in oral:
        steps = np.asarray(d.dose_times_h, float) / h
        if np.any(np.abs(steps - np.round(steps)) > 1e-9):
            raise InputError(f"{d.name}: dose times must be multiples of the {h} h step")
        ea, ek, cross = _bateman_factors(d.ka, d.cl / d.v, 0.5 * h)
        w_c, w_g = _step_integral_weights(d.ka, d.cl / d.v, h)
        out.append(
            _OralPK(
                drug=d,
                dose_steps=np.round(steps).astype(int),
                ea=ea,
                ek=ek,
                cross=cross,
                per_mg=d.f * 1e6 / (d.v * d.mw),
                w_c=w_c,
                w_g=w_g,
                gut=np.zeros(n),
                central=np.zeros(n),
            )
        )
    return out


def _advance_pk(pks: list[_OralPK], step: int) -> _StepConc:
    """Give the doses due at ``step``, then advance every drug exactly over two half steps."""
    start, mid, end, gut_start = [], [], [], []
    for q in pks:
        d, j = q.drug, q.next_dose
        while j < q.dose_steps.size and q.dose_steps[j] == step:
            dose = d.dose_mg[j] * q.per_mg
            q.gut += dose if d.taken is None else dose * d.taken[:, j]
            j += 1
        q.next_dose = j
        start.append(q.central)
        gut_start.append(q.gut)
        c_mid = q.central * q.ek + q.gut * q.cross
        q.gut = q.gut * q.ea
        mid.append(c_mid)
        q.central = c_mid * q.ek + q.gut * q.cross
        q.gut = q.gut * q.ea
        end.append(q.central)
    return _StepConc(start, mid, end, gut_start)


@dataclass(frozen=True)
class _Receptors:
    """Summed occupancy terms ``S = sum C / IC50`` of IGF-1R and IR (fraction f = S / (1 + S))."""

    oral: list[OralDrug]
    s_igf_const: float
    s_ir_const: float

    @classmethod
    def of(cls, oral: list[OralDrug], const: list[ConstDrug]) -> _Receptors:
        return cls(
            oral,
            sum(c.conc_nM / c.ic50_igf1r_nM for c in const),
            sum(c.conc_nM / c.ic50_ir_nM for c in const),
        )

    @property
    def igf_drugs(self) -> list[int]:
        return [i for i, d in enumerate(self.oral) if np.isfinite(d.ic50_igf1r_nM)]

    @property
    def dynamic_ir(self) -> bool:
        """Whether IR inhibition varies in time (an oral drug with IR potency)."""
        return any(np.isfinite(d.ic50_ir_nM) for d in self.oral)

    def s_igf(self, concs, sl=slice(None)):
        return self.s_igf_const + sum(
            concs[i][sl] / self.oral[i].ic50_igf1r_nM for i in self.igf_drugs
        )

    def s_ir(self, concs, sl=slice(None)):
        return self.s_ir_const + sum(
            concs[i][sl] / d.ic50_ir_nM
            for i, d in enumerate(self.oral)
            if np.isfinite(d.ic50_ir_nM)
        )

    def f_ir(self, concs, sl=slice(None)):
        s = self.s_ir(concs, sl)
        return s / (1 + s)


class _Aromatase:
    """Remaining aromatase activity ``1 - I`` averaged over each step (Simpson's rule)."""

    def __init__(self, P, oral: list[OralDrug], const: list[ConstDrug]) -> None:
        self.ic50 = P["IC50_arom_nM"]
        self.let_idx = next((i for i, d in enumerate(oral) if d.name == "letrozole"), None)
        self.c_const = sum(c.conc_nM for c in const if c.name == "letrozole")
        self.resid_const = self.ic50 / (self.c_const + self.ic50)
        self._inv_end = None  # 1 / (C_let + IC50) at the end of the previous step

    def residual(self, conc: _StepConc):
        if self.let_idx is None:
            return self.resid_const
        k, ic50 = self.let_idx, self.ic50
        inv0 = 1 / (conc.start[k] + ic50) if self._inv_end is None else self._inv_end
        self._inv_end = 1 / (conc.end[k] + ic50)
        return ic50 / 6 * (inv0 + 4 / (conc.mid[k] + ic50) + self._inv_end)


class _Endocrine:
    """E2, FSH, LH, ovarian IGF-1 and follicular aromatase, IGF-1 and IGFBP-3 of a batch.

    Exponential-integrator steps ``y <- y d + (1 - d) target``, exact when the target is frozen
    over the step (GH at its quasi-steady state under IGF-1 feedback).
    """

    def __init__(self, P, n: int, h: float, receptors: _Receptors) -> None:
        def decay(name):
            return np.exp(-LN2 / P[name] * h)

        self.P, self.receptors = P, receptors
        ovary = P["ovary"]
        self.ovary, self.any_ovary = ovary, bool(np.any(ovary != 0))
        self.e2_0 = P["E2_peri0"] + ovary * P["E2_ov0"]
        e2_peri = P["E2_peri0"] * P["A4_nM"] / P["A4_0_nM"]
        self.fsh0, self.k_fsh, self.k_lh = P["FSH_0"], P["K_FSH_E2"], P["K_LH_E2"]
        emax, self.ec50 = P["Emax_E2L"], P["EC50_E2L"]
        r_e2l_0 = 1 - emax * self.e2_0 / (self.e2_0 + self.ec50)
        igf0, self.gh0, g_gh = P["IGF1_0"], P["GH_0"], P["g_GH"]
        self.d_e2, self.d_fsh, self.d_lh = (
            decay("t_half_E2"),
            decay("t_half_FSH"),
            decay("t_half_LH"),
        )
        self.d_ov, self.d_igf = decay("t_half_IGF1_ov"), decay("t_half_IGF1")
        self.d_bp3, self.d_fol, self.n_fol = decay("t_half_BP3"), decay("t_half_fol"), P["n_fol"]
        self.a_e2 = e2_peri * (1 - self.d_e2)
        self.a_e2_ov = ovary * P["E2_ov0"] * (1 - self.d_e2)
        # target = numerator K / (K + E2)
        self.a_fsh = self.fsh0 * (1 + self.e2_0 / self.k_fsh) * self.k_fsh * (1 - self.d_fsh)
        lh0 = P["LH_0"]
        self.a_lh = lh0 * (1 + self.e2_0 / self.k_lh) * self.k_lh * (1 - self.d_lh)
        self.gh_top = 1 + g_gh
        self.g_per_igf = g_gh / igf0
        self.gk_const = self.g_per_igf / (1 + receptors.s_igf_const)
        self.a_igf_top = igf0 / r_e2l_0 * (1 - self.d_igf) * self.gh_top
        self.a_bp3_top = P["BP3_0"] * (1 - self.d_bp3) * self.gh_top
        self.one_m_emax = 1 - emax
        self.e2, self.fsh, self.lh = self.e2_0.copy(), self.fsh0.copy(), lh0.copy()
        self.igf_ov, self.fol = ovary.copy(), np.ones(n)
        self.igf1, self.bp3 = igf0.copy(), P["BP3_0"].copy()

    def gh(self, sl, igf, concs):
        """GH at quasi-steady state for patients ``sl`` at serum IGF-1 ``igf`` and drug levels."""
        s_igf = self.receptors.s_igf(concs, sl)
        return self.gh0[sl] * self.gh_top[sl] / (1 + self.g_per_igf[sl] / (1 + s_igf) * igf)

    def step(self, resid, conc: _StepConc) -> None:
        """Advance every state by one step at remaining aromatase activity ``resid``."""
        if self.receptors.igf_drugs:  # IGF-1R inhibition at the step midpoint scales GH feedback
            gk = self.g_per_igf / (1 + self.receptors.s_igf(conc.mid))
        else:
            gk = self.gk_const
        e2_old = self.e2
        supply = self.a_e2 + self.a_e2_ov * self.fol if self.any_ovary else self.a_e2
        self.e2 = self.e2 * self.d_e2 + supply * resid
        e2_mid = 0.5 * (self.e2 + e2_old)
        fsh_old = self.fsh
        self.fsh = self.fsh * self.d_fsh + self.a_fsh / (self.k_fsh + e2_mid)
        self.lh = self.lh * self.d_lh + self.a_lh / (self.k_lh + e2_mid)
        if self.any_ovary:
            fsh_rel = 0.5 * (self.fsh + fsh_old) / self.fsh0
            target = self.ovary * fsh_rel
            self.igf_ov = target + (self.igf_ov - target) * self.d_ov
            target = fsh_rel**self.n_fol  # follicular aromatase capacity (ovarian escape)
            self.fol = target + (self.fol - target) * self.d_fol
        # IGF-1 under GH (quasi-steady state, IGF-1 feedback) restrained by E2:
        # target = IGF1_0 GH/GH_0 R(E2)/R(E2_0), GH/GH_0 = (1+g)/(1+g s), R = 1 - Emax E2/(E2+EC50)
        igf1_old = self.igf1
        self.igf1 = self.igf1 * self.d_igf + self.a_igf_top * (
            self.ec50 + self.one_m_emax * e2_mid
        ) / ((1 + gk * self.igf1) * (e2_mid + self.ec50))
        # IGFBP-3 follows GH (quasi-steady state at the step's mean IGF-1)
        self.bp3 = self.bp3 * self.d_bp3 + self.a_bp3_top / (1 + 0.5 * gk * (self.igf1 + igf1_old))


class _Glucose:
    """Fasting glucose-insulin: quasi-steady when IR inhibition is constant (exact then),
    integrated in split exponential sub-steps when an oral drug makes it vary."""

    def __init__(self, P, n: int, h: float, receptors: _Receptors, substep_h: float) -> None:
        self.P, self.receptors, self.n = P, receptors, n
        self.dynamic = receptors.dynamic_ir
        f_const = receptors.s_ir_const / (1 + receptors.s_ir_const)
        self.f_const = f_const
        if self.dynamic:
            self.g, self.ins = fasting_steady_state(P, np.broadcast_to(f_const, (n,)))
            self.x = P["SI"] * self.ins
            self.r0 = (P["EG0"] + P["SI"] * P["I_0"]) * P["G_0"]
            self.sig = P["n_ins"] * P["I_0"] * (P["alpha_G"] + P["G_0"] ** 2) / P["G_0"] ** 2
            self.n_sub = max(1, int(np.ceil(h / substep_h)))
            self.hs = h / self.n_sub
            self.d_ins = np.exp(-P["n_ins"] * self.hs)
            self.d_x = np.exp(-P["p2"] * self.hs)

    def constant_state(self, m: int):
        """Steady glucose and insulin of the first ``m`` patients under constant IR inhibition."""
        sub = {k: self.P[k][:m] for k in _GLUCOSE_KEYS}
        return fasting_steady_state(sub, np.broadcast_to(self.f_const, (m,)))

    def step(self, conc: _StepConc) -> None:
        """Sub-steps over one step, IR inhibition interpolated in time (dynamic case only)."""
        if not self.dynamic:
            return
        P, rec = self.P, self.receptors
        f0, fm, f1 = rec.f_ir(conc.start), rec.f_ir(conc.mid), rec.f_ir(conc.end)
        for j in range(self.n_sub):
            u = (j + 0.5) / self.n_sub
            f = f0 + (fm - f0) * 2 * u if u < 0.5 else fm + (f1 - fm) * (2 * u - 1)
            target = self.sig * self.g**2 / (P["alpha_G"] + self.g**2) / P["n_ins"]
            self.ins = target + (self.ins - target) * self.d_ins
            target = P["SI"] * self.ins
            self.x = target + (self.x - target) * self.d_x
            rate = P["EG0"] + self.x * (1 - P["w_IR_glc"] * f)
            target = self.r0 / rate
            self.g = target + (self.g - target) * np.exp(-rate * self.hs)

    def final(self, f_ir_end):
        if self.dynamic:
            return self.g, self.ins
        return fasting_steady_state(self.P, f_ir_end)


_TRACE_NAMES = ("C_let_nM", "E2", "E2_measured", "FSH", "LH", "IGF1", "BP3", "GH", "G", "Ins")


class _Tracer:
    """Full time courses of the first ``n_trace`` patients every ``every`` steps."""

    def __init__(self, n_trace, every, n_steps, h, oral, aromatase, endo, glucose) -> None:
        self.n, self.every = n_trace, max(1, int(every))
        self.idx = np.arange(0, n_steps + 1, self.every)
        self.t_h = self.idx * h
        self.oral, self.arom, self.endo, self.glucose = oral, aromatase, endo, glucose
        names = [*_TRACE_NAMES, "f_IGF1R", "f_IR"]
        names += [f"C_{d.name}_nM" for d in oral if d.name != "letrozole"]
        self.traces = {k: np.empty((n_trace, self.idx.size)) for k in names}
        self._glucose_const = None
        if n_trace and not glucose.dynamic:  # IR inhibition constant: one steady state
            self._glucose_const = glucose.constant_state(n_trace)

    def maybe_record(self, step: int, concs) -> None:
        if self.n and step % self.every == 0:
            self._record(step // self.every, concs)

    def _record(self, col: int, concs) -> None:
        sl, tr, endo = slice(0, self.n), self.traces, self.endo
        for i, d in enumerate(self.oral):
            key = "C_let_nM" if d.name == "letrozole" else f"C_{d.name}_nM"
            tr[key][:, col] = concs[i][sl]
        if self.arom.let_idx is None:
            tr["C_let_nM"][:, col] = self.arom.c_const
        s_igf = endo.receptors.s_igf(concs, sl)
        f_ir = np.broadcast_to(endo.receptors.f_ir(concs, sl), (self.n,))
        if self.glucose.dynamic:
            g, ins = self.glucose.g[sl], self.glucose.ins[sl]
        else:
            g, ins = self._glucose_const
        tr["G"][:, col], tr["Ins"][:, col] = g, ins
        tr["f_IR"][:, col], tr["f_IGF1R"][:, col] = f_ir, s_igf / (1 + s_igf)
        tr["E2"][:, col] = endo.e2[sl]
        tr["E2_measured"][:, col] = endo.e2[sl] + endo.P["E2_assay_floor"][sl]
        tr["FSH"][:, col], tr["LH"][:, col] = endo.fsh[sl], endo.lh[sl]
        tr["IGF1"][:, col], tr["BP3"][:, col] = endo.igf1[sl], endo.bp3[sl]
        tr["GH"][:, col] = endo.gh(sl, endo.igf1[sl], concs)


@dataclass
class _Averages:
    """Running means over the final window: aromatase inhibition and each drug's exposure."""

    t_from: float
    arom: np.ndarray
    conc: dict[str, np.ndarray]
    steps: int = 0

    def add(self, t0: float, resid, pks: list[_OralPK], conc: _StepConc) -> None:
        if t0 < self.t_from - 1e-9:
            return
        self.arom += 1 - resid
        for i, q in enumerate(pks):  # exact mean concentration over the step
            self.conc[q.drug.name] += conc.start[i] * q.w_c + conc.gut_start[i] * q.w_g
        self.steps += 1


def _final_values(P, endo: _Endocrine, glucose: _Glucose, avg: _Averages, pks) -> dict:
    """The recorded per-patient values at the end of the run."""
    n = endo.e2.size
    c_final = [q.central for q in pks]
    rec = endo.receptors
    s_igf_end = rec.s_igf(c_final)
    f_igf_end = np.broadcast_to(s_igf_end / (1 + s_igf_end), (n,))
    f_ir_end = np.broadcast_to(rec.f_ir(c_final), (n,))
    g_end, ins_end = glucose.final(f_ir_end)
    steps = max(avg.steps, 1)
    values = {
        "E2_baseline": endo.e2_0,
        "E2_measured_baseline": endo.e2_0 + P["E2_assay_floor"],
        "E2_end": endo.e2,
        "E2_measured_end": endo.e2 + P["E2_assay_floor"],
        "FSH_end": endo.fsh,
        "LH_end": endo.lh,
        "IGF1_ov_end": endo.igf_ov,
        "Fol_end": endo.fol,
        "GH_end": endo.gh(slice(None), endo.igf1, c_final),
        "IGF1_end": endo.igf1,
        "BP3_end": endo.bp3,
        "G_end": g_end,
        "Ins_end": ins_end,
        "f_IGF1R_end": f_igf_end,
        "f_IR_end": f_ir_end,
        "aromatase_inhibition": avg.arom / steps,
    }
    for q in pks:
        values[f"css_{q.drug.name}_nM"] = avg.conc[q.drug.name] / steps
        values[f"C_{q.drug.name}_end_nM"] = q.central
    return values


def simulate_batch(
    p: dict[str, np.ndarray],
    *,
    oral: list[OralDrug],
    const: list[ConstDrug],
    t_end_h: float,
    dt_h: float = 1.0,
    average_window_h: float = 168.0,
    n_trace: int = 0,
    trace_every: int = 1,
    glucose_substep_h: float = 1.0 / 12.0,
) -> BatchResult:
    """Simulate a batch of patients of ``patient.ant`` on a fixed grid.

    Stages: exact oral PK (:func:`_advance_pk`), step-averaged aromatase inhibition
    (:class:`_Aromatase`), the endocrine exponential-integrator step (:class:`_Endocrine`),
    fasting glucose-insulin (:class:`_Glucose`), traces (:class:`_Tracer`) and window means
    (:class:`_Averages`).

    Parameters
    ----------
    p : dict of str to ndarray
        Every parameter of ``patient.ant`` as an array of shape ``(n,)`` (or scalar).
    oral : list of OralDrug
        Orally dosed drugs; one named ``"letrozole"`` drives aromatase inhibition.
    const : list of ConstDrug
        Drugs held at a steady plasma exposure.
    t_end_h, dt_h : float
        Length of the simulation and the step (h). Dose times must lie on the grid.
    average_window_h : float
        Averages (``css_*``, ``aromatase_inhibition``) are taken over the last this-many hours.
    n_trace, trace_every : int
        Record full time courses for the first ``n_trace`` patients every ``trace_every`` steps.
    glucose_substep_h : float
        Sub-step of the glucose-insulin integration, used only when an oral drug inhibits IR
        (with constant IR inhibition the quasi-steady state is exact and used instead).
    """
    n_steps = round(t_end_h / dt_h)
    if n_steps < 1 or abs(n_steps * dt_h - t_end_h) > 1e-9 * max(t_end_h, 1.0):
        raise InputError(f"simulation length {t_end_h} h is not a whole number of {dt_h} h steps")
    shape = np.broadcast_shapes(*(np.shape(v) for v in p.values()))
    n = int(shape[0]) if shape else 1
    P = {k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in p.items()}
    h = dt_h
    pks = _prepare_pk(oral, n, h)
    receptors = _Receptors.of(oral, const)
    arom = _Aromatase(P, oral, const)
    endo = _Endocrine(P, n, h, receptors)
    glucose = _Glucose(P, n, h, receptors, glucose_substep_h)
    tracer = _Tracer(min(n_trace, n), trace_every, n_steps, h, oral, arom, endo, glucose)
    avg = _Averages(
        max(0.0, t_end_h - average_window_h), np.zeros(n), {d.name: np.zeros(n) for d in oral}
    )
    for step in range(n_steps):
        conc = _advance_pk(pks, step)
        tracer.maybe_record(step, conc.start)
        resid = arom.residual(conc)
        glucose.step(conc)
        endo.step(resid, conc)
        avg.add(step * h, resid, pks, conc)
    tracer.maybe_record(n_steps, [q.central for q in pks])
    values = _final_values(P, endo, glucose, avg, pks)
    return BatchResult(values=values, trace_t_h=tracer.t_h, traces=tracer.traces)
