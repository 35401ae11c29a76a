"""`make extension`: the store zip holds the runtime files and nothing else, and it works."""

from __future__ import annotations

import json
import zipfile

import pytest

from extension_api.extension.pack import EXTENSION_DIR, pack
from tests.extension.browser_harness import PUBLIC_TEST_HOST, launch_extension_browser
from tests.extension.fake_verity import TEAM_TOKEN


def test_the_zip_is_named_for_the_version_and_holds_only_runtime_files(tmp_path):
    archive = pack(tmp_path)

    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text())
    assert archive.name == f"verity-extension-{manifest['version']}.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert "manifest.json" in names
    assert {"background/service-worker.js", "content/loader.js", "content/overlay.css"} <= set(
        names
    )
    assert {"popup/popup.html", "options/options.html", "icons/icon-128.png"} <= set(names)
    assert not [name for name in names if name.endswith(".py") or name.startswith("tools/")]
    assert not [name for name in names if name.endswith(".md")]


def test_the_store_manifest_drops_only_the_development_key(tmp_path):
    archive = pack(tmp_path)

    packed = json.loads(zipfile.ZipFile(archive).read("manifest.json"))
    source = json.loads((EXTENSION_DIR / "manifest.json").read_text())
    assert "key" in source and "key" not in packed
    assert packed == {name: value for name, value in source.items() if name != "key"}


def test_packing_twice_gives_the_same_bytes(tmp_path):
    first = pack(tmp_path / "first").read_bytes()
    second = pack(tmp_path / "second").read_bytes()
    assert first == second


@pytest.mark.browser
def test_the_packed_extension_runs(playwright, tmp_path, fake_verity, local_site):
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(pack(tmp_path)).extractall(unpacked)

    settings = {"serverUrl": fake_verity.url, "teamToken": TEAM_TOKEN}
    with launch_extension_browser(
        playwright, tmp_path / "profile", settings=settings, extension_dir=unpacked
    ) as browser:
        page = browser.open(local_site.url("/strict-csp.html", host=PUBLIC_TEST_HOST))
        browser.wait_for_states(page, {"locked": "likely_ai", "plain": "likely_real"})
        assert [(b.on, b.kind) for b in browser.badges(page)] == [("locked", "ai")]
