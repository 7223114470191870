"""Errors of the deals service outside the pure domain: the pipeline catalog and the
account directory. Shaped like ``domain.DealError`` (``code``, ``status``, ``detail``,
``extra``) and mapped to problem+json in the same place, but a hierarchy of their own:
``DealError`` is the domain's, every subclass of it exported from ``domain``."""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    code: ClassVar[str] = "deals-error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class PipelineNotFoundError(ServiceError):
    code = "pipeline-not-found"
    status = 404


class PipelineExistsError(ServiceError):
    code = "pipeline-exists"
    status = 409


class PipelineInUseError(ServiceError):
    """A revision would remove, reorder or re-purpose stages that deals rely on."""

    code = "pipeline-in-use"
    status = 409


class UnknownAccountError(ServiceError):
    """The account is not in the local directory (unknown, or not followed yet)."""

    code = "unknown-account"
    status = 422


class AccountArchivedError(ServiceError):
    code = "account-archived"
    status = 422
