"""Staff logins and groups in admin, in Japanese.

The groups are the roles of ``ssr_points/roles.py``: ``roles_sync`` puts them back after every
``migrate``, so a hand edit here does not last (docs/admin.md). The group page shows its
permissions read-only, each named in Japanese; a login gets its permissions from its groups
only (no per-user permissions: they would be hand-made roles that nothing resets).

Django's own auth admin registers User and Group when imported; it is imported first here and
its registrations replaced.
"""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import Group, Permission, User
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

ACTIONS = {"add": "Add", "change": "Change", "delete": "Delete", "view": "View"}


def permission_label(permission: Permission) -> str:
    """``会員｜表示`` for Django's own permissions, the translated name for the project's."""
    model = permission.content_type.model_class()
    model_name = str(model._meta.verbose_name) if model else permission.content_type.model
    action, _sep, model_code = permission.codename.partition("_")
    if action in ACTIONS and model_code == permission.content_type.model:
        return f"{model_name}｜{gettext(ACTIONS[action])}"
    return f"{model_name}｜{gettext(permission.name)}"


admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class RoleAdmin(admin.ModelAdmin):
    """The roles: read-only, because ``roles.py`` is their one definition."""

    list_display = ["name"]
    search_fields = ["name"]
    fields = ["name", "permission_list"]
    readonly_fields = ["name", "permission_list"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("permissions"))
    def permission_list(self, obj):
        permissions = obj.permissions.select_related("content_type")
        labels = sorted(permission_label(permission) for permission in permissions)
        return format_html_join("", "<div>{}</div>", ((label,) for label in labels))


@admin.register(User)
class StaffUserAdmin(auth_admin.UserAdmin):
    """Django's user admin without per-user permissions: a role (group) is the way to give them."""

    fieldsets = [
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    ]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    filter_horizontal = []  # a plain multiple select of the few groups
