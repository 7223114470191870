"""Who sends a command, when, and what their role lets them do.

Rules shared by all three aggregates:

- auditors never write;
- ``manager`` and ``admin`` are supervisors: they may change any account;
- a ``rep`` changes only the accounts they own;
- ``service`` (integrations, imports) writes like a rep: it may open accounts
  for any owner and add contacts / log touches, but has no supervisor override;
- contacts and touches are team work ("the first person to contact a customer
  creates the record; later staff append"), so any writer may add them.
"""

from dataclasses import dataclass
from datetime import datetime

from .enums import Role
from .errors import NotAllowedError

WRITER_ROLES = frozenset({Role.REP, Role.MANAGER, Role.ADMIN, Role.SERVICE})
SUPERVISOR_ROLES = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Fields every command carries. ``at`` is the (timezone-aware UTC) moment of the
    command, stamped by the handler, so the domain never reads a clock."""

    actor_id: str
    actor_role: Role
    at: datetime


def is_supervisor(role: Role) -> bool:
    return role in SUPERVISOR_ROLES


def require_writer(command: Command) -> None:
    if command.actor_role not in WRITER_ROLES:
        raise NotAllowedError(
            f"role {command.actor_role} may not write", actor_role=str(command.actor_role)
        )


def require_supervisor(command: Command, action: str) -> None:
    if not is_supervisor(command.actor_role):
        raise NotAllowedError(
            f"only a manager or admin may {action}", actor_role=str(command.actor_role)
        )


def require_owner_or_supervisor(command: Command, owner_id: str, action: str) -> None:
    if not is_supervisor(command.actor_role) and command.actor_id != owner_id:
        raise NotAllowedError(
            f"only the account owner, a manager or an admin may {action}",
            actor_id=command.actor_id,
        )
