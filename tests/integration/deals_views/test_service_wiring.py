"""The deals service serves the views and runs their projections: a deal opened over
HTTP shows up in them once the projection runner has caught up."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from services.deals.app import service_spec
from shared.http.service import create_service_app
from tests.support.http import auth, make_settings, serve


async def test_a_deal_opened_over_http_reaches_the_views(migrated_db) -> None:
    settings = make_settings(migrated_db, projection_poll_seconds=0.05, fanout_enabled=False)
    app = create_service_app(service_spec(follow_accounts=False), settings)
    account = uuid.uuid4()
    async with serve(app) as http:
        await app.state.runtime.pool.execute(
            "insert into account_directory (account_id, name, grade, archived, updated_at)"
            " values ($1, 'ACME', 'B', false, $2)",
            account,
            datetime.now(UTC),
        )
        rep = auth("rep", "rep-wiring")
        body = {"account_id": str(account), "title": "ERP", "amount": "1250000.00"}
        opened = await http.post("/deals", json=body | {"currency": "CNY"}, headers=rep)
        assert opened.status_code == 201, opened.text
        deal_id = opened.json()["id"]

        async def eventually(path: str, **params: str) -> dict:
            for _ in range(200):  # each projection catches up on its own
                response = await http.get(path, params=params, headers=rep)
                if response.status_code == 200 and response.json().get("totals", True):
                    return response.json()
                await asyncio.sleep(0.05)
            raise AssertionError(f"{path} never showed the deal")

        view = await eventually("/views/pipeline", owner_id="rep-wiring", grade="B")
        assert view["totals"] == [
            {"currency": "CNY", "deals": 1, "amount": "1250000.00", "weighted_amount": "125000.00"}
        ]
        stay = await eventually("/views/time-in-stage", deal_id=deal_id)
        assert stay["latest"]["stage"] == "prospecting"
