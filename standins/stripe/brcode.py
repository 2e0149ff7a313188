"""PIX "copia e cola" payloads: the EMV QR Code (BR Code) a Brazilian banking app reads.

Each field is ID (2 digits), length (2 digits), value; the last one is the CRC16/CCITT-FALSE
(polynomial 0x1021, start 0xFFFF) of everything before it, `6304` included, as 4 uppercase hex.
"""

from __future__ import annotations

import binascii
import unicodedata

PIX_GUI = "br.gov.bcb.pix"


def field(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"BR Code field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def crc16(payload: str) -> str:
    return f"{binascii.crc_hqx(payload.encode(), 0xFFFF):04X}"


def _plain(text: str, limit: int) -> str:
    """Merchant name and city: ASCII without accents, as banking apps expect."""
    ascii_only = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ascii_only.upper()[:limit]


def br_code(*, key: str, amount_cents: int, txid: str, name: str, city: str) -> str:
    account = field("00", PIX_GUI) + field("01", key)
    txid = "".join(ch for ch in txid if ch.isalnum())[:25] or "***"
    payload = (
        field("00", "01")  # payload format indicator
        + field("01", "12")  # point of initiation: dynamic, single use
        + field("26", account)
        + field("52", "0000")  # merchant category code
        + field("53", "986")  # BRL
        + field("54", f"{amount_cents // 100}.{amount_cents % 100:02d}")
        + field("58", "BR")
        + field("59", _plain(name, 25))
        + field("60", _plain(city, 15))
        + field("62", field("05", txid))
        + "6304"
    )
    return payload + crc16(payload)


def parse(payload: str) -> dict[str, str]:
    """The top-level fields of a payload, by ID (nested ones stay as their raw value)."""
    fields, at = {}, 0
    while at < len(payload):
        tag, length = payload[at : at + 2], int(payload[at + 2 : at + 4])
        fields[tag] = payload[at + 4 : at + 4 + length]
        at += 4 + length
    return fields


def crc_is_valid(payload: str) -> bool:
    return payload[-8:-4] == "6304" and crc16(payload[:-4]) == payload[-4:]
