from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("employees_site.employees.urls")),
]

# JSON under /api/, the site's layout elsewhere; a database outage raised outside a view still
# answers 503, not 500 (see the database middleware).
handler400 = "employees_site.errors.bad_request"
handler404 = "employees_site.errors.page_not_found"
handler500 = "employees_site.errors.server_error"
