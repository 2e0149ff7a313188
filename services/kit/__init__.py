"""What every Feira service shares; a service's own code is only its domain."""

from .app import create_service_app
from .db import TimestampMixin, make_db, utcnow
from .errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Problem,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from .fields import Filter, Id, Text
from .httpclient import service
from .idempotency import IdempotencyKeyMixin, IdempotentCommand, Key
from .pagination import PageArgs, QueryArgs, page_schema, paginate, sort_field
from .security import Caller, current_caller, require_caller
from .web import (
    MAY_BE_ABSENT,
    Answer,
    Blueprint,
    ChangeSchema,
    ProblemSchema,
    ShortageProblemSchema,
    body_limit,
    conditional,
    precondition,
)

__all__ = [
    "MAY_BE_ABSENT",
    "Answer",
    "BadRequest",
    "Blueprint",
    "Caller",
    "ChangeSchema",
    "Conflict",
    "Filter",
    "Forbidden",
    "Id",
    "IdempotencyKeyMixin",
    "IdempotentCommand",
    "Key",
    "NotFound",
    "PageArgs",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Problem",
    "ProblemSchema",
    "QueryArgs",
    "ShortageProblemSchema",
    "Text",
    "TimestampMixin",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
    "body_limit",
    "conditional",
    "create_service_app",
    "current_caller",
    "make_db",
    "page_schema",
    "paginate",
    "precondition",
    "require_caller",
    "service",
    "sort_field",
    "utcnow",
]
