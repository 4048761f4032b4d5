"""Serving a folder of browser files well: compressed, versioned, cached, revalidated.

The browser apps are plain HTML, CSS and ES modules with no build step, so nothing hashes
their names. ``StaticAssets(root, mount)`` does it at serve time, as an ASGI middleware put
on the static-files router of ``root`` (served at ``mount``):

* **HTML entry points** are answered with ``Cache-Control: no-cache`` and rewritten on the
  way out: every local ``.js``/``.css`` they link gets ``?v=<content hash>``, and an import
  map in the head sends every module import (static or ``import()``) to its versioned URL.
* A file asked for with ``?v=`` equal to its current hash is answered with a one-year
  ``immutable`` lifetime: an unchanged file is never fetched again, a changed one has a new
  URL. Anything else (no ``v``, an old ``v``, ``sw.js``) gets ``no-cache``.
* Every answer carries a strong ETag of its bytes; a matching ``If-None-Match`` gets ``304``.
* Text bodies of 1 KB or more are gzip-compressed when the request accepts gzip (compressed
  once per file version and kept in memory). No brotli: no maintained brotli package is a
  dependency, and gzip already saves ~70% on this code.

It never imports Litestar: it speaks plain ASGI, so either app can wrap any router with it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import re
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["APIDOCS_DIR", "IMMUTABLE", "NO_CACHE", "StaticAssets"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Any, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]

APIDOCS_DIR = Path(__file__).parent / "apidocs"  # Swagger UI, vendored (see its README.md)
IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"
MIN_COMPRESS_BYTES = 1024  # below this gzip's header eats most of the gain
MAX_BUFFER_BYTES = 8 * 1024 * 1024  # larger files stream through untouched
_GZIP_CACHE_ENTRIES = 256
_COMPRESSIBLE = re.compile(rb"^(text/|application/(javascript|([\w.+-]*\+)?json|x-yaml)|image/svg\+xml)")
_DROPPED = frozenset({b"content-length", b"etag", b"last-modified", b"cache-control",
                      b"content-encoding", b"vary"})
# src="…" / href="…" of <script> and <link>: local .js/.css only (no scheme, no query).
_REF = re.compile(r"""(<(?:script|link)\b[^>]*?\s(?:src|href)=["'])([^"'?#:]+\.(?:js|css))(["'])""",
                  re.IGNORECASE)
_FIRST_ASSET = re.compile(r"<(?:script|link)\b", re.IGNORECASE)


def _header(headers: Any, name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return bytes(value)
    return b""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class StaticAssets:
    """Compression, versioned URLs and cache headers for the files of ``root`` served at ``mount``."""

    def __init__(self, root: Path, mount: str = "/", *, unversioned: tuple[str, ...] = ("sw.js",),
                 rewrite_html: bool = True):
        self.root = root.resolve()
        self.rewrite = rewrite_html  # False: HTML not from root (e.g. the /schema page)
        self.mount = "/" + mount.strip("/") if mount.strip("/") else ""
        self.unversioned = frozenset(unversioned)  # never renamed (a service worker's URL is fixed)
        self._hashes: dict[Path, tuple[int, int, str]] = {}
        self._gzipped: OrderedDict[str, bytes] = OrderedDict()

    # ------------------------------------------------------------ versions

    def version(self, rel: str) -> str | None:
        """The content hash of ``root/rel`` (cached while its mtime and size stay), or None."""
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root):
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        cached = self._hashes.get(path)
        if cached and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2]
        if not path.is_file():
            return None
        digest = _digest(path.read_bytes())
        self._hashes[path] = (st.st_mtime_ns, st.st_size, digest)
        return digest

    def url(self, rel: str) -> str:
        """``<mount>/<rel>?v=<hash>``: the URL to link a file by (cached for a year)."""
        version = self.version(rel)
        base = f"{self.mount}/{rel}"
        return f"{base}?v={version}" if version else base

    def _import_map(self) -> str:
        imports: dict[str, str] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".js") and name not in self.unversioned:
                    rel = Path(folder, name).relative_to(self.root).as_posix()
                    imports[f"{self.mount}/{rel}"] = self.url(rel)
        text = json.dumps({"imports": imports}, separators=(",", ":")).replace("<", "\\u003c")
        return f'<script type="importmap">{text}</script>\n'

    def rewrite_html(self, html: str, page_path: str) -> str:
        """``html`` (served at ``page_path``) with versioned links and the import map."""

        def versioned(match: re.Match[str]) -> str:
            target = urllib.parse.urljoin(page_path, match.group(2))
            prefix = self.mount + "/"
            if not target.startswith(prefix) or target.rsplit("/", 1)[-1] in self.unversioned:
                return match.group(0)
            return f"{match.group(1)}{self.url(target[len(prefix):])}{match.group(3)}"

        html = _REF.sub(versioned, html)
        first = _FIRST_ASSET.search(html)
        at = first.start() if first else 0
        return html[:at] + self._import_map() + html[at:]

    # ------------------------------------------------------------ compression

    async def _gzip(self, etag: str, body: bytes) -> bytes:
        hit = self._gzipped.get(etag)
        if hit is not None:
            self._gzipped.move_to_end(etag)
            return hit
        if len(body) > 256 * 1024:  # a large bundle: do not stall the event loop
            packed = await asyncio.to_thread(gzip.compress, body, 6, mtime=0)
        else:
            packed = gzip.compress(body, 6, mtime=0)
        self._gzipped[etag] = packed
        while len(self._gzipped) > _GZIP_CACHE_ENTRIES:
            self._gzipped.popitem(last=False)
        return packed

    # ------------------------------------------------------------ ASGI

    def __call__(self, app: ASGIApp) -> ASGIApp:
        """The middleware around ``app`` (a static-files router)."""

        async def middleware(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http" or scope["method"] != "GET":
                await app(scope, receive, send)
                return
            start: Message | None = None
            chunks: list[bytes] = []
            size = 0
            passthrough = False
            finished = asyncio.Event()

            async def inner_receive() -> Message:
                # A streamed file waits for the client to disconnect once its body is sent;
                # buffered, nothing reached the client yet: tell it the exchange is over.
                if finished.is_set():
                    return {"type": "http.disconnect"}
                received = asyncio.ensure_future(receive())
                ended = asyncio.ensure_future(finished.wait())
                done, pending = await asyncio.wait({received, ended},
                                                   return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                return received.result() if received in done else {"type": "http.disconnect"}

            async def capture(message: Message) -> None:
                nonlocal start, size, passthrough
                if passthrough:
                    await send(message)
                elif message["type"] == "http.response.start":
                    start = message
                    if message["status"] != 200:
                        passthrough = True
                        await send(message)
                elif message["type"] == "http.response.body":
                    chunks.append(bytes(message.get("body", b"")))
                    size += len(chunks[-1])
                    if not message.get("more_body", False):
                        finished.set()
                    if size > MAX_BUFFER_BYTES:
                        passthrough = True
                        assert start is not None
                        await send(start)
                        await send({"type": "http.response.body", "body": b"".join(chunks),
                                    "more_body": message.get("more_body", False)})
                else:
                    await send(message)

            await app(scope, inner_receive, capture)
            if not passthrough and start is not None:
                await self._answer(scope, start, b"".join(chunks), send)

        return middleware

    async def _answer(self, scope: Any, start: Message, body: bytes, send: Any) -> None:
        headers = [(k, v) for k, v in start.get("headers", ()) if bytes(k).lower() not in _DROPPED]
        content_type = _header(headers, b"content-type").lower()
        if content_type.startswith(b"text/html"):
            if self.rewrite:
                # The path as the browser sent it: Litestar drops the trailing "/" of
                # scope["path"], and relative links resolve against the real one.
                page = urllib.parse.unquote(bytes(scope.get("raw_path") or b"").decode("latin-1"))
                body = self.rewrite_html(body.decode("utf-8"), page or scope["path"]).encode("utf-8")
            digest = _digest(body)
            cache = NO_CACHE
        else:
            digest = _digest(body)
            query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1")[:512])
            fixed = scope["path"].rsplit("/", 1)[-1] in self.unversioned
            cache = IMMUTABLE if not fixed and query.get("v") == [digest] else NO_CACHE
        compressible = bool(_COMPRESSIBLE.match(content_type)) and len(body) >= MIN_COMPRESS_BYTES
        wants_gzip = compressible and _accepts_gzip(_header(scope["headers"], b"accept-encoding"))
        etag = f'"{digest}.gz"' if wants_gzip else f'"{digest}"'
        headers += [(b"cache-control", cache), (b"etag", etag.encode())]
        if compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        if _matches(_header(scope["headers"], b"if-none-match"), etag):
            await send({"type": "http.response.start", "status": 304,
                        "headers": [h for h in headers if h[0] != b"content-type"]})
            await send({"type": "http.response.body", "body": b""})
            return
        if wants_gzip:
            body = await self._gzip(etag, body)
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _accepts_gzip(accept: bytes) -> bool:
    for part in accept.decode("latin-1")[:512].split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _matches(if_none_match: bytes, etag: str) -> bool:
    if not if_none_match:
        return False
    wanted = etag.strip('"')
    for tag in if_none_match.decode("latin-1")[:2048].split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag in (wanted, "*"):
            return True
    return False
