"""A contact's personal data, kept in one value so the infrastructure can encrypt it whole.

``PersonalDetails`` travels in the ``personal`` field of ``ContactAdded`` and
``ContactUpdated``; nothing else in any event holds personal data. The
infrastructure encrypts that field with the contact's own key and destroys the
key on ``PersonalDataErased`` (crypto-shredding); when it can no longer decrypt
it hands the event back with ``personal=None``, which ``evolve`` accepts.
"""

import re
from dataclasses import dataclass, fields
from datetime import date

from . import checks
from .errors import InvalidCommandError

MAX_INTERESTS = 20
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{2,30}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalDetails:
    """Personal fields; a whole value replaces the previous one (no per-field merge)."""

    email: str | None = None
    phone: str | None = None
    birthday: date | None = None
    hometown: str | None = None
    interests: tuple[str, ...] = ()
    family_notes: str | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, f.name) in (None, ()) for f in fields(self))


def valid_personal(details: PersonalDetails | None, today: date) -> PersonalDetails | None:
    """The details trimmed and checked; None when there is nothing in them."""
    if details is None:
        return None
    email = checks.optional_text(details.email, "personal.email", 254)
    if email is not None and not _EMAIL.fullmatch(email):
        raise InvalidCommandError("personal.email is not an e-mail address", field="personal.email")
    phone = checks.optional_text(details.phone, "personal.phone", 32)
    if phone is not None and not _PHONE.fullmatch(phone):
        raise InvalidCommandError("personal.phone is not a phone number", field="personal.phone")
    if details.birthday is not None and details.birthday > today:
        raise InvalidCommandError("personal.birthday is in the future", field="personal.birthday")
    if len(details.interests) > MAX_INTERESTS:
        raise InvalidCommandError(f"at most {MAX_INTERESTS} interests", field="personal.interests")
    interests = tuple(
        text
        for item in details.interests
        if (text := checks.optional_text(item, "personal.interests", 100)) is not None
    )
    clean = PersonalDetails(
        email=email,
        phone=phone,
        birthday=details.birthday,
        hometown=checks.optional_text(details.hometown, "personal.hometown"),
        interests=interests,
        family_notes=checks.optional_text(
            details.family_notes, "personal.family_notes", checks.TEXT_MAX
        ),
    )
    return None if clean.is_empty else clean
