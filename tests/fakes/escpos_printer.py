"""A fake ESC/POS network printer: a real TCP server (raw port 9100 protocol) that decodes
the byte stream the way a thermal printer does, so tests can assert what was printed.

It understands the commands receipt software sends (init, code page, alignment, bold,
underline, character size, font, feed, cut, cash drawer pulse, real-time status) and splits
the stream into documents at each paper cut. Unknown commands are recorded, never guessed at
silently, so a test can notice bytes a real printer would not understand.

Use::

    with FakeEscposPrinter() as printer:          # binds 127.0.0.1 on a free port
        ... configure the edge with printer.port ...
        doc = printer.wait_for_documents(1)[0]
        assert "Rp 25.000" in doc.text

``FakeEscposPrinter(port=N)`` binds a chosen port, so a test can configure a printer first
and start it later (the "printer was down" case).
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field

__all__ = ["EscposDecoder", "FakeEscposPrinter", "PrintedDocument", "free_port"]

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C

# ESC t n -> Python codec (the tables python-escpos' default profile selects).
_CODEPAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252",
              17: "cp866", 18: "cp852", 19: "cp858"}

# ESC <cmd> followed by a fixed number of argument bytes.
_ESC_ARGS = {ord("@"): 0, ord("!"): 1, ord("E"): 1, ord("-"): 1, ord("a"): 1, ord("t"): 1,
             ord("M"): 1, ord("d"): 1, ord("J"): 1, ord("G"): 1, ord("{"): 1, ord("2"): 0,
             ord("3"): 1, ord("p"): 3, ord("V"): 1, ord("R"): 1, ord("c"): 2, ord("="): 1,
             ord("B"): 2, ord("e"): 1, ord("$"): 2, ord(" "): 1}
_GS_ARGS = {ord("!"): 1, ord("B"): 1, ord("b"): 1, ord("H"): 1, ord("f"): 1, ord("h"): 1,
            ord("w"): 1, ord("L"): 2, ord("W"): 2, ord("a"): 1, ord("r"): 1}


@dataclass
class PrintedDocument:
    """Everything printed between two paper cuts."""

    text: str = ""
    bold_text: str = ""       # characters printed while bold was on
    large_text: str = ""      # characters printed at more than normal size
    commands: list[str] = field(default_factory=list)
    cut: str | None = None    # "full" | "partial" once the paper was cut
    drawer_kicked: bool = False

    @property
    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.text.splitlines()]


class EscposDecoder:
    """Incremental ESC/POS stream decoder; feed() bytes as they arrive."""

    def __init__(self) -> None:
        self.documents: list[PrintedDocument] = []
        self.current = PrintedDocument()
        self.unknown: list[bytes] = []
        self.status_requests = 0
        self._buffer = bytearray()
        self._codec = "cp437"
        self._bold = False
        self._large = False

    def feed(self, data: bytes) -> list[bytes]:
        """Consume bytes; return replies owed to the host (real-time status answers)."""
        self._buffer += data
        replies: list[bytes] = []
        while self._buffer:
            consumed = self._step(replies)
            if consumed == 0:  # incomplete command: wait for more bytes
                break
            del self._buffer[:consumed]
        return replies

    def finish(self) -> None:
        """The connection closed: keep an uncut trailing document if it printed anything."""
        if self.current.text or self.current.commands:
            self.documents.append(self.current)
            self.current = PrintedDocument()

    # -- decoding ---------------------------------------------------------------------------

    def _step(self, replies: list[bytes]) -> int:
        buf = self._buffer
        first = buf[0]
        if first == ESC:
            return self._esc(buf)
        if first == GS:
            return self._gs(buf)
        if first == DLE:
            if len(buf) < 3:
                return 0
            if buf[1] == 0x04:  # DLE EOT n: real-time status; 0x12 = online, paper present
                self.status_requests += 1
                replies.append(b"\x12")
                return 3
            self.unknown.append(bytes(buf[:3]))
            return 3
        if first == FS:
            if len(buf) < 2:
                return 0
            self.current.commands.append(f"FS {chr(buf[1])}")
            return 2
        if first in (0x0A, 0x0D, 0x09) or first >= 0x20:
            end = 1
            while end < len(buf) and buf[end] not in (ESC, GS, DLE, FS) and (
                    buf[end] in (0x0A, 0x0D, 0x09) or buf[end] >= 0x20):
                end += 1
            self._print(bytes(buf[:end]))
            return end
        self.unknown.append(bytes(buf[:1]))
        return 1

    def _print(self, raw: bytes) -> None:
        text = raw.replace(b"\r", b"").decode(self._codec, errors="replace")
        self.current.text += text
        if self._bold:
            self.current.bold_text += text
        if self._large:
            self.current.large_text += text

    def _esc(self, buf: bytearray) -> int:
        if len(buf) < 2:
            return 0
        cmd = buf[1]
        nargs = _ESC_ARGS.get(cmd)
        if nargs is None:
            self.unknown.append(bytes(buf[:2]))
            return 2
        if len(buf) < 2 + nargs:
            return 0
        args = bytes(buf[2:2 + nargs])
        name = chr(cmd)
        if name == "@":
            self._bold = self._large = False
            self._codec = "cp437"
        elif name == "t":
            self._codec = _CODEPAGES.get(args[0], "cp437")
        elif name == "E":
            self._bold = bool(args[0] & 1)
        elif name == "!":
            self._bold = bool(args[0] & 0x08)
            self._large = bool(args[0] & 0x30)
        elif name == "d":
            self._print(b"\n" * args[0])
        elif name == "p":
            self.current.drawer_kicked = True
        self.current.commands.append(f"ESC {name} {args.hex()}".rstrip())
        return 2 + nargs

    def _gs(self, buf: bytearray) -> int:
        if len(buf) < 2:
            return 0
        cmd = buf[1]
        if cmd == ord("V"):  # cut: GS V m, or GS V m n for m in 65/66
            if len(buf) < 3:
                return 0
            mode = buf[2]
            length = 4 if mode in (65, 66) else 3
            if len(buf) < length:
                return 0
            self.current.cut = "partial" if mode in (1, 49, 66) else "full"
            self.current.commands.append("GS V")
            self.documents.append(self.current)
            self.current = PrintedDocument()
            return length
        if cmd == ord("v"):  # GS v 0 m xL xH yL yH d1...dk: raster image
            if len(buf) < 8:
                return 0
            width, height = buf[4] + buf[5] * 256, buf[6] + buf[7] * 256
            total = 8 + width * height
            if len(buf) < total:
                return 0
            self.current.commands.append("GS v0 image")
            return total
        if cmd == ord("("):  # GS ( X pL pH data: length-prefixed functions (QR, density)
            if len(buf) < 5:
                return 0
            total = 5 + buf[3] + buf[4] * 256
            if len(buf) < total:
                return 0
            self.current.commands.append(f"GS ( {chr(buf[2])}")
            return total
        nargs = _GS_ARGS.get(cmd)
        if nargs is None:
            self.unknown.append(bytes(buf[:2]))
            return 2
        if len(buf) < 2 + nargs:
            return 0
        args = bytes(buf[2:2 + nargs])
        if cmd == ord("!"):
            self._large = args[0] != 0
        self.current.commands.append(f"GS {chr(cmd)} {args.hex()}")
        return 2 + nargs


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        decoder = EscposDecoder()
        self.request.settimeout(10)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                for reply in decoder.feed(data):
                    self.request.sendall(reply)
        except OSError:
            pass
        decoder.finish()
        self.server.owner._collect(decoder)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    owner: FakeEscposPrinter


class FakeEscposPrinter:
    """A thermal printer on 127.0.0.1 that remembers every document it printed."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self._port = port
        self.documents: list[PrintedDocument] = []
        self.unknown_commands: list[bytes] = []
        self.connections = 0
        self._lock = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is not None:
            return int(self._server.server_address[1])
        return self._port

    def start(self) -> FakeEscposPrinter:
        self._server = _Server((self.host, self._port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=f"fake-escpos-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeEscposPrinter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _collect(self, decoder: EscposDecoder) -> None:
        with self._lock:
            self.connections += 1
            self.documents.extend(decoder.documents)
            self.unknown_commands.extend(decoder.unknown)
            self._lock.notify_all()

    def wait_for_documents(self, count: int, timeout: float = 15.0) -> list[PrintedDocument]:
        """Block until at least ``count`` documents were printed; return them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.documents) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"printer got {len(self.documents)} documents, expected {count}")
                self._lock.wait(remaining)
            return list(self.documents)


def free_port() -> int:
    """A TCP port nobody listens on right now (for a printer that starts later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
