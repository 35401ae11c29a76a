#!/usr/bin/env python
"""Django's command-line utility for Verity."""

import os
import sys
from pathlib import Path

# platform/ is a plain folder put on sys.path (after the repository root, before site-packages),
# so its apps import by name while `import platform` still finds the standard library.
PLATFORM_DIR = Path(__file__).resolve().parent / "platform"


def main() -> None:
    sys.path.insert(1, str(PLATFORM_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verity.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
