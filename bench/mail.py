"""A mail server for the benchmark: real SMTP on a loopback port, answering each message after a set delay.

A slow mail server is the case the task queue is for: with the messages sent
by the worker, the order flow's latency must not move with this delay.
"""

import asyncio
import socket

from aiosmtpd.controller import Controller


class _SlowHandler:
    def __init__(self, delay_seconds: float) -> None:
        self.delay_seconds = delay_seconds
        self.received = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.delay_seconds)
        self.received += 1
        return "250 OK"


class SlowMailServer:
    def __init__(self, *, delay_ms: int) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.handler = _SlowHandler(delay_ms / 1000)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> int:
        return self.handler.received

    def start(self) -> "SlowMailServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
