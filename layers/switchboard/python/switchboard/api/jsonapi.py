"""JSON:API documents in Kustomer's shape: resources, lists with page links, and errors."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode

from aws_lambda_powertools.event_handler import Response

from switchboard import cursors
from switchboard.domain.records import Page, Record
from switchboard.domain.resources import resource
from switchboard.http import JSON


def respond(
    document: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = "" if document is None else json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    content_type = None if document is None else JSON  # no body (a 204): nothing to type
    return Response(status_code=status, content_type=content_type, body=body, headers=headers or {})


def one(record: Record, status: int = 200) -> Response:
    return respond({"data": resource(record)}, status)


def listing(
    page: Page, path: str, page_number: int, size: int, extra: dict[str, str] | None = None
) -> Response:
    total_pages = max(1, math.ceil(page.total / size)) if page.total else 0

    def link(number: int) -> str:
        return f"{path}?{urlencode({**(extra or {}), 'page': number, 'pageSize': size})}"

    meta: dict[str, Any] = {
        "pageSize": size,
        "page": page_number,
        "total": page.total,
        "totalPages": total_pages,
    }
    if page.total_capped:
        meta["totalCapped"] = True
    links = {
        "self": link(page_number),
        "first": link(1),
        "prev": link(page_number - 1) if page_number > 1 else None,
        "next": link(page_number + 1) if page.has_more else None,
    }
    return respond({"meta": meta, "links": links, "data": [resource(r) for r in page.records]})


def error(status: int, code: str, title: str, detail: str, source: dict[str, str] | None = None) -> Response:
    entry: dict[str, Any] = {"status": str(status), "code": code, "title": title, "detail": detail}
    if source:
        entry["source"] = source
    return respond({"errors": [entry]}, status)


def cursor_out(shape: cursors.Shape, key: dict[str, Any] | None) -> str | None:
    """The opaque cursor after `key` (a `LastEvaluatedKey`) of the list `shape` describes."""
    return cursors.encode(shape, key)


def cursor_in(shape: cursors.Shape, cursor: str | None) -> dict[str, Any] | None:
    """A cursor is only ever a position inside the caller's own list: parsed strictly against
    the list's key schema, else a 400 naming the `cursor` parameter."""
    return cursors.decode(shape, cursor)
