"""Finding faces with the detector that ships inside the OpenCV wheel."""

from __future__ import annotations

from PIL import Image

from ml.data import decode_rgb, load_split
from ml.faces import FaceFinder


def test_faces_are_found_in_face_photos_and_not_in_flat_images(data_dir):
    finder = FaceFinder()
    portraits = [s for s in load_split("faces", "test", data_dir) if s.subset == "faces_140k"]
    found = [finder.find(decode_rgb(s.data)) for s in portraits[:20]]
    assert sum(bool(boxes) for boxes in found) >= 18  # FFHQ/StyleGAN portraits: ~97% found
    assert finder.find(Image.new("RGB", (400, 300), "gray")) == []


def test_a_face_crop_is_a_square_with_margin_inside_the_image():
    finder = FaceFinder(margin=0.3)
    image = Image.new("RGB", (300, 200))
    crop = finder.crop(image, (100, 50, 80, 80))  # centre (140, 90): 80 * 1.6 = 128 fits
    assert crop.size == (128, 128)
    edge = finder.crop(image, (0, 0, 80, 80))  # at the corner: shrunk to stay inside
    assert edge.size == (80, 80)


def test_small_faces_are_out_of_scope():
    finder = FaceFinder(min_face=64)
    tiny_face_photo = Image.new("RGB", (48, 48), "white")
    assert finder.find(tiny_face_photo) == []
