from django.urls import path

from order_events import views

app_name = "order_events"
urlpatterns = [
    path("order-shipped/", views.order_shipped, name="order-shipped"),
    path("order-returned/", views.order_returned, name="order-returned"),
]
