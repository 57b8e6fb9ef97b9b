import logging
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "employees_site.settings")

application = get_wsgi_application()

if settings.PRODUCTION and not settings.HTTPS:
    logging.getLogger("employees_site").warning(
        "DJANGO_HTTPS=false: serving plain HTTP without HSTS, the HTTPS redirect or secure "
        "cookies (checks security.W004, W008, W012 and W016 are silenced); give the stack a "
        "certificate to turn them on"
    )
