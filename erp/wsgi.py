"""WSGI entry point (the ASGI one in erp.asgi also serves WebSockets)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erp.settings")
application = get_wsgi_application()
