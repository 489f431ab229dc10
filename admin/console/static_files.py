"""The console's static files under ``/console/static/``: its stylesheet and script and the vendored chart library.

Only the files listed in :data:`ASSETS` are served (nothing else of ``admin/static``). Their URLs carry a hash of
their content (``asset_url``), so they may be cached for a day and a browser never keeps a stale one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sanic import Blueprint
from sanic.exceptions import NotFound
from sanic.request import Request
from sanic.response import HTTPResponse, raw

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
URL_PREFIX = "/console/static"

#: URL name → (file under admin/static, content type).
ASSETS: dict[str, tuple[str, str]] = {
    "console.css": ("console/console.css", "text/css; charset=utf-8"),
    "console.js": ("console/console.js", "text/javascript; charset=utf-8"),
    "conversations.js": ("console/conversations.js", "text/javascript; charset=utf-8"),
    "overview.js": ("console/overview.js", "text/javascript; charset=utf-8"),
    "chart.umd.min.js": ("vendor/chart.umd.min.js", "text/javascript; charset=utf-8"),
    "chart.js.LICENSE.txt": ("vendor/chart.js.LICENSE.txt", "text/plain; charset=utf-8"),
}


def _read_assets() -> dict[str, tuple[bytes, str, str]]:
    assets = {}
    for name, (relative, content_type) in ASSETS.items():
        path = STATIC_DIR / relative
        if path.is_file():
            body = path.read_bytes()
            assets[name] = (body, content_type, hashlib.sha256(body).hexdigest()[:12])
    return assets


_ASSETS = _read_assets()


def asset_url(name: str) -> str:
    """The URL of a console asset, with its content hash (``/console/static/console.css?v=…``).

    Raises:
        KeyError: ``name`` is not one of :data:`ASSETS` or its file is missing.
    """
    return f"{URL_PREFIX}/{name}?v={_ASSETS[name][2]}"


def register(blueprint: Blueprint) -> None:
    """Add ``GET /console/static/<name>`` to the console blueprint."""
    blueprint.add_route(static_file, "/static/<name:str>", methods=["GET"])


async def static_file(request: Request, name: str) -> HTTPResponse:
    """One of :data:`ASSETS`; 404 for anything else."""
    asset = _ASSETS.get(name)
    if asset is None:
        raise NotFound("no such file")
    body, content_type, _ = asset
    return raw(body, content_type=content_type,
               headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
