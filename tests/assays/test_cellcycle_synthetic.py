"""Cell-cycle analysis of synthetic PI files with known truth, written by ``write_fcs``.

The truth is the generating fractions of :func:`simulate_dna_content` (the generative form of
the Dean–Jett–Fox model plus doublets and an apoptotic sub-G1 hump). With 20,000 events the
sampling SD of a fraction is below 0.4 percentage points, so the DJF fit must recover G1, S and
G2/M within 2 points. Watson's pragmatic model assigns the S-phase cells that lie under the
outer halves of the peaks to G1 and G2/M (Watson et al. 1987 discuss this), so it is held to
within 7 points and to underestimating S.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letrolab._results import Failed
from letrolab.assays.cellcycle import (
    analyze_batch,
    analyze_cell_cycle,
    find_dna_channel,
    gate_singlets,
)
from letrolab.assays.fcs import read_fcs
from letrolab.errors import FitError, InputError
from letrolab.instruments.flow import PI_CHANNELS, DnaStain, simulate_dna_content, write_fcs

CASES = [
    dict(g1=0.60, s=0.25, g2m=0.15),
    dict(g1=0.30, s=0.50, g2m=0.20, sub_g1=0.10, doublets=0.05),
    dict(
        g1=0.45,
        s=0.35,
        g2m=0.20,
        sub_g1=0.05,
        doublets=0.03,
        stain=DnaStain(g1_mean=50_000.0, cv=0.035),
    ),
    dict(g1=0.15, s=0.15, g2m=0.70, sub_g1=0.25, doublets=0.08, stain=DnaStain(cv=0.06)),
]
# The last case is the hard one: a G2/M-arrested sample (CV 6 %, so S and the G2/M peak overlap
# strongly) with a 25 % apoptotic hump reaching under the foot of the G1 peak. The fit models
# the hump (a Gaussian apoptotic component) and chooses the S-phase degree by an F test at the
# 1 % level. Measured over 40 seeds per case (rng = 100 + case + 1000 k, k = 0..39, 20,000
# events): the largest phase error of any file was 1.15, 1.20, 1.42 and 1.26 points for the four
# cases (95th percentiles 1.02, 1.04, 1.04, 1.15); with the F test at 5 % two of the 160 files
# took a needless quadratic S and missed by 2.5 and 2.8 points. test_djf_holds_across_seeds
# repeats eight of those seeds per case.
TOLERANCE = 2.0


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("pi")
    paths = []
    for i, case in enumerate(CASES):
        ev = simulate_dna_content(20_000, rng=100 + i, **case)
        paths.append(write_fcs(root / f"case{i}.fcs", ev, channels=PI_CHANNELS))
    return paths


@pytest.mark.parametrize("i", range(len(CASES)))
def test_djf_recovers_known_fractions(written, i):
    case = CASES[i]
    res = analyze_cell_cycle(written[i], model="djf")
    truth = (
        100
        * np.array([case["g1"], case["s"], case["g2m"]])
        / sum((case["g1"], case["s"], case["g2m"]))
    )
    got = np.array([res.g1_pct, res.s_pct, res.g2m_pct])
    np.testing.assert_allclose(got, truth, atol=TOLERANCE)
    assert res.sub_g1_pct == pytest.approx(100 * case.get("sub_g1", 0.0), abs=1.0)
    assert res.g1_mean == pytest.approx(case.get("stain", DnaStain()).g1_mean, rel=0.01)
    assert res.g2_g1_ratio == pytest.approx(1.95, abs=0.02)
    assert res.g1_cv == pytest.approx(100 * case.get("stain", DnaStain()).cv, abs=0.5)
    # all doublets removed, hardly any singlet lost
    n_dbl = round(case.get("doublets", 0.0) * 20_000)
    assert 20_000 - n_dbl - 20 <= res.singlets <= 20_000 - n_dbl + 0.1 * n_dbl


@pytest.mark.parametrize("i", range(len(CASES)))
def test_watson_recovers_known_fractions_with_its_known_bias(written, i):
    case = CASES[i]
    res = analyze_cell_cycle(written[i], model="watson", cv="free")
    truth = 100 * np.array([case["g1"], case["s"], case["g2m"]])
    got = np.array([res.g1_pct, res.s_pct, res.g2m_pct])
    np.testing.assert_allclose(got, truth, atol=7.0)
    assert res.s_pct < truth[1] + 1.0


def test_control_guided_mode_finds_g1_when_it_is_nearly_empty(tmp_path):
    control = write_fcs(
        tmp_path / "c.fcs",
        simulate_dna_content(20_000, g1=0.6, s=0.25, g2m=0.15, rng=1),
        channels=PI_CHANNELS,
    )
    arrested = write_fcs(
        tmp_path / "a.fcs",
        simulate_dna_content(20_000, g1=0.04, s=0.16, g2m=0.80, rng=2),
        channels=PI_CHANNELS,
    )
    res = analyze_cell_cycle(arrested, control=control)
    assert res.g1_mean == pytest.approx(200, rel=0.02)
    assert res.g2m_pct == pytest.approx(80, abs=2.0)
    assert res.control == str(control)


def test_results_render_and_figure(tmp_path, written):
    from letrolab.assays.flow_plots import save_cell_cycle_figure

    res = analyze_cell_cycle(written[1])
    summ = res.summary()
    for key in (
        "file",
        "events",
        "singlets",
        "sub_g1_pct",
        "g1_pct",
        "s_pct",
        "g2m_pct",
        "g1_mean",
        "g2_mean",
        "g2_g1_ratio",
        "g1_cv",
        "rcs",
        "model",
    ):
        assert key in summ
    assert "G2/M" in res.report() and "sub-G1" in res.report()
    frame = res.to_frame()
    assert frame["count"].sum() <= res.singlets
    parts = ["G1", "S", "G2", "debris", "apoptotic"]
    np.testing.assert_allclose(frame["model"], frame[parts].sum(axis=1))
    assert frame["apoptotic"].sum() > 0.05 * res.singlets  # 10 % sub-G1, most in the fit range
    png = save_cell_cycle_figure(res, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    from letrolab.assays.flow_plots import plot_cell_cycle

    ax = plot_cell_cycle(res)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)
    assert f"apoptotic {res.apoptotic_pct:.1f} %" in labels
    assert {"debris", "G1", "S", "G2/M", "model"} <= set(labels)
    assert "S rectangle" in ax.get_title() or "S trapezoid" in ax.get_title()


def test_batch_keeps_going_after_a_bad_file(tmp_path, written):
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(b"FCS3.1 truncated")
    batch = analyze_batch([written[0], bad, written[1]])
    assert [bool(r) for r in batch.results] == [True, False, True]
    assert batch.failed[0][0] == str(bad) and "FCS" in batch.failed[0][1]
    assert len(batch.summary()["files"]) == 2
    frame = batch.to_frame()
    assert frame["error"].notna().sum() == 1


def test_batch_over_a_folder_in_natural_order(tmp_path):
    for well in ("A10", "A2", "A1"):
        write_fcs(
            tmp_path / f"{well}.fcs",
            simulate_dna_content(3000, g1=0.6, s=0.25, g2m=0.15, rng=3),
            channels=PI_CHANNELS,
            metadata={"WELL ID": well},
        )
    (tmp_path / "notes.txt").write_text("not fcs")
    batch = analyze_batch(tmp_path)
    assert [f.rsplit("/", 1)[-1] for f in batch.files] == ["A1.fcs", "A2.fcs", "A10.fcs"]
    assert batch.to_frame()["well"].tolist() == ["A1", "A2", "A10"]
    with pytest.raises(InputError, match="unknown option"):
        analyze_batch(tmp_path, colour="red")


def test_failed_fit_is_a_falsy_value_that_says_why(tmp_path):
    few = write_fcs(
        tmp_path / "few.fcs", np.column_stack([np.full(30, 1.0)] * 5), channels=PI_CHANNELS
    )
    res = analyze_cell_cycle(few)
    assert isinstance(res, Failed) and not res
    with pytest.raises(FitError, match="need at least 50"):
        _ = res.g1_pct


def test_bad_options_and_missing_channel(tmp_path, written):
    with pytest.raises(InputError, match="model must be one of"):
        analyze_cell_cycle(written[0], model="modfit")
    with pytest.raises(InputError, match="cv must be"):
        analyze_cell_cycle(written[0], cv="tied")
    with pytest.raises(InputError, match="apoptosis must be True or False"):
        analyze_cell_cycle(written[0], apoptosis="yes")
    with pytest.raises(InputError, match="s_degree must be 'auto'"):
        analyze_cell_cycle(written[0], s_degree=True)
    no_dna = write_fcs(tmp_path / "x.fcs", np.ones((10, 2)), channels=["FSC-A", "SSC-A"])
    with pytest.raises(InputError, match="pass --channel NAME"):
        analyze_cell_cycle(no_dna)
    nan = write_fcs(tmp_path / "n.fcs", np.ones((10, 2)), channels=["FSC-A", "PI-A"])
    assert find_dna_channel(read_fcs(nan)) == "PI-A"


def test_dna_channel_detection_prefers_area_and_dye_labels(tmp_path):
    p = write_fcs(
        tmp_path / "d.fcs",
        np.ones((5, 4)),
        channels=["FSC-A", "FL3-H", "FL3-A", "FL2-A"],
        labels=["", "", "Propidium Iodide", ""],
    )
    assert find_dna_channel(read_fcs(p)) == "FL3-A"
    p2 = write_fcs(tmp_path / "e.fcs", np.ones((5, 2)), channels=["FSC-A", "FL2-A"])
    assert find_dna_channel(read_fcs(p2)) == "FL2-A"


def test_height_gate_finds_doublets():
    ev = simulate_dna_content(10_000, g1=0.6, s=0.25, g2m=0.15, doublets=0.05, rng=7)
    area, height = ev[:, 2], ev[:, 4]
    mask, gate = gate_singlets(area, height, method="height")
    assert gate.method == "height"
    assert 9_450 <= mask.sum() <= 9_560  # 500 doublets; G1+G1 doublets look like G2 by height
    with pytest.raises(InputError, match="singlet method"):
        gate_singlets(area, height, method="ratio")


@settings(max_examples=5, deadline=None, derandomize=True)
@given(
    scale=st.floats(0.01, 1e4),
    g1=st.floats(0.2, 0.8),
    s=st.floats(0.05, 0.5),
    sub_g1=st.floats(0.0, 0.3),
)
def test_fractions_are_invariant_to_instrument_gain_and_sum_to_100(scale, g1, s, sub_g1):
    """Multiplying every signal by a gain changes the means, not the phase fractions (nor the
    apoptotic component, which is placed relative to G1)."""
    from letrolab.assays.fcs import FcsData

    ev = simulate_dna_content(4000, g1=g1, s=s, g2m=max(1 - g1 - s, 0.05), sub_g1=sub_g1, rng=11)
    base = _as_data(ev, FcsData)
    scaled = _as_data(ev * scale, FcsData)
    a, b = analyze_cell_cycle(base), analyze_cell_cycle(scaled)
    assert a.g1_pct + a.s_pct + a.g2m_pct == pytest.approx(100.0)
    np.testing.assert_allclose(
        [a.g1_pct, a.s_pct, a.g2m_pct], [b.g1_pct, b.s_pct, b.g2m_pct], atol=0.5
    )
    assert b.g1_mean == pytest.approx(scale * a.g1_mean, rel=1e-3)
    assert b.apoptotic_pct == pytest.approx(a.apoptotic_pct, abs=0.5)
    assert a.singlets == b.singlets


def _as_data(ev, cls):
    from letrolab.assays.fcs import Channel

    arr = np.asarray(ev, dtype=np.float64)
    # $PnR as write_fcs sets it: the next power of two above the channel's data
    top = [float(max(1024, 2 ** int(np.ceil(np.log2(max(t, 1.0) + 1))))) for t in arr.max(0)]
    chans = tuple(Channel(i, n, "", top[i], 32) for i, n in enumerate(PI_CHANNELS))
    return cls(path="<memory>", version="3.1", channels=chans, events=arr, keywords={})


@pytest.mark.parametrize("debris", [0.10, 0.25])
def test_single_cut_debris_is_modelled(tmp_path, debris):
    """Debris made by the single-cut process (Bagwell et al. 1991) is what the debris model
    describes: phases stay within 2 points, the fit is good (RCS near 1), and the modelled
    debris matches the fragments inside the fit range (those above 0.2 x G1, about 85 % of
    them here). Without a simulated hump the apoptotic Gaussian may still take a small share
    of the smooth debris continuum (2 of 25 points here): the two sub-G1 components are told
    apart by shape only, so their sum is what is checked."""
    ev = simulate_dna_content(20_000, g1=0.5, s=0.3, g2m=0.2, debris=debris, rng=5)
    res = analyze_cell_cycle(write_fcs(tmp_path / "d.fcs", ev, channels=PI_CHANNELS))
    np.testing.assert_allclose([res.g1_pct, res.s_pct, res.g2m_pct], [50, 30, 20], atol=2.0)
    assert res.rcs < 1.5
    assert 0.7 * 100 * debris < res.debris_pct + res.apoptotic_pct < 0.95 * 100 * debris
    assert res.apoptotic_pct < 0.1 * 100 * debris


def test_s_phase_polynomial_degree(written):
    """Uniform S (the simulation's truth) is a degree-0 polynomial: every degree recovers it,
    and a higher degree never fits worse on the same histogram."""
    fits = [analyze_cell_cycle(written[0], s_degree=d) for d in (0, 2, 4)]
    for res in fits:
        np.testing.assert_allclose([res.g1_pct, res.s_pct, res.g2m_pct], [60, 25, 15], atol=2.0)
    chi2 = [r.rcs for r in fits]
    assert chi2[2] <= chi2[0] * 1.1
    with pytest.raises(InputError, match="s_degree"):
        analyze_cell_cycle(written[0], s_degree=9)


def test_reduced_chi_square_is_near_one_when_the_model_is_right(tmp_path):
    """Data drawn from the DJF model itself (plus single-cut debris) must give RCS ~ 1.

    With ~120 informative bins the RCS of a correct model has SD ~ sqrt(2/120) = 0.13; the
    mean over six seeds must lie within 0.8-1.25 and every value within 0.6-1.6 (Neyman's
    weights add a small upward bias at low counts). Empty tail bins counted as degrees of
    freedom used to pull this to ~0.5.
    """
    values = []
    for seed in range(6):
        events = simulate_dna_content(20000, g1=0.55, s=0.28, g2m=0.17, debris=0.03, rng=seed)
        path = write_fcs(tmp_path / f"s{seed}.fcs", events, channels=PI_CHANNELS)
        values.append(analyze_cell_cycle(path).rcs)
    assert 0.8 < np.mean(values) < 1.25, values
    assert all(0.6 < v < 1.6 for v in values), values


@pytest.mark.parametrize("i", range(len(CASES)))
def test_djf_holds_across_seeds(i):
    """The 2-point claim is no luck of one seed: eight more simulations of each case (seeds
    from the 40-seed measurement above) all recover every phase within 2 points and sub-G1
    (a percentage of singlets) within 1 point."""
    from letrolab.assays.fcs import FcsData

    case = CASES[i]
    truth = 100 * np.array([case["g1"], case["s"], case["g2m"]])
    worst, worst_sub = 0.0, 0.0
    for k in range(1, 9):
        ev = simulate_dna_content(20_000, rng=100 + i + 1000 * k, **case).astype(np.float32)
        res = analyze_cell_cycle(_as_data(ev, FcsData))
        worst = max(worst, np.abs([res.g1_pct, res.s_pct, res.g2m_pct] - truth).max())
        worst_sub = max(worst_sub, abs(res.sub_g1_pct - 100 * case.get("sub_g1", 0.0)))
    assert worst < TOLERANCE
    assert worst_sub < 1.0


def _cycling_events(n, s_shape, rng):
    """PI events with a chosen S-phase density: S positions from Beta(*s_shape) between the
    G1 (200) and G2 (390) means, 50 % G1, 30 % S, 20 % G2/M, CV 4 %, no doublets."""
    gen = np.random.default_rng(rng)
    phase = gen.choice(3, size=n, p=[0.5, 0.3, 0.2])
    t = gen.beta(*s_shape, n)
    mean = np.where(phase == 0, 200.0, np.where(phase == 2, 390.0, 200.0 + 190.0 * t))
    dna = mean * (1 + 0.04 * gen.standard_normal(n))
    width = 50.0 * np.cbrt(dna / 200.0) * (1 + 0.04 * gen.standard_normal(n))
    return np.column_stack([np.ones(n), np.ones(n), dna, width, 50.0 * dna / width])


@pytest.mark.parametrize(
    ("s_shape", "degree"),
    [((1, 1), 0), ((1, 2), 1), ((2, 1), 1), ((2, 2), 2)],
    ids=["uniform", "falling", "rising", "mid-peak"],
)
def test_auto_s_degree_follows_the_s_phase_shape(s_shape, degree):
    """A uniform S density is a rectangle, a linear one a trapezoid, Beta(2, 2) a quadratic:
    the F test picks exactly that degree (10 of 10 seeds each when measured), and the phases
    are recovered within 2 points."""
    from letrolab.assays.fcs import FcsData

    res = analyze_cell_cycle(_as_data(_cycling_events(20_000, s_shape, 21), FcsData))
    assert res.s_degree == degree
    np.testing.assert_allclose([res.g1_pct, res.s_pct, res.g2m_pct], [50, 30, 20], atol=2.0)


def test_reduced_chi_square_is_near_one_with_an_apoptotic_hump():
    """With the apoptotic component the RCS of apoptotic samples is that of Poisson counting.

    A Gaussian hump (the component's own shape; 10 % sub-G1, 3 % debris, 3 % doublets): over
    six seeds the mean RCS lies in 0.8-1.25 and each value in 0.6-1.6 (SD of a correct model's
    RCS over ~150 bins is ~0.12; measured 0.85-1.17, mean 1.04). The hard case above (a Beta
    hump, not the component's shape, 25 % sub-G1): RCS below 1.8 (measured 1.07-1.67 over 40
    seeds); without the component the same file gives RCS above 4 (measured 7-10), as the
    benchmark file did (92 on 1,000,000 events).
    """
    from letrolab.assays.fcs import FcsData

    values = []
    for seed in range(6):
        ev = simulate_dna_content(
            20_000,
            g1=0.55,
            s=0.28,
            g2m=0.17,
            sub_g1=0.10,
            debris=0.03,
            doublets=0.03,
            sub_g1_shape="normal",
            rng=seed,
        )
        res = analyze_cell_cycle(_as_data(ev, FcsData))
        np.testing.assert_allclose([res.g1_pct, res.s_pct, res.g2m_pct], [55, 28, 17], atol=2.0)
        values.append(res.rcs)
    assert 0.8 < np.mean(values) < 1.25, values
    assert all(0.6 < v < 1.6 for v in values), values
    hard = _as_data(simulate_dna_content(20_000, rng=103, **CASES[3]), FcsData)
    with_hump, without = analyze_cell_cycle(hard), analyze_cell_cycle(hard, apoptosis=False)
    assert with_hump.rcs < 1.8
    assert without.rcs > 4.0
    assert with_hump.apoptotic_pct == pytest.approx(25, abs=5)  # part lies below the fit range
    assert without.apoptotic_pct == 0.0 and "apoptotic" not in without.components
    with pytest.raises(InputError, match="sub_g1_shape"):
        simulate_dna_content(10, g1=1, s=0, g2m=0, sub_g1_shape="gamma")
