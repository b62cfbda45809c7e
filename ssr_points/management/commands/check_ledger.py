"""Check every ledger invariant (``ssr_points.services.ledger_check``); exit 1 on a violation."""

from django.core.management.base import BaseCommand, CommandError

from ssr_points.checks import ledger_check
from subscriptions.models import Member


class Command(BaseCommand):
    help = "Check the points ledger's invariants for all members (or --member NUMBER …); exit 1 on violations."

    def add_arguments(self, parser):
        parser.add_argument("--member", action="append", default=[], help="member number (repeatable)")

    def handle(self, *args, member, **options):
        member_ids = None
        if member:
            member_ids = list(Member.objects.filter(member_number__in=member).values_list("pk", flat=True))
            if len(member_ids) != len(set(member)):
                raise CommandError("Unknown member number(s).", returncode=2)
        violations = ledger_check(member_ids=member_ids)
        for violation in violations:
            self.stdout.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} ledger violation(s).", returncode=1)
        self.stdout.write(self.style.SUCCESS("Ledger OK: no violations."))
