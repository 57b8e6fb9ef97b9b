from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("employees_site.employees.urls")),
]

# Database outages raised outside a view still answer 503, not 500 (see the middleware).
handler500 = "employees_site.db.middleware.server_error"
