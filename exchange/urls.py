from django.urls import path

from exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("products/<int:product_id>/", views.quantity, name="quantity"),
    path("bundle/", views.bundle, name="bundle"),
    path("confirm/", views.confirm, name="confirm"),
    path("done/<str:number>/", views.done, name="done"),
    path("history/", views.history, name="list"),
    path("history/<str:number>/", views.detail, name="detail"),
    path("history/<str:number>/cancel/", views.cancel, name="cancel"),
    path("request/", views.exchange_request, name="request"),
]
