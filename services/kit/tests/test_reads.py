"""What the kit answers to reads: a HEAD carries the headers its GET would (RFC 9110 §9.3.2), and
a query value that is not one of its choices is told the choices, whatever its length."""

import marshmallow as ma
import pytest
from flask.views import MethodView

from services.kit import Blueprint, PageArgs, conditional, make_db, sort_field
from services.kit.testing import kit_app

db = make_db("auth")
blp = Blueprint("reads", __name__, url_prefix="/reads")


class ThingSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class ThingArgs(PageArgs):
    sort = sort_field("id", default="-id")


@blp.route("")
class Things(MethodView):
    @blp.arguments(ThingArgs, location="query")
    @blp.response(200, ThingSchema(many=True))
    @conditional
    def get(self, args):
        return [{"id": 1, "name": "a" * 50}]


@blp.route("/<int:thing_id>")
class Thing(MethodView):
    @blp.response(200, ThingSchema)
    @conditional
    def get(self, thing_id):
        return {"id": thing_id, "name": "a" * 50}

    @blp.response(200)
    @conditional
    def head(self, thing_id):
        """An existence check: builds no representation."""
        return ""


@pytest.fixture(scope="module")
def client(database, jwt_keys):
    return kit_app(__name__, db, blp, database, jwt_keys).test_client()


def test_a_head_that_runs_the_get_carries_the_gets_etag_length_and_cache_control(client):
    got = client.get("/reads")
    head = client.head("/reads")
    assert head.status_code == 200 and head.get_data() == b""
    for name in ("ETag", "Content-Length", "Cache-Control", "Content-Type"):
        assert head.headers.get(name) == got.headers.get(name), name
    assert head.headers["ETag"].startswith('W/"')


def test_a_head_with_a_current_if_none_match_is_a_304(client):
    tag = client.get("/reads").headers["ETag"]
    assert client.head("/reads", headers={"If-None-Match": tag}).status_code == 304


def test_an_existence_check_head_sends_no_content_length_rather_than_a_wrong_one(client):
    head = client.head("/reads/7")
    assert head.status_code == 200 and head.get_data() == b""
    assert "Content-Length" not in head.headers
    # It builds no body, so it cannot know the GET's tag; the caching rule is the GET's.
    assert "ETag" not in head.headers
    assert head.headers["Cache-Control"] == client.get("/reads/7").headers["Cache-Control"]


@pytest.mark.parametrize("value", ["nope", "x", "-name", "x" * 200])
def test_a_sort_that_is_not_a_choice_is_told_the_choices_whatever_its_length(client, value):
    response = client.get("/reads", query_string={"sort": value})
    assert response.status_code == 422
    assert response.json["errors"] == {"sort": ["Must be one of: id, -id."]}
