"""Reading request bodies so that no body, however hostile, is a server error.

Every JSON body is parsed by the app's JSON provider (``StrictJSONProvider``): lists and
objects nested deeper than ``MAX_DEPTH`` are refused before parsing (100,000 levels overflowed
the stack), a key given twice in one object is an error (as in YAML) instead of the last one
silently winning, and a number of more than 4,300 digits is a bad request, not a ``ValueError``.
webargs parses bodies with the standard library itself, so the blueprints that take a body are
``Blueprint``s from here, whose parser hands the body to the provider.

A body without ``Content-Length`` (chunked) is cut off by werkzeug at ``MAX_CONTENT_LENGTH``
and would then fail as truncated JSON (400); it is refused as too large (413) instead.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any, ClassVar

import flask_smorest
from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from authreg.domain.document_format import MAX_DEPTH
from authreg.domain.errors import Invalid, Problem

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def too_deep(text: str) -> bool:
    """Whether lists and objects nest deeper than ``MAX_DEPTH`` outside strings; checked on the
    text, so nothing recurses. A body with few brackets cannot be deep and is not scanned."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise Invalid([Problem("", key, "given twice in one object; a key may appear once")])
        found[key] = value
    return found


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but refusing what would otherwise crash the parser or lose data silently."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode() if isinstance(s, bytes) else s  # JSON on the wire is UTF-8 (RFC 8259)
        if too_deep(text):
            raise BadRequest(f"the JSON body nests lists and objects deeper than {MAX_DEPTH} levels")
        try:
            return json.loads(text, object_pairs_hook=_unique_keys, **kwargs)
        except json.JSONDecodeError:
            raise
        except ValueError as exc:  # the only other: an integer longer than Python converts
            digits = sys.get_int_max_str_digits()
            raise BadRequest(f"the JSON body holds an integer of more than {digits} digits") from exc


class BodyParser(FlaskParser):
    """webargs' Flask parser, reading JSON with the app's provider instead of ``json.loads``.
    Bytes that are not UTF-8 and malformed JSON stay webargs' 400 "Invalid JSON body".

    A query parameter the endpoint does not know is refused (422 naming it), as a body field
    is: webargs drops them by default, and ``?statuss=active`` then answered every status."""

    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return current_app.json.loads(req.get_data(cache=True).decode())


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint with ``BodyParser``: every blueprint of the API is one."""

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema: type[Schema] | Schema, *args: Any, **kwargs: Any) -> Any:
        """As flask-smorest's, with the schema made once here: webargs would make a new one
        for every request, which costs a decision a third of its parsing."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)


def _whole_body_within_limit() -> None:
    """A chunked body is read now, up to the limit, and refused if more follows. Only servers
    that end the input stream themselves (``wsgi.input_terminated``) pass such bodies on."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None or limit is None or not request.environ.get("wsgi.input_terminated"):
        return
    request.get_data(cache=True)
    if request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge(f"the body is larger than {limit} bytes")


def init_bodies(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.before_request(_whole_body_within_limit)
