"""The collector's door (internal: only the collector's service credential opens it): the upsert
by barcode of `POST /products/import`, except that a row changes only the fields it carries (a
shop's page that shows no description does not empty the product's), answering which product
each row became, or the product its page became before under another barcode; and the pictures it
downloaded, checked and stored as an admin's upload is, which it removes once their page no longer
shows them (only those it sent)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from services.kit import Blueprint, body_limit

from . import catalogue
from .images import media_url
from .schemas import ImageSchema, ImageUploadSchema, ImportResultSchema, ImportSchema

collected_blp = Blueprint(
    "collected",
    __name__,
    url_prefix="/products/collected",
    description="What the collector gathered from shop pages (internal)",
)


class CollectedProductSchema(Schema):
    index = fields.Integer()
    id = fields.Integer()
    created = fields.Boolean()


class CollectedResultSchema(ImportResultSchema):
    products = fields.List(fields.Nested(CollectedProductSchema))


@collected_blp.route("")
class Collected(MethodView):
    @collected_blp.internal()
    @collected_blp.response(200, CollectedResultSchema)
    @collected_blp.problem(400, "The body is missing or not JSON")
    @collected_blp.problem(422, "The body is not an array, or has too many rows")
    def post(self):
        """Upsert products by barcode, as the import does (each row validated alone), but a row
        sets only the fields it carries, and one naming the product its page became before (`id`)
        updates that product, barcode included; say which product each row that landed became."""
        rows = collected_blp.ARGUMENTS_PARSER.parse(ImportSchema(), location="json")["rows"]
        return catalogue.import_products(rows, only_given=True)


@collected_blp.route("/<int:product_id>/images")
class CollectedImages(MethodView):
    @collected_blp.internal()
    @body_limit("IMAGE_MAX_BYTES")
    @collected_blp.arguments(ImageUploadSchema, location="files")
    @collected_blp.response(201, ImageSchema)
    @collected_blp.alt_response(200, schema=ImageSchema, description="Sent before: that picture")
    @collected_blp.problem(404, "No such product")
    @collected_blp.problem(413, "The picture is larger than IMAGE_MAX_BYTES")
    @collected_blp.problem(409, "The product holds IMAGE_MAX_PER_PRODUCT pictures already")
    def post(self, files, product_id):
        """Add a picture to a product (multipart field `file`), checked, re-encoded and stored
        as `POST /products/{id}/images` does: the same bytes again (a retry whose answer was
        lost) are a 200 answering the picture they made, so the collector may send it again."""
        product = catalogue.get_product(product_id)
        image, added = catalogue.add_image(product, files["file"], collected=True)
        return image, 201 if added else 200, {"Location": media_url(image.path)}


@collected_blp.route("/<int:product_id>/images/<int:image_id>")
class CollectedImage(MethodView):
    @collected_blp.internal()
    @collected_blp.response(204)
    @collected_blp.problem(404, "No such product, or no picture of it the collector sent")
    def delete(self, product_id, image_id):
        """Remove a picture the collector sent, its page no longer showing it. One a person
        added (even of the same bytes, sent by the collector before or after) is not the
        collector's to remove: a 404, as one already gone."""
        catalogue.delete_collected_image(product_id, image_id)
