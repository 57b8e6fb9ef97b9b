from django.urls import path

from . import views

app_name = "employees"

urlpatterns = [
    path("", views.employee_list, name="list"),
    path("employees/<int:pk>/", views.employee_detail, name="detail"),
    path("api/employees/", views.api_employee_list, name="api-list"),
    path("api/employees/<int:pk>/", views.api_employee_detail, name="api-detail"),
    path("api/schema/", views.api_schema, name="api-schema"),
    # Last: every other path under /api/ is a JSON 404, never the site's HTML page.
    path("api/", views.api_not_found),
    path("api/<path:rest>", views.api_not_found),
]
