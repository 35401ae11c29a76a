"""WSGI entry point (gunicorn ``--pythonpath platform verity.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "verity.settings")
application = get_wsgi_application()
