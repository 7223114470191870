"""The deal views' read models, for the service's projection runner.

- ``views_state_history`` (``views_history`` + ``views_rollup``): deal state with
  validity intervals and the pipeline totals → pipeline, forecast, stalled, waterfall;
- ``views_stage_visits`` (``views_stages``): stage visits and funnel facts → time in
  stage, funnel;
- ``views_outcomes``: wins and losses → win/loss, sales velocity.

Tables come from infra/migrations/deals/versions/0020_views.py. Each projection is a
pure function of the deal events, so ``dealtrail rebuild NAME --service deals``
rebuilds it beside the live one.
"""

from __future__ import annotations

from shared.projections import Projection
from shared.settings import Settings

from .views_history import DealStateHistory
from .views_outcomes import Outcomes
from .views_stages import StageVisits


def view_projections(_settings: Settings | None = None) -> list[Projection]:
    return [DealStateHistory(), StageVisits(), Outcomes()]


__all__ = ["DealStateHistory", "Outcomes", "StageVisits", "view_projections"]
