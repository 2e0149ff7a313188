"""Which errors count as refusals. The command lets the key of a refused request (4xx) go, so a
retry does the work again, and keeps it after any other failure (5xx), so a retry resumes what
was stored; what that does to the key is tested through the services (e.g. orders' test_placing)."""

import pytest
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import MethodNotAllowed, ServiceUnavailable

from services.kit import Conflict, NotFound, Unavailable, Unprocessable
from services.kit.idempotency import refused


@pytest.mark.parametrize(
    "error",
    [
        Conflict("already has an open payment"),
        Unprocessable({"payment_method": ["unknown"]}),
        NotFound("gone"),
        MethodNotAllowed(),
        IntegrityError("INSERT", {}, Exception("duplicate")),
    ],
)
def test_an_error_answered_4xx_counts_as_a_refusal(error):
    assert refused(error)


@pytest.mark.parametrize(
    "error",
    [Unavailable("provider down"), ServiceUnavailable(), RuntimeError("a bug"), TimeoutError()],
)
def test_an_error_answered_5xx_does_not_count_as_a_refusal(error):
    assert not refused(error)
