from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.static import serve

from config import password_reset
from exchange.home import home


def media(request, path):
    """Uploaded files (product images) outside production (``SERVE_MEDIA``); production serves
    MEDIA_ROOT from the web server or object storage (docs/member-site.md)."""
    return serve(request, path, document_root=settings.MEDIA_ROOT)


@cache_control(max_age=24 * 60 * 60, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico whatever a page links (the admin, a PDF, a bookmark): the
    site's icon, ``static/favicon.svg``, which every member page also links."""
    return redirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/events/", include("order_events.urls")),  # order events from the commerce system
    # Password reset by email (Django's views and tokens; config/password_reset.py).
    path("password-reset/", password_reset.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", password_reset.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", password_reset.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Every email as members receive it, for staff (or anyone with DEBUG on).
    path("email-previews/", include("backoffice.urls")),
    # The member back office: home (the ledger with the exchanges' products) and the exchange wizard.
    path("", home, name="home"),
    path("", include("subscriptions.urls")),
    path("exchange/", include("exchange.urls")),
]
if settings.SERVE_MEDIA:
    urlpatterns.append(re_path(r"^media/(?P<path>.+)$", media))

# A database gone mid-request: 503, not 500 (nor 400 when it was the session's save).
handler500 = "config.errors.server_error"
handler400 = "config.errors.bad_request"
# A 403 is Japanese: in the admin's layout in the back office, the member layout elsewhere (config/errors.py).
handler403 = "config.errors.permission_denied"
# So is a page that does not exist: the member layout with the way back (also with DEBUG: config/errors.py).
handler404 = "config.errors.page_not_found"
