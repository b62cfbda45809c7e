"""Every member email can be previewed, by staff (or anyone with DEBUG on), changing nothing."""

import pytest
from django.core import mail
from django.urls import reverse

from backoffice.email_previews import PREVIEWS
from exchange.models import Exchange
from tests.factories import MemberFactory, StaffUserFactory


@pytest.mark.parametrize("slug", list(PREVIEWS))
def test_staff_preview_each_email_in_text_and_html(client, db, slug):
    client.force_login(StaffUserFactory())
    page = client.get(reverse("email_previews:detail", args=[slug]))
    assert page.status_code == 200
    assert "【SSRリワード】" in page.content.decode()
    html = client.get(reverse("email_previews:html", args=[slug]))
    assert html.status_code == 200 and html.content.decode().startswith("<!doctype html>")
    assert mail.outbox == [] and not Exchange.objects.exists()


def test_members_and_strangers_cannot_see_them_when_debug_is_off(client, db, settings):
    settings.DEBUG = False
    url = reverse("email_previews:index")
    assert client.get(url).status_code == 302  # to the admin's login
    client.force_login(MemberFactory().user)
    assert client.get(url).status_code == 302
    assert client.get(reverse("email_previews:detail", args=["nope"])).status_code == 302


def test_with_debug_on_a_developer_sees_them_without_logging_in(client, db, settings):
    settings.DEBUG = True
    assert client.get(reverse("email_previews:index")).status_code == 200
    assert client.get(reverse("email_previews:detail", args=["nope"])).status_code == 404
