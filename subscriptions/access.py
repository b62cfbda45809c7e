"""Who may open a member page: a signed-in user with a member profile."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from subscriptions.models import Member


def member_of(user) -> Member | None:
    """The user's member profile, or None (a staff account): loaded with the user and its market
    by the member login backend (``MemberNumberOrEmailBackend.get_user``)."""
    try:
        return user.member
    except Member.DoesNotExist:
        return None


def member_required(view):
    """Login required; the view gets ``request.member`` (the signed-in member, market loaded).

    A user without a member profile (a staff account) gets a page that says so, with the way
    to the admin, instead of an error.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = member_of(request.user)
        if member is None:
            return render(request, "no_member.html", status=403)
        request.member = member
        return view(request, *args, **kwargs)

    return wrapper
