"""The rendered nginx configuration for products: pictures served from the media directory with
long cache headers, and larger bodies allowed on the upload route only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stack import gateway
from stack.config import ROOT, StackConfig, parse_env_file
from stack.processes import service_environment

EXAMPLE = parse_env_file(ROOT / ".env.example")


@pytest.fixture
def cfg(tmp_path) -> StackConfig:
    return StackConfig({**EXAMPLE, "FEIRA_RUN_DIR": str(tmp_path), "OUTBOX_SECRET": "x"})


@pytest.fixture
def rendered(cfg, tmp_path, monkeypatch) -> str:
    """Only the text counts: no verify cache in /dev/shm, no nginx needed."""
    monkeypatch.setattr(gateway, "verify_cache_dir", lambda cfg: tmp_path / "verify")
    monkeypatch.setattr(gateway, "_mime_types", lambda: "/etc/nginx/mime.types")
    monkeypatch.setattr(gateway, "worker_user", lambda cfg: "")
    return gateway.render(cfg).read_text()


def location(text: str, head: str) -> str:
    start = text.index(f"location {head} {{")
    return text[start : text.index("\n        }", start)]


def test_media_is_served_from_the_media_dir_to_anyone_with_year_long_cache_headers(cfg, rendered):
    media = location(rendered, "/media/")
    assert f"alias {cfg.media_dir}/;" in media
    assert cfg.media_dir == Path(cfg.run_dir) / "media"
    assert 'Cache-Control "public, max-age=31536000, immutable"' in media
    assert "auth_request" not in media and "deny all" in media


def test_products_writes_pictures_where_the_gateway_serves_them(cfg):
    environment = service_environment(cfg, "products", cfg.db_passwords())
    assert environment["MEDIA_DIR"] == str(cfg.media_dir)
    assert "MEDIA_DIR" not in service_environment(cfg, "clients", cfg.db_passwords())


def test_only_the_upload_route_accepts_image_max_bytes_and_it_still_asks_auth(cfg, rendered):
    limit = EXAMPLE["IMAGE_MAX_BYTES"]
    upload = location(rendered, r"~ ^/products/[0-9]+/images$")
    assert f"client_max_body_size {limit};" in upload
    assert "auth_request /_auth/verify;" in upload and "proxy_pass http://products;" in upload
    assert rendered.index(upload) < rendered.index("location ~ ^/(products|categories)(/|$)")
    assert re.findall(r"client_max_body_size (\S+);", rendered).count(limit) == 1
    # auth's subrequest carries the upload's Content-Length: it must not refuse it.
    assert "client_max_body_size 0;" in location(rendered, "= /_auth/verify")
