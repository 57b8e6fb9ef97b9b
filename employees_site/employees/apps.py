from django.apps import AppConfig


class EmployeesConfig(AppConfig):
    name = "employees_site.employees"
    label = "employees"
    verbose_name = "Employees"
