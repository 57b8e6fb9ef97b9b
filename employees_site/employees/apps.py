from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class EmployeesConfig(AppConfig):
    name = "employees_site.employees"
    label = "employees"
    verbose_name = "Employees"

    def ready(self) -> None:
        from .models import Department
        from .selectors import forget_kept

        for signal in (post_save, post_delete):
            signal.connect(forget_kept, sender=Department, dispatch_uid=f"departments-{signal}")
