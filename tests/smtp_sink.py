"""A real SMTP server for tests (aiosmtpd), on a loopback port: it counts connections and keeps what it accepted.

``hold()`` makes it keep the next message's DATA without answering, as a slow
or stuck mail server would: a message it never answered 250 to is not delivered.
"""

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import Message

from aiosmtpd.controller import Controller

from tests.ops.servers import free_port


class SinkHandler:
    def __init__(self) -> None:
        self.connections = 0
        self.messages: list[Message] = []
        self.holding = threading.Event()
        self.held = threading.Event()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        if self.holding.is_set():
            self.held.set()
            while self.holding.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = SinkHandler()
        self.controller: Controller | None = None

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages

    @property
    def connections(self) -> int:
        return self.handler.connections

    @property
    def email_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> "SmtpSink":
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.handler.holding.clear()
            self.controller.stop()
            self.controller = None
