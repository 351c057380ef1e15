"""Atomic replacement: a reader sees the old file or the new one, never half of one."""

import stat

import pytest

from saylau.geo.files import staged, write_atomically


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.csv"
    target.write_text("old")

    write_atomically(target, lambda path: path.write_text("new"))

    assert target.read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["a.csv"]


def test_a_failed_write_leaves_every_file_as_it_was(tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("old first")

    with pytest.raises(RuntimeError), staged([first, second]) as (new_first, _):
        new_first.write_text("new first")
        raise RuntimeError("disk full")

    assert first.read_text() == "old first"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["first.csv"]


def test_private_files_are_owner_only_public_ones_follow_the_umask(tmp_path):
    with staged([tmp_path / "public.csv", tmp_path / "private.csv"], [None, 0o600]) as paths:
        for path in paths:
            path.write_text("x")

    assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o600
    assert (tmp_path / "public.csv").stat().st_mode & 0o044  # readable by others (umask 022)
