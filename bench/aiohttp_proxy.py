"""The yardstick for bench/bench_gateway.py: a minimal pass-through proxy, aiohttp on uvloop.

    .venv/bin/python -m bench.aiohttp_proxy --port 4412 --upstream http://127.0.0.1:4411/v1

One aiohttp web server and one aiohttp ClientSession (default pool and timeouts). POST
/v1/chat/completions and /v1/responses are sent on to `--upstream` (an OpenAI-style base URL,
ending in /v1) with the client's body and Authorization header; the answer's status and
content-type come back, a JSON body whole, an SSE body chunk by chunk as it is read
(`iter_any()`). Nothing else: no validation, no retries, no accounting, no access log. It is
what any Python gateway on this stack costs at the least, not a gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvloop
from aiohttp import ClientSession, web

_SESSION = web.AppKey("session", ClientSession)
_UPSTREAM = web.AppKey("upstream", str)
_PATHS = {"/v1/chat/completions": "/chat/completions", "/v1/responses": "/responses"}


async def forward(request: web.Request) -> web.StreamResponse:
    app = request.app
    headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
    if (authorization := request.headers.get("Authorization")) is not None:
        headers["Authorization"] = authorization
    body = await request.read()
    url = app[_UPSTREAM] + _PATHS[request.path]
    async with app[_SESSION].post(url, data=body, headers=headers) as upstream:
        content_type = upstream.headers.get("Content-Type", "application/json")
        if not content_type.startswith("text/event-stream"):
            return web.Response(
                status=upstream.status,
                body=await upstream.read(),
                headers={"Content-Type": content_type},
            )
        response = web.StreamResponse(
            status=upstream.status,
            headers={"Content-Type": content_type, "Cache-Control": "no-cache"},
        )
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


def make_app(upstream: str) -> web.Application:
    app = web.Application()
    app[_UPSTREAM] = upstream.rstrip("/")

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        async with ClientSession() as session:
            app[_SESSION] = session
            yield

    app.cleanup_ctx.append(session_context)
    for path in _PATHS:
        app.router.add_post(path, forward)
    return app


async def serve(port: int, upstream: str) -> None:
    runner = web.AppRunner(make_app(upstream), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()  # until SIGINT cancels it
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://host:port/v1")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT is how bench.harness stops it
        uvloop.run(serve(args.port, args.upstream))


if __name__ == "__main__":
    main()
