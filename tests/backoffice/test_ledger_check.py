"""check_ledger (command and admin page) reports every violation and exits non-zero on one."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from ssr_points.models import PointAccount


def test_a_clean_ledger_passes(back_office_data, capsys):
    call_command("check_ledger")
    assert "no violations" in capsys.readouterr().out


def test_a_broken_balance_is_printed_and_exits_with_1(back_office_data, capsys):
    PointAccount.objects.filter(member=back_office_data).update(balance=999)
    with pytest.raises(CommandError) as error:
        call_command("check_ledger")
    assert error.value.returncode == 1
    out = capsys.readouterr().out
    assert f"member {back_office_data.pk}: balance = Σ entries (expected 120, found 999)" in out


def test_the_command_checks_the_members_given(back_office_data, capsys):
    call_command("check_ledger", "--member", back_office_data.member_number)
    with pytest.raises(CommandError) as error:
        call_command("check_ledger", "--member", "no-such-member")
    assert error.value.returncode == 2


def test_admin_runs_the_check_and_shows_its_violations(client, make_staff, back_office_data):
    client.force_login(make_staff("finance"))
    url = reverse("admin:ledger_check")
    clean = client.post(url, {"member_numbers": ""})
    assert clean.context["violation_count"] == 0
    PointAccount.objects.filter(member=back_office_data).update(balance=999)
    broken = client.post(url, {"member_numbers": back_office_data.member_number})
    assert broken.context["violation_count"] == 2
    assert "balance = Σ entries" in broken.content.decode()


def test_agents_cannot_run_the_check(client, make_staff, back_office_data):
    client.force_login(make_staff("cx_agent"))
    assert client.post(reverse("admin:ledger_check")).status_code == 403
