"""Read models of the deals service.

- ``deal_list`` — one row per deal for GET /deals;
- ``pipelines`` — the admin-defined pipelines (presets live in code);
- ``directory`` — not a projection of our events: the account directory and the last
  touch per deal, followed from the accounts service's feed;
- ``views_*`` — the management views (pipeline, forecast, stalled, win/loss …).
"""

from __future__ import annotations

from shared.projections import Projection
from shared.settings import Settings

from .deal_list import DealList
from .pipelines import PipelineCatalog


def deal_projections(_settings: Settings) -> list[Projection]:
    """The projections behind the deal, quote and pipeline endpoints."""
    return [DealList(), PipelineCatalog()]
