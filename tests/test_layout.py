"""The repository's shape: the rules that keep its rooms apart."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_platform_folder_is_not_a_package() -> None:
    assert (REPO_ROOT / "platform").is_dir()
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


def test_import_platform_is_still_the_standard_library() -> None:
    """With the repository root and platform/ on sys.path (as manage.py, the workers and pytest
    arrange), `import platform` must find the standard library module."""
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/platform']; "
        "import platform; print(platform.__file__); print(platform.system())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    ).stdout.split()
    assert Path(out[0]).parent == Path(sysconfig.get_paths()["stdlib"])
    assert out[1] == "Linux"


def test_import_platform_in_this_test_process_is_the_standard_library() -> None:
    import platform

    assert Path(platform.__file__).parent == Path(sysconfig.get_paths()["stdlib"])


def test_import_contracts_hold() -> None:
    """ml/ imports neither Django nor Celery; the crawler never imports the platform; the safe
    fetching and decoding libraries stand alone."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'platform'}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout and "BROKEN" not in result.stdout
