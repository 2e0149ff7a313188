"""The products API: categories, products, their images, and the catalogue import."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from sqlalchemy import select

from services.kit import (
    Blueprint,
    body_limit,
    conditional,
    page_schema,
    paginate,
)
from services.kit.idempotency import IdempotentCommand, key_parameter

from . import catalogue
from .images import media_url
from .models import Category, IdempotencyKey, db
from .schemas import (
    MAX_IMPORT_ROWS,
    CategoryListArgs,
    CategorySchema,
    ImageSchema,
    ImageUploadSchema,
    ImportResultSchema,
    ImportSchema,
    ProductCreateSchema,
    ProductListArgs,
    ProductSchema,
)

blp = Blueprint("products", __name__, url_prefix="/products", description="Products and images")
categories_blp = Blueprint(
    "categories", __name__, url_prefix="/categories", description="Categories of products"
)

creating_category = IdempotentCommand(
    db,
    IdempotencyKey,
    schema=CategorySchema,
    endpoint="categories.CategoryResource",
    id_arg="category_id",
)


# --- categories ---


@categories_blp.route("")
class Categories(MethodView):
    @categories_blp.login_required()
    @categories_blp.arguments(CategoryListArgs, location="query")
    @categories_blp.response(200, page_schema(CategorySchema))
    @conditional
    def get(self, args):
        """List categories."""
        sortable = {"name": Category.name, "created_at": Category.created_at}
        return paginate(db, select(Category), args, sortable, Category.id)

    @categories_blp.login_required("admin")
    @categories_blp.arguments(CategorySchema)
    @categories_blp.response(201, CategorySchema)
    @categories_blp.doc(parameters=[key_parameter()])
    @categories_blp.problem(
        409, "The name is already taken, or the Idempotency-Key was used with another body"
    )
    @creating_category
    def post(self, data, key):
        """Create a category (admin). With an `Idempotency-Key`, a repeat answers the first
        category again instead of a 409 for its name."""
        category = catalogue.create_category(data, key)
        location = url_for("categories.CategoryResource", category_id=category.id)
        return category, 201, {"Location": location}


@categories_blp.route("/<int:category_id>")
class CategoryResource(MethodView):
    @categories_blp.login_required()
    @categories_blp.response(200, CategorySchema)
    @categories_blp.problem(404, "No such category")
    @conditional
    def get(self, category_id):
        """One category."""
        return catalogue.get_category(category_id)

    @categories_blp.login_required("admin")
    @categories_blp.arguments(CategorySchema)
    @categories_blp.response(200, CategorySchema)
    @categories_blp.problem(404, "No such category")
    @categories_blp.problem(409, "The name belongs to another category")
    @categories_blp.if_match()
    def put(self, data, category_id):
        """Replace a category's fields (admin)."""
        return catalogue.update_category(catalogue.get_category(category_id, lock=True), data)

    @categories_blp.login_required("admin")
    @categories_blp.arguments(CategorySchema(partial=True))
    @categories_blp.response(200, CategorySchema)
    @categories_blp.problem(404, "No such category")
    @categories_blp.problem(409, "The name belongs to another category")
    @categories_blp.if_match()
    def patch(self, data, category_id):
        """Change some of a category's fields (admin)."""
        return catalogue.update_category(catalogue.get_category(category_id, lock=True), data)

    @categories_blp.login_required("admin")
    @categories_blp.response(204)
    @categories_blp.problem(404, "No such category")
    @categories_blp.problem(409, "The category still has products")
    @categories_blp.if_match()
    def delete(self, category_id):
        """Delete a category that has no products (admin)."""
        catalogue.delete_category(catalogue.get_category(category_id, lock=True))


# --- products ---


@blp.route("")
class Products(MethodView):
    @blp.login_required()
    @blp.arguments(ProductListArgs, location="query")
    @blp.response(200, page_schema(ProductSchema))
    @conditional
    def get(self, args):
        """List products. `q` searches the name and description by Portuguese word stems
        ("teclado" finds "Teclados"); `ids=1,2,3` fetches several at once."""
        return catalogue.find_products(args)

    @blp.login_required("admin")
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    @blp.problem(409, "The name or the barcode is already taken")
    def post(self, data):
        """Create a product (admin). `initial_stock` is the stock inventory starts it with."""
        product = catalogue.create_product(data)
        return (
            product,
            201,
            {"Location": url_for("products.ProductResource", product_id=product.id)},
        )


# The body is a bare array: documented here, parsed in the view (see there).
IMPORT_BODY = {
    "required": True,
    "description": "A JSON array of products, each as in PUT /products/{id}",
    "content": {
        "application/json": {
            "schema": {
                "type": "array",
                "maxItems": MAX_IMPORT_ROWS,
                "items": {"$ref": "#/components/schemas/Product"},
            }
        }
    },
}


@blp.route("/import")
class ProductImport(MethodView):
    @blp.login_required("admin")
    @blp.doc(requestBody=IMPORT_BODY)
    @blp.response(200, ImportResultSchema)
    @blp.problem(400, "The body is missing or not JSON")
    @blp.problem(422, "The body is not an array, or has too many rows")
    def post(self):
        """Upsert a catalogue by barcode (admin). Each row is validated on its own: the answer
        counts what was created and updated, and lists each rejected row's index and reasons."""
        # Parsed here rather than by @blp.arguments, which would document the body as an object.
        rows = blp.ARGUMENTS_PARSER.parse(ImportSchema(), location="json")["rows"]
        return catalogue.import_products(rows)


@blp.route("/<int:product_id>")
class ProductResource(MethodView):
    @blp.login_required()
    @blp.response(200, ProductSchema)
    @blp.problem(404, "No such product")
    @conditional
    def get(self, product_id):
        """One product."""
        return catalogue.read_product(product_id)

    @blp.login_required()
    @blp.response(200, ProductSchema)
    @blp.problem(404, "No such product")
    @conditional
    def head(self, product_id):
        """Does the product exist? 200 or 404 (what other services ask), with the GET's headers
        and no body. The product is read as GET reads it: its ETag is the hash of that body."""
        return catalogue.read_product(product_id)

    @blp.login_required("admin")
    @blp.arguments(ProductSchema)
    @blp.response(200, ProductSchema)
    @blp.problem(404, "No such product")
    @blp.problem(409, "The name or the barcode belongs to another product")
    @blp.if_match()
    def put(self, data, product_id):
        """Replace a product's fields (admin)."""
        return catalogue.update_product(catalogue.get_product(product_id, lock=True), data)

    @blp.login_required("admin")
    @blp.arguments(ProductSchema(partial=True))
    @blp.response(200, ProductSchema)
    @blp.problem(404, "No such product")
    @blp.problem(409, "The name or the barcode belongs to another product")
    @blp.if_match()
    def patch(self, data, product_id):
        """Change some of a product's fields (admin)."""
        return catalogue.update_product(catalogue.get_product(product_id, lock=True), data)

    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such product")
    @blp.problem(409, "Stock is on hand or orders reference it: retire it with active=false")
    @blp.problem(503, "Inventory or orders cannot say whether it may go")
    @blp.if_match()
    def delete(self, product_id):
        """Delete a product (admin), once inventory and orders have no claim on it."""
        catalogue.delete_product(catalogue.get_product(product_id))


@blp.route("/<int:product_id>/images")
class ProductImages(MethodView):
    @blp.login_required("admin")
    @body_limit("IMAGE_MAX_BYTES")
    @blp.arguments(ImageUploadSchema, location="files")
    @blp.response(201, ImageSchema)
    @blp.alt_response(200, schema=ImageSchema, description="The same file was sent before")
    @blp.problem(404, "No such product")
    @blp.problem(413, "The upload is larger than IMAGE_MAX_BYTES")
    @blp.problem(409, "The product holds IMAGE_MAX_PER_PRODUCT pictures already")
    def post(self, files, product_id):
        """Add a picture (admin; multipart field `file`: JPEG, PNG or WebP). It is re-encoded
        without its metadata, and a thumbnail is made. The same file again is the same picture:
        a 200 answering it, never a second copy."""
        product = catalogue.get_product(product_id)
        image, added = catalogue.add_image(product, files["file"])
        return image, 201 if added else 200, {"Location": media_url(image.path)}


@blp.route("/<int:product_id>/images/<int:image_id>")
class ProductImageResource(MethodView):
    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such product, or the image is not this product's")
    def delete(self, product_id, image_id):
        """Remove a picture and its files (admin)."""
        catalogue.delete_image(catalogue.get_image(product_id, image_id))
