"""`safefetch` and `imaging` are plain libraries: crawler and workers use them without Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PLATFORM = Path(__file__).resolve().parents[2] / "platform"
PROBE = """
import sys
import imaging, safefetch
frameworks = {"django", "rest_framework", "celery"}
print(",".join(sorted(frameworks & {name.split(".")[0] for name in sys.modules})))
"""


def test_the_libraries_import_no_django_and_no_celery() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PLATFORM,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},  # and no DJANGO_SETTINGS_MODULE from the test run
    )
    assert result.stdout.strip() == ""
