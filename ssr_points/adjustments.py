"""What a staff adjustment would be refused for, said before it is made.

The admin's review (backoffice) asks here and offers the confirm button only when nothing is
refused: beyond the user's per-adjustment limit, beyond their daily cap on points added, or more
points removed than the member has. The confirmation's service
(``services.points_adjust_by_staff``) checks the same again, under its locks, so a review that
was right a minute ago cannot be confirmed into a refusal the ledger would not hold. Reads only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from ssr_points.exceptions import (
    AdjustmentAboveLimit,
    AdjustmentNotPermitted,
    DailyAdditionCapReached,
    InsufficientPoints,
    PointsError,
)
from ssr_points.models import Entry
from ssr_points.roles import daily_points_added_cap
from ssr_points.selectors import points_available
from ssr_points.services import points_added_by_staff_today
from subscriptions.models import Member


def points_adjust_by_staff_refusal(
    *, member: Member, points: int, staff_user, idempotency_key: str | None = None, now: dt.datetime | None = None
) -> PointsError | None:
    """The error ``points_adjust_by_staff`` would raise for this adjustment now, or None."""
    if not staff_user.has_perm("ssr_points.adjust_points"):
        return AdjustmentNotPermitted()
    limit = settings.SSR_CX_ADJUSTMENT_LIMIT
    if abs(points) > limit and not staff_user.has_perm("ssr_points.adjust_points_unlimited"):
        return AdjustmentAboveLimit(limit=limit, requested=abs(points))
    if idempotency_key and Entry.objects.filter(member_id=member.pk, idempotency_key=idempotency_key).exists():
        return None  # already made: the confirmation shows it again, it adds nothing
    if points > 0:
        cap = daily_points_added_cap(staff_user)
        added = points_added_by_staff_today(staff_user=staff_user, now=now)
        if cap is not None and added + points > cap:
            return DailyAdditionCapReached(cap=cap, added=added, requested=points)
    else:
        available = points_available(member=member, at=now)
        if -points > available:
            return InsufficientPoints(requested=-points, available=max(available, 0))
    return None
