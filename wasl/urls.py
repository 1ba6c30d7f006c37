from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path, register_converter
from django.views.generic import RedirectView
from django.views.i18n import set_language

from api.urls import api
from core.converters import IdConverter
from operations.views import healthz

register_converter(IdConverter, "id")

handler400 = "core.views.bad_request"
handler403 = "core.views.forbidden"
handler404 = "core.views.not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico before reading a page's icon link.
    path("favicon.ico", RedirectView.as_view(url=static("wasl/favicon.svg"), permanent=True)),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("desk/", include("desk.urls")),
    path("exchange/", include("exchange.urls")),
    path("", include("portal.urls")),
]
