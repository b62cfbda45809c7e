"""Contact notes in admin: listed for CX, added on the member page only, never changed or deleted."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy

from backoffice.admin.base import LargeTableAdminMixin, ReadOnlyAdminMixin
from backoffice.models import ContactNote


@admin.register(ContactNote)
class ContactNoteAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    # Added through the member page's form (contact_note_add); ReadOnlyAdminMixin: no add, change
    # or delete here for anyone, superusers included.
    list_display = ["created_at", "member_link", "short_text", "staff_user"]
    search_fields = ["=member__member_number"]
    list_select_related = ["member", "staff_user"]
    raw_id_fields = ["member", "staff_user"]
    fields = ["member", "created_at", "staff_user", "text"]

    @admin.display(description=gettext_lazy("member"), ordering="member__member_number")
    def member_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:subscriptions_member_change", args=[obj.member_id]), obj.member
        )

    @admin.display(description=gettext_lazy("what was said"))
    def short_text(self, obj):
        return Truncator(obj.text).chars(80)
