import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CreatedOrderFactory
from tests.order_events.test_views import SECRET


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.ORDER_EVENTS_SECRET = SECRET
    settings.ORDER_EVENTS_MAX_SKEW_SECONDS = 300


@pytest.fixture
def order(db):
    """An order created a day ago, not shipped yet, earning 18 points (PV 180 × 10 %)."""
    return CreatedOrderFactory(pv=Decimal("180"), created_at=timezone.now() - dt.timedelta(days=1))
