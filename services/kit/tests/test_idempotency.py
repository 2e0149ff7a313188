"""Which failed commands keep the key they bound: a refused request (4xx) lets it go, so a retry
does the work again; any other failure (5xx) keeps it, so a retry resumes what was stored."""

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
def test_an_error_answered_4xx_is_a_refusal_and_lets_the_key_go(error):
    assert refused(error)


@pytest.mark.parametrize(
    "error",
    [Unavailable("provider down"), ServiceUnavailable(), RuntimeError("a bug"), TimeoutError()],
)
def test_an_error_answered_5xx_is_no_refusal_and_keeps_a_bound_key(error):
    assert not refused(error)
