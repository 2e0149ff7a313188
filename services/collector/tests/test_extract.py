"""Extraction in the issue's order, on pages written here: JSON-LD (plain, @graph,
AggregateOffer, repaired), microdata, OpenGraph, then the source's selectors; prices as Brazilian
shops write them; GTINs checked."""

import json
from decimal import Decimal

import pytest

from services.collector.extract import (
    AmbiguousPrice,
    Unreadable,
    extract,
    links,
    looks_like_a_product_page,
    parse_price,
    valid_gtin,
)

URL = "https://loja.example/produto/1"


def page(head="", body=""):
    return f"<html><head>{head}</head><body>{body}</body></html>"


def ld(text):
    return f'<script type="application/ld+json">{text}</script>'


def test_a_json_ld_product_gives_name_price_sku_gtin_and_absolute_images():
    html = page(
        ld(
            '{"@context": "https://schema.org", "@type": "Product", "name": "Panela",'
            '"description": "<b>Ferro</b> fundido", "sku": "P-1", "gtin13": "7891234567895",'
            '"image": ["/img/p.png"], "offers": {"@type": "Offer", "price": "R$ 1.299,90",'
            '"priceCurrency": "BRL"}}'
        )
    )
    [item] = extract(html, URL)
    assert item.method == "json-ld"
    assert (item.name, item.description, item.sku) == ("Panela", "Ferro fundido", "P-1")
    assert item.price == Decimal("1299.90")
    assert item.gtin == "7891234567895"
    assert item.images == ["https://loja.example/img/p.png"]
    assert item.problem is None


def test_a_product_inside_a_graph_is_found():
    html = page(
        ld(
            '{"@context": "https://schema.org", "@graph": [{"@type": "WebSite", "name": "x"},'
            '{"@type": "Product", "name": "Chaleira", "offers": {"@type": "Offer",'
            '"price": 189.5, "priceCurrency": "BRL"}}]}'
        )
    )
    [item] = extract(html, URL)
    assert (item.name, item.price) == ("Chaleira", Decimal("189.50"))


def test_an_aggregate_offer_gives_its_lowest_price():
    html = page(
        ld(
            '{"@type": "Product", "name": "Facas", "offers": {"@type": "AggregateOffer",'
            '"lowPrice": "249,00", "highPrice": "9.999,00", "priceCurrency": "BRL"}}'
        )
    )
    assert extract(html, URL)[0].price == Decimal("249.00")


def aggregate(offers, **fields):
    return page(
        ld(
            json.dumps(
                {
                    "@type": "Product",
                    "name": "Facas",
                    "offers": {"@type": "AggregateOffer", **fields, "offers": offers},
                }
            )
        )
    )


def test_an_aggregate_offers_currency_is_its_nested_offers_unless_they_state_their_own():
    dollars = aggregate([{"@type": "Offer", "price": "10.00"}], priceCurrency="USD")
    [item] = extract(dollars, URL)
    assert (item.price, item.problem) == (Decimal("10.00"), "price in USD, not BRL")
    reais = aggregate(
        [{"@type": "Offer", "price": "10.00", "priceCurrency": "BRL"}], priceCurrency="USD"
    )
    assert extract(reais, URL)[0].problem is None


def test_an_aggregate_offer_without_a_low_price_gives_its_lowest_nested_offer():
    offers = [
        {"@type": "Offer", "price": "89.90"},
        {"@type": "Offer"},
        {"@type": "Offer", "price": "49.90"},
        {"@type": "Offer", "price": "59.90"},
    ]
    [item] = extract(aggregate(offers, priceCurrency="BRL"), URL)
    assert (item.price, item.problem) == (Decimal("49.90"), None)


def test_broken_json_ld_with_entities_comments_and_trailing_commas_is_repaired():
    broken = (
        "{\n // tema antigo\n &quot;@type&quot;: &quot;Product&quot;,\n"
        ' "name": "Bule &amp; Xícara",\n /* preço */\n'
        ' "offers": {"@type": "Offer", "price": "89,90",},\n}'
    )
    [item] = extract(page(ld(broken)), URL)
    assert item.name == "Bule & Xícara"
    assert item.price == Decimal("89.90")


def test_json_ld_that_cannot_be_repaired_is_unreadable():
    with pytest.raises(Unreadable):
        extract(page(ld('{"@type": "Product", "name": "Abajur" "of')), URL)


def test_microdata_is_read_when_there_is_no_json_ld():
    body = """<div itemscope itemtype="https://schema.org/Product">
      <h1 itemprop="name">Mel Silvestre</h1><meta itemprop="gtin13" content="7891234567895">
      <img itemprop="image" src="mel.jpg">
      <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="price" content="62.00">R$ 62,00</span>
        <meta itemprop="priceCurrency" content="BRL"></div></div>"""
    [item] = extract(page(body=body), URL)
    assert item.method == "microdata"
    assert (item.name, item.price, item.gtin) == (
        "Mel Silvestre",
        Decimal("62.00"),
        "7891234567895",
    )
    assert item.images == ["https://loja.example/produto/mel.jpg"]


def test_opengraph_product_tags_are_read_when_there_is_no_schema_org():
    head = """<meta property="og:type" content="product">
      <meta property="og:title" content="Alicate"><meta property="og:image" content="/a.png">
      <meta property="product:price:amount" content="54.90">
      <meta property="product:price:currency" content="BRL">"""
    [item] = extract(page(head), URL)
    assert (item.method, item.name, item.price) == ("opengraph", "Alicate", Decimal("54.90"))
    assert item.images == ["https://loja.example/a.png"]


def test_the_sources_css_selectors_read_a_page_without_structured_data():
    body = """<h1 class="titulo">Martelo</h1><span class="preco">R$ 39,90</span>
      <div class="descricao"><p>Cabo de <em>madeira</em></p></div><img class="foto" src="/m.png">"""
    selectors = {
        "name": "h1.titulo",
        "price": ".preco",
        "description": "div.descricao",
        "image": "img.foto::attr(src)",
    }
    [item] = extract(page(body=body), URL, selectors)
    assert item.method == "selectors"
    assert (item.name, item.price, item.description) == (
        "Martelo",
        Decimal("39.90"),
        "Cabo de madeira",
    )
    assert item.images == ["https://loja.example/m.png"]


def test_xpath_selectors_work_too():
    body = '<div id="p"><b>Trena</b><i>R$ 27,50</i></div>'
    selectors = {"name": "//div[@id='p']/b", "price": "//div[@id='p']/i/text()"}
    [item] = extract(page(body=body), URL, selectors)
    assert (item.name, item.price) == ("Trena", Decimal("27.50"))


def test_structured_data_wins_over_the_sources_selectors():
    html = page(ld('{"@type": "Product", "name": "Do JSON-LD", "offers": {"price": "10"}}'))
    html = html.replace("<body>", '<body><h1 class="t">Do seletor</h1>')
    assert extract(html, URL, {"name": "h1.t"})[0].name == "Do JSON-LD"


def test_a_product_without_a_price_has_that_problem():
    [item] = extract(page(ld('{"@type": "Product", "name": "Vaso"}')), URL)
    assert item.problem == "no price"


def test_a_page_without_a_product_yields_nothing():
    assert extract(page(body="<h1>Sobre nós</h1>"), URL) == []


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("R$ 1.299,90", "1299.90"),
        ("1.299,90", "1299.90"),
        ("R$ 49,9", "49.90"),
        ("1299.90", "1299.90"),
        ("R$ 1.299", "1299.00"),
        (129.9, "129.90"),
        (12, "12.00"),
    ],
)
def test_brazilian_and_plain_prices_become_exact_decimals(written, amount):
    assert parse_price(written) == Decimal(amount)


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("De R$ 59,90 Por R$ 49,90", "49.90"),
        ("de R$ 59,90 por apenas R$ 49,90", "49.90"),
        ("Ref. 123 R$ 10,00", "10.00"),
        ("R$ 49,90 (10% off)", "49.90"),
        ("R$ 49,90 R$ 49,90", "49.90"),
        ("R$ 1.299,90 ou 10x de R$ 129,99 sem juros", "1299.90"),
        ("R$ 49,90 ou 3 x de R$ 16,63", "49.90"),
        ("De R$ 59,90 Por R$ 49,90 em até 10x", "49.90"),
    ],
)
def test_written_text_is_read_from_its_real_sign_the_last_after_por_not_its_first_number(
    written, amount
):
    assert parse_price(written) == Decimal(amount)


@pytest.mark.parametrize(
    "written",
    ["R$ 49,90 à vista ou R$ 52,90 a prazo", "R$ 10,00 a R$ 20,00", "De R$ 59,90 R$ 49,90"],
)
def test_written_text_naming_other_amounts_in_reais_is_refused_as_ambiguous(written):
    with pytest.raises(AmbiguousPrice, match="several amounts"):
        parse_price(written)


@pytest.mark.parametrize(
    "written",
    [
        "10x de R$ 4,99 sem juros",
        "em 12 vezes",
        "2 parcelas",
        "ou 3 x de R$ 16,63",
        "R$ 129,99 x 10",
        "R$ 10,00 por parcela",
    ],
)
def test_written_text_naming_instalments_is_refused_as_ambiguous(written):
    with pytest.raises(AmbiguousPrice):
        parse_price(written)


def test_a_product_whose_price_text_names_instalments_is_rejected_not_priced_at_one():
    body = '<h1>Martelo</h1><span class="preco">10x de R$ 4,99 sem juros</span>'
    [item] = extract(page(body=body), URL, {"name": "h1", "price": ".preco"})
    assert item.price is None
    assert item.problem == "ambiguous price: it names instalments (10x de ...)"


@pytest.mark.parametrize(
    "written", ["", "grátis", "R$ 0,00", "-5", None, True, "R$ 99.999.999.999,00"]
)
def test_what_is_not_a_positive_price_is_none(written):
    assert parse_price(written) is None


@pytest.mark.parametrize(
    ("gtin", "stored"),
    [
        ("7891234567895", "7891234567895"),
        ("789-1234-56789-5", "7891234567895"),
        ("96385074", "0000096385074"),
        ("036000291452", "0036000291452"),
        ("07891234567895", "7891234567895"),
    ],
)
def test_a_gtin_whose_check_digit_holds_is_kept_as_an_ean13(gtin, stored):
    assert valid_gtin(gtin) == stored


@pytest.mark.parametrize("gtin", ["7891234567890", "12345", "abc", "17891234567892", None])
def test_a_gtin_with_a_wrong_check_digit_or_shape_is_dropped(gtin):
    assert valid_gtin(gtin) is None


FULL_WIDTH = "".join(chr(ord(digit) + 0xFEE0) for digit in "7891234567895")


# int() refuses `²` though isdigit() passes it, and reads full-width digits as 7891234567895.
@pytest.mark.parametrize("gtin", ["789123456789²", FULL_WIDTH])
def test_a_gtin_of_other_than_ascii_digits_is_dropped(gtin):
    assert valid_gtin(gtin) is None


def test_a_product_whose_gtin_holds_other_than_ascii_digits_is_read_without_one():
    html = page(
        ld(
            '{"@type": "Product", "name": "Panela", "gtin13": "789123456789²", "sku": "P-1",'
            '"offers": {"price": "10,00"}}'
        )
    )
    [item] = extract(html, URL)
    assert (item.name, item.gtin, item.sku) == ("Panela", None, "P-1")


def test_lone_surrogates_a_json_escape_leaves_are_dropped_from_text_and_picture_urls():
    # An emoji cut in half by the shop's template: `\ud83d` without the `\ude00` after it.
    html = page(
        ld(
            '{"@type": "Product", "name": "Panela \\ud83d", "sku": "P-\\ud83d1",'
            '"image": "/img/p\\ud83d.png", "offers": {"price": "10,00"}}'
        )
    )
    [item] = extract(html, URL)
    assert (item.name, item.sku) == ("Panela", "P-1")
    assert item.images == ["https://loja.example/img/p.png"]


def test_links_are_absolute_without_fragments_each_once_in_page_order_as_first_linked():
    html = page(
        '<link rel="next" href="?pagina=2">',
        '<a href="produto/a#fotos">a</a><a href="mailto:x@y">m</a><a href="?b=2&a=1">q</a>'
        '<a href="produto/a">a</a><a href="?a=1&b=2">q</a>',
    )
    assert links(html, "https://loja.example/loja/") == {  # canonical → as linked
        "https://loja.example/loja/?pagina=2": "https://loja.example/loja/?pagina=2",
        "https://loja.example/loja/produto/a": "https://loja.example/loja/produto/a",
        "https://loja.example/loja/?a=1&b=2": "https://loja.example/loja/?b=2&a=1",
    }


def test_links_and_pictures_that_are_not_urls_are_left_out():
    html = page(
        ld('{"@type": "Product", "name": "X", "image": "http://[", "offers": {"price": "1"}}'),
        '<a href="http://[quebrado">x</a><a href="ok">y</a>',
    )
    assert list(links(html, URL)) == ["https://loja.example/produto/ok"]
    assert extract(html, URL)[0].images == []


def test_a_listings_product_cards_do_not_make_it_a_product_page():
    listing = page(body='<div class="product"><a href="p/1">Panela</a></div>')
    assert not looks_like_a_product_page(listing)
    assert looks_like_a_product_page(page(ld('{"@type": "Product", "name": "x" "quebrado')))
    assert looks_like_a_product_page(page('<meta property="og:type" content="product">'))


def test_json_ld_nested_deeper_than_the_decoder_goes_is_unreadable_not_a_crash():
    deep = '{"@type": "Product", "name": "Fundo", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(Unreadable):
        extract(page(ld(deep)), URL)


def priced_at(price, currency=None):
    offer = {"price": price, **({"priceCurrency": currency} if currency else {})}
    return page(ld(json.dumps({"@type": "Product", "name": "A", "offers": offer})))


@pytest.mark.parametrize(
    ("html", "selectors", "currency"),
    [
        (priced_at("US$ 10.00"), {}, "US$"),
        (priced_at("€ 49,90"), {}, "€"),
        (priced_at("10", "USD"), {}, "USD"),
        (priced_at("US$ 5", "BRL"), {}, "US$"),
        (
            page(
                '<meta property="og:type" content="product"><meta property="og:title" content="A">'
                '<meta property="product:price:amount" content="$ 99.00">'
            ),
            {},
            "$",
        ),
        (page(body='<h1>A</h1><span class="p">€ 49,90</span>'), {"name": "h1", "price": ".p"}, "€"),
    ],
)
def test_a_price_in_another_currency_is_refused_not_taken_as_reais(html, selectors, currency):
    [item] = extract(html, URL, selectors)
    assert item.problem == f"price in {currency}, not BRL"


@pytest.mark.parametrize(
    ("price", "currency"),
    [("R$ 1.299,90", None), ("r$ 10", None), ("1.299,90", None), (1299.9, None), ("10", "BRL")],
)
def test_a_price_in_reais_or_in_no_stated_currency_is_taken(price, currency):
    [item] = extract(priced_at(price, currency), URL)
    assert item.problem is None and item.price > 0


def test_no_tag_survives_in_names_and_descriptions_even_split_by_another_tag():
    product = {
        "@type": "Product",
        "name": "Caneca <img src=x onerror=alert(1)> &lt;script&gt;alert(2)&lt;/script&gt; "
        "<<script>script>alert(3)<</script>/script>",
        "description": "<scr<script>ipt>alert(4)</scr</script>ipt> &amp;lt;b&amp;gt;oi",
        "offers": {"price": "19.90"},
    }
    # As pages write it: `</` escaped inside the script element.
    [item] = extract(page(ld(json.dumps(product).replace("</", "<\\/"))), URL)
    assert "<" not in item.name and "<" not in item.description
    assert item.name == "Caneca alert(2) alert(3)"
    assert item.description == "alert(4) oi"


def microdata_priced_at(content):
    return page(
        body=f"""<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">A</h1>
        <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
        <span itemprop="price" content="{content}">?</span></div></div>"""
    )


def opengraph_priced_at(amount):
    return page(
        '<meta property="og:type" content="product"><meta property="og:title" content="A">'
        f'<meta property="product:price:amount" content="{amount}">'
    )


@pytest.mark.parametrize("priced_page", [priced_at, microdata_priced_at, opengraph_priced_at])
@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("49.9", "49.90"),
        ("0.999", "1.00"),
        ("1299.90", "1299.90"),
        ("12.5", "12.50"),
        ("7", "7.00"),
    ],
)
def test_a_structured_price_is_schema_orgs_number_with_a_decimal_point(
    priced_page, written, amount
):
    [item] = extract(priced_page(written), URL)
    assert (item.price, item.problem) == (Decimal(amount), None)


@pytest.mark.parametrize("priced_page", [priced_at, microdata_priced_at, opengraph_priced_at])
@pytest.mark.parametrize("written", ["1.299", "5.899", "49.900", "1.299.000"])
def test_a_structured_price_that_may_be_thousands_or_decimals_is_rejected_not_guessed(
    priced_page, written
):
    [item] = extract(priced_page(written), URL)
    assert item.price is None
    assert item.problem == f"ambiguous price: {written} may be thousands or decimals"
