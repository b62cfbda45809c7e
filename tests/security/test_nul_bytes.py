"""A NUL byte anywhere a request carries text is a 400 before any view or query (issue 10,
break 6). The multipart form posts — the test client's default, and what a browser sends
for a form with a file field — were not checked: the admin's ledger check answered 500."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import encode_multipart

from tests.factories import StaffUserFactory
from tests.security.conftest import ledger_state

MULTIPART = "multipart/form-data; boundary=BoUnDaRy"


@pytest.fixture
def member_client(subscribed_member):
    client = Client(raise_request_exception=False)
    client.force_login(subscribed_member().user)
    return client


@pytest.fixture
def staff_client(roles):
    client = Client(raise_request_exception=False)
    client.force_login(StaffUserFactory(is_superuser=True))
    return client


def multipart_post(client, url, data):
    return client.post(url, data=encode_multipart("BoUnDaRy", data), content_type=MULTIPART)


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/admin/ledger-check/", {"member_numbers": "100001\x00"}),  # was a 500: the view queries the numbers
        ("/admin/ledger-check/", {"member_numbers\x00": "100001"}),
        ("/admin/subscriptions/member/", {"action": "x", "_selected_action": "\x00", "index": "0"}),
    ],
)
def test_a_nul_byte_in_an_admin_multipart_post_is_a_400(staff_client, url, data):
    before = ledger_state()
    response = multipart_post(staff_client, url, data)
    assert response.status_code == 400
    assert ledger_state() == before


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/exchange/request/", {"message": "x\x00", "contact_phone": ""}),
        ("/exchange/bundle/", {"remove": "1\x00"}),
        ("/exchange/confirm/", {"idempotency_key": "\x00", "fingerprint": "\x00", "agree": "on"}),
        ("/subscription/", {"quantity_1\x00": "1"}),
        ("/logout/", {"next": "/\x00"}),
    ],
)
def test_a_nul_byte_in_a_member_multipart_post_is_a_400_and_changes_nothing(member_client, url, data):
    before = ledger_state()
    response = multipart_post(member_client, url, data)
    assert response.status_code == 400
    assert ledger_state() == before


def test_a_nul_byte_in_the_login_form_is_a_400(db):
    response = multipart_post(Client(), "/login/", {"username": "100001\x00", "password": "x"})
    assert response.status_code == 400


def test_a_nul_byte_in_a_cookie_is_a_400_not_a_session_lookup(member_client):
    member_client.cookies["sessionid"] = "abcdefgh\x00"
    assert member_client.get("/").status_code == 400


def test_binary_file_contents_are_not_text_and_pass(staff_client):
    """Only names are text: an upload's bytes may hold NUL (the pages ignore unknown uploads)."""
    data = {"member_numbers": "100001", "file": SimpleUploadedFile("report.csv", b"a\x00b")}
    assert multipart_post(staff_client, "/admin/ledger-check/", data).status_code == 200
