"""The stream server: the live screens' Server-Sent Events (``ocpizzapp/streams.py``) and nothing else.

    uvicorn --uds /run/ocpizza-streams/streams.sock --timeout-graceful-shutdown 5 ocpizzapp.asgi:application

The pages stay on gunicorn (``ocpizzapp/wsgi.py``); nginx sends ``/flux/`` here (deploy/conf_files).
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpizzapp.settings")

django_application = get_asgi_application()

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
