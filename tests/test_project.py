"""The project's own health: migrations in step with models, demo data loads."""

import pytest
from django.core.management import call_command

from ssr_points.checks import ledger_check
from ssr_points.selectors import points_available
from subscriptions.models import Member


def test_migrations_match_the_models(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_demo_data_loads_twice_with_points_in_several_lots(db, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    member = Member.objects.get(member_number="100001")
    assert member.lots.count() >= 3
    assert points_available(member=member) > 42
    assert member.subscriptions.get().items.count() == 2
    assert "100001" in capsys.readouterr().out
    assert ledger_check() == []


@pytest.mark.parametrize("language", ["ja", "en"])
def test_system_check_passes(language, settings, db):
    settings.LANGUAGE_CODE = language
    call_command("check", fail_level="WARNING")


def test_code_is_ruff_clean():
    """Lint and format are part of the suite, so CI refuses code that drifts from the style."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    ruff = Path(sys.executable).with_name("ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run([str(ruff), *args], cwd=root, capture_output=True, text=True, check=False)  # noqa: S603
        assert result.returncode == 0, result.stdout + result.stderr
