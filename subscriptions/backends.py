"""Members sign in with their member number or their email address, and their password."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from subscriptions.models import Member


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
        """The signed-in user with their member profile and its market, in one query: every
        member page needs all three (``member_required`` takes the member from here)."""
        User = get_user_model()
        try:  # get(), not first(): a primary key needs no ORDER BY, and the query is every page's
            user = User.objects.select_related("member__market").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def _user_for(self, login: str):
        User = get_user_model()
        if "@" in login:
            users = list(User.objects.filter(email__iexact=login)[:2])
            return users[0] if len(users) == 1 else None
        member = Member.objects.select_related("user").filter(member_number=login).first()
        return member.user if member is not None else None
