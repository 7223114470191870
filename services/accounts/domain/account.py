"""The Account aggregate: a key account (大客户) with grade, tier, relationship and assessments.

Initial state: ``Account()`` — ``version == 0``, ``id is None``. Only ``OpenAccount``
is accepted on it; every other command raises ``NotFoundError``.

An archived account is final: every command on it, including a second
``ArchiveAccount``, raises ``AccountArchivedError``; there is no unarchive.

Name uniqueness per region needs a directory lookup and is checked by the
handler before ``OpenAccount`` / a renaming ``UpdateAccount``
(``DuplicateAccountNameError``); :func:`name_key` is the comparison key.

Commands and events live in ``commands`` / ``events`` (shared by the three
aggregates) and are importable from here too.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from uuid import UUID

from . import checks
from .actor import require_owner_or_supervisor, require_supervisor, require_writer
from .assessment import Assessment, overall_score, valid_scores
from .commands import (
    ArchiveAccount,
    AssessRelationship,
    GradeAccount,
    OpenAccount,
    SetAccountTier,
    SetRelationship,
    UpdateAccount,
)
from .enums import Grade, RelationshipType, Role, Scope, Tier
from .errors import (
    AccountArchivedError,
    AlreadyExistsError,
    InvalidCommandError,
    NotAllowedError,
    NotFoundError,
)
from .events import (
    AccountArchived,
    AccountEvent,
    AccountGraded,
    AccountOpened,
    AccountTierSet,
    AccountUpdated,
    RelationshipAssessed,
    RelationshipSet,
)

STREAM_TYPE = "account"

AccountCommand = (
    OpenAccount
    | UpdateAccount
    | GradeAccount
    | SetAccountTier
    | SetRelationship
    | AssessRelationship
    | ArchiveAccount
)

# --- state ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """The state of one account stream. ``Account()`` is the initial state."""

    id: UUID | None = None
    version: int = 0
    name: str = ""
    industry: str = ""
    region: str = ""
    scope: Scope = Scope.REGIONAL
    owner_id: str = ""
    grade: Grade | None = None
    grade_reason: str | None = None
    tier: Tier | None = None
    tier_reason: str | None = None
    relationship: RelationshipType = RelationshipType.GENERAL
    last_assessment: Assessment | None = None
    archived: bool = False
    opened_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.id is not None


def name_key(name: str) -> str:
    """How names compare for uniqueness within a region: case- and space-insensitive."""
    return " ".join(name.split()).casefold()


def ensure_open(account: Account) -> None:
    """The account exists and is not archived (for commands on its contacts and touches)."""
    if not account.exists:
        raise NotFoundError("account not found")
    if account.archived:
        raise AccountArchivedError(f"account {account.id} is archived", account_id=str(account.id))


# --- decide -----------------------------------------------------------------------------


def decide(state: Account, command: AccountCommand) -> list[AccountEvent]:
    require_writer(command)
    at = checks.utc(command.at, "at")
    if isinstance(command, OpenAccount):
        return [_open(state, command, at)]
    _require_live(state, command)
    # Every change to an existing account (archiving included): its owner, or a supervisor.
    require_owner_or_supervisor(command, state.owner_id, "change this account")
    aid = command.account_id
    match command:
        case UpdateAccount():
            return _update(state, command, at)
        case GradeAccount(grade=grade, reason=reason):
            why = checks.required_text(reason, "reason", checks.TEXT_MAX)
            previous = state.grade
            return [
                AccountGraded(account_id=aid, grade=grade, previous=previous, reason=why, at=at)
            ]
        case SetAccountTier(tier=tier, reason=reason):
            why = checks.required_text(reason, "reason", checks.TEXT_MAX)
            previous = state.tier
            return [AccountTierSet(account_id=aid, tier=tier, previous=previous, reason=why, at=at)]
        case SetRelationship(relationship=relationship, reason=reason):
            why = checks.optional_text(reason, "reason", checks.TEXT_MAX)
            previous = state.relationship
            return [
                RelationshipSet(
                    account_id=aid, relationship=relationship, previous=previous, reason=why, at=at
                )
            ]
        case AssessRelationship(scores=scores, notes=notes):
            lines = valid_scores(scores)
            return [
                RelationshipAssessed(
                    account_id=aid,
                    scores=lines,
                    overall=overall_score(lines),
                    notes=checks.plain_text(notes, "notes", checks.TEXT_MAX),
                    at=at,
                )
            ]
        case ArchiveAccount(reason=reason):
            why = checks.optional_text(reason, "reason", checks.TEXT_MAX)
            return [AccountArchived(account_id=aid, reason=why, at=at)]
    raise TypeError(f"not an account command: {command!r}")


def _require_live(state: Account, command: AccountCommand) -> None:
    if not state.exists:
        raise NotFoundError(f"account {command.account_id} not found")
    if state.id != command.account_id:
        raise ValueError(f"command for {command.account_id} decided on account {state.id}")
    if state.archived:
        raise AccountArchivedError(f"account {state.id} is archived", account_id=str(state.id))


def _open(state: Account, cmd: OpenAccount, at: datetime) -> AccountOpened:
    if state.exists:
        raise AlreadyExistsError(f"account {cmd.account_id} already exists")
    owner = checks.required_text(cmd.owner_id, "owner_id")
    if cmd.actor_role is Role.REP and owner != cmd.actor_id:
        raise NotAllowedError("a rep may only open accounts they own", actor_id=cmd.actor_id)
    return AccountOpened(
        account_id=cmd.account_id,
        name=checks.required_text(cmd.name, "name"),
        industry=checks.plain_text(cmd.industry, "industry"),
        region=checks.required_text(cmd.region, "region"),
        scope=cmd.scope,
        owner_id=owner,
        at=at,
    )


def _update(state: Account, cmd: UpdateAccount, at: datetime) -> list[AccountEvent]:
    given = (cmd.name, cmd.industry, cmd.region, cmd.scope, cmd.owner_id)
    if all(value is None for value in given):
        raise InvalidCommandError("nothing to update")
    name = None if cmd.name is None else checks.required_text(cmd.name, "name")
    industry = None if cmd.industry is None else checks.plain_text(cmd.industry, "industry")
    region = None if cmd.region is None else checks.required_text(cmd.region, "region")
    owner = None if cmd.owner_id is None else checks.required_text(cmd.owner_id, "owner_id")
    changed = AccountUpdated(
        account_id=cmd.account_id,
        name=checks.changed(name, state.name),
        industry=checks.changed(industry, state.industry),
        region=checks.changed(region, state.region),
        scope=checks.changed(cmd.scope, state.scope),
        owner_id=checks.changed(owner, state.owner_id),
        at=at,
    )
    if changed.owner_id is not None:
        require_supervisor(cmd, "change the account owner")
    fields = (changed.name, changed.industry, changed.region, changed.scope, changed.owner_id)
    # Same values as now: nothing happened, so nothing is recorded.
    return [] if all(value is None for value in fields) else [changed]


# --- evolve -----------------------------------------------------------------------------


def evolve(state: Account, event: AccountEvent) -> Account:
    """Fold one event; every event raises the version by exactly one."""
    return replace(_apply(state, event), version=state.version + 1)


def _apply(state: Account, event: AccountEvent) -> Account:
    match event:
        case AccountOpened():
            return Account(
                id=event.account_id,
                name=event.name,
                industry=event.industry,
                region=event.region,
                scope=event.scope,
                owner_id=event.owner_id,
                opened_at=event.at,
                updated_at=event.at,
            )
        case AccountUpdated():
            return replace(
                state,
                name=checks.keep(event.name, state.name),
                industry=checks.keep(event.industry, state.industry),
                region=checks.keep(event.region, state.region),
                scope=checks.keep(event.scope, state.scope),
                owner_id=checks.keep(event.owner_id, state.owner_id),
                updated_at=event.at,
            )
        case AccountGraded(grade=grade, reason=reason, at=at):
            return replace(state, grade=grade, grade_reason=reason, updated_at=at)
        case AccountTierSet(tier=tier, reason=reason, at=at):
            return replace(state, tier=tier, tier_reason=reason, updated_at=at)
        case RelationshipSet(relationship=relationship, at=at):
            return replace(state, relationship=relationship, updated_at=at)
        case RelationshipAssessed(scores=scores, overall=overall, notes=notes, at=at):
            last = Assessment(scores=scores, overall=overall, notes=notes, at=at)
            return replace(state, last_assessment=last, updated_at=at)
        case AccountArchived(at=at):
            return replace(state, archived=True, updated_at=at)
    raise TypeError(f"not an account event: {event!r}")


def replay(events: Iterable[AccountEvent], state: Account | None = None) -> Account:
    """The state after folding ``events`` (from the initial state by default)."""
    return reduce(evolve, events, state if state is not None else Account())
