from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/events/", include("order_events.urls")),  # order events from the commerce system
    # The member back office and the exchange wizard (issue 3).
    path("", include("ssr_points.urls")),
    path("", include("subscriptions.urls")),
    path("exchange/", include("exchange.urls")),
]

# A database gone mid-request: 503, not 500 (nor 400 when it was the session's save).
handler500 = "config.errors.server_error"
handler400 = "config.errors.bad_request"
# The back office's 403 is in the admin's layout and Japanese (backoffice/views.py).
handler403 = "backoffice.views.permission_denied"
