"""Product pictures: proven by decoding, re-encoded without metadata, thumbnailed, size-limited,
and their files removed with them."""

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from services.kit.testing import answered_behind
from services.products import catalogue
from services.products.models import ProductImage, db
from services.products.schemas import ImageSchema

PROBLEM = "application/problem+json"


def picture(fmt="JPEG", size=(800, 600), mode="RGB", **save_options) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "teal" if mode != "1" else 0).save(out, fmt, **save_options)
    return out.getvalue()


def upload(client, headers, product_id, content: bytes, filename="foto.jpg", field="file", door=""):
    """The picture sent to the product's images, an admin's route, or `door="/collected"` the
    collector's."""
    return client.post(
        f"/products{door}/{product_id}/images",
        data={field: (io.BytesIO(content), filename)},
        headers=headers,
        content_type="multipart/form-data",
    )


def stored(media_dir, url: str) -> Image.Image:
    return Image.open(media_dir / url.removeprefix("/media/"))


def test_a_jpeg_is_stored_re_encoded_with_a_thumbnail_and_listed_on_the_product(
    client, admin, user, make_product, media_dir
):
    made = make_product()
    response = upload(client, admin, made["id"], picture("JPEG", (800, 600)))
    assert response.status_code == 201
    image = response.json
    assert image["url"].startswith(f"/media/products/{made['id']}/")
    assert image["url"].endswith(".jpg") and image["thumbnail_url"].endswith("-thumb.jpg")
    assert response.headers["Location"] == image["url"]
    with (
        stored(media_dir, image["url"]) as full,
        stored(media_dir, image["thumbnail_url"]) as thumb,
    ):
        assert (full.format, full.size) == ("JPEG", (800, 600))
        assert (thumb.format, thumb.size) == ("JPEG", (320, 240))
    product = client.get(f"/products/{made['id']}", headers=user).json
    assert product["images"] == [image]


def test_a_phones_jpeg_holding_two_pictures_is_stored_as_one_plain_jpeg(
    client, admin, make_product, media_dir
):
    # MPO: the photo, then a second frame (a depth or HDR gain map), as many phones save them.
    out = io.BytesIO()
    photo, gain_map = Image.new("RGB", (800, 600), "teal"), Image.new("RGB", (800, 600), "gray")
    photo.save(out, "MPO", save_all=True, append_images=[gain_map])
    made = make_product()
    response = upload(client, admin, made["id"], out.getvalue())
    assert response.status_code == 201, response.json
    assert response.json["url"].endswith(".jpg")
    with stored(media_dir, response.json["url"]) as full:
        assert (full.format, full.size, getattr(full, "n_frames", 1)) == ("JPEG", (800, 600), 1)


@pytest.mark.parametrize(("fmt", "extension"), [("PNG", "png"), ("WEBP", "webp")])
def test_png_and_webp_are_kept_in_their_format(
    client, admin, make_product, media_dir, fmt, extension
):
    made = make_product()
    response = upload(client, admin, made["id"], picture(fmt, mode="RGBA"), filename="x.bin")
    assert response.status_code == 201 and response.json["url"].endswith(f".{extension}")
    with stored(media_dir, response.json["url"]) as full:
        assert full.format == fmt


def test_exif_and_its_gps_position_are_stripped(client, admin, make_product, media_dir):
    exif = Image.Exif()
    exif[0x010F] = "Câmera do fornecedor"  # Make
    exif[0x0131] = "Editor secreto"  # Software
    exif[0x8825] = {1: "S", 2: (23.0, 33.0, 1.0)}  # GPS: latitude
    original = picture("JPEG", exif=exif.tobytes())
    assert Image.open(io.BytesIO(original)).getexif()
    made = make_product()
    response = upload(client, admin, made["id"], original)
    assert response.status_code == 201
    for url in (response.json["url"], response.json["thumbnail_url"]):
        with stored(media_dir, url) as kept:
            assert not kept.getexif() and "exif" not in kept.info
        assert b"Editor secreto" not in (media_dir / url.removeprefix("/media/")).read_bytes()


def test_the_exif_orientation_is_applied_before_it_is_stripped(
    client, admin, make_product, media_dir
):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° clockwise
    made = make_product()
    response = upload(client, admin, made["id"], picture("JPEG", (400, 200), exif=exif.tobytes()))
    with stored(media_dir, response.json["url"]) as kept:
        assert kept.size == (200, 400)


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"just some text, honest", "foto.jpg"),
        (picture("JPEG")[:300], "cortada.jpg"),
        (picture("GIF", mode="P"), "anim.gif"),
        (picture("BMP", (40, 30)), "old.bmp"),
        (b"", "vazio.png"),
    ],
    ids=["text-renamed-jpg", "truncated-jpeg", "gif", "bmp", "empty"],
)
def test_what_does_not_decode_as_jpeg_png_or_webp_is_422_naming_file(
    client, admin, make_product, media_dir, content, filename
):
    made = make_product()
    before = set(media_dir.rglob("*"))
    response = upload(client, admin, made["id"], content, filename=filename)
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert list(response.json["errors"]) == ["file"]
    assert set(media_dir.rglob("*")) == before
    assert client.get(f"/products/{made['id']}", headers=admin).json["images"] == []


def test_a_picture_claiming_too_many_pixels_is_refused_before_decoding(client, admin, make_product):
    made = make_product()
    bomb = picture("PNG", (8000, 6000), mode="1")
    assert len(bomb) < 100_000
    response = upload(client, admin, made["id"], bomb, filename="bomba.png")
    assert response.status_code == 422 and "pixels" in response.json["errors"]["file"][0]


def test_an_upload_over_image_max_bytes_is_413_and_a_large_one_under_it_is_accepted(
    app, client, admin, make_product
):
    made = make_product()
    limit = app.config["IMAGE_MAX_BYTES"]
    assert limit > app.config["MAX_CONTENT_LENGTH"], "the route allows more than JSON bodies"
    noise = io.BytesIO()
    Image.frombytes("RGB", (200, 200), os.urandom(120_000)).save(noise, "PNG")
    assert app.config["MAX_CONTENT_LENGTH"] < len(noise.getvalue()) < limit
    assert upload(client, admin, made["id"], noise.getvalue(), "ruido.png").status_code == 201
    too_big = upload(client, admin, made["id"], b"\xff" * (limit + 1), "enorme.jpg")
    assert too_big.status_code == 413 and too_big.mimetype == PROBLEM


def test_an_upload_without_the_file_field_is_422(client, admin, make_product):
    made = make_product()
    response = upload(client, admin, made["id"], picture(), field="foto")
    assert response.status_code == 422 and "file" in response.json["errors"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", b'{"file": "x"}'), ("text/plain", b"x"), (None, b"")],
)
def test_an_upload_that_is_not_multipart_is_a_400_naming_the_content_type(
    client, admin, make_product, content_type, body
):
    made = make_product()
    response = client.post(
        f"/products/{made['id']}/images", data=body, headers=admin, content_type=content_type
    )
    assert response.status_code == 400
    assert response.content_type == PROBLEM
    assert response.json["detail"] == "Content-Type must be multipart/form-data"


def test_a_product_holds_at_most_image_max_per_product_pictures_even_uploaded_at_once(
    client, admin, make_product, media_dir, monkeypatch
):
    monkeypatch.setitem(client.application.config, "IMAGE_MAX_PER_PRODUCT", 3)
    made = make_product()
    folder = media_dir / "products" / str(made["id"])
    before = set(folder.iterdir()) if folder.exists() else set()
    assert upload(client, admin, made["id"], picture(size=(800, 600))).status_code == 201

    def one(width):
        content = picture(size=(width, 600))
        return upload(client.application.test_client(), admin, made["id"], content).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(one, range(801, 805)))
    assert statuses == [201, 201, 409, 409]
    full = upload(client, admin, made["id"], picture(size=(900, 600)))
    assert full.status_code == 409 and full.content_type == PROBLEM
    assert "remove one first" in full.json["detail"]
    assert len(client.get(f"/products/{made['id']}", headers=admin).json["images"]) == 3
    # The refused uploads left no file behind: three pictures and their thumbnails.
    assert len(set(folder.iterdir()) - before) == 3 * 2


def files_of(media_dir, product_id: int) -> set:
    folder = media_dir / "products" / str(product_id)
    return set(folder.iterdir()) if folder.exists() else set()


def test_the_same_file_sent_again_is_the_same_picture_a_200_with_no_second_copy(
    app, client, admin, make_product, media_dir
):
    made = make_product()
    before = files_of(media_dir, made["id"])
    content = picture("JPEG")
    first = upload(client, admin, made["id"], content)
    assert first.status_code == 201
    again = upload(client, admin, made["id"], content, filename="outro-nome.jpg")
    assert again.status_code == 200 and again.mimetype == "application/json"
    assert again.json == first.json and again.headers["Location"] == first.json["url"]
    assert client.get(f"/products/{made['id']}", headers=admin).json["images"] == [first.json]
    assert len(files_of(media_dir, made["id"]) - before) == 2  # one picture and its thumbnail
    with app.app_context():  # the hash of the bytes sent, not of the re-encoded file
        kept = db.session.scalar(text("SELECT sha256 FROM products.product_images"))
        assert kept == hashlib.sha256(content).hexdigest()


def test_a_picture_whose_commit_answered_an_error_after_it_landed_keeps_its_files(
    client, admin, make_product, media_dir, monkeypatch
):
    # The connection dropped during COMMIT, after the server committed: the row is there, and
    # so must its files be, for the same file sent again finds that row.
    real_commit = Session.commit
    failed = []

    def commit_then_lose_the_answer(session):
        real_commit(session)
        stored_a_picture = any(isinstance(o, ProductImage) for o in session.identity_map.values())
        if stored_a_picture and not failed:
            failed.append(True)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(Session, "commit", commit_then_lose_the_answer)
    made = make_product()
    before = files_of(media_dir, made["id"])
    content = picture()
    assert upload(client, admin, made["id"], content).status_code == 503
    kept = files_of(media_dir, made["id"]) - before
    again = upload(client, admin, made["id"], content)
    assert again.status_code == 200, again.json
    answered = {
        media_dir / again.json[url].removeprefix("/media/") for url in ("url", "thumbnail_url")
    }
    assert kept == answered
    with (
        stored(media_dir, again.json["url"]) as full,
        stored(media_dir, again.json["thumbnail_url"]) as thumb,
    ):
        assert (full.size, thumb.size) == ((800, 600), (320, 240))
    assert client.get(f"/products/{made['id']}", headers=admin).json["images"] == [again.json]


def test_the_same_file_sent_again_writes_the_files_its_picture_lost(
    client, admin, make_product, media_dir
):
    made = make_product()
    content = picture()
    first = upload(client, admin, made["id"], content).json
    for url in (first["url"], first["thumbnail_url"]):
        (media_dir / url.removeprefix("/media/")).unlink()
    again = upload(client, admin, made["id"], content)
    assert (again.status_code, again.json) == (200, first)
    with (
        stored(media_dir, first["url"]) as full,
        stored(media_dir, first["thumbnail_url"]) as thumb,
    ):
        assert (full.format, full.size, thumb.size) == ("JPEG", (800, 600), (320, 240))


def test_the_same_file_sent_again_to_a_full_product_is_answered_not_refused(
    client, admin, make_product, monkeypatch
):
    monkeypatch.setitem(client.application.config, "IMAGE_MAX_PER_PRODUCT", 2)
    made = make_product()
    content = picture(size=(640, 480))
    first = upload(client, admin, made["id"], content)
    assert upload(client, admin, made["id"], picture(size=(480, 640))).status_code == 201
    again = upload(client, admin, made["id"], content)
    assert (again.status_code, again.json) == (200, first.json)
    assert upload(client, admin, made["id"], picture(size=(500, 500))).status_code == 409


def test_the_same_file_is_a_new_picture_of_another_product_or_once_its_picture_is_removed(
    client, admin, make_product
):
    owner, other = make_product(), make_product()
    content = picture()
    first = upload(client, admin, owner["id"], content).json
    assert upload(client, admin, other["id"], content).status_code == 201
    removed = client.delete(f"/products/{owner['id']}/images/{first['id']}", headers=admin)
    assert removed.status_code == 204
    again = upload(client, admin, owner["id"], content)
    assert again.status_code == 201 and again.json["id"] != first["id"]


def test_the_same_file_landing_while_it_is_being_stored_again_is_answered_and_its_files_go(
    app, client, admin, make_product, media_dir
):
    made = make_product()
    content = picture()
    before = files_of(media_dir, made["id"])
    folder = media_dir / "products" / str(made["id"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "first.jpg").write_bytes(content)
    (folder / "first-thumb.jpg").write_bytes(content)
    with app.app_context(), db.engine.connect() as holder:
        # The first sending, between its lock of the product and its commit: the second one
        # does not see its picture before decoding, and meets it under the constraint.
        holder.execute(text("SELECT id FROM products.products WHERE id = :id FOR UPDATE"), made)
        first_id = holder.execute(
            text(
                "INSERT INTO products.product_images (product_id, path, thumbnail_path, width,"
                " height, sha256) VALUES (:id, :path, :thumb, 800, 600, :sha256) RETURNING id"
            ),
            {
                **made,
                "path": f"products/{made['id']}/first.jpg",
                "thumb": f"products/{made['id']}/first-thumb.jpg",
                "sha256": hashlib.sha256(content).hexdigest(),
            },
        ).scalar_one()
        response = answered_behind(
            app, holder, lambda: upload(app.test_client(), admin, made["id"], content)
        )
    assert response.status_code == 200, response.json
    assert response.json["id"] == first_id
    assert response.json["url"] == f"/media/products/{made['id']}/first.jpg"
    first_files = {folder / "first.jpg", folder / "first-thumb.jpg"}
    assert files_of(media_dir, made["id"]) - before == first_files
    assert len(client.get(f"/products/{made['id']}", headers=admin).json["images"]) == 1


def test_only_an_admin_uploads_and_only_to_a_product_that_exists(client, user, admin, make_product):
    made = make_product()
    assert upload(client, user, made["id"], picture()).status_code == 403
    assert upload(client, admin, 424242, picture()).status_code == 404


def test_deleting_an_image_deletes_its_files(client, admin, make_product, media_dir):
    made = make_product()
    image = upload(client, admin, made["id"], picture()).json
    files = [media_dir / image[k].removeprefix("/media/") for k in ("url", "thumbnail_url")]
    assert all(f.exists() for f in files)
    path = f"/products/{made['id']}/images/{image['id']}"
    assert client.delete(path, headers=admin).status_code == 204
    assert not any(f.exists() for f in files)
    assert client.get(f"/products/{made['id']}", headers=admin).json["images"] == []
    assert client.delete(path, headers=admin).status_code == 404


def test_an_image_reached_through_another_product_is_404(client, admin, make_product):
    owner, other = make_product(), make_product()
    image = upload(client, admin, owner["id"], picture()).json
    response = client.delete(f"/products/{other['id']}/images/{image['id']}", headers=admin)
    assert response.status_code == 404


def test_deleting_a_product_deletes_its_image_files(client, admin, make_product, media_dir):
    made = make_product()
    image = upload(client, admin, made["id"], picture()).json
    assert client.delete(f"/products/{made['id']}", headers=admin).status_code == 204
    assert not (media_dir / image["url"].removeprefix("/media/")).exists()


def test_a_picture_uploaded_while_its_product_is_being_deleted_is_a_404_and_leaves_no_file(
    app, client, admin, make_product, media_dir
):
    made = make_product()
    folder = media_dir / "products" / str(made["id"])
    before = set(folder.iterdir()) if folder.exists() else set()
    content = picture()
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(text("DELETE FROM products.products WHERE id = :id"), made)
        response = answered_behind(
            app, holder, lambda: upload(app.test_client(), admin, made["id"], content)
        )
    assert response.status_code == 404 and response.mimetype == PROBLEM
    assert response.json["detail"] == f"Product {made['id']} does not exist"
    assert set(folder.iterdir()) == before


def test_a_picture_stored_while_its_product_is_being_deleted_goes_with_its_files(
    app, client, admin, make_product, media_dir
):
    made = make_product()
    folder = media_dir / "products" / str(made["id"])
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "path": f"products/{made['id']}/late.jpg",
        "thumb": f"products/{made['id']}/late-t.jpg",
    }
    for relative in files.values():
        (media_dir / relative).write_bytes(picture())
    with app.app_context(), db.engine.connect() as holder:
        # What an upload holds from its check of the product to the commit of its picture.
        holder.execute(text("SELECT id FROM products.products WHERE id = :id FOR UPDATE"), made)
        holder.execute(
            text(
                "INSERT INTO products.product_images (product_id, path, thumbnail_path, width,"
                " height) VALUES (:id, :path, :thumb, 800, 600)"
            ),
            {**made, **files},
        )
        response = answered_behind(
            app, holder, lambda: app.test_client().delete(f"/products/{made['id']}", headers=admin)
        )
    assert response.status_code == 204
    assert not any((media_dir / relative).exists() for relative in files.values())
    assert client.get(f"/products/{made['id']}", headers=admin).status_code == 404


def test_an_uploaded_picture_is_answered_as_stored_even_when_its_product_is_gone_at_once(
    app, client, make_product, media_dir
):
    made = make_product()
    upload_ = FileStorage(io.BytesIO(picture()), "foto.jpg")
    with app.app_context():
        image, _ = catalogue.add_image(catalogue.get_product(made["id"]), upload_)
        with db.engine.begin() as other:
            other.execute(text("DELETE FROM products.products WHERE id = :id"), made)
        answered = ImageSchema().dump(image)
        db.session.rollback()
    assert answered["id"] > 0 and answered["url"].startswith(f"/media/products/{made['id']}/")
