"""The clients API: clients and their addresses."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from sqlalchemy import select

from services.kit import Blueprint, NotFound, page_schema, paginate

from . import clients
from .models import Address, Client, db
from .schemas import AddressListArgs, AddressSchema, ClientListArgs, ClientSchema

blp = Blueprint("clients", __name__, url_prefix="/clients", description="Clients and addresses")


@blp.route("")
class Clients(MethodView):
    @blp.login_required()
    @blp.arguments(ClientListArgs, location="query")
    @blp.response(200, page_schema(ClientSchema))
    def get(self, args):
        """List clients; `name` matches any part of the name, ignoring case."""
        sortable = {"name": Client.name, "created_at": Client.created_at}
        return paginate(db, clients.search(args), args, sortable, Client.id)

    @blp.login_required()
    @blp.arguments(ClientSchema)
    @blp.response(201, ClientSchema)
    @blp.problem(409, "The email or the CPF is already registered")
    def post(self, data):
        """Register a client. The CPF is stored and returned formatted."""
        client = clients.create_client(data)
        return client, 201, {"Location": url_for("clients.ClientResource", client_id=client.id)}


@blp.route("/<int:client_id>")
class ClientResource(MethodView):
    @blp.login_required()
    @blp.response(200, ClientSchema)
    @blp.problem(404, "No such client")
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
    def put(self, data, client_id):
        """Replace a client's fields."""
        return clients.update_client(clients.get_client(client_id), data)

    @blp.login_required()
    @blp.arguments(ClientSchema(partial=True))
    @blp.response(200, ClientSchema)
    @blp.problem(404, "No such client")
    @blp.problem(409, "The email or the CPF belongs to another client")
    def patch(self, data, client_id):
        """Change some of a client's fields."""
        return clients.update_client(clients.get_client(client_id), data)

    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such client")
    def delete(self, client_id):
        """Delete a client with its addresses (admin)."""
        clients.delete_client(clients.get_client(client_id))


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
    @blp.problem(404, "No such client")
    def post(self, data, client_id):
        """Add an address to a client."""
        address = clients.add_address(clients.get_client(client_id), data)
        location = url_for("clients.AddressResource", client_id=client_id, address_id=address.id)
        return address, 201, {"Location": location}


@blp.route("/<int:client_id>/addresses/<int:address_id>")
class AddressResource(MethodView):
    @blp.login_required()
    @blp.response(200, AddressSchema)
    @blp.problem(404, "No such client, or the address is not this client's")
    def get(self, client_id, address_id):
        """One address of a client."""
        return clients.get_address(client_id, address_id)

    @blp.login_required()
    @blp.arguments(AddressSchema)
    @blp.response(200, AddressSchema)
    @blp.problem(404, "No such client, or the address is not this client's")
    def put(self, data, client_id, address_id):
        """Replace an address."""
        return clients.update_address(clients.get_address(client_id, address_id), data)

    @blp.login_required()
    @blp.arguments(AddressSchema(partial=True))
    @blp.response(200, AddressSchema)
    @blp.problem(404, "No such client, or the address is not this client's")
    def patch(self, data, client_id, address_id):
        """Change some fields of an address."""
        return clients.update_address(clients.get_address(client_id, address_id), data)

    @blp.login_required()
    @blp.response(204)
    @blp.problem(404, "No such client, or the address is not this client's")
    def delete(self, client_id, address_id):
        """Remove an address."""
        clients.delete_address(clients.get_address(client_id, address_id))
