"""Staging data for a lent GPU: the same training and validation split, the same overlap guard,
and loud errors for whatever was left behind."""

from __future__ import annotations

import pytest

from ml.data import DataError, hashes_of_test_splits, load_split, training_and_validation
from ml.stage_data import main, stage
from tests.ml.conftest import jpeg_bytes, photo_like, write_dataset


def _images(count: int, offset: int = 0) -> list[bytes]:
    return [jpeg_bytes(photo_like(32, 32, seed=offset + i)) for i in range(count)]


@pytest.fixture
def shared(tmp_path):
    """Two data sets with train and test splits, like ../shared/datasets."""
    root = tmp_path / "shared"
    for offset, name in ((0, "cifake"), (100, "wild")):
        fakes, reals, tests = _images(6, offset), _images(6, offset + 20), _images(2, offset + 40)
        write_dataset(
            root,
            name,
            [("train", "FAKE", b) for b in fakes]
            + [("train", "REAL", b) for b in reals]
            + [("test", "FAKE", tests[0]), ("test", "REAL", tests[1])],
        )
    return root


def test_a_staged_data_set_trains_and_validates_on_the_same_images(shared, tmp_path):
    staged = tmp_path / "staged"
    stage(["cifake"], shared, staged)

    original = training_and_validation(["cifake"], shared, val_fraction=0.2)
    again = training_and_validation(["cifake"], staged, val_fraction=0.2)
    for ours, theirs in zip(original, again, strict=True):
        assert [s.sha256 for s in ours] == [s.sha256 for s in theirs]
    assert hashes_of_test_splits(staged) == hashes_of_test_splits(shared), "every test split"


def test_what_was_left_behind_fails_loudly(shared, tmp_path):
    staged = tmp_path / "staged"
    stage(["cifake"], shared, staged)

    assert not list((staged / "wild").glob("*.tar"))
    with pytest.raises(DataError, match="lists no train images"):
        load_split("wild", "train", staged)
    with pytest.raises(DataError, match=r"test-FAKE\.tar is missing"):
        load_split("cifake", "test", staged)


def test_the_command_prints_the_share_of_the_device_limit(shared, tmp_path, capsys):
    main(["cifake", "wild", "--data-dir", str(shared), "--out", str(tmp_path / "out")])

    printed = capsys.readouterr().out
    assert "staged cifake, wild in" in printed
    assert "of the device tool's 64 MiB" in printed
    assert len(load_split("wild", "train", tmp_path / "out")) == 12


def test_it_never_empties_a_folder_it_did_not_stage(shared, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"not staged by ml\.stage_data"):
        stage(["cifake"], shared, precious)
    assert (precious / "notes.txt").read_text() == "keep me"

    stage(["cifake"], shared, tmp_path / "staged")
    stage(["wild"], shared, tmp_path / "staged")  # its own folder: staged afresh
    assert not list((tmp_path / "staged" / "cifake").glob("*.tar"))
