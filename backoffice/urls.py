from django.urls import path

from backoffice import email_previews

app_name = "email_previews"

urlpatterns = [
    path("", email_previews.preview_index, name="index"),
    path("<slug:slug>/", email_previews.preview_detail, name="detail"),
    path("<slug:slug>/html/", email_previews.preview_html, name="html"),
]
