from django.apps import AppConfig


class DatabaseLayerConfig(AppConfig):
    name = "employees_site.db"
    label = "aurora"
    verbose_name = "Aurora data layer"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
