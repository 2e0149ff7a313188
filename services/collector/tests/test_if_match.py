"""Conditional writes of a collector source: a PATCH or DELETE with If-Match goes ahead only while
the source is as the caller read it (its GET's ETag), checked under the source's lock."""

from sqlalchemy import select

from services.collector.models import Source
from services.kit.testing import racing_patches

STALE = 'W/"0000000000000000000000000000000000000000"'
SHOP = "http://127.0.0.1:5092/loja-json/"


def a_source(client, admin) -> str:
    body = {"name": "Casa Aurora", "start_urls": [SHOP]}
    answer = client.post("/collector/sources", json=body, headers=admin)
    assert answer.status_code == 201, answer.json
    return f"/collector/sources/{answer.json['id']}"


def test_a_stale_if_match_on_a_source_is_a_412_and_changes_nothing(client, admin):
    url = a_source(client, admin)
    edit = client.patch(url, json={"max_pages": 5}, headers={**admin, "If-Match": STALE})
    assert edit.status_code == 412 and edit.mimetype == "application/problem+json"
    assert client.delete(url, headers={**admin, "If-Match": STALE}).status_code == 412
    assert client.get(url, headers=admin).json["max_pages"] == 100


def test_the_sources_own_etag_lets_the_edit_through_once(client, admin):
    url = a_source(client, admin)
    tag = client.get(url, headers=admin).headers["ETag"]
    edit = client.patch(url, json={"max_pages": 5}, headers={**admin, "If-Match": tag})
    assert edit.status_code == 200 and edit.json["max_pages"] == 5
    again = client.patch(url, json={"max_pages": 6}, headers={**admin, "If-Match": tag})
    assert again.status_code == 412
    assert client.delete(url, headers={**admin, "If-Match": "*"}).status_code == 204


def test_two_patches_with_the_same_current_tag_give_one_200_and_one_412(app, client, admin):
    url = a_source(client, admin)
    row = select(Source.id).where(Source.id == int(url.rsplit("/", 1)[1]))
    changes = [{"max_pages": 5}, {"max_pages": 6}]
    assert racing_patches(app, url, admin, changes, row) == [200, 412]
