"""Members sign in with their member number or their email address, and their password."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from subscriptions.compiled_queries import PLACEHOLDER_ID, CompiledQuery, Instances
from subscriptions.models import Member
from subscriptions.selectors import MARKET_COLUMNS, MEMBER_COLUMNS, member_of_row


class MemberNumberOrEmailBackend(ModelBackend):
    """``username`` is a member number, or an email address (one account only).

    Unknown logins still run the password hasher once, like ``ModelBackend``, so the
    response time does not tell which member numbers or emails exist.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        login = username.strip()
        user = self._user_for(login) if login else None
        if user is None:
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The signed-in user with their member profile and its market, in one query
        (``select_related("member__market")``, compiled once per process: building it cost more
        CPU than the rest of the request's floor, docs/performance.md).

        Runs on every request of a member who logged in through this backend; every member
        page needs all three (``member_required`` takes the member from here).
        """
        rows = _USER_WITH_MEMBER.rows(user_id=user_id)
        if not rows:
            return None
        width = len(_user_columns())
        user = _users().one(rows[0][:width])
        member = member_of_row(rows[0][width:]) if rows[0][width] is not None else None
        if member is not None:
            Member.user.field.set_cached_value(member, user)
        get_user_model().member.related.set_cached_value(user, member)  # None: no member profile
        return user if self.user_can_authenticate(user) else None

    def _user_for(self, login: str):
        User = get_user_model()
        if "@" in login:
            users = list(User.objects.filter(email__iexact=login)[:2])
            return users[0] if len(users) == 1 else None
        member = Member.objects.select_related("user").filter(member_number=login).first()
        return member.user if member is not None else None


# The user model is known once the apps are loaded, after this module may have been imported.
@cache
def _user_columns() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


@cache
def _users() -> Instances:
    return Instances(get_user_model(), _user_columns())


def _user_with_member(user_id: int) -> QuerySet:
    member = [f"member__{column}" for column in MEMBER_COLUMNS]
    market = [f"member__market__{column}" for column in MARKET_COLUMNS]
    return get_user_model()._default_manager.filter(pk=user_id).values_list(*_user_columns(), *member, *market)


# Every member request runs it (subscriptions/compiled_queries.py).
_USER_WITH_MEMBER = CompiledQuery(_user_with_member, user_id=PLACEHOLDER_ID)
