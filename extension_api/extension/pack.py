"""Pack the extension into a zip ready for a browser store: dist/verity-extension-<version>.zip.

    .venv/bin/python extension_api/extension/pack.py [--out DIR]     (or: make extension)

Only the runtime files go in (manifest, service worker, content scripts, shared modules, popup,
options page, icons), never tools or docs. The manifest's `key`, which pins the extension id for
development and tests, is left out: the store assigns the published id. The archive is
reproducible: sorted entries and fixed timestamps, so the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import Any

EXTENSION_DIR = Path(__file__).resolve().parent
REPO_ROOT = EXTENSION_DIR.parents[1]
RUNTIME_DIRS = ("background", "content", "lib", "popup", "options", "icons")
RUNTIME_SUFFIXES = {".js", ".css", ".html", ".png", ".json"}
FIXED_TIMESTAMP = (2024, 1, 1, 0, 0, 0)


def runtime_files(extension_dir: Path = EXTENSION_DIR) -> list[Path]:
    """The files the browser needs, relative to extension_dir, sorted."""
    files = [
        path.relative_to(extension_dir)
        for directory in RUNTIME_DIRS
        for path in (extension_dir / directory).rglob("*")
        if path.is_file() and path.suffix in RUNTIME_SUFFIXES
    ]
    return sorted(files)


def store_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the store gets it: without the development key."""
    return {name: value for name, value in manifest.items() if name != "key"}


def referenced_files(manifest: dict[str, Any]) -> set[str]:
    """Every file the manifest names, so a typo fails the pack instead of the install."""
    named = {
        *manifest.get("icons", {}).values(),
        *manifest.get("action", {}).get("default_icon", {}).values(),
        manifest.get("action", {}).get("default_popup"),
        manifest.get("options_ui", {}).get("page"),
        manifest.get("background", {}).get("service_worker"),
        *(js for script in manifest.get("content_scripts", []) for js in script.get("js", [])),
    }
    return {name for name in named if name}


def pack(out_dir: Path, extension_dir: Path = EXTENSION_DIR) -> Path:
    """Writes the zip into out_dir and returns its path."""
    manifest = json.loads((extension_dir / "manifest.json").read_text())
    files = runtime_files(extension_dir)
    missing = referenced_files(manifest) - {file.as_posix() for file in files}
    if missing:
        raise SystemExit(f"manifest.json names files that are not packed: {sorted(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"verity-extension-{manifest['version']}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zip_file:
        manifest_text = json.dumps(store_manifest(manifest), indent=2, ensure_ascii=False) + "\n"
        _write(zip_file, "manifest.json", manifest_text.encode())
        for file in files:
            _write(zip_file, file.as_posix(), (extension_dir / file).read_bytes())
    return archive


def _write(zip_file: zipfile.ZipFile, name: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    zip_file.writestr(entry, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="output folder")
    archive = pack(parser.parse_args().out)
    with zipfile.ZipFile(archive) as zip_file:
        count = len(zip_file.namelist())
    size_kib = archive.stat().st_size / 1024
    print(f"wrote {archive} ({count} files, {size_kib:.0f} KiB)")


if __name__ == "__main__":
    main()
