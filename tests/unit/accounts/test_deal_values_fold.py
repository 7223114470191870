"""Won values folded from the deals feed: given feed items, when folded (once or again),
then one row per deal with what it won now."""

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st

from services.accounts.projections.deal_values import fold
from services.deals.domain.values import DealStatus

from . import deal_events as de
from .builders import ACCOUNT_ID
from .deal_events import SIGNED, item
from .strategies import FAST

DEAL_ID = UUID(int=41)


def opened(deal_id: UUID = DEAL_ID, currency: str = "CNY"):
    return de.opened(deal_id, ACCOUNT_ID, currency)


def won(value: str, deal_id: UUID = DEAL_ID):
    return de.won(deal_id, value)


def change_order(delta: str, after: str, deal_id: UUID = DEAL_ID):
    return de.change_order(deal_id, delta, after)


def closed(deal_id: UUID = DEAL_ID):
    return de.closed(deal_id)


def lost(deal_id: UUID = DEAL_ID):
    return de.lost(deal_id)


def reopened(status: DealStatus, deal_id: UUID = DEAL_ID):
    return de.reopened(deal_id, status)


def folded(*items: dict[str, Any]) -> dict[UUID, dict[str, Any]]:
    rows: dict[UUID, dict[str, Any]] = {}
    for i in items:
        fold(rows, i)
    return rows


def test_a_won_deal_counts_its_contract_value_in_its_currency() -> None:
    row = folded(item(1, opened(currency="USD")), item(9, won("450000.00")))[DEAL_ID]
    assert (row["account_id"], row["currency"], row["status"]) == (ACCOUNT_ID, "USD", "won")
    assert (row["contract_value"], row["signed_date"], row["version"]) == (
        Decimal("450000.00"),
        SIGNED,
        9,
    )


def test_change_orders_set_the_value_after_the_change_once_each() -> None:
    order = item(11, change_order("-20000.00", "430000.00"))
    row = folded(item(1, opened()), item(9, won("450000.00")), order, order)[DEAL_ID]
    assert row["contract_value"] == Decimal("430000.00")
    more = item(12, change_order("5000.00", "435000.00"))
    rows = folded(item(1, opened()), item(9, won("450000.00")), order, more, order, more)
    assert rows[DEAL_ID]["contract_value"] == Decimal("435000.00")


def test_a_closed_deal_still_counts_and_so_does_its_reopening() -> None:
    history = [item(1, opened()), item(9, won("450000.00")), item(10, closed())]
    assert folded(*history)[DEAL_ID]["status"] == "closed"
    row = folded(*history, item(11, reopened(DealStatus.WON)))[DEAL_ID]
    assert (row["status"], row["contract_value"]) == ("won", Decimal("450000.00"))


def test_a_lost_deal_counts_nothing_and_reopened_from_a_loss_still_nothing() -> None:
    row = folded(item(1, opened()), item(5, lost()))[DEAL_ID]
    assert (row["status"], row["contract_value"]) == ("lost", None)
    row = folded(item(1, opened()), item(5, lost()), item(6, reopened(DealStatus.OPEN)))[DEAL_ID]
    assert (row["status"], row["contract_value"]) == ("open", None)


def test_a_reopening_to_open_undoes_a_win() -> None:
    rows = folded(item(1, opened()), item(9, won("1.00")), item(10, reopened(DealStatus.OPEN)))
    assert (rows[DEAL_ID]["status"], rows[DEAL_ID]["contract_value"]) == ("open", None)


def test_an_older_event_seen_again_changes_nothing() -> None:
    history = [item(1, opened()), item(9, won("450000.00")), item(10, closed())]
    # the feed resumes from an earlier cursor: the open and the win come again
    row = folded(*history, *history[:2])[DEAL_ID]
    assert (row["status"], row["version"]) == ("closed", 10)


def test_events_of_a_deal_never_opened_here_are_skipped() -> None:
    assert folded(item(9, won("450000.00")), item(10, closed())) == {}


# --- at-least-once: any redelivery folds to the same rows -------------------------------

steps = st.lists(st.sampled_from(["win", "change", "close", "reopen", "lose"]), max_size=8)


def history(
    deal_id: UUID, wanted: list[str], values: list[Decimal]
) -> tuple[list[dict[str, Any]], str, Decimal | None]:
    """A valid deal history (as the deals domain allows) from wanted steps, with the
    status and won value it ends in; versions jump as they do when the feed leaves out
    the other event types."""
    items, status, value, version = [item(1, opened(deal_id))], "open", None, 1
    for step, amount in zip(wanted, values, strict=False):
        version += 2
        match step, status:
            case "win", "open":
                event, status, value = won(str(amount), deal_id), "won", amount
            case "change", "won":
                value = amount + (value or 0)
                event = change_order(str(amount), str(value), deal_id)
            case "close", "won":
                event, status = closed(deal_id), "closed"
            case "reopen", "closed":
                event, status = reopened(DealStatus.WON, deal_id), "won"
            case "reopen", "lost":
                event, status = reopened(DealStatus.OPEN, deal_id), "open"
            case "lose", "open":
                event, status = lost(deal_id), "lost"
            case _:
                continue
        items.append(item(version, event))
    return items, status, value


amounts = st.lists(st.decimals(min_value=1, max_value=10**9, places=2), min_size=8, max_size=8)
deals = st.lists(st.tuples(steps, amounts), min_size=1, max_size=4)


@FAST
@given(deals, st.data())
def test_pages_delivered_again_fold_to_the_rows_of_one_delivery(drawn, data) -> None:
    histories = {uuid4(): (wanted, values) for wanted, values in drawn}
    feed, expected = [], {}
    for deal_id, (wanted, values) in histories.items():
        items, status, value = history(deal_id, wanted, values)
        feed += items
        expected[deal_id] = (status, value)
    once = folded(*feed)
    assert {d: (r["status"], r["contract_value"]) for d, r in once.items()} == expected
    # at least once: the consumer may restart from any earlier cursor, any number of times
    delivered: list[dict[str, Any]] = []
    position = 0
    for _restart in range(data.draw(st.integers(0, 4))):
        end = data.draw(st.integers(position, len(feed)))
        delivered += feed[position:end]
        position = data.draw(st.integers(0, end))
    delivered += feed[position:]
    assert folded(*delivered) == once
