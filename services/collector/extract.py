"""Products out of a shop's HTML, whatever its layout: schema.org Product/Offer in JSON-LD (with
`@graph`, `AggregateOffer` and the broken JSON real pages carry), then microdata, then OpenGraph
`product:*`, then the source's own CSS or XPath selectors; the first that yields wins. Prices
become exact decimals: a structured one written as schema.org asks (`5.899`: "." the decimal
point) is that number, any other text is read as Brazilian shops write it (`R$ 1.299,90`), from
its `R$` (the last after `por`), and refused when it names other amounts or instalments; a GTIN
is kept only when its check digit holds.

extruct reads microdata (its parser follows nested itemscopes, which parsel alone would not);
JSON-LD is read here so that a broken block can be repaired instead of dropped; OpenGraph and
selectors are parsel (lxml) expressions.

A price is in reais unless the page says otherwise: a stated currency (priceCurrency) or one the
written price names (`US$ 10.00`, `€ 49,90`, price-parser's) that is not BRL rejects the product;
nothing is converted.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import urldefrag, urljoin

import extruct
import jstyleson
from lxml import etree
from parsel import Selector
from price_parser import Price
from w3lib.html import remove_tags
from w3lib.url import canonicalize_url

log = logging.getLogger("feira.collector")

FIELDS = ("name", "price", "description", "image", "sku", "gtin")
CENT = Decimal("0.01")
MAX_PRICE = Decimal("9999999999.99")  # NUMERIC(12,2)
REAIS = ("BRL", "R$")
# Stripping tags again until nothing changes ends here; what is left loses its angle brackets.
MAX_STRIP_PASSES = 10
# schema.org's price: ASCII digits, "." the decimal point and no thousands separator, so `49.9`
# is 49.90, where price-parser (guessing thousands) reads 499.
MACHINE_PRICE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Three digits after each "." (`1.299`, `5.899`): schema.org's 1.30, or a shop's template printing
# reais with thousands (Shopify's `money_without_currency`), 1299. Neither is sure: refused.
THOUSANDS_OR_DECIMALS = re.compile(r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+")
# `R$` where a price in reais begins; not the end of another currency's sign (`AR$`).
REAL_SIGN = re.compile(r"(?i)(?<![a-z])r\s*\$")
# What a shop writes between an old price and the current one: `De R$ 59,90 Por R$ 49,90`.
NOW_FOR = re.compile(r"(?i)(?<![a-z])por(?![a-z])")
# Instalments (`10x de R$ 4,99`, `12 vezes`, `parcelas`): the amount named is not the whole price.
INSTALMENTS = re.compile(r"(?i)\b[0-9]+\s*(?:x|vezes)(?![a-z0-9])|parcela")
# What may come before them: the whole price, then "ou" or "em (até)" (`R$ 1.299,90 ou 10x de`).
PRICE_THEN_INSTALMENTS = re.compile(r"(?i)(?<![a-z])r\s*\$\s*[0-9][0-9.,]*\s+(?:ou|em até|em)\s*$")
# Half of a pair, what a JSON escape leaves of an emoji a shop's template cut in two (`\ud83d`):
# no UTF-8 holds it, so a name, SKU or URL keeping it could be neither hashed, sent nor asked.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class Unreadable(ValueError):
    """The page says it holds a product, but what it says cannot be read (the reason)."""


class AmbiguousPrice(ValueError):
    """A written price naming amounts of which none is surely the product's (the reason)."""


@dataclass
class Item:
    """One product as a page describes it; `problem` says why it cannot be taken."""

    url: str
    name: str | None = None
    description: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    sku: str | None = None
    gtin: str | None = None
    images: list[str] = field(default_factory=list)
    method: str = ""
    # Why a price the page wrote was not taken (AmbiguousPrice), when it was not.
    price_problem: str | None = None

    @property
    def problem(self) -> str | None:
        if not self.name:
            return "no product name"
        if self.price is None:
            return self.price_problem or "no price"
        if self.currency and self.currency.strip().upper() not in REAIS:
            return f"price in {self.currency[:3]}, not BRL"
        return None


# --- values ---


def parse_price(value) -> Decimal | None:
    """A price as a shop writes it: `R$ 1.299,90`, `1299.9`, `49,90` or a JSON number →
    Decimal("1299.90"); None when there is no positive amount that fits the catalogue. Text is
    read from its `R$` (`Ref. 123 R$ 10,00` is 10.00), the last of several only when `por` comes
    before it (`De R$ 59,90 Por R$ 49,90` is 49.90), up to the instalments that may follow it
    (`R$ 49,90 ou 3x de R$ 16,63` is 49.90); AmbiguousPrice when it names other amounts in reais
    (`R$ 49,90 à vista ou R$ 52,90 a prazo`, a range) or instalments otherwise (`10x de R$ 4,99`):
    which is the product's price is not known then."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        amount = Decimal(str(value))
    else:
        text = str(value).strip()
        instalments = INSTALMENTS.search(text)
        if instalments:
            # `R$ 1.299,90 ou 10x de R$ 129,99`: the price, then its instalments. Any other
            # mention (`10x de R$ 4,99`, `R$ 129,99 x 10`, `por parcela`) leaves it unknown.
            text = text[: instalments.start()]
            if not PRICE_THEN_INSTALMENTS.search(text):
                raise AmbiguousPrice("ambiguous price: it names instalments (10x de ...)")
        signs = list(REAL_SIGN.finditer(text))
        if len(signs) > 1 and not NOW_FOR.search(text[signs[-2].end() : signs[-1].start()]):
            amounts = {
                Price.fromstring(text[sign.start() : end][:100]).amount
                for sign, end in zip(
                    signs, [s.start() for s in signs[1:]] + [len(text)], strict=True
                )
            }
            if len(amounts) > 1:
                raise AmbiguousPrice("ambiguous price: it names several amounts in reais")
        if signs:
            text = text[signs[-1].start() :]
        first_digit = re.search(r"\d", text)
        if not first_digit or "-" in text[: first_digit.start()]:
            return None  # nothing, or a negative amount (price-parser drops the sign)
        amount = Price.fromstring(text[:100]).amount
        if amount is None:
            return None
    return _in_cents(amount)


def structured_price(value) -> Decimal | None:
    """A price of structured data (JSON-LD or microdata `price`, `lowPrice`, OpenGraph's
    amount): schema.org's number (`49.9` → 49.90, `1299.90`) when it is written so, otherwise
    text as a shop writes it (parse_price: `R$ 1.299,90`); AmbiguousPrice for three digits after
    each point (`1.299`: 1.30 or 1299)."""
    if isinstance(value, str) and THOUSANDS_OR_DECIMALS.fullmatch(value.strip()):
        raise AmbiguousPrice(f"ambiguous price: {value.strip()[:20]} may be thousands or decimals")
    if isinstance(value, str) and MACHINE_PRICE.fullmatch(value.strip()):
        return _in_cents(Decimal(value.strip()))
    return parse_price(value)


def _in_cents(amount: Decimal) -> Decimal | None:
    """The amount to the cent, None unless it is positive and fits the catalogue."""
    try:
        amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount > MAX_PRICE:
        return None
    return amount


def written_currency(value) -> str | None:
    """The currency a written price names: "BRL" for `R$ 10`, price-parser's reading otherwise
    (`US$ 10.00` → "US$", `€ 49,90` → "€"); None when it names none (`49,90`, a number)."""
    if not isinstance(value, str):
        return None
    text = value.strip()[:100]
    if re.match(r"(?i)r\s*\$", text):
        return "BRL"
    return Price.fromstring(text).currency


def currency_of(value, stated: str | None) -> str | None:
    """A price's currency: what the page states (priceCurrency) unless the written price names
    another; None when neither says (reais, on a Brazilian shop)."""
    written = written_currency(value)
    if written and written != "BRL":
        return written
    return stated or written


def priced(
    values: Iterable, stated: str | None, read=parse_price
) -> tuple[Decimal | None, str | None]:
    """The first of `values` that `read` makes a price, and its currency."""
    for value in values:
        price = read(value)
        if price is not None:
            return price, currency_of(value, stated)
    return None, None


def valid_gtin(value) -> str | None:
    """A GTIN-8, -12, -13 or -14 whose check digit holds, as the 13 digits Feira stores (an
    EAN-13: GTIN-8 and -12 padded with zeros, a GTIN-14 with a leading 0 unpadded); None
    otherwise."""
    if value is None:
        return None
    digits = re.sub(r"[\s-]", "", str(value))
    # ASCII digits only: `²` passes isdigit() and int() refuses it; full-width ones int() reads.
    if not re.fullmatch(r"[0-9]+", digits) or len(digits) not in (8, 12, 13, 14):
        return None
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        return None
    thirteen = digits.zfill(13)
    if len(thirteen) == 14:
        if thirteen[0] != "0":
            return None
        thirteen = thirteen[1:]
    return thirteen


def _text(value, limit: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        value = next((v for v in value if v), None)
        if value is None:
            return None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
        if value is None:
            return None
    cleaned = " ".join(plain_text(whole_characters(str(value))).split())
    return cleaned[:limit] or None


def whole_characters(value: str) -> str:
    """The text without lone surrogates."""
    return LONE_SURROGATE.sub("", value)


def plain_text(value: str) -> str:
    """HTML as plain text: entities decoded and tags removed again until nothing changes, so a
    tag split by another (`<<script>script>`) does not come back whole from one pass."""
    for _ in range(MAX_STRIP_PASSES):
        cleaned = remove_tags(html.unescape(value))
        if cleaned == value:
            return cleaned
        value = cleaned
    return value.replace("<", "").replace(">", "")


def _images(value, base_url: str) -> list[str]:
    values = value if isinstance(value, list) else [value]
    urls = []
    for image in values:
        if isinstance(image, dict):
            image = image.get("url") or image.get("contentUrl") or image.get("@id")
        if isinstance(image, str) and image.strip():
            try:
                url = urljoin(base_url, whole_characters(html.unescape(image.strip())))
            except ValueError:
                continue
            if url.startswith(("http://", "https://")) and url not in urls:
                urls.append(url)
    return urls


# --- JSON-LD ---


def _load_json(raw: str):
    """The block as JSON; failing that, repaired as real pages need it: HTML entities
    (`&quot;`), comments and trailing commas (jstyleson), control characters in strings."""
    # RecursionError: arrays nested deeper than the decoder's stack.
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        pass
    repaired = html.unescape(raw).strip()
    try:
        return jstyleson.loads(repaired)
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(jstyleson.dispose(repaired), strict=False)
    except (ValueError, RecursionError) as exc:
        raise Unreadable("JSON-LD that cannot be read even once repaired") from exc


def _nodes(data):
    """Every object in a JSON-LD document: lists, `@graph` and nested values walked."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            yield node
            for key, value in node.items():
                if key != "@context" and isinstance(value, dict | list):
                    stack.append(value)


def _is(node: dict, kind: str) -> bool:
    types = node.get("@type") or node.get("type") or []
    types = types if isinstance(types, list) else [types]
    return any(str(t).rsplit("/", 1)[-1].rsplit(":", 1)[-1] == kind for t in types)


def _offer_price(
    offers, aggregate_currency: str | None = None, lowest: bool = False
) -> tuple[Decimal | None, str | None]:
    """The price of an Offer, the lowest of an AggregateOffer (its lowPrice, else the lowest of
    its offers), or the first priced of a list (the lowest, `lowest`). An AggregateOffer's
    currency is its offers' unless they state their own: `{"price": "10.00"}` under
    `"priceCurrency": "USD"` is US$10."""
    found = []
    for offer in offers if isinstance(offers, list) else [offers]:
        if not isinstance(offer, dict):
            continue
        props = offer.get("properties", offer)
        stated = _text(props.get("priceCurrency"), 3)
        if _is(offer, "AggregateOffer"):
            stated = stated or aggregate_currency
            price, currency = priced(
                (props.get("lowPrice"), props.get("price")), stated, structured_price
            )
            if price is None and props.get("offers"):
                price, currency = _offer_price(props["offers"], stated, lowest=True)
        else:
            spec = props.get("priceSpecification")
            spec = spec if isinstance(spec, dict) else {}
            stated = stated or _text(spec.get("priceCurrency"), 3) or aggregate_currency
            price, currency = priced(
                (props.get("price"), spec.get("price")), stated, structured_price
            )
        if price is not None:
            if not lowest:
                return price, currency
            found.append((price, currency))
    return min(found, key=lambda one: one[0], default=(None, None))


def without_doubt(read) -> tuple[Decimal | None, str | None, str | None]:
    """What `read()` gives, a price and its currency, and no problem; or no price and the
    reason its text was ambiguous."""
    try:
        return (*read(), None)
    except AmbiguousPrice as ambiguous:
        return None, None, str(ambiguous)


def _item_from_schema(props: dict, url: str, method: str) -> Item:
    price, currency, price_problem = without_doubt(lambda: _offer_price(props.get("offers")))
    gtin = None
    for key in ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "ean"):
        gtin = valid_gtin(_text(props.get(key), 20))
        if gtin:
            break
    return Item(
        url=url,
        name=_text(props.get("name"), 200),
        description=_text(props.get("description"), 5000),
        price=price,
        currency=currency,
        price_problem=price_problem,
        sku=_text(props.get("sku") or props.get("productID") or props.get("mpn"), 100),
        gtin=gtin,
        images=_images(props.get("image"), url),
        method=method,
    )


def from_json_ld(page: Selector, url: str) -> list[Item]:
    blocks = page.xpath(
        '//script[translate(@type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")'
        '="application/ld+json"]/text()'
    ).getall()
    items, unreadable = [], None
    for raw in blocks:
        try:
            data = _load_json(raw)
        except Unreadable as exc:
            if "product" in raw.lower():
                unreadable = exc
            continue
        items += [
            _item_from_schema(node, url, "json-ld") for node in _nodes(data) if _is(node, "Product")
        ]
    if not items and unreadable:
        raise unreadable
    return items


# --- microdata ---


def from_microdata(document: str, url: str) -> list[Item]:
    try:
        found = extruct.extract(document, base_url=url, syntaxes=["microdata"], uniform=True)
    except Exception as exc:  # extruct raises what its parsers raise
        log.info("microdata unreadable: %s", type(exc).__name__)
        return []
    return [
        _item_from_schema(node, url, "microdata")
        for node in _nodes(found.get("microdata", []))
        if _is(node, "Product")
    ]


# --- OpenGraph ---


def from_opengraph(page: Selector, url: str) -> list[Item]:
    def meta(name: str) -> str | None:
        value = page.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content').get()
        return value.strip() if value else None

    og_type = (meta("og:type") or "").lower()
    amount = meta("product:price:amount") or meta("og:price:amount")
    if "product" not in og_type and amount is None:
        return []
    stated = meta("product:price:currency") or meta("og:price:currency")
    price, currency, price_problem = without_doubt(
        lambda: priced([amount], stated, structured_price)
    )
    return [
        Item(
            url=url,
            name=_text(meta("og:title"), 200),
            description=_text(meta("og:description"), 5000),
            price=price,
            currency=currency,
            price_problem=price_problem,
            sku=_text(meta("product:retailer_item_id"), 100),
            gtin=valid_gtin(meta("product:ean") or meta("product:upc") or meta("product:gtin")),
            images=_images(page.xpath('//meta[@property="og:image"]/@content').getall(), url),
            method="opengraph",
        )
    ]


# --- the source's selectors ---


def select(page: Selector, expression: str) -> list[str]:
    """What a CSS or XPath expression selects, as text: an element's whole text, an attribute's
    or a text node's value. XPath when it starts with `/` or `(`, CSS otherwise (parsel's
    `::text` and `::attr(name)` work)."""
    xpath = expression.lstrip().startswith(("/", "("))
    selected = page.xpath(expression) if xpath else page.css(expression)
    values = []
    for node in selected:
        if isinstance(node.root, str):
            values.append(node.root)
        elif etree.iselement(node.root):
            values.append(node.xpath("string()").get())
        else:  # `(1+1)`, `count(//a)`: a number or a boolean, not something on the page
            raise ValueError(f"{expression} selects a {type(node.root).__name__}, not nodes")
    return [v for v in (" ".join(v.split()) for v in values) if v]


def from_selectors(page: Selector, url: str, selectors: dict[str, str]) -> list[Item]:
    if not selectors.get("name"):
        return []
    found = {name: select(page, expression) for name, expression in selectors.items()}
    if not found["name"]:
        return []
    first = {name: (values[0] if values else None) for name, values in found.items()}
    price, currency, price_problem = without_doubt(
        lambda: priced([first.get("price")], _text(first.get("currency"), 3))
    )
    return [
        Item(
            url=url,
            name=_text(first.get("name"), 200),
            description=_text(first.get("description"), 5000),
            price=price,
            currency=currency,
            price_problem=price_problem,
            sku=_text(first.get("sku"), 100),
            gtin=valid_gtin(first.get("gtin")),
            images=_images(found.get("image", []), url),
            method="selectors",
        )
    ]


def extract(document: str, url: str, selectors: dict[str, str] | None = None) -> list[Item]:
    """The page's products by the first method that finds one (Unreadable when the only thing
    the page offers is JSON-LD that cannot be repaired)."""
    page = Selector(text=document, base_url=url)
    try:
        items = from_json_ld(page, url)
    except Unreadable:
        items, broken = [], True
    else:
        broken = False
    for method in (
        lambda: from_microdata(document, url),
        lambda: from_opengraph(page, url),
        lambda: from_selectors(page, url, selectors or {}),
    ):
        if items:
            break
        items = method()
    if not items and broken:
        raise Unreadable("JSON-LD that cannot be read even once repaired")
    return items


def links(document: str, url: str) -> dict[str, str]:
    """Every page the page links to (`<a href>`, `<link rel=next>`), once each, in page order:
    its canonical URL → the absolute URL as first linked, without its fragment. The canonical
    one names the page; the one as linked is what is requested, and what robots.txt judges."""
    page = Selector(text=document, base_url=url)
    found = {}  # an ordered set: a page may hold 100,000 links
    for href in page.xpath("//a/@href | //link[@rel='next']/@href").getall():
        href = href.strip()
        if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
            continue
        try:
            absolute = urldefrag(urljoin(url, href)).url
            key = canonical(absolute)
        except ValueError:  # `http://[` and the like: not a link to follow
            continue
        if key.startswith(("http://", "https://")):
            found.setdefault(key, absolute)
    return found


def canonical(url: str) -> str:
    """One spelling per page: query sorted, fragment gone (w3lib)."""
    return canonicalize_url(url)


def canonical_link(document: str, url: str) -> str:
    """The page's `<link rel=canonical>` when it names one, else its own URL, canonicalized."""
    href = Selector(text=document, base_url=url).xpath("//link[@rel='canonical']/@href").get()
    try:
        return canonical(urljoin(url, href.strip())) if href else canonical(url)
    except ValueError:
        return canonical(url)


def looks_like_a_product_page(document: str) -> bool:
    """The page claims a product though none could be read from it (a JSON-LD block typed
    Product, a schema.org/Product itemscope, og:type product): a page to reject, not a listing
    to walk through. A `class="product"` card on a listing claims nothing."""
    page = Selector(text=document)
    blocks = page.xpath(
        '//script[translate(@type, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")'
        '="application/ld+json"]/text()'
    ).getall()
    typed = re.compile(r"[\"']@type[\"']\s*:\s*\[?\s*[\"'](?:https?://schema\.org/)?Product[\"']")
    if any(typed.search(html.unescape(block)) for block in blocks):
        return True
    if page.xpath('//*[@itemtype and contains(@itemtype, "schema.org/Product")]'):
        return True
    og_type = page.xpath('//meta[@property="og:type"]/@content').get() or ""
    return og_type.strip().lower() in ("product", "og:product", "product.item")
