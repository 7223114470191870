"""The one error hierarchy of the accounts domain.

Each class carries a stable ``code`` (the problem ``type`` slug) and an HTTP
``status`` hint; the API maps them in one place. ``extra`` holds problem
extension members (ids, field names) for the response body.
"""

from typing import ClassVar


class AccountsError(Exception):
    """Base of every error the accounts domain raises."""

    code: ClassVar[str] = "accounts-error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotAllowedError(AccountsError):
    """The actor's role or ownership does not permit the command."""

    code = "not-allowed"
    status = 403


class NotFoundError(AccountsError):
    """The account, contact, touch or buying role does not exist."""

    code = "not-found"
    status = 404


class AlreadyExistsError(AccountsError):
    """The stream (account, contact, touch) was already created."""

    code = "already-exists"
    status = 409


class DuplicateAccountNameError(AlreadyExistsError):
    """Another account in the same region has this name (raised by the handler,
    which owns the directory lookup); ``extra['existing_account_id']`` names it."""

    code = "duplicate-account-name"
    status = 409


class AccountArchivedError(AccountsError):
    """An archived account (or its contacts) accepts no more changes."""

    code = "account-archived"
    status = 409


class ContactLeftError(AccountsError):
    """The contact left the company: readable, but takes no new roles."""

    code = "contact-left"
    status = 409


class PersonalDataErasedError(AccountsError):
    """The contact's personal data was erased and cannot be set again."""

    code = "personal-data-erased"
    status = 409


class InvalidCommandError(AccountsError):
    """The command's content breaks a rule (blank reason, score out of range …)."""

    code = "invalid-command"
    status = 422
