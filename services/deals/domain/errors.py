"""The one error hierarchy of the deals domain.

Each class carries a stable ``code`` (the problem ``type`` slug) and an HTTP
``status`` hint (403 not allowed, 404 not found, 409 state conflict, 422 invalid
input); the API maps them in one place. ``detail`` is a human-readable sentence;
``extra`` holds problem extension members (ids, stage codes, what is missing).
"""

from typing import ClassVar


class DealError(Exception):
    """Base of every error the deals domain raises."""

    code: ClassVar[str] = "deal-error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


# --- 422: the command itself is wrong ---------------------------------------------------


class InvalidCommandError(DealError):
    """The command's content breaks a rule (blank title, negative amount …)."""

    code = "invalid-command"
    status = 422


class ReasonRequiredError(InvalidCommandError):
    """The move needs a reason (going back a stage, skipping, reopening …)."""

    code = "reason-required"


class UnknownPipelineError(InvalidCommandError):
    code = "unknown-pipeline"


class UnknownStageError(InvalidCommandError):
    code = "unknown-stage"


class InvalidPipelineError(InvalidCommandError):
    """A pipeline definition that cannot work (duplicate stage codes, no won stage …)."""

    code = "invalid-pipeline"


# --- 403 / 404 --------------------------------------------------------------------------


class NotAllowedError(DealError):
    """The actor's role or ownership does not permit the command."""

    code = "not-allowed"
    status = 403


class DealNotFoundError(DealError):
    code = "deal-not-found"
    status = 404


class QuoteNotFoundError(DealError):
    code = "quote-not-found"
    status = 404


class QuoteVersionNotFoundError(QuoteNotFoundError):
    code = "quote-version-not-found"


class CompetitorNotFoundError(DealError):
    code = "competitor-not-found"
    status = 404


# --- 409: the deal's state does not allow it --------------------------------------------


class DealConflictError(DealError):
    """Base of the state conflicts."""

    code = "deal-conflict"
    status = 409


class DealAlreadyExistsError(DealConflictError):
    code = "deal-already-exists"


class DealClosedError(DealConflictError):
    """The deal is lost or closed: every command but ``ReopenDeal`` is refused."""

    code = "deal-closed"


class DealNotOpenError(DealConflictError):
    """The command needs an open (not yet won) deal."""

    code = "deal-not-open"


class DealNotWonError(DealConflictError):
    """The command needs a won deal (change orders, closing)."""

    code = "deal-not-won"


class DealNotReopenableError(DealConflictError):
    """Only lost or closed deals can be reopened."""

    code = "deal-not-reopenable"


class WrongStageError(DealConflictError):
    """The deal is not in a stage where this is possible (win outside negotiation …)."""

    code = "wrong-stage"


class StageGateUnmetError(DealConflictError):
    """Entering the stage needs things the deal does not have; ``missing`` lists them."""

    code = "stage-gate-unmet"

    def __init__(self, stage: str, missing: tuple[str, ...]) -> None:
        super().__init__(
            f"cannot enter stage {stage!r}; missing: {', '.join(missing)}",
            stage=stage,
            missing=list(missing),
        )
        self.stage = stage
        self.missing = missing


class StageSkipNeedsOverrideError(DealConflictError):
    """Moving forward more than one stage needs a manager's override with a reason."""

    code = "stage-skip-needs-override"


class DuplicateIdError(DealConflictError):
    """A quote or change order with this id already exists on the deal."""

    code = "duplicate-id"


class QuoteStateError(DealConflictError):
    """The quote's current version is not in a state that allows the command."""

    code = "quote-state-conflict"


class QuoteApprovalRequiredError(QuoteStateError):
    """The quote crosses the pipeline's limits and waits for a manager's approval."""

    code = "quote-approval-required"


class QuoteExpiredError(QuoteStateError):
    code = "quote-expired"
