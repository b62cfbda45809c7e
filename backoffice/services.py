"""The back office's own writes: contact notes, lifting a member's login lockout. Everything else
the back office does is a call into the services of the apps below it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.member_page import member_login_lockout
from backoffice.models import CONTACT_NOTE_MAX, ContactNote, LoginLockoutLift
from config.login_protection import AxesProxyHandler
from subscriptions.models import Member


class ContactNoteRefused(Exception):
    """A note that cannot be added, with a message for the agent; nothing was written."""


def contact_note_add(*, member: Member, staff_user, text: str) -> ContactNote:
    """Append what was said on a contact with ``member``. The only way a note is written."""
    if staff_user is None or not getattr(staff_user, "pk", None):
        raise ContactNoteRefused(_("A note records the staff user who wrote it."))
    if not staff_user.has_perm("backoffice.add_contactnote"):
        raise ContactNoteRefused(_("You are not allowed to add contact notes."))
    text = (text or "").strip()
    if not text:
        raise ContactNoteRefused(_("Write what was said."))
    if len(text) > CONTACT_NOTE_MAX:
        raise ContactNoteRefused(_("A note holds at most %(max)s characters.") % {"max": f"{CONTACT_NOTE_MAX:,}"})
    return ContactNote.objects.create(member=member, staff_user=staff_user, text=text)


class LockoutLiftRefused(Exception):
    """A lockout that cannot be lifted, with a message for the supervisor; nothing was changed."""


def login_lockout_lift(*, member: Member, staff_user, now: dt.datetime | None = None) -> LoginLockoutLift:
    """End the member's login lockout from every address (django-axes' attempts of their login
    are deleted, as a password reset does) and record who did it, when, and which addresses
    were locked out. Only a user with ``backoffice.lift_login_lockout`` (CX supervisors)."""
    if staff_user is None or not getattr(staff_user, "pk", None):
        raise LockoutLiftRefused(_("Lifting a lockout records the staff user who did it."))
    if not staff_user.has_perm("backoffice.lift_login_lockout"):
        raise LockoutLiftRefused(_("You are not allowed to lift login lockouts."))
    now = now or timezone.now()
    lockout = member_login_lockout(member=member, now=now)
    if not lockout.locked:
        raise LockoutLiftRefused(_("This member's login is not locked."))
    with transaction.atomic():
        AxesProxyHandler.reset_attempts(username=lockout.username)
        return LoginLockoutLift.objects.create(
            member=member,
            staff_user=staff_user,
            lifted_at=now,
            addresses="\n".join(pair.ip_address or "" for pair in lockout.locked),
        )
