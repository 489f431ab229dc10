"""Serve a sanic app for a test: a real server on a free port of 127.0.0.1 in the test's own event loop.

Its ``before_server_start``/``after_server_stop`` listeners, middleware, routing and error handling run exactly as
in production; requests go through aiohttp like any client's. (``app.asgi_client`` needs ``sanic-testing``, which is
not installed; sanic 21.12's ASGI lifespan also raises on shutdown.)
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from sanic import Sanic


@asynccontextmanager
async def serving(app: Sanic) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """``(base_url, client session)`` for the ``async with`` block while ``app`` is served."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        async with aiohttp.ClientSession() as session:
            yield f"http://127.0.0.1:{port}", session
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()
        sock.close()
