import os

import pytest

from letrolab._io import atomic_write_text, staged_dir
from letrolab.errors import InputError


def test_atomic_write_leaves_no_partial_files(tmp_path):
    p = atomic_write_text(tmp_path / "a" / "b.txt", "hello")
    assert p.read_text() == "hello"
    assert [f.name for f in p.parent.iterdir()] == ["b.txt"]


def test_staged_dir_moves_files_on_success(tmp_path):
    target = tmp_path / "out"
    with staged_dir(target) as stage:
        (stage / "x.csv").write_text("1")
        (stage / "sub").mkdir()
        (stage / "sub" / "y.csv").write_text("2")
        assert not target.exists()
    assert (target / "x.csv").read_text() == "1"
    assert (target / "sub" / "y.csv").read_text() == "2"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_staged_dir_keeps_previous_output_on_failure(tmp_path):
    target = tmp_path / "out"
    with staged_dir(target) as stage:
        (stage / "x.csv").write_text("old")
    with pytest.raises(RuntimeError, match="boom"), staged_dir(target) as stage:
        (stage / "x.csv").write_text("new")
        raise RuntimeError("boom")
    assert (target / "x.csv").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_written_files_get_the_ordinary_mode(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        p = atomic_write_text(tmp_path / "r.html", "x")
        with staged_dir(tmp_path / "out") as stage:
            (stage / "s.csv").write_text("1")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755


def test_staged_dir_refuses_a_file_where_the_folder_should_be(tmp_path):
    import pytest

    from letrolab._io import staged_dir
    from letrolab.errors import InputError

    blocker = tmp_path / "out"
    blocker.write_text("keep me")
    with pytest.raises(InputError, match="is an existing file; give a folder path"):
        staged_dir(blocker).__enter__()
    with pytest.raises(InputError, match="a file stands in its path"):
        staged_dir(blocker / "sub").__enter__()
    assert blocker.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind


def test_save_figure_writes_png_and_svg_atomically(tmp_path):
    from letrolab._io import pyplot, save_figure

    plt = pyplot()

    for name, magic in [("f.png", b"\x89PNG"), ("f.svg", b"<?xml")]:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        p = save_figure(fig, tmp_path / name)
        assert p.read_bytes().startswith(magic)
        assert not plt.fignum_exists(fig.number)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["f.png", "f.svg"]


def test_save_figure_leaves_nothing_when_drawing_fails(tmp_path):
    from letrolab._io import pyplot, save_figure

    plt = pyplot()

    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="not supported"):
        save_figure(fig, tmp_path / "f.nosuchformat")
    assert list(tmp_path.iterdir()) == []


def test_pyplot_is_agg_and_suffixless_paths_take_the_default_format(tmp_path):
    from letrolab._io import pyplot, save_figure

    plt = pyplot()
    assert plt.get_backend().lower() == "agg"
    for default, magic in [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")]:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        p = save_figure(fig, tmp_path / f"plain_{default}", default_format=default)
        assert p.read_bytes().startswith(magic)
    fig, _ = plt.subplots()
    # the suffix wins over the default
    assert save_figure(fig, tmp_path / "f.png", default_format="svg").read_bytes()[:4] == b"\x89PNG"


def test_no_plotting_module_imports_matplotlib_itself():
    """One lazy Agg import (letrolab._io.pyplot) serves every figure."""
    import pathlib

    import letrolab

    src = pathlib.Path(letrolab.__file__).parent
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "_io.py"
        and any(
            line.strip() in ("import matplotlib", "import matplotlib.pyplot as plt")
            or "matplotlib.use(" in line
            for line in p.read_text().splitlines()
        )
    ]
    assert offenders == []


def test_unwritable_outputs_are_input_errors_naming_the_target(tmp_path):
    from letrolab._io import atomic_write_bytes

    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("keep")
    with pytest.raises(InputError, match=r"'.*folder' is a folder; give a file path"):
        atomic_write_bytes(tmp_path / "folder", b"x")
    with pytest.raises(InputError, match=r"'.*file/x.bin': a file stands in its path"):
        atomic_write_bytes(tmp_path / "file" / "x.bin", b"x")
    assert (tmp_path / "file").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"]  # no probes left


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_a_virtual_file_system_is_refused_before_any_work():
    """/proc takes no new files even for root: the message names the target, not a temp file."""
    from letrolab._io import atomic_write_bytes, check_output_dir

    with pytest.raises(InputError, match=r"cannot write output folder '/proc/letrolab-out'"):
        check_output_dir("/proc/letrolab-out")
    with pytest.raises(InputError, match=r"cannot write '/proc/letrolab.json': .*writable"):
        atomic_write_bytes("/proc/letrolab.json", b"{}")


def test_unsupported_figure_format_is_an_input_error(tmp_path):
    from letrolab._io import pyplot, save_figure

    fig, _ = pyplot().subplots()
    with pytest.raises(InputError, match=r"figure format 'xyz' \(f.xyz\) is not supported"):
        save_figure(fig, tmp_path / "f.xyz")
    assert not pyplot().fignum_exists(fig.number)
    assert list(tmp_path.iterdir()) == []


def test_log_axes_get_plain_number_labels_not_raw_mathtext(tmp_path):
    """letrolab draws text without mathtext, so matplotlib's default log labels
    ('$\\mathdefault{10^{0}}$') would show as markup; save_figure labels them 0.01, 1, 100. A
    formatter the figure set itself is kept."""
    from matplotlib.ticker import FuncFormatter

    from letrolab._io import pyplot, save_figure

    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2)
    for ax in (a, b):
        ax.plot([0.01, 1, 100], [1, 2, 3])
        ax.set_xscale("log")
    b.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"x{v:g}"))
    save_figure(fig, tmp_path / "f.png", close=False)
    labels = [t.get_text() for t in a.get_xticklabels() if t.get_text()]
    assert "1" in labels and "100" in labels and not any("$" in t for t in labels)
    assert any(t.get_text() == "x1" for t in b.get_xticklabels())
    plt.close(fig)


def test_comment_header_reads_the_leading_key_value_comments(tmp_path):
    from letrolab._io import comment_header

    p = tmp_path / "t.csv"
    p.write_text("# walkers: 40\n# history: a: b\n#bare\nx,y\n# late: 1\n1,2\n")
    assert comment_header(p) == {"walkers": "40", "history": "a: b", "bare": ""}
