"""Name what a byte string is from its first bytes, to explain a refusal to a person.

Decoding never depends on this (Pillow identifies the bytes itself, restricted to the allowed
formats); `sniff` only turns "Pillow could not read it" into "this is an HTML page" or "this is
a Photoshop file". Extensions and declared content types are never looked at.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """What some bytes turned out to be."""

    name: str  # Pillow's format name for raster images ("JPEG", "PNG", ...), else a label
    description: str  # for a sentence: "a PNG image", "an HTML page"
    is_image: bool  # an image format (maybe one we do not read), as opposed to anything else


def _image(name: str, description: str) -> Kind:
    return Kind(name, description, is_image=True)


def _other(name: str, description: str) -> Kind:
    return Kind(name, description, is_image=False)


_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"\xff\xd8\xff", _image("JPEG", "a JPEG image")),
    (b"\x89PNG\r\n\x1a\n", _image("PNG", "a PNG image")),
    (b"GIF87a", _image("GIF", "a GIF image")),
    (b"GIF89a", _image("GIF", "a GIF image")),
    (b"II*\x00", _image("TIFF", "a TIFF image")),
    (b"MM\x00*", _image("TIFF", "a TIFF image")),
    (b"II+\x00", _image("BigTIFF", "a BigTIFF image")),
    (b"MM\x00+", _image("BigTIFF", "a BigTIFF image")),
    (b"\x00\x00\x01\x00", _image("ICO", "a Windows icon")),
    (b"8BPS", _image("PSD", "a Photoshop document")),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", _image("JPEG2000", "a JPEG 2000 image")),
    (b"\xff\x4f\xff\x51", _image("JPEG2000", "a JPEG 2000 image")),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", _image("JXL", "a JPEG XL image")),
    (b"\xff\x0a", _image("JXL", "a JPEG XL image")),
    (b"qoif", _image("QOI", "a QOI image")),
    (b"DDS ", _image("DDS", "a DirectDraw texture")),
    (b"%!PS", _image("EPS", "a PostScript document")),
    (b"\xc5\xd0\xd3\xc6", _image("EPS", "a PostScript document")),
    (b"%PDF", _other("PDF", "a PDF document")),
    (b"PK\x03\x04", _other("ZIP", "a ZIP archive")),
    (b"PK\x05\x06", _other("ZIP", "a ZIP archive")),
    (b"\x1f\x8b", _other("GZIP", "a gzip archive")),
    (b"Rar!\x1a\x07", _other("RAR", "a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", _other("7Z", "a 7-Zip archive")),
    (b"MZ", _other("EXE", "a Windows program")),
    (b"\x7fELF", _other("ELF", "a Linux program")),
    (b"\x1a\x45\xdf\xa3", _other("MKV", "a WebM or Matroska video")),
    (b"OggS", _other("OGG", "an Ogg audio or video file")),
    (b"ID3", _other("MP3", "an MP3 audio file")),
    (b"{\\rtf", _other("RTF", "an RTF document")),
)

# ISO base media files (HEIF, AVIF, MP4) say what they are in the "ftyp" box's major brand.
_FTYP_BRANDS: dict[bytes, Kind] = {
    **dict.fromkeys((b"avif", b"avis"), _image("AVIF", "an AVIF image")),
    **dict.fromkeys(
        (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"),
        _image("HEIF", "a HEIC/HEIF image"),
    ),
    **dict.fromkeys((b"crx ",), _image("CR3", "a Canon raw photo")),
}
_VIDEO = _other("MP4", "an MP4 or QuickTime video")

# Markup and text, recognised after a byte-order mark and leading white space.
_TEXT_STARTS: tuple[tuple[tuple[str, ...], Kind], ...] = (
    (("<svg", "<!doctype svg"), _image("SVG", "an SVG drawing")),
    (
        ("<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<div", "<meta"),
        _other("HTML", "an HTML page"),
    ),
    (("<?xml",), _other("XML", "an XML document")),
    (("{", "["), _other("JSON", "a JSON document")),
)


def sniff(data: bytes) -> Kind | None:
    """What `data` looks like, or None when its first bytes say nothing recognisable."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:2] == b"BM" and data[6:10] == b"\0\0\0\0":  # "BM", size, then 4 reserved zeros
        return _image("BMP", "a BMP image")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _image("WEBP", "a WebP image")
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12], _VIDEO)
    return _sniff_text(data[:1024])


def _sniff_text(head: bytes) -> Kind | None:
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n").lower()
    if text.startswith("<?xml") and "<svg" in text:
        return _image("SVG", "an SVG drawing")
    for starts, kind in _TEXT_STARTS:
        if text.startswith(starts):
            return kind
    if text and all(character.isprintable() or character in "\t\r\n" for character in text):
        return _other("TEXT", "a text file")
    return None


def looks_cut_short(data: bytes, kind: Kind | None) -> bool:
    """True when `data` lacks the end its format promises: the download or upload was cut.

    Only consulted after decoding failed, to tell a truncated file from a damaged one.
    """
    if kind is None:
        return False
    if kind.name == "JPEG":
        return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if kind.name == "PNG":
        return b"IEND" not in data[-32:]
    if kind.name == "GIF":
        return not data.endswith(b";")
    if kind.name == "WEBP" and len(data) >= 8:
        (riff_size,) = struct.unpack("<I", data[4:8])
        return len(data) < riff_size + 8
    return False
