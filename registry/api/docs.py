"""Interactive API docs at ``/api/docs`` (Swagger UI), served from the swagger-ui-bundle
package so they work on a machine without internet access."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/api/docs/assets/"
blueprint = Blueprint("docs_assets", __name__, url_prefix="/api/docs/assets")


@blueprint.get("/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
