from django.contrib.auth.views import LogoutView
from django.urls import path

from subscriptions import views

urlpatterns = [
    path("login/", views.MemberLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("program/", views.program, name="program"),
    path("program/qr.svg", views.program_qr, name="program_qr"),
    path("subscription/", views.subscription, name="subscription"),
]
