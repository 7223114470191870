"""Load → decide → append for the accounts service: accounts, contacts, touches, name claims.

Most commands take the shared path, :func:`shared.http.commands.execute`.
Two kinds write more than one thing in one transaction (:func:`.transaction.commit`):
opening, renaming or archiving an account (its name claim moves with it, see
:mod:`.names`), and erasing a contact's personal data (the data key is deleted
in the transaction that appends ``PersonalDataErased``). Rules that need
another aggregate — the account of a contact, the contacts of a touch — are
checked inside ``decide`` with what was loaded beforehand, so an idempotent
retry is still answered with its first response.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

from fastapi.responses import JSONResponse

from services.accounts import names
from services.accounts.domain import EVENT_TYPES, account, contact, touch
from services.accounts.domain.account import Account
from services.accounts.domain.commands import AddContact, ErasePersonalData, LogTouch, OpenAccount
from services.accounts.domain.contact import Contact
from services.accounts.domain.errors import DuplicateAccountNameError, NotFoundError
from services.accounts.domain.touch import Touch
from services.accounts.sealing import contact_codec
from services.accounts.transaction import Write, commit, replayed
from shared.aggregates import Aggregate, EventCodec, Loaded, Repository
from shared.eventstore import EventStore, RecordedEvent, WrongExpectedVersionError
from shared.eventstore.crypto import KeyStore
from shared.http.commands import CommandContext, Reply, execute
from shared.http.conditional import check_if_match

Respond = Callable[[Any, int], Reply]

ACCOUNT = Aggregate(
    account.STREAM_TYPE,
    lambda _id: Account(),
    account.decide,
    account.evolve,
    EventCodec(EVENT_TYPES),
)
TOUCH = Aggregate(
    touch.STREAM_TYPE, lambda _id: Touch(), touch.decide, touch.evolve, EventCodec(EVENT_TYPES)
)


def contact_aggregate(key: bytes | None = None) -> Aggregate:
    """Contacts, with personal data sealed and opened under ``key`` (None: locked)."""
    return Aggregate(
        contact.STREAM_TYPE,
        lambda _id: Contact(),
        contact.decide,
        contact.evolve,
        contact_codec(key),
    )


CONTACT = contact_aggregate()  # locked: for everything that never reads personal data
AGGREGATES: dict[str, Aggregate] = {
    a.stream_type: a for a in (ACCOUNT, CONTACT, TOUCH, names.NAME_CLAIM)
}


def checked(aggregate: Aggregate, check: Callable[[Any], None]) -> Aggregate:
    """``aggregate`` whose ``decide`` first runs ``check`` on the command."""

    def decide(state: Any, command: Any) -> list:
        check(command)
        return aggregate.decide(state, command)

    return replace(aggregate, decide=decide)


# --- reads -------------------------------------------------------------------------------


async def read(
    store: EventStore,
    aggregate: Aggregate,
    stream_id: str,
    *,
    version: int | None = None,
    as_of: Any = None,
) -> Loaded:
    """The aggregate up to ``version`` / ``as_of``; NotFoundError if it did not exist then."""
    loaded = await Repository(store, aggregate).load(stream_id, to_version=version, as_of=as_of)
    what = aggregate.stream_type
    if loaded.version == 0:
        when = " at that moment" if as_of is not None else ""
        raise NotFoundError(f"{what} {stream_id} not found{when}")
    if version is not None and loaded.version < version:
        raise NotFoundError(f"{what} {stream_id} has no version {version}")
    return loaded


async def history(store: EventStore, stream_type: str, stream_id: str) -> list[RecordedEvent]:
    """Every event of one aggregate's stream, oldest first."""
    events = await store.read_stream(stream_id)
    if not events or events[0].stream_type != stream_type:
        raise NotFoundError(f"{stream_type} {stream_id} not found")
    return events


# --- accounts ----------------------------------------------------------------------------


async def account_command(
    store: EventStore, ctx: CommandContext, account_id: UUID, command: Any, respond: Respond
) -> JSONResponse:
    """Open, update or archive an account; its name claim moves in the same transaction."""
    if (answer := await replayed(store, ctx)) is not None:
        return answer
    try:
        return await _account_command(store, ctx, str(account_id), command, respond)
    except (DuplicateAccountNameError, WrongExpectedVersionError):
        # The same request (Idempotency-Key) may have won the race: answer what it answered.
        if (answer := await replayed(store, ctx)) is not None:
            return answer
        raise


async def _account_command(
    store: EventStore, ctx: CommandContext, sid: str, command: Any, respond: Respond
) -> JSONResponse:
    repo = Repository(store, ACCOUNT)
    loaded = await repo.load(sid)
    if not isinstance(command, OpenAccount):
        if loaded.version == 0:
            raise NotFoundError(f"account {sid} not found")
        check_if_match(ctx.if_match, loaded.version)
    events = ACCOUNT.decide(loaded.state, command)
    state = repo.apply(loaded.state, events)
    claims = await _claim_writes(store, loaded.state, state)
    writes = [Write(ACCOUNT, sid, loaded.version, events), *claims]
    try:
        return await commit(store, ctx, writes, respond(state, loaded.version + len(events)))
    except WrongExpectedVersionError as exc:
        if exc.stream_id in {w.stream_id for w in claims}:
            await _claim_writes(store, loaded.state, state)  # raises, naming the new holder
        raise


async def _claim_writes(store: EventStore, before: Account, after: Account) -> list[Write]:
    old, new = names.key_of(before), names.key_of(after)
    if old == new:
        return []
    writes = []
    if new is not None:
        claim = names.ClaimName(account_id=after.id, name=after.name, region=after.region)
        writes.append(await _decided(store, names.NAME_CLAIM, new, claim))
    if old is not None:
        release = names.ReleaseName(account_id=before.id)
        writes.append(await _decided(store, names.NAME_CLAIM, old, release))
    return writes


async def _decided(store: EventStore, aggregate: Aggregate, sid: str, command: Any) -> Write:
    loaded = await Repository(store, aggregate).load(sid)
    return Write(aggregate, sid, loaded.version, aggregate.decide(loaded.state, command))


# --- contacts ----------------------------------------------------------------------------


async def writing_key(
    store: EventStore, keys: KeyStore, contact_id: UUID, *, new: bool
) -> bytes | None:
    """The key to seal a contact's personal data with, created on first need: for a
    ``new`` contact (its stream does not exist yet) or an existing one that never had
    personal data. None once erased — a destroyed key is never replaced."""
    sid = str(contact_id)
    key = await keys.key_for(sid)
    if key is None:
        events = await store.read_stream(sid)
        if not events:
            fresh = new
        else:
            is_contact = events[0].stream_type == contact.STREAM_TYPE
            fresh = is_contact and all(e.type != "PersonalDataErased" for e in events)
        if fresh:
            key = await keys.key_for(sid, create=True)
    return key


async def read_contact(
    store: EventStore,
    keys: KeyStore,
    contact_id: UUID,
    *,
    version: int | None = None,
    as_of: Any = None,
) -> tuple[Loaded, bool]:
    """The contact, personal details decrypted while its key exists, and whether they
    are erased by now (also when an earlier version is read)."""
    sid = str(contact_id)
    key = await keys.key_for(sid)
    loaded = await read(store, contact_aggregate(key), sid, version=version, as_of=as_of)
    erased = loaded.state.personal_erased
    if key is None and not erased and (version is not None or as_of is not None):
        erased = (await read(store, CONTACT, sid)).state.personal_erased
    return loaded, erased


async def add_contact(
    store: EventStore, ctx: CommandContext, command: AddContact, key: bytes | None, respond: Respond
) -> JSONResponse:
    owner = (await Repository(store, ACCOUNT).load(str(command.account_id))).state
    aggregate = checked(contact_aggregate(key), lambda c: contact.check_account(owner, c))
    sid = str(command.contact_id)
    return await execute(Repository(store, aggregate), sid, ctx, command, respond, create=True)


async def contact_command(
    store: EventStore,
    ctx: CommandContext,
    contact_id: UUID,
    command: Any,
    respond: Respond,
    *,
    key: bytes | None = None,
) -> JSONResponse:
    """A command on an existing contact whose account must be open (not for erasure)."""
    sid = str(contact_id)
    first = await store.read_stream(sid, to_version=1)
    if not first or first[0].stream_type != contact.STREAM_TYPE:
        raise NotFoundError(f"contact {sid} not found")
    owner = (await Repository(store, ACCOUNT).load(first[0].data["account_id"])).state
    aggregate = checked(contact_aggregate(key), lambda c: contact.check_account(owner, c))
    return await execute(Repository(store, aggregate), sid, ctx, command, respond)


async def erase_personal_data(
    store: EventStore,
    keys: KeyStore,
    ctx: CommandContext,
    command: ErasePersonalData,
    respond: Respond,
) -> JSONResponse:
    """Crypto-shredding: ``PersonalDataErased`` is appended and the contact's key deleted
    in one transaction, so the log never says "erased" while the key still works."""
    if (answer := await replayed(store, ctx)) is not None:
        return answer
    sid = str(command.contact_id)
    repo = Repository(store, CONTACT)
    loaded = await repo.load(sid)
    if loaded.version == 0:
        raise NotFoundError(f"contact {sid} not found")
    check_if_match(ctx.if_match, loaded.version)
    events = CONTACT.decide(loaded.state, command)
    reply = respond(repo.apply(loaded.state, events), loaded.version + len(events))
    if not events:
        await keys.destroy(sid)  # erased before: make sure no key survived
    write = Write(CONTACT, sid, loaded.version, events)
    return await commit(store, ctx, [write], reply, also=lambda conn: keys.destroy(sid, conn=conn))


# --- touches -----------------------------------------------------------------------------


async def log_touch(
    store: EventStore, ctx: CommandContext, command: LogTouch, respond: Respond
) -> JSONResponse:
    contacts = Repository(store, CONTACT)
    account_now, *contacts_now = await asyncio.gather(
        Repository(store, ACCOUNT).load(str(command.account_id)),
        *(contacts.load(str(cid)) for cid in dict.fromkeys(command.contact_ids)),
    )
    owner, people = account_now.state, [each.state for each in contacts_now]

    def check(cmd: LogTouch) -> None:
        touch.check_account(owner, cmd)
        touch.check_contacts(people, cmd)

    repo = Repository(store, checked(TOUCH, check))
    return await execute(repo, str(command.touch_id), ctx, command, respond, create=True)
