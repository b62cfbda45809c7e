"""The back office's own writes: contact notes. Everything else the back office does is a call
into the services of the apps below it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backoffice.models import CONTACT_NOTE_MAX, ContactNote
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
