"""A tiny TCP forwarder for sync tests: switch the link to the hub on and off, or make it drop
replies after the request was delivered (the hub commits, the edge never hears back)."""

from __future__ import annotations

import asyncio
import contextlib


class LinkProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._up = True
        self.drop_replies = False  # deliver requests but cut the connection before the reply
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def up(self) -> bool:
        return self._up

    @up.setter
    def up(self, value: bool) -> None:
        """Going down also cuts the connections already open (keep-alive ones included)."""
        self._up = value
        if not value:
            for task in list(self._tasks):
                task.cancel()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, replies: bool) -> None:
            try:
                while data := await src.read(65536):
                    if replies and self.drop_replies:
                        break
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.close()

        tasks = [asyncio.create_task(pipe(reader, up_writer, False)),
                 asyncio.create_task(pipe(up_reader, writer, True))]
        self._tasks.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.difference_update(tasks)
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()


class ThreadedLinkProxy:
    """A LinkProxy on its own event loop thread, for tests that drive subprocesses."""

    def __init__(self, target_host: str, target_port: int) -> None:
        import threading

        self.proxy = LinkProxy(target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self._loop).result(10)

    @property
    def url(self) -> str:
        return self.proxy.url

    def set(self, **flags: bool) -> None:
        def apply() -> None:
            for name, value in flags.items():
                setattr(self.proxy, name, value)
        self._loop.call_soon_threadsafe(apply)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
