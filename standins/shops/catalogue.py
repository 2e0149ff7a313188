"""What the fixture shops sell: deterministic, in Portuguese, one catalogue per tenant tag (so
that each test run collects products of its own, names and GTINs included)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def ean13(seed: str, prefix: str = "789") -> str:
    """A valid EAN-13 (Brazilian prefix) derived from `seed`."""
    body = prefix + str(
        int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10 ** (12 - len(prefix))
    )
    body = body.ljust(12, "0")[:12]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    description: str
    price: str  # as the shop writes it: "R$ 1.299,90"
    amount: str  # the same as a decimal: "1299.90"
    sku: str | None = None
    gtin: str | None = None
    image: str | None = None  # "png" or "jpg"


def _brl(amount: str) -> str:
    whole, cents = amount.split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"R$ {grouped},{cents}"


def _product(tag: str, slug: str, name: str, description: str, amount: str, **extra) -> Product:
    suffix = f" ({tag})" if tag else ""
    return Product(slug, name + suffix, description, _brl(amount), amount, **extra)


def aurora(tag: str) -> list[Product]:
    """Casa Aurora (JSON-LD): utensílios de cozinha, 10 produtos em 3 páginas."""
    items = [
        (
            "cafeteira-italiana",
            "Cafeteira Italiana Aurora 6 xícaras",
            "Alumínio polido, cabo de baquelite.",
            "129.90",
        ),
        ("panela-ferro", "Panela de Ferro Fundido 24 cm", "Já curada, vai ao forno.", "1299.90"),
        (
            "jogo-facas",
            "Jogo de Facas Inox 5 peças",
            "Lâminas de aço inox com suporte de madeira.",
            "249.00",
        ),
        (
            "chaleira-esmaltada",
            "Chaleira Esmaltada Vermelha",
            "Dois litros, apito suave.",
            "189.50",
        ),
        ("tabua-bambu", "Tábua de Corte em Bambu", "40 x 30 cm, com canaleta.", "79.90"),
        ("forma-bolo", "Forma de Bolo Antiaderente", "Furo central, 22 cm.", "59.90"),
        ("espremedor", "Espremedor de Frutas Manual", "Vidro temperado.", "44.90"),
        (
            "moedor-cafe",
            "Moedor de Café Manual Cerâmico",
            "Regulagem de moagem fina a grossa.",
            "219.00",
        ),
        ("assadeira", "Assadeira Retangular de Vidro", "3 litros, tampa plástica.", "99.00"),
        ("garrafa-termica", "Garrafa Térmica Inox 1 L", "Mantém quente por 12 horas.", "149.90"),
    ]
    products = []
    for index, (slug, name, description, amount) in enumerate(items):
        products.append(
            _product(
                tag,
                slug,
                name,
                description,
                amount,
                sku=f"AUR-{index + 1:03d}" if index % 3 != 2 else None,
                # The first has a valid GTIN; the fifth an invalid one (the SKU counts then).
                gtin=ean13(f"{tag}:aurora:{slug}")
                if index == 0
                else ("7891234567890" if index == 4 else None),
                image="png" if index % 2 == 0 else "jpg",
            )
        )
    return products


def aurora_secret(tag: str) -> Product:
    """On a page robots.txt disallows: never to be collected."""
    return _product(
        tag,
        "oferta-secreta",
        "Oferta Secreta Aurora",
        "Só para quem não lê o robots.txt.",
        "9.90",
        sku="AUR-999",
    )


def serra_azul(tag: str) -> list[Product]:
    """Empório Serra Azul (microdata): alimentos."""
    items = [
        (
            "cafe-especial",
            "Café Especial Serra Azul 500 g",
            "Torra média, notas de chocolate.",
            "49.90",
        ),
        ("mel-silvestre", "Mel Silvestre 1 kg", "Colhido na Serra da Mantiqueira.", "62.00"),
        ("queijo-canastra", "Queijo Canastra Meia Cura", "Peça de aproximadamente 1 kg.", "118.75"),
        ("doce-leite", "Doce de Leite Artesanal 400 g", "Cozido no tacho de cobre.", "24.90"),
    ]
    return [
        _product(
            tag,
            slug,
            name,
            description,
            amount,
            sku=f"SA-{index + 1:02d}",
            gtin=ean13(f"{tag}:serra:{slug}"),
            image="jpg",
        )
        for index, (slug, name, description, amount) in enumerate(items)
    ]


def bazar(tag: str) -> list[Product]:
    """Bazar da Vila (no structured data: the source's selectors find these)."""
    items = [
        ("martelo", "Martelo de Unha 27 mm", "Cabo de madeira, cabeça forjada.", "39.90"),
        ("trena", "Trena Emborrachada 5 m", "Trava automática.", "27.50"),
        ("furadeira", "Furadeira de Impacto 650 W", "Mandril de 13 mm, maleta.", "1349.00"),
    ]
    return [
        _product(tag, slug, name, description, amount, image="png")
        for slug, name, description, amount in items
    ]


def bazar_opengraph(tag: str) -> Product:
    """A Bazar da Vila page that only has OpenGraph product tags."""
    return _product(
        tag,
        "alicate",
        "Alicate Universal 8 polegadas",
        "Isolado até 1000 V.",
        "54.90",
        sku="BV-ALI",
        image="png",
    )


def instavel(tag: str) -> list[Product]:
    """Loja Instável: one good product among bad pages."""
    return [
        _product(
            tag,
            "luminaria",
            "Luminária de Mesa Articulada",
            "LED, três tons de luz.",
            "159.90",
            sku="LI-001",
            image="png",
        )
    ]


def mega(tag: str, count: int) -> list[Product]:
    """Megaloja (JSON-LD, the bench's shop): `count` products, no pictures."""
    return [
        _product(
            tag,
            f"item-{n:04d}",
            f"Produto Megaloja {n:04d}",
            f"Item {n} do catálogo.",
            f"{10 + n % 990}.{n % 100:02d}",
            sku=f"MEGA-{n:05d}",
        )
        for n in range(1, count + 1)
    ]
