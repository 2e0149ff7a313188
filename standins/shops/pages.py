"""The fixture shops' pages (see the package docstring for what each shop is)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from html import escape

from flask import Blueprint, Response, abort, current_app, request
from PIL import Image

from . import catalogue
from .catalogue import Product

bp = Blueprint("shops", __name__)

TAG = re.compile(r"^[A-Za-z0-9-]{1,40}$")
PER_PAGE = 4
BIG_PER_PAGE = 25
LAST_MODIFIED = "Mon, 02 Nov 2026 10:00:00 GMT"
ROBOTS = """# Lojas de teste da Feira
User-agent: *
Disallow: /*/ofertas/
Disallow: /admin/
"""


def route(rule: str, **options):
    """The view at `rule` (the shared catalogue) and at `/t/<tag>/rule` (a test's own copy)."""

    def register(view):
        bp.add_url_rule(rule, view.__name__, view, defaults={"tag": ""}, **options)
        bp.add_url_rule(f"/t/<tag>{rule}", f"{view.__name__}_tagged", view, **options)
        return view

    return register


def checked(tag: str) -> str:
    if tag and not TAG.match(tag):
        abort(404)
    return tag


def layout(title: str, shop: str, body: str, head: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<title>{escape(title)} | {escape(shop)}</title>
{head}
</head>
<body>
<header>{escape(shop)} · <a href="/admin/">Área restrita</a></header>
<main>
{body}
</main>
<footer>Preços em reais. Frete calculado no carrinho.</footer>
</body>
</html>
"""


def html(text: str, status: int = 200, *, validators: bool = False) -> Response:
    response = Response(text, status=status, mimetype="text/html")
    response.charset = "utf-8"
    if validators:
        response.headers["ETag"] = '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
        response.headers["Last-Modified"] = LAST_MODIFIED
        if request.headers.get("If-None-Match") == response.headers["ETag"]:
            return Response(status=304, headers=response.headers)
    return response


def listing(title: str, shop: str, products: list[Product], page: int, per_page: int, extra=""):
    pages = max(1, -(-len(products) // per_page))
    if page < 1 or page > pages:
        abort(404)
    chosen = products[(page - 1) * per_page : page * per_page]
    items = "\n".join(
        f'<li><a href="produto/{p.slug}">{escape(p.name)}</a> <span>{escape(p.price)}</span></li>'
        for p in chosen
    )
    head = f'<link rel="next" href="?pagina={page + 1}">' if page < pages else ""
    nav = f'<a class="proxima" href="?pagina={page + 1}">Próxima página</a>' if page < pages else ""
    body = f"<h1>{escape(title)}</h1>\n<ul>\n{items}\n</ul>\n{extra}\n<nav>{nav}</nav>"
    return html(layout(title, shop, body, head))


def image_url(product: Product) -> str:
    return f"{request.host_url}imagens/{product.slug}.{product.image}"


def find(products: list[Product], slug: str) -> tuple[int, Product]:
    for index, product in enumerate(products):
        if product.slug == slug:
            return index, product
    abort(404)


# --- robots.txt and pictures ---


@bp.get("/robots.txt")
def robots():
    return Response(ROBOTS, mimetype="text/plain")


@bp.get("/")
def index():
    shops = ["loja-json", "loja-micro", "loja-simples", "loja-instavel", "loja-grande"]
    links = "".join(f'<li><a href="/{s}/">{s}</a></li>' for s in shops)
    return html(layout("Lojas", "Lojas de teste", f"<ul>{links}</ul>"))


@bp.get("/imagens/<name>.<kind>")
def picture(name: str, kind: str):
    if kind not in ("png", "jpg") or not re.match(r"^[a-z0-9-]{1,60}$", name):
        abort(404)
    shade = hashlib.sha256(name.encode()).digest()
    image = Image.new("RGB", (48, 48), (shade[0], shade[1], shade[2]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG" if kind == "png" else "JPEG", quality=80)
    return Response(buffer.getvalue(), mimetype="image/png" if kind == "png" else "image/jpeg")


@bp.get("/admin/")
def restricted():
    return html(layout("Área restrita", "Lojas de teste", "<p>Entre com sua senha.</p>"), 403)


# --- Casa Aurora: JSON-LD ---


def aurora_json_ld(index: int, product: Product) -> str:
    base = {
        "name": product.name,
        "description": product.description,
        "image": [image_url(product)],
        "brand": {"@type": "Brand", "name": "Aurora"},
    }
    if product.sku:
        base["sku"] = product.sku
    if product.gtin:
        base["gtin13"] = product.gtin
    variant = index % 4
    if variant == 0:
        offer = {"@type": "Offer", "price": product.price, "priceCurrency": "BRL"}
        return json.dumps(
            {"@context": "https://schema.org", "@type": "Product", **base, "offers": offer},
            ensure_ascii=False,
        )
    if variant == 1:
        offer = {"@type": "Offer", "price": float(product.amount), "priceCurrency": "BRL"}
        graph = [
            {"@type": "WebSite", "name": "Casa Aurora"},
            {
                "@type": "BreadcrumbList",
                "itemListElement": [{"@type": "ListItem", "position": 1, "name": "Cozinha"}],
            },
            {"@type": "Product", **base, "offers": offer},
        ]
        return json.dumps({"@context": "https://schema.org", "@graph": graph}, ensure_ascii=False)
    if variant == 2:
        low = product.price.replace("R$ ", "")
        offer = {
            "@type": "AggregateOffer",
            "lowPrice": low,
            "highPrice": "9.999,00",
            "offerCount": 3,
            "priceCurrency": "BRL",
        }
        return json.dumps(
            {"@context": "https://schema.org", "@type": "Product", **base, "offers": offer},
            ensure_ascii=False,
        )
    # What a careless template emits: entities, comments and trailing commas.
    fields = ",\n  ".join(
        f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in base.items()
    )
    broken = f"""{{
  // produto gerado pelo tema antigo
  "@context": "https://schema.org",
  "@type": "Product",
  {fields},
  /* preço com vírgula */
  "offers": {{"@type": "Offer", "price": "{product.amount.replace(".", ",")}",
             "priceCurrency": "BRL",}},
}}"""
    return escape(broken, quote=True)


def product_page(shop: str, product: Product, head: str, body: str = "") -> str:
    visible = body or (
        f"<h1>{escape(product.name)}</h1><p>{escape(product.description)}</p>"
        f"<p>{escape(product.price)}</p>"
    )
    return layout(product.name, shop, visible + '\n<p><a href="../">Voltar</a></p>', head)


@route("/loja-json/")
def aurora_listing(tag):
    products = catalogue.aurora(checked(tag))
    extra = '<p><a href="ofertas/">Ofertas secretas</a></p>'
    page = request.args.get("pagina", 1, type=int)
    return listing("Casa Aurora", "Casa Aurora", products, page, PER_PAGE, extra)


@route("/loja-json/produto/<slug>")
def aurora_product(tag, slug):
    index, product = find(catalogue.aurora(checked(tag)), slug)
    head = f'<script type="application/ld+json">\n{aurora_json_ld(index, product)}\n</script>'
    return html(product_page("Casa Aurora", product, head), validators=True)


@route("/loja-json/ofertas/")
def aurora_secret(tag):
    product = catalogue.aurora_secret(checked(tag))
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "sku": product.sku,
        "offers": {"@type": "Offer", "price": product.amount, "priceCurrency": "BRL"},
    }
    head = f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
    return html(product_page("Casa Aurora", product, head))


# --- Empório Serra Azul: microdata ---


@route("/loja-micro/")
def serra_listing(tag):
    products = catalogue.serra_azul(checked(tag))
    return listing("Empório Serra Azul", "Empório Serra Azul", products, 1, len(products))


@route("/loja-micro/produto/<slug>")
def serra_product(tag, slug):
    _, p = find(catalogue.serra_azul(checked(tag)), slug)
    body = f"""<div itemscope itemtype="https://schema.org/Product">
  <h1 itemprop="name">{escape(p.name)}</h1>
  <img itemprop="image" src="/imagens/{p.slug}.{p.image}" alt="{escape(p.name)}">
  <p itemprop="description">{escape(p.description)}</p>
  <p>Código: <span itemprop="sku">{escape(p.sku or "")}</span></p>
  <meta itemprop="gtin13" content="{p.gtin}">
  <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
    <span itemprop="price" content="{p.amount}">{escape(p.price)}</span>
    <meta itemprop="priceCurrency" content="BRL">
    <link itemprop="availability" href="https://schema.org/InStock">
  </div>
</div>"""
    return html(product_page("Empório Serra Azul", p, "", body))


# --- Bazar da Vila: no structured data ---


@route("/loja-simples/")
def bazar_listing(tag):
    products = [*catalogue.bazar(checked(tag)), catalogue.bazar_opengraph(tag)]
    return listing("Bazar da Vila", "Bazar da Vila", products, 1, len(products))


@route("/loja-simples/produto/<slug>")
def bazar_product(tag, slug):
    checked(tag)
    og = catalogue.bazar_opengraph(tag)
    if slug == og.slug:
        head = "\n".join(
            f'<meta property="{name}" content="{escape(value)}">'
            for name, value in (
                ("og:type", "product"),
                ("og:title", og.name),
                ("og:description", og.description),
                ("og:image", image_url(og)),
                ("product:price:amount", og.amount),
                ("product:price:currency", "BRL"),
                ("product:retailer_item_id", og.sku),
            )
        )
        return html(product_page("Bazar da Vila", og, head))
    _, p = find(catalogue.bazar(tag), slug)
    body = f"""<div class="produto">
  <h1 class="titulo">{escape(p.name)}</h1>
  <img class="foto" src="/imagens/{p.slug}.{p.image}" alt="">
  <div class="descricao"><p>{escape(p.description)}</p></div>
  <span class="preco">{escape(p.price)}</span> <small>à vista no PIX</small>
</div>"""
    return html(product_page("Bazar da Vila", p, "", body))


# --- Loja Instável: the pages that go wrong ---


@route("/loja-instavel/")
def instavel_listing(tag):
    good = catalogue.instavel(checked(tag))
    links = "\n".join(
        f'<li><a href="produto/{slug}">{label}</a></li>'
        for slug, label in (
            (good[0].slug, good[0].name),
            ("abajur-quebrado", "Abajur (página com JSON-LD quebrado)"),
            ("sem-preco", "Vaso sem preço"),
            ("erro", "Página com erro no servidor"),
            ("lento", "Página lenta"),
            ("sumiu", "Produto que saiu do ar"),
        )
    )
    body = f"<h1>Loja Instável</h1><ul>{links}</ul>"
    return html(layout("Loja Instável", "Loja Instável", body))


@route("/loja-instavel/produto/<slug>")
def instavel_product(tag, slug):
    tag = checked(tag)
    suffix = f" ({tag})" if tag else ""
    if slug == "erro":
        return html(layout("Erro", "Loja Instável", "<h1>Erro interno</h1>"), 500)
    if slug == "lento":
        time.sleep(current_app.config["SHOPS_STANDIN_SLOW_S"])
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Ventilador Lento" + suffix,
            "offers": {"@type": "Offer", "price": "199.00", "priceCurrency": "BRL"},
        }
    elif slug == "abajur-quebrado":
        truncated = '{"@context": "https://schema.org", "@type": "Product", "name": "Abajur" "of'
        head = f'<script type="application/ld+json">{truncated}</script>'
        return html(layout("Abajur", "Loja Instável", "<h1>Abajur</h1>", head))
    elif slug == "sem-preco":
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": "Vaso de Cerâmica sem Preço" + suffix,
            "description": "Consulte o vendedor.",
        }
    else:
        _, p = find(catalogue.instavel(tag), slug)
        data = {
            "@context": "https://schema.org",
            "@type": "Product",
            "name": p.name,
            "sku": p.sku,
            "image": image_url(p),
            "offers": {"@type": "Offer", "price": p.amount, "priceCurrency": "BRL"},
        }
    head = f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
    return html(layout(data["name"], "Loja Instável", f"<h1>{escape(data['name'])}</h1>", head))


# --- Megaloja: many products ---


@route("/loja-grande/")
def mega_listing(tag):
    products = catalogue.mega(checked(tag), current_app.config["SHOPS_STANDIN_BIG_COUNT"])
    page = request.args.get("pagina", 1, type=int)
    return listing("Megaloja", "Megaloja", products, page, BIG_PER_PAGE)


@route("/loja-grande/produto/<slug>")
def mega_product(tag, slug):
    products = catalogue.mega(checked(tag), current_app.config["SHOPS_STANDIN_BIG_COUNT"])
    _, p = find(products, slug)
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.name,
        "description": p.description,
        "sku": p.sku,
        "offers": {"@type": "Offer", "price": p.price, "priceCurrency": "BRL"},
    }
    head = f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
    return html(product_page("Megaloja", p, head), validators=True)
