"""Static files under fingerprinted names (`console.3f2a9c1b.css`), cached for a year: a new
version is a new name. Chart.js is the one copy vendored for the status page."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Flask, abort, send_file, url_for

HERE = Path(__file__).resolve().parent
FILES = {
    "console.css": HERE / "static" / "console.css",
    "console.js": HERE / "static" / "console.js",
    "chart.umd.min.js": HERE.parent.parent / "monitoring" / "static" / "chart.umd.min.js",
}
YEAR = 365 * 24 * 3600

bp = Blueprint("assets", __name__, url_prefix="/console/assets")


def fingerprinted(name: str, path: Path) -> str:
    stem, _, suffix = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}.{suffix}"


def init_assets(app: Flask) -> None:
    names = {name: fingerprinted(name, path) for name, path in FILES.items()}
    app.extensions["console.assets"] = names
    by_served = {served: FILES[name] for name, served in names.items()}
    app.extensions["console.assets.files"] = by_served

    @app.template_global()
    def asset(name: str) -> str:
        return url_for("assets.serve", name=names[name])

    app.register_blueprint(bp)


@bp.get("/<name>")
def serve(name: str):
    from flask import current_app

    path = current_app.extensions["console.assets.files"].get(name)
    if path is None:
        abort(404)
    response = send_file(path, max_age=YEAR, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
