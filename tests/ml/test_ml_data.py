"""Reading shards, carving validation, and the guard that keeps test images out of training."""

from __future__ import annotations

import pytest

from ml.data import (
    AI,
    REAL,
    DataError,
    OverlapError,
    SplitMismatchError,
    assert_disjoint,
    carve_validation,
    check_same_validation_split,
    dedupe,
    hashes_of_test_splits,
    labelled_sample,
    load_split,
    training_and_validation,
)
from tests.ml.conftest import jpeg_bytes, photo_like, write_dataset


def _images(count: int, offset: int = 0) -> list[bytes]:
    return [jpeg_bytes(photo_like(32, 32, seed=offset + i)) for i in range(count)]


def test_load_split_reads_shards_and_labels_from_the_manifest(tmp_path):
    fakes, reals = _images(3), _images(2, offset=10)
    write_dataset(
        tmp_path,
        "cifake",
        [("train", "FAKE", b) for b in fakes] + [("train", "REAL", b) for b in reals],
    )
    samples = load_split("cifake", "train", tmp_path)
    assert sorted(s.label for s in samples) == [REAL, REAL, AI, AI, AI]
    assert {s.data for s in samples} == set(fakes + reals)
    assert all(s.subset == "cifake" and s.split == "train" for s in samples)


def test_load_split_refuses_bytes_that_do_not_match_the_manifest(tmp_path):
    folder = write_dataset(tmp_path, "cifake", [("train", "FAKE", b) for b in _images(2)])
    manifest = folder / "MANIFEST.tsv"
    header, first, second = manifest.read_text().splitlines()
    tampered = first[:-64] + "0" * 64  # the last column is the SHA-256
    manifest.write_text("\n".join([header, tampered, second]) + "\n")
    with pytest.raises(DataError, match="SHA-256"):
        load_split("cifake", "train", tmp_path)


def test_a_training_image_that_is_in_a_test_split_fails_loudly(tmp_path):
    shared = _images(1, offset=99)[0]
    write_dataset(
        tmp_path,
        "cifake",
        [("train", "FAKE", b) for b in _images(3)]
        + [("train", "REAL", shared), ("test", "REAL", shared)],
    )
    with pytest.raises(OverlapError, match="1 training images are in a test split"):
        training_and_validation(["cifake"], tmp_path)


def test_an_extra_sample_copied_from_a_test_split_fails_loudly(tmp_path):
    test_image = _images(1, offset=50)[0]
    write_dataset(
        tmp_path,
        "cifake",
        [("train", "FAKE", b) for b in _images(2)] + [("test", "FAKE", test_image)],
    )
    extra = [labelled_sample(test_image, AI)]
    with pytest.raises(OverlapError):
        training_and_validation(["cifake"], tmp_path, extra)


def test_byte_identical_training_images_are_kept_once():
    data = _images(2)
    samples = [
        labelled_sample(data[0], AI),
        labelled_sample(data[1], REAL),
        labelled_sample(data[0], AI),
    ]
    assert [s.data for s in dedupe(samples)] == data


def test_assert_disjoint_passes_when_nothing_overlaps():
    samples = [labelled_sample(b, AI) for b in _images(3)]
    assert_disjoint(samples, {"0" * 64})


def test_validation_is_stratified_reproducible_and_disjoint_from_training():
    samples = [labelled_sample(b, AI) for b in _images(20)]
    samples += [labelled_sample(b, REAL) for b in _images(10, offset=100)]
    train, val = carve_validation(samples, fraction=0.2, seed=7)
    _, again_val = carve_validation(list(reversed(samples)), fraction=0.2, seed=7)
    assert [s.sha256 for s in val] == [s.sha256 for s in again_val]
    assert sorted(s.label for s in val) == [REAL, REAL, AI, AI, AI, AI]
    assert not {s.sha256 for s in train} & {s.sha256 for s in val}
    assert {s.split for s in val} == {"val"}
    assert len(train) + len(val) == len(samples)


def test_a_checkpoint_that_carved_another_validation_split_is_refused():
    check_same_validation_split({"val_fraction": 0.1, "split_seed": 0}, 0.1, 0, "mine")
    # written before split_seed existed: `seed` carved the split
    check_same_validation_split({"val_fraction": 0.1, "seed": 0}, 0.1, 0, "old")
    with pytest.raises(SplitMismatchError, match="trained on images this run validates on"):
        check_same_validation_split({"val_fraction": 0.1, "seed": 1}, 0.1, 0, "old")
    with pytest.raises(SplitMismatchError, match=r"fraction 0\.2"):
        check_same_validation_split({"val_fraction": 0.2, "split_seed": 0}, 0.1, 0, "other")


def test_extra_samples_take_bytes_or_paths_and_check_the_label(tmp_path):
    path = tmp_path / "x.jpg"
    path.write_bytes(_images(1)[0])
    assert labelled_sample(path, AI).data == path.read_bytes()
    with pytest.raises(ValueError, match="label"):
        labelled_sample(path, 2)


def test_the_shared_training_sets_do_not_overlap_any_test_split(data_dir):
    train, val = training_and_validation(["cifake", "faces", "wild"], data_dir)
    test_hashes = hashes_of_test_splits(data_dir)
    assert len(test_hashes) == 19962 + 366 + 500 + 347
    assert not {s.sha256 for s in train + val} & test_hashes
    assert {s.subset for s in val} == {"cifake", "faces_140k", "faces_swap", "wild"}
