"""What the clients service does with clients and addresses."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from services.kit import Caller, NotFound, Unprocessable, precondition
from services.kit.db import kept_after_commit
from services.kit.idempotency import NO_KEY, Key, NoKey

from . import phone
from .models import Address, Client, db, folded, outbox
from .schemas import AddressSchema, ClientSchema


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(args: dict):
    stmt = select(Client)
    if "ids" in args:
        stmt = stmt.where(Client.id.in_(args["ids"]))
    if "name" in args:
        # Every word typed, in any order, somewhere in the name, accents and case aside.
        for word in args["name"].split():
            pattern = "%" + folded(escape_like(word)) + "%"
            stmt = stmt.where(folded(Client.name).like(pattern, escape="\\"))
    if "email" in args:
        stmt = stmt.where(Client.email == args["email"])
    if "cpf" in args:
        stmt = stmt.where(Client.cpf == args["cpf"])
    if "phone" in args:
        stmt = stmt.where(Client.phone == args["phone"])
    return stmt


def get_client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound(f"Client {client_id} does not exist")
    return client


def lock_client(client_id: int) -> None:
    """The client's row, locked FOR SHARE until the transaction ends: what is written under a
    client (an address, a favorite) either commits before a DELETE of the client, which then
    takes it along, or finds the client gone (404); never a child of a deleted client."""
    locked = db.session.scalar(
        select(Client.id).where(Client.id == client_id).with_for_update(read=True)
    )
    if locked is None:
        raise NotFound(f"Client {client_id} does not exist")


def client_exists(client_id: int) -> bool:
    return db.session.scalar(select(Client.id).where(Client.id == client_id)) is not None


def create_client(data: dict, key: Key | NoKey = NO_KEY) -> Client:
    """Orders hears of it (`client.created`), so an order names it without asking here. The
    answer is the row as its INSERT returned it (id, server defaults): nothing is read back, and
    the ORM's unit of work is not needed for one row. An Idempotency-Key is answered in the
    same transaction."""
    if isinstance(data.get("phone"), phone.Masked):
        # A new client has no stored phone for a mask to stand for.
        raise Unprocessable({"phone": [phone.NOT_THE_STORED_ONE]})
    row = db.session.connection().execute(_STORE_CLIENT, data).one()
    # Never added to the session: it answers the request as stored.
    client = Client(**row._mapping)
    outbox.emit("client.created", {"client_id": client.id})
    key.answer(client)
    db.session.commit()
    return client


# Every new client runs it: built once, bound per call (see orders' placing).
_STORE_CLIENT = insert(Client).returning(*Client.__table__.c)


def update_client(client_id: int, data: dict, caller: Caller) -> Client:
    """A PUT or PATCH, on the row read under the lock its UPDATE takes anyway (FOR NO KEY
    UPDATE), taken first: a phone sent back masked is compared with the phone as it is now, not
    as it was before a change that committed while this one waited."""
    client = db.session.scalar(
        select(Client).where(Client.id == client_id).with_for_update(key_share=True)
    )
    if client is None:
        raise NotFound(f"Client {client_id} does not exist")
    precondition(client, ClientSchema)
    client.update(_consent_kept(_phone_kept(data, client.phone, caller.role), client.phone))
    db.session.commit()
    return client


def _consent_kept(data: dict, stored: str | None) -> dict:
    """WhatsApp consent is given for a number: a write that changes the number (or clears it)
    withdraws it, unless the same write says the client consents (`whatsapp_opt_in`), so the
    number's new holder is not written to on the old one's word. A PUT always says (its
    default is false); the same number in another writing is no change."""
    if "phone" not in data or data["phone"] == stored or "whatsapp_opt_in" in data:
        return data
    return {**data, "whatsapp_opt_in": False}


def _phone_kept(data: dict, stored: str | None, role: str) -> dict:
    """A phone sent exactly as the caller is answered the stored one (masked, to a non-admin)
    keeps it: a form sends back what it read. Any other masked value is a 422."""
    sent = data.get("phone")
    if not isinstance(sent, phone.Masked):
        return data
    if sent != phone.shown_to(stored, role):
        raise Unprocessable({"phone": [phone.NOT_THE_STORED_ONE]})
    return {field: value for field, value in data.items() if field != "phone"}


def delete_client(client_id: int) -> None:
    """Addresses and favorites go with it (ON DELETE CASCADE); other services hear of it through
    the outbox. The row is locked first (FOR UPDATE): an address or favorite being added holds
    it FOR SHARE, and two deletions at once delete, and announce, the client once (the second
    is a 404). Read afresh under the lock: its If-Match is checked on the row as it is now, not
    on a copy the request loaded before (while orders was asked, a change may have committed)."""
    locked = db.session.scalar(
        select(Client)
        .where(Client.id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFound(f"Client {client_id} does not exist")
    precondition(locked, ClientSchema)
    db.session.delete(locked)
    outbox.emit("client.deleted", {"client_id": client_id})
    db.session.commit()


def get_address(client_id: int, address_id: int, *, lock: bool = False) -> Address:
    """`lock`: FOR UPDATE, read afresh, until the write's commit (its If-Match is checked on it)."""
    stmt = select(Address).where(Address.id == address_id, Address.client_id == client_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    address = db.session.scalar(stmt)
    if address is None:
        raise NotFound(f"Client {client_id} has no address {address_id}")
    return address


def add_address(client_id: int, data: dict, key: Key | NoKey = NO_KEY) -> Address:
    """Under the client's lock (a deletion racing it is a 404, or takes the address along). The
    answer is the address as stored, not read back after the commit: the client may be gone by
    then. An Idempotency-Key is bound and answered in the same transaction."""
    lock_client(client_id)
    address = Address(client_id=client_id, **data)
    db.session.add(address)
    outbox.emit("address.created", _announced(address))
    key.answer(address)
    with kept_after_commit(db):
        db.session.commit()
    return address


def update_address(address: Address, data: dict) -> Address:
    precondition(address, AddressSchema)
    address.update(data)
    outbox.emit("address.updated", _announced(address))
    db.session.commit()
    return address


def delete_address(address: Address) -> None:
    """Announced while the row is still there to lock: two deletions at once delete, and
    announce, the address once (the second is a 404)."""
    address = get_address(address.client_id, address.id, lock=True)
    precondition(address, AddressSchema)
    outbox.emit("address.deleted", _announced(address))
    db.session.delete(address)
    db.session.commit()


def _announced(address: Address) -> dict:
    """What orders keeps of an address (whose, and its state for reports), read from the row
    under its lock (FOR UPDATE, after the change's flush) rather than from the object, loaded
    before any wait for that lock: a PATCH of the street queued behind one of the state
    announces the state that one committed, not the one it loaded. The version is the
    database's clock read under the same lock, so a later change of the address always carries
    a later one and orders keeps the newest. The lock is taken even when the change wrote
    nothing (no UPDATE); a deletion committed while it waited leaves no row: a 404."""
    db.session.flush()
    row = db.session.execute(
        select(Address.client_id, Address.state).where(Address.id == address.id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFound(f"Client {address.client_id} has no address {address.id}")
    version = db.session.scalar(select(func.clock_timestamp()))
    return {
        "address_id": address.id,
        "client_id": row.client_id,
        "state": row.state,
        "version": version.isoformat(),
    }
