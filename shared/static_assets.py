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
* JavaScript and CSS go out without their comments and indentation (``asset_minify``: every
  line kept, so stack traces keep their line numbers), a fifth less once compressed.
* Text bodies of 1 KB or more are compressed: brotli (quality 11, Google's ``Brotli``) when
  the request accepts ``br``, else gzip (level 9); each file version once, kept in memory.
  Chromium offers ``br`` to secure origins only (HTTPS, ``localhost``/``127.0.0.1``): a tablet
  reaching the edge at ``http://<LAN address>`` gets gzip, so both are kept small.
* Headers the browser has no use for (``Content-Disposition``) are dropped: each response's
  headers count too, and an app loads 10-20 files.

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

import brotli

from shared.asset_minify import strip_css, strip_js

__all__ = ["APIDOCS_DIR", "IMMUTABLE", "NO_CACHE", "StaticAssets"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[[Any, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]

APIDOCS_DIR = Path(__file__).parent / "apidocs"  # Swagger UI, vendored (see its README.md)
IMMUTABLE = b"public, max-age=31536000, immutable"
NO_CACHE = b"no-cache"
MIN_COMPRESS_BYTES = 1024  # below this gzip's header eats most of the gain
MAX_BUFFER_BYTES = 8 * 1024 * 1024  # larger files stream through untouched
MAX_STRIP_BYTES = 256 * 1024  # larger JS/CSS is a vendored bundle, minified already
_BEST_BROTLI_BYTES = 256 * 1024  # brotli 11 is ~1 MB/s: above this, quality 5
_CACHE_ENTRIES = 512
_COMPRESSIBLE = re.compile(rb"^(text/|application/(javascript|([\w.+-]*\+)?json|x-yaml)|image/svg\+xml)")
_DROPPED = frozenset({b"content-length", b"etag", b"last-modified", b"cache-control",
                      b"content-encoding", b"vary", b"content-disposition"})
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
        self._cache: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()

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

    async def _cached(self, key: tuple[str, str], make: Callable[[], bytes],
                      size: int) -> tuple[bytes, str]:
        """``make()`` and its digest, once per ``key`` (made in a thread when it is slow)."""
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        # brotli 11 takes ~10 ms per 1 KB: never on the event loop
        body = await asyncio.to_thread(make) if size > 4096 else make()
        entry = (body, _digest(body))
        self._cache[key] = entry
        while len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return entry

    async def _stripped(self, digest: str, body: bytes, content_type: bytes) -> tuple[bytes, str]:
        """JS/CSS without comments and indentation, and the digest of what is sent."""
        strip = (strip_js if b"javascript" in content_type
                 else strip_css if content_type.startswith(b"text/css") else None)
        if strip is None or len(body) > MAX_STRIP_BYTES:
            return body, digest
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body, digest
        return await self._cached((digest, "strip"), lambda: strip(text).encode("utf-8"), len(body))

    async def _encoded(self, digest: str, coding: str, body: bytes) -> bytes:
        def make() -> bytes:
            if coding == "br":
                quality = 11 if len(body) <= _BEST_BROTLI_BYTES else 5
                return bytes(brotli.compress(body, quality=quality))
            return gzip.compress(body, 9, mtime=0)

        return (await self._cached((digest, coding), make, len(body)))[0]

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
            version = _digest(body)  # of the file as stored: what ?v= names
            query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1")[:512])
            fixed = scope["path"].rsplit("/", 1)[-1] in self.unversioned
            cache = IMMUTABLE if not fixed and query.get("v") == [version] else NO_CACHE
            body, digest = await self._stripped(version, body, content_type)
        compressible = bool(_COMPRESSIBLE.match(content_type)) and len(body) >= MIN_COMPRESS_BYTES
        coding = (_coding(_header(scope["headers"], b"accept-encoding")) if compressible
                  else None)
        etag = f'"{digest}.{_SUFFIX[coding]}"' if coding else f'"{digest}"'
        headers += [(b"cache-control", cache), (b"etag", etag.encode())]
        if compressible:
            headers.append((b"vary", b"Accept-Encoding"))
        if _matches(_header(scope["headers"], b"if-none-match"), etag):
            await send({"type": "http.response.start", "status": 304,
                        "headers": [h for h in headers if h[0] != b"content-type"]})
            await send({"type": "http.response.body", "body": b""})
            return
        if coding:
            body = await self._encoded(digest, coding, body)
            headers.append((b"content-encoding", coding.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_SUFFIX = {"br": "br", "gzip": "gz"}


def _coding(accept: bytes) -> str | None:
    """``br`` or ``gzip`` (brotli first: it is ~15% smaller) if ``accept`` allows it, else None."""
    allowed: dict[str, bool] = {}
    for part in accept.decode("latin-1")[:512].split(","):
        coding, _, params = part.strip().partition(";")
        refused = params.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        allowed.setdefault(coding.strip().lower(), not refused)
    for coding in ("br", "gzip"):
        if allowed.get(coding, allowed.get("*", False)):
            return coding
    return None


def _matches(if_none_match: bytes, etag: str) -> bool:
    if not if_none_match:
        return False
    wanted = etag.strip('"')
    for tag in if_none_match.decode("latin-1")[:2048].split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag in (wanted, "*"):
            return True
    return False
