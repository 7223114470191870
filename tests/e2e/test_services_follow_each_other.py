"""Both services on real ports, each following the other's feed, across restarts.

The accounts service keeps the won contract values from the deals feed (GET
/views/accounts); the deals service keeps its account directory and the last touch
on each deal from the accounts feed. First the accounts service goes down while
deals keep being won, changed, closed, lost and reopened; it comes back on the same
port and its view shows every won value exactly once. Then the deals service goes
down while accounts are re-graded, opened and touched about deals; it comes back and
its views by grade, and the deals' last activity, show all of it exactly once.
Every wait polls against a deadline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import asyncpg
import httpx

from services.accounts.app import create_app as create_accounts_app
from services.deals.app import create_app as create_deals_app
from shared.embedded_pg import free_port
from tests.support.http import auth, make_settings
from tests.support.live import LiveServer

PIPELINE = "customer-development"  # no gates: a deal is won in five commands
STAGES_TO_WIN = ("samples_information", "value_assessment", "relationship_building")
TOUCH_STATEMENT = "select last_touch_at from deals.deal_last_touch where deal_id = $1"


@dataclass
class Accounts:
    """The accounts API as one rep, keeping ETags, grades and a contact per account."""

    http: httpx.AsyncClient
    versions: dict[str, int] = field(default_factory=dict)
    grades: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)

    async def open(self, grade: str, tier: str | None = None) -> str:
        body = {"name": f"客户-{uuid.uuid4().hex[:8]}", "region": "华东"}
        r = await self.http.post("/accounts", json=body)
        assert r.status_code == 201, r.text
        account_id = r.json()["id"]
        self.versions[account_id] = 1
        await self.grade(account_id, grade)
        if tier is not None:
            await self.command(account_id, "tier", {"tier": tier, "reason": "利润贡献"})
        contact = await self.http.post(f"/accounts/{account_id}/contacts", json={"name": "张伟"})
        assert contact.status_code == 201, contact.text
        self.contacts[account_id] = contact.json()["id"]
        return account_id

    async def grade(self, account_id: str, grade: str) -> None:
        await self.command(account_id, "grade", {"grade": grade, "reason": "年度评级"})
        self.grades[account_id] = grade

    async def command(self, account_id: str, action: str, body: dict[str, Any]) -> None:
        r = await self.http.post(
            f"/accounts/{account_id}/{action}",
            json=body,
            headers={"If-Match": f'"{self.versions[account_id]}"'},
        )
        assert r.status_code == 200, r.text
        self.versions[account_id] += 1

    async def touch(self, account_id: str, deal_id: str) -> datetime:
        at = datetime.now(UTC)
        body = {
            "account_id": account_id,
            "contact_ids": [self.contacts[account_id]],
            "channel": "visit",
            "occurred_at": at.isoformat(),
            "summary": "拜访，推进方案",
            "deal_id": deal_id,
        }
        r = await self.http.post("/touches", json=body)
        assert r.status_code == 201, r.text
        return at


@dataclass
class Deals:
    """The deals API as one rep (and a manager for reopening), keeping ETags; remembers
    what every won deal is worth, per account and currency."""

    http: httpx.AsyncClient
    versions: dict[str, int] = field(default_factory=dict)
    won: dict[str, tuple[str, str, Decimal]] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)

    async def open(self, account_id: str, amount: str, currency: str = "CNY") -> str:
        deal_id = await self.try_open(account_id, amount, currency)
        assert deal_id is not None
        return deal_id

    async def try_open(self, account_id: str, amount: str, currency: str = "CNY") -> str | None:
        """A new deal, or None while the deals service does not know the account yet."""
        body = {
            "account_id": account_id, "title": "数字化项目", "pipeline": PIPELINE,
            "amount": amount, "currency": currency,
        }  # fmt: skip
        r = await self.http.post("/deals", json=body)
        if r.status_code == 422 and r.json()["type"].endswith("/unknown-account"):
            return None
        assert r.status_code == 201, r.text
        deal_id = r.json()["id"]
        self.versions[deal_id], self.accounts[deal_id] = 1, account_id
        return deal_id

    async def win(self, account_id: str, amount: str, currency: str = "CNY") -> str:
        deal_id = await self.open(account_id, amount, currency)
        await self.advance_and_win(deal_id)
        return deal_id

    async def advance_and_win(self, deal_id: str) -> None:
        for stage in STAGES_TO_WIN:
            await self.command(deal_id, "stage", {"to": stage})
        body = {"contract_number": f"HT-{deal_id[:8]}", "signed_date": "2026-06-30"}
        won = await self.command(deal_id, "win", body)
        self.won[deal_id] = (
            self.accounts[deal_id],
            won["currency"],
            Decimal(won["contract_value"]),
        )

    async def change(self, deal_id: str, delta: str) -> None:
        body = {"description": "增加模块", "amount_delta": delta}
        changed = await self.command(deal_id, "change-orders", body)
        account_id, currency, _value = self.won[deal_id]
        self.won[deal_id] = (account_id, currency, Decimal(changed["contract_value"]))

    async def command(
        self, deal_id: str, action: str, body: dict[str, Any], role: str = "rep"
    ) -> dict[str, Any]:
        r = await self.http.post(
            f"/deals/{deal_id}/{action}",
            json=body,
            headers={**auth(role, f"{role}-1"), "If-Match": f'"{self.versions[deal_id]}"'},
        )
        assert r.status_code == 200, r.text
        self.versions[deal_id] = int(r.headers["ETag"].strip('"'))
        return r.json()


async def test_services_follow_each_other_across_restarts(migrated_db) -> None:
    accounts_port, deals_port = free_port(), free_port()
    accounts_server = LiveServer(
        lambda: create_accounts_app(
            make_settings(migrated_db, deals_url=f"http://127.0.0.1:{deals_port}")
        ),
        port=accounts_port,
    )
    deals_server = LiveServer(
        lambda: create_deals_app(
            make_settings(migrated_db, accounts_url=f"http://127.0.0.1:{accounts_port}")
        ),
        port=deals_port,
    )
    await accounts_server.start()
    await deals_server.start()
    rep = auth("rep", "rep-1")
    db = await asyncpg.connect(migrated_db)
    try:
        async with (
            httpx.AsyncClient(base_url=accounts_server.url, headers=rep) as a_http,
            httpx.AsyncClient(base_url=deals_server.url, headers=rep) as d_http,
        ):
            accounts, deals = Accounts(a_http), Deals(d_http)
            open_deals = await _accounts_follow_deals(accounts, deals, accounts_server)
            await _deals_follow_accounts(accounts, deals, open_deals, deals_server, db)
    finally:
        await db.close()
        await deals_server.stop()
        await accounts_server.stop()


async def _accounts_follow_deals(
    accounts: Accounts, deals: Deals, server: LiveServer
) -> dict[str, str]:
    """Deals won, changed, closed, lost and reopened while the accounts service is down.
    Returns the deal left open on each of the first four accounts, by account."""
    graded = (("A", "vip"), ("A", "growth"), ("B", "standard"), ("C", None), ("D", None))
    a0, a1, a2, a3, a4 = [await accounts.open(grade, tier) for grade, tier in graded]
    # the deals service knows an account once its directory has followed it
    first = await _eventually(lambda: deals.try_open(a4, "60000.00"))
    # left open, for the views by grade
    open_deals = {a: await deals.open(a, "1000.00") for a in (a0, a1, a2, a3)}
    w1 = await deals.win(a0, "500000.00")
    await deals.win(a2, "20000.00", "USD")
    await _until_view_matches(accounts, deals)

    await server.stop()
    await deals.change(w1, "-100000.00")
    w3 = await deals.win(a0, "300000.00")
    await deals.change(w3, "50000.00")
    w4 = await deals.win(a1, "120000.00")
    await deals.command(w4, "close", {"acceptance_date": "2026-09-30", "summary": "验收通过"})
    await deals.command(w4, "reopen", {"reason": "验收有争议"}, role="manager")  # won again
    await deals.win(a3, "8000.00", "USD")
    loss = {"cause": "bid_lost_price", "summary": "价格没有优势"}
    await deals.command(first, "loss", loss)
    await deals.command(first, "reopen", {"reason": "客户重新招标"}, role="manager")
    await deals.advance_and_win(first)
    await deals.command(await deals.open(a2, "70000.00"), "loss", loss)
    await server.start()

    body = await _until_view_matches(accounts, deals)
    assert [(w["currency"], w["deals"], w["value"]) for w in body["won"]] == [
        ("CNY", 4, "930000.00"),  # 400,000 + 350,000 + 120,000 + 60,000
        ("USD", 2, "28000.00"),
    ]
    top = [
        (c["currency"], c["accounts"], c["top_accounts"], c["top_share"])
        for c in body["concentration"]
    ]
    assert top == [("CNY", 3, 1, "0.8065"), ("USD", 2, 1, "0.7143")]
    return open_deals


async def _deals_follow_accounts(
    accounts: Accounts,
    deals: Deals,
    open_deals: dict[str, str],
    server: LiveServer,
    db: asyncpg.Connection,
) -> None:
    """Accounts re-graded, opened and touched about deals while the deals service is down."""
    a0, a1, a2, _a3 = open_deals
    await server.stop()
    await accounts.grade(a0, "B")
    new = [await accounts.open("C"), await accounts.open("C")]
    await accounts.touch(a2, open_deals[a2])
    touched = {
        open_deals[a1]: await accounts.touch(a1, open_deals[a1]),
        open_deals[a2]: await accounts.touch(a2, open_deals[a2]),  # the later one counts
    }
    await server.start()

    # a year from now every open deal is stalled: the view lists them with their last
    # activity, which is the latest touch where there is one
    by_grade = {"A": [open_deals[a1]], "B": [open_deals[a0], open_deals[a2]]}
    for grade, expected in by_grade.items():
        await _eventually(lambda g=grade, e=expected: _stalled_are(deals, g, e, touched))
    for deal_id, at in touched.items():
        read = (await deals.http.get(f"/deals/{deal_id}")).json()
        assert _instant(read["last_touch_at"]) == at
        assert await db.fetchval(TOUCH_STATEMENT, uuid.UUID(deal_id)) == at

    # the directory has every account once, as it is now; the new ones take deals
    later = [await _eventually(lambda a=a: deals.try_open(a, "10000.00")) for a in new]
    directory = await db.fetch("select account_id, grade from deals.account_directory")
    assert sorted((str(r["account_id"]), r["grade"]) for r in directory) == sorted(
        accounts.grades.items()
    )
    assert len(directory) == 7
    # open deals of grade C accounts: the one left open, and one on each new account
    await _eventually(lambda: _open_in_pipeline(deals, "C", [("CNY", 3, "21000.00")]))

    # and the accounts service follows the deals service again after its restart
    await deals.advance_and_win(later[0])
    body = await _until_view_matches(accounts, deals)
    assert body["won"][0]["value"] == "940000.00"


# --- waiting and checking -------------------------------------------------------------------


async def _eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {timeout}s: {result!r}"
        await asyncio.sleep(0.05)


async def _open_in_pipeline(deals: Deals, grade: str, expected: list[tuple]) -> bool:
    r = await deals.http.get("/views/pipeline", params={"grade": grade})
    assert r.status_code == 200, r.text
    return [(t["currency"], t["deals"], t["amount"]) for t in r.json()["totals"]] == expected


async def _stalled_are(
    deals: Deals, grade: str, expected: list[str], touched: dict[str, datetime]
) -> bool:
    """Whether the open deals of a grade's accounts are exactly ``expected``, each with
    its latest touch (if any) as its last touch and last activity."""
    params = {"grade": grade, "as_of": (datetime.now(UTC) + timedelta(days=400)).isoformat()}
    r = await deals.http.get("/views/stalled", params=params)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    shown, wanted = {}, {}
    for i in items:
        at = touched.get(i["deal_id"])
        shown[i["deal_id"]] = (_instant(i["last_touch_at"]), _instant(i["last_activity_at"]))
        wanted[i["deal_id"]] = (at, at or _instant(i["stage_entered_at"]))
    return sorted(shown) == sorted(expected) and shown == wanted


async def _until_view_matches(accounts: Accounts, deals: Deals) -> dict[str, Any]:
    """GET /views/accounts once it shows exactly what the deals service says was won."""
    expected = _expected_view(accounts, deals)

    async def view() -> dict[str, Any] | None:
        r = await accounts.http.get("/views/accounts")
        assert r.status_code == 200, r.text
        body = r.json()
        return body if _shown(body) == expected else None

    try:
        return await _eventually(view)
    except AssertionError:
        shown = _shown((await accounts.http.get("/views/accounts")).json())
        raise AssertionError(f"view {shown} != expected {expected}") from None


def _shown(body: dict[str, Any]) -> dict[str, Any]:
    by_grade = {
        (s["grade"], w["currency"]): (w["accounts"], w["deals"], w["value"])
        for s in body["by_grade"]
        for w in s["won"]
    }
    top = {c["currency"]: (c["top_accounts"], c["top_value"]) for c in body["concentration"]}
    return {"by_grade": by_grade, "top": top}


def _expected_view(accounts: Accounts, deals: Deals) -> dict[str, Any]:
    """What the won deals add up to, each counted once, from the deals service's own
    answers: (accounts, deals, value) per grade and currency, and the top fifth."""
    per_account: dict[tuple[str, str], list] = {}  # (account, currency) → [deals, value]
    for account_id, currency, value in deals.won.values():
        sums = per_account.setdefault((account_id, currency), [0, Decimal(0)])
        sums[0] += 1
        sums[1] += value
    by_grade: dict[tuple[str, str], list] = {}
    ranked: dict[str, list[Decimal]] = {}
    for (account_id, currency), (won, value) in per_account.items():
        sums = by_grade.setdefault((accounts.grades[account_id], currency), [0, 0, Decimal(0)])
        sums[0] += 1
        sums[1] += won
        sums[2] += value
        ranked.setdefault(currency, []).append(value)
    top = {}
    for currency, values in ranked.items():
        n = -(-len(values) // 5)  # ceil(0.2 × accounts)
        top[currency] = (n, _money(sum(sorted(values, reverse=True)[:n])))
    return {
        "by_grade": {key: (a, d, _money(v)) for key, (a, d, v) in by_grade.items()},
        "top": top,
    }


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
