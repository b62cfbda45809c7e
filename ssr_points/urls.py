from django.urls import path

from ssr_points import views

urlpatterns = [
    path("", views.home, name="home"),
]
