"""The clients API: clients, their addresses, favorites and message history, and the contacts
route notifications alone may call."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from sqlalchemy import select

from services.kit import (
    Blueprint,
    Forbidden,
    NotFound,
    conditional,
    current_caller,
    page_schema,
    paginate,
    precondition,
)
from services.kit.idempotency import IdempotentCommand, key_parameter

from . import clients, deletion_guards, favorites, notifications
from .models import Address, Client, ClientIdempotencyKey, IdempotencyKey, db
from .schemas import (
    AddressListArgs,
    AddressSchema,
    ClientListArgs,
    ClientNotificationListArgs,
    ClientNotificationSchema,
    ClientSchema,
    ContactSchema,
    FavoriteListArgs,
    FavoriteProductSchema,
    FavoriteSchema,
)

blp = Blueprint(
    "clients", __name__, url_prefix="/clients", description="Clients, addresses and favorites"
)

registering_client = IdempotentCommand(
    db,
    ClientIdempotencyKey,
    schema=ClientSchema,
    endpoint="clients.ClientResource",
    id_arg="client_id",
)
adding_address = IdempotentCommand(
    db,
    IdempotencyKey,
    schema=AddressSchema,
    endpoint="clients.AddressResource",
    id_arg="address_id",
)


@blp.route("")
class Clients(MethodView):
    @blp.login_required()
    @blp.arguments(ClientListArgs, location="query")
    @blp.response(200, page_schema(ClientSchema))
    @blp.problem(403, "Only an admin may find clients by phone")
    def get(self, args):
        """List clients; `name` finds every word typed somewhere in the name, ignoring accents
        and case; `phone` (any writing of a mobile) the stored phone exactly, for an admin only
        (users read phones masked: an exact match would tell them the hidden digits)."""
        if "phone" in args and current_caller().role != "admin":
            raise Forbidden("Only an admin may find clients by phone")
        sortable = {"name": Client.name, "created_at": Client.created_at}
        return paginate(db, clients.search(args), args, sortable, Client.id)

    @blp.login_required()
    @blp.arguments(ClientSchema)
    @blp.response(201, ClientSchema)
    @blp.doc(parameters=[key_parameter()])
    @blp.problem(
        409,
        "The email or the CPF is already registered, or the Idempotency-Key was used with "
        "another body",
    )
    @registering_client
    def post(self, data, key):
        """Register a client. The CPF is stored and returned formatted. With an
        `Idempotency-Key`, a repeat answers the first client again instead of a 409 for its CPF."""
        client = clients.create_client(data, key)
        return client, 201, {"Location": url_for("clients.ClientResource", client_id=client.id)}


@blp.route("/<int:client_id>")
class ClientResource(MethodView):
    @blp.login_required()
    @blp.response(200, ClientSchema)
    @blp.problem(404, "No such client")
    @conditional
    def get(self, client_id):
        """One client."""
        return clients.get_client(client_id)

    @blp.login_required()
    @blp.response(200)
    @blp.problem(404, "No such client")
    def head(self, client_id):
        """Does the client exist? 200 or 404, no body (what other services ask)."""
        if not clients.client_exists(client_id):
            raise NotFound(f"Client {client_id} does not exist")
        return ""

    @blp.login_required()
    @blp.arguments(ClientSchema)
    @blp.response(200, ClientSchema)
    @blp.problem(404, "No such client")
    @blp.problem(409, "The email or the CPF belongs to another client")
    @blp.if_match()
    def put(self, data, client_id):
        """Replace a client's fields. A phone sent back masked, exactly as it was answered to the
        caller, keeps the stored one."""
        return clients.update_client(client_id, data, current_caller())

    @blp.login_required()
    @blp.arguments(ClientSchema(partial=True))
    @blp.response(200, ClientSchema)
    @blp.problem(404, "No such client")
    @blp.problem(409, "The email or the CPF belongs to another client")
    @blp.if_match()
    def patch(self, data, client_id):
        """Change some of a client's fields (a phone sent back masked, as for PUT, is kept)."""
        return clients.update_client(client_id, data, current_caller())

    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such client")
    @blp.problem(409, "The client has open (pending, paid or shipped) orders")
    @blp.problem(503, "The orders service cannot say whether the client has open orders")
    @blp.if_match()
    def delete(self, client_id):
        """Delete a client with its addresses (admin); not while it has open orders. A stale
        If-Match is a 412 before orders is asked (and checked again under the row's lock)."""
        precondition(clients.get_client(client_id), ClientSchema)
        deletion_guards.ensure_no_open_orders(client_id)
        clients.delete_client(client_id)


@blp.route("/<int:client_id>/addresses")
class Addresses(MethodView):
    @blp.login_required()
    @blp.arguments(AddressListArgs, location="query")
    @blp.response(200, page_schema(AddressSchema))
    @blp.problem(404, "No such client")
    def get(self, args, client_id):
        """A client's addresses."""
        clients.get_client(client_id)
        stmt = select(Address).where(Address.client_id == client_id)
        return paginate(db, stmt, args, {"id": Address.id}, Address.id)

    @blp.login_required()
    @blp.arguments(AddressSchema)
    @blp.response(201, AddressSchema)
    @blp.doc(parameters=[key_parameter("client")])
    @blp.problem(404, "No such client (or it was deleted meanwhile)")
    @blp.problem(409, "The Idempotency-Key was used with another body or client")
    @adding_address
    def post(self, data, client_id, key):
        """Add an address to a client; with an `Idempotency-Key`, a repeat answers the first
        address again instead of adding another."""
        address = clients.add_address(client_id, data, key)
        location = url_for("clients.AddressResource", client_id=client_id, address_id=address.id)
        return address, 201, {"Location": location}


@blp.route("/<int:client_id>/addresses/<int:address_id>")
class AddressResource(MethodView):
    @blp.login_required()
    @blp.response(200, AddressSchema)
    @blp.problem(404, "No such client, or the address is not this client's")
    @conditional
    def get(self, client_id, address_id):
        """One address of a client."""
        return clients.get_address(client_id, address_id)

    @blp.login_required()
    @blp.arguments(AddressSchema)
    @blp.response(200, AddressSchema)
    @blp.problem(404, "No such client, or the address is not this client's")
    @blp.if_match()
    def put(self, data, client_id, address_id):
        """Replace an address."""
        address = clients.get_address(client_id, address_id, lock=True)
        return clients.update_address(address, data)

    @blp.login_required()
    @blp.arguments(AddressSchema(partial=True))
    @blp.response(200, AddressSchema)
    @blp.problem(404, "No such client, or the address is not this client's")
    @blp.if_match()
    def patch(self, data, client_id, address_id):
        """Change some fields of an address."""
        address = clients.get_address(client_id, address_id, lock=True)
        return clients.update_address(address, data)

    @blp.login_required()
    @blp.response(204)
    @blp.problem(404, "No such client, or the address is not this client's")
    @blp.problem(409, "Open (pending, paid or shipped) orders ship to the address")
    @blp.problem(503, "The orders service cannot say whether open orders ship to the address")
    @blp.if_match()
    def delete(self, client_id, address_id):
        """Remove an address; not while open orders ship to it. A stale If-Match is a 412 before
        orders is asked (and checked again under the row's lock)."""
        address = clients.get_address(client_id, address_id)
        precondition(address, AddressSchema)
        deletion_guards.ensure_no_open_order_ships_to(client_id, address_id)
        clients.delete_address(address)


@blp.route("/<int:client_id>/favorites")
class Favorites(MethodView):
    @blp.login_required()
    @blp.arguments(FavoriteListArgs, location="query")
    @blp.response(200, page_schema(FavoriteProductSchema))
    @blp.problem(404, "No such client")
    @blp.problem(503, "The products service cannot answer")
    def get(self, args, client_id):
        """A client's favorite products, with their name and price."""
        return favorites.list_favorites(clients.get_client(client_id), args)


@blp.route("/<int:client_id>/favorites/<int:product_id>")
class FavoriteResource(MethodView):
    @blp.login_required()
    @blp.response(200, FavoriteSchema)
    @blp.problem(404, "No such client, or the product is not one of its favorites")
    def get(self, client_id, product_id):
        """Is this product a favorite of the client? 200 or 404."""
        return favorites.get_favorite(client_id, product_id)

    @blp.login_required()
    @blp.response(200, FavoriteSchema, description="It already was a favorite")
    @blp.alt_response(201, schema=FavoriteSchema, description="Added")
    @blp.problem(404, "No such client, or no such product")
    @blp.problem(503, "The products service cannot answer")
    def put(self, client_id, product_id):
        """Make the product a favorite (idempotent): 201 the first time, 200 after."""
        clients.get_client(client_id)
        favorite, added = favorites.add_favorite(client_id, product_id)
        if not added:
            return favorite
        location = url_for("clients.FavoriteResource", client_id=client_id, product_id=product_id)
        return favorite, 201, {"Location": location}

    @blp.login_required()
    @blp.response(204)
    @blp.problem(404, "No such client, or the product is not one of its favorites")
    def delete(self, client_id, product_id):
        """The product is no longer a favorite."""
        favorites.remove_favorite(favorites.get_favorite(client_id, product_id))


@blp.route("/<int:client_id>/notifications")
class ClientNotifications(MethodView):
    @blp.login_required()
    @blp.arguments(ClientNotificationListArgs, location="query")
    @blp.response(200, page_schema(ClientNotificationSchema))
    @blp.problem(403, "Only for: admin (the notifications service decides)")
    @blp.problem(404, "No such client")
    @blp.problem(503, "The notifications service cannot answer")
    def get(self, args, client_id):
        """The messages sent to a client (admin), newest first: the notifications service's
        `GET /notifications?client_id=…`, asked with the caller's token."""
        clients.get_client(client_id)
        return notifications.client_notifications(client_id, args)


@blp.route("/contacts/<int:client_id>")
class Contact(MethodView):
    @blp.internal()
    @blp.response(200, ContactSchema)
    @blp.problem(404, "No such client")
    def get(self, client_id):
        """Internal, for the notifications service alone (its service credential, no user
        token): how to reach a client, the phone unmasked."""
        return clients.get_client(client_id)
