"""Who may do what to a deal.

- auditors never write;
- ``manager`` and ``admin`` are supervisors: they change any deal, approve and reject
  quotes, override stage skips, reopen deals and change owners;
- a ``rep`` changes only the deals they own (and opens deals only for themselves);
- ``service`` (integrations, imports) writes like a rep — it may open deals for any
  owner — but has no supervisor powers (same rule as the accounts service).
"""

from .commands import Command
from .errors import NotAllowedError
from .values import Role

WRITER_ROLES = frozenset({Role.REP, Role.MANAGER, Role.ADMIN, Role.SERVICE})
SUPERVISOR_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


def is_supervisor(role: Role) -> bool:
    return role in SUPERVISOR_ROLES


def require_writer(command: Command) -> None:
    if command.actor_role not in WRITER_ROLES:
        raise NotAllowedError(
            f"role {command.actor_role} may not change deals", actor_role=str(command.actor_role)
        )


def require_supervisor(command: Command, action: str) -> None:
    if not is_supervisor(command.actor_role):
        raise NotAllowedError(
            f"only a manager or admin may {action}", actor_role=str(command.actor_role)
        )


def require_owner_or_supervisor(command: Command, owner_id: str, action: str) -> None:
    if not is_supervisor(command.actor_role) and command.actor_id != owner_id:
        raise NotAllowedError(
            f"only the deal's owner, a manager or an admin may {action}",
            actor_id=command.actor_id,
        )
