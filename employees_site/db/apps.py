from django.apps import AppConfig


class DatabaseLayerConfig(AppConfig):
    name = "employees_site.db"
    label = "aurora"
    verbose_name = "Aurora data layer"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401 - registers the system checks
        from .routing import install_tracker

        connection_created.connect(install_tracker, dispatch_uid="employees_site.db.tracker")
