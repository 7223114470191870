"""The Touch aggregate: one logged contact touch (客户接触记录) is its own small stream.

Initial state: ``Touch()`` — ``version == 0``, ``id is None``. The only command is
``LogTouch``; a touch, once logged, is never changed (log a new one instead).

Rules that need other streams — the account exists and is not archived, every
contact exists and belongs to the account — are :func:`check_account` and
:func:`check_contacts`, which the handler calls with what it loaded.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from uuid import UUID

from . import checks
from .account import Account, ensure_open
from .actor import require_writer
from .commands import LogTouch
from .contact import Contact
from .enums import Channel
from .errors import AlreadyExistsError, InvalidCommandError, NotFoundError
from .events import TouchEvent, TouchLogged

STREAM_TYPE = "touch"
MAX_CONTACTS = 50
# occurred_at may run slightly ahead of the server's clock (the client's clock).
CLOCK_SLACK = timedelta(minutes=5)

TouchCommand = LogTouch


@dataclass(frozen=True, slots=True, kw_only=True)
class Touch:
    """The state of one touch stream. ``Touch()`` is the initial state."""

    id: UUID | None = None
    version: int = 0
    account_id: UUID | None = None
    contact_ids: tuple[UUID, ...] = ()
    channel: Channel = Channel.OTHER
    occurred_at: datetime | None = None
    summary: str = ""
    deal_id: UUID | None = None
    next_step: str | None = None
    next_step_due: date | None = None
    logged_by: str = ""
    logged_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.id is not None


def check_account(account: Account, command: TouchCommand) -> None:
    """The touch's account exists and is not archived."""
    ensure_open(account)
    if command.account_id != account.id:
        raise ValueError(f"touch for account {command.account_id} checked on {account.id}")


def check_contacts(contacts: Iterable[Contact], command: TouchCommand) -> None:
    """Every contact named exists and belongs to the account (a contact who left may
    still be named: a farewell visit is a touch too)."""
    found = {c.id: c for c in contacts if c.exists}
    for contact_id in command.contact_ids:
        contact = found.get(contact_id)
        if contact is None:
            raise NotFoundError(f"contact {contact_id} not found", contact_id=str(contact_id))
        if contact.account_id != command.account_id:
            raise InvalidCommandError(
                f"contact {contact_id} is not a contact of account {command.account_id}",
                field="contact_ids",
            )


def decide(state: Touch, command: TouchCommand) -> list[TouchEvent]:
    require_writer(command)
    at = checks.utc(command.at, "at")
    match command:
        case LogTouch():
            if state.exists:
                raise AlreadyExistsError(f"touch {command.touch_id} already exists")
            return [_log(command, at)]
    raise TypeError(f"not a touch command: {command!r}")


def _log(cmd: LogTouch, at: datetime) -> TouchLogged:
    if not cmd.contact_ids:
        raise InvalidCommandError("a touch needs at least one contact", field="contact_ids")
    if len(cmd.contact_ids) > MAX_CONTACTS:
        raise InvalidCommandError(f"at most {MAX_CONTACTS} contacts", field="contact_ids")
    checks.no_duplicates(cmd.contact_ids, "contact_ids")
    occurred_at = checks.utc(cmd.occurred_at, "occurred_at")
    checks.not_after(occurred_at, at, "occurred_at", CLOCK_SLACK)
    next_step = checks.optional_text(cmd.next_step, "next_step", checks.TEXT_MAX)
    due = cmd.next_step_due
    if due is not None and next_step is None:
        raise InvalidCommandError("a due date needs a next step", field="next_step_due")
    # Compared with the UTC date: never stricter than the user's (UTC+8) calendar.
    if due is not None and due < occurred_at.date():
        raise InvalidCommandError(
            "next_step_due is before the touch occurred", field="next_step_due"
        )
    return TouchLogged(
        touch_id=cmd.touch_id,
        account_id=cmd.account_id,
        contact_ids=cmd.contact_ids,
        channel=cmd.channel,
        occurred_at=occurred_at,
        summary=checks.required_text(cmd.summary, "summary", checks.TEXT_MAX),
        deal_id=cmd.deal_id,
        next_step=next_step,
        next_step_due=due,
        logged_by=cmd.actor_id,
        at=at,
    )


def evolve(state: Touch, event: TouchEvent) -> Touch:
    """Fold one event; every event raises the version by exactly one."""
    match event:
        case TouchLogged():
            return Touch(
                id=event.touch_id,
                version=state.version + 1,
                account_id=event.account_id,
                contact_ids=event.contact_ids,
                channel=event.channel,
                occurred_at=event.occurred_at,
                summary=event.summary,
                deal_id=event.deal_id,
                next_step=event.next_step,
                next_step_due=event.next_step_due,
                logged_by=event.logged_by,
                logged_at=event.at,
            )
    raise TypeError(f"not a touch event: {event!r}")


def replay(events: Iterable[TouchEvent], state: Touch | None = None) -> Touch:
    """The state after folding ``events`` (from the initial state by default)."""
    return reduce(evolve, events, state if state is not None else Touch())
