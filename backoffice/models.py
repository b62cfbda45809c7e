"""The back office's own table: what was said on a call with a member (contact notes)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models import Member

CONTACT_NOTE_MAX = 2000


class ContactNote(models.Model):
    """An agent's note of a contact with a member: who wrote it, when, what was said.

    Append-only: a note is added (``backoffice.services.contact_note_add``) and never changed or
    deleted — not in admin (no change or delete for anyone, superusers included), not by any
    service. A correction is a new note. Shown on the member page's timeline."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="contact_notes", verbose_name=_("member"))
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff user")
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    text = models.TextField(_("what was said"), max_length=CONTACT_NOTE_MAX)

    class Meta:
        verbose_name = _("contact note")
        verbose_name_plural = _("contact notes")
        default_permissions = ("add", "view")  # no change, no delete: append-only
        indexes = [models.Index(fields=["member", "-created_at", "-id"], name="contact_note_member_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(text="") & Q(LessThanOrEqual(Length("text"), CONTACT_NOTE_MAX)),
                name="contact_note_text_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member.member_number} {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"


class LoginLockoutLift(models.Model):
    """A CX supervisor lifted a member's login lockout (django-axes): who, when, from which
    addresses the member was locked out. Written by ``backoffice.services.login_lockout_lift``;
    shown on the member page's timeline."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", verbose_name=_("member"))
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff user")
    )
    lifted_at = models.DateTimeField(_("lifted at"), default=timezone.now)
    addresses = models.TextField(_("locked out from"), blank=True, help_text=_("The IP addresses, one a line."))

    class Meta:
        verbose_name = _("login lockout lifted")
        verbose_name_plural = _("login lockouts lifted")
        default_permissions = ("view",)  # written by the service only
        permissions = [("lift_login_lockout", _("Can lift a member's login lockout"))]
        indexes = [models.Index(fields=["member", "-lifted_at", "-id"], name="lockout_lift_member_idx")]

    def __str__(self) -> str:
        return f"{self.member.member_number} {timezone.localtime(self.lifted_at):%Y-%m-%d %H:%M}"
