"""The read models of the accounts service, one module each, fed by the projection runner.

- ``directory``: one row per account (GET /accounts: filters, name search, paging);
- ``contacts``: contacts and buying roles per account (GET /accounts/{id}/contacts);
- ``timeline``: touches and changes per account, newest first;
- ``coverage``: buying-center coverage and last touches (GET /views/coverage);
- ``activity``: touches per owner, channel and day (GET /views/activity).

Tables are created by the migrations (infra/migrations/accounts/versions/0010_*);
none of them holds personal data. ``deal_values`` (won contract values, for
GET /views/accounts) is not among them: it follows the deals service's feed.
"""

from __future__ import annotations

from shared.projections import Projection
from shared.settings import Settings

from .activity import Activity
from .contacts import Contacts
from .coverage import Coverage
from .directory import AccountDirectory
from .timeline import Timeline


def all_projections(_settings: Settings | None = None) -> list[Projection]:
    return [AccountDirectory(), Contacts(), Timeline(), Coverage(), Activity()]


__all__ = ["AccountDirectory", "Activity", "Contacts", "Coverage", "Timeline", "all_projections"]
