# The back office home tests use the guide's member and products too.
from tests.exchange.conftest import guide_catalogue, guide_member  # noqa: F401
