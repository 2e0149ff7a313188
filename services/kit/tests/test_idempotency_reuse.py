"""The 409 for an Idempotency-Key sent again with another body names what the key made: the
caller's own key, so a form can link to what its first sending recorded."""

import marshmallow as ma
import pytest
from flask.views import MethodView
from sqlalchemy import String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import Blueprint, IdempotencyKeyMixin, IdempotentCommand, make_db
from services.kit.testing import kit_app

db = make_db("auth")
blp = Blueprint("gadgets", __name__, url_prefix="/gadgets")


class Gadget(db.Model):
    __tablename__ = "kit_test_gadgets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class GadgetKey(IdempotencyKeyMixin, db.Model):
    __tablename__ = "kit_test_gadget_keys"


class GadgetSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True)


adding = IdempotentCommand(db, GadgetKey, schema=GadgetSchema, endpoint=None, id_arg=None)


@blp.route("")
class Gadgets(MethodView):
    @blp.login_required()
    @blp.arguments(GadgetSchema)
    @blp.response(201, GadgetSchema)
    @adding
    def post(self, data, key):
        gadget = Gadget(name=data["name"])
        db.session.add(gadget)
        db.session.flush()
        key.answer(gadget)
        db.session.commit()
        return gadget


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(__name__, db, blp, database, jwt_keys)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()


@pytest.fixture
def client(app):
    with app.app_context():
        db.session.execute(text("TRUNCATE kit_test_gadgets, kit_test_gadget_keys RESTART IDENTITY"))
        db.session.commit()
    return app.test_client()


def test_a_key_sent_again_with_another_body_is_a_409_naming_what_the_key_made(client, user):
    keyed = {**user, "Idempotency-Key": "k-1"}
    first = client.post("/gadgets", json={"name": "lamp"}, headers=keyed)
    assert first.status_code == 201
    again = client.post("/gadgets", json={"name": "desk"}, headers=keyed)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert again.json["key_reused"] is True
    assert again.json["resource_id"] == first.json["id"]
