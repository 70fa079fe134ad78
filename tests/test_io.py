import pytest

from letrolab._io import atomic_write_text, staged_dir


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
    target.mkdir()
    (target / "x.csv").write_text("old")
    with pytest.raises(RuntimeError, match="boom"), staged_dir(target) as stage:
        (stage / "x.csv").write_text("new")
        raise RuntimeError("boom")
    assert (target / "x.csv").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
