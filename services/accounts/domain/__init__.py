"""The pure core of the accounts service: no I/O, standard library only.

- ``account``, ``contact``, ``touch``: one aggregate each — state, ``decide(state,
  command) -> list[event]``, ``evolve(state, event) -> state``, ``replay``;
- ``commands`` / ``events``: the messages of all three (event class name = stored type);
- ``enums`` (with Chinese labels), ``errors``, ``actor`` (roles and ownership),
  ``personal`` (the one encrypted value), ``assessment``, ``checks``.
"""

from .events import EVENT_TYPES

__all__ = ["EVENT_TYPES"]
