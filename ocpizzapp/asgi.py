"""The stream server: the live screens' Server-Sent Events (``ocpizzapp/streams.py``) and nothing else.

    uvicorn --uds /run/ocpizza-streams/streams.sock --workers 2 --timeout-graceful-shutdown 5 ocpizzapp.asgi:application

The pages stay on gunicorn (``ocpizzapp/wsgi.py``); nginx sends ``/flux/`` here (deploy/conf_files).
"""

import gc
import os
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpizzapp.settings")


class StreamsHandler(ASGIHandler):
    """Django's ASGI handler, with a request's thread living while its response is made, not while it streams.

    Django runs a request's sync parts (the middleware without an async path, the signals' receivers) on a thread
    of that request's own (asgiref's ``ThreadSensitiveContext``), kept until the request ends: a stream's thread
    would live as long as the stream, one thread per open stream, idle (11 000 threads for 11 000 streams, most
    of the memory a stream cost). Here the request's own thread serves the middleware and the view, which answer
    as they do for the page (the gate, the refusals, the headers), and ends with them; the events are then sent
    by the event loop alone. The signals before and after (``request_started``, ``request_finished``: resetting
    and closing database connections) run on asgiref's one shared thread.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"The stream server serves only HTTP, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def run_get_response(self, request: HttpRequest) -> HttpResponseBase:
        async with ThreadSensitiveContext():
            return await super().run_get_response(request)


django.setup(set_prefix=False)
django_application = StreamsHandler()

# The garbage collector, for a process holding thousands of streams' objects for minutes on end. With Python's
# default thresholds (700 young objects) every in-flight object of the 20 000 events a second is seen by many young
# collections and promoted to the old generation, which is then gone through whole every few seconds: 11 000
# streams' objects, 0.6 to 2.4 s during which no event goes out. Young collections every 100 000 objects promote a
# small share of that; what the server loaded before its first stream (Django, the views) is set apart for good.
YOUNG_OBJECTS_PER_COLLECTION = 100_000
get_resolver().url_patterns  # noqa: B018 - the views imported now, not by the first stream, so set apart below
gc.freeze()
gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, 10, 10)

STREAMS_PATH = "/flux/"
NOT_HERE = b"Ce serveur ne sert que les flux en direct (/flux/) : les pages sont servies par gunicorn.\n"


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http" and scope["path"].startswith(STREAMS_PATH):
        await django_application(scope, receive, send)
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http":
        await send(
            {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain; charset=utf-8")]}
        )
        await send({"type": "http.response.body", "body": NOT_HERE})


async def _lifespan(receive: Any, send: Any) -> None:
    """Nothing to set up or tear down: the database listener starts with the first stream."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
