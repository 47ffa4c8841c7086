"""What the stream servers hear: a change to the live screens, told inside the transaction that makes it.

A change calls ``live_notify`` with what it touched (an order, a pizzeria); PostgreSQL's ``NOTIFY`` is
transactional, so the stream servers (``ocpizzapp.streams``), each listening on ``CHANNEL``, hear of
it once it is committed, never before and never when it is rolled back, on every server at once.
The message names topics only: each stream then reads its own page's version, as its page would.
"""

from django.conf import settings
from django.db import connection

CHANNEL = "ocpizza_live"


def order_topic(order_id: int) -> str:
    return f"order:{order_id}"


def pizzeria_topic(pizzeria_id: int) -> str:
    return f"pizzeria:{pizzeria_id}"


def live_notify(*, order_id: int | None = None, pizzeria_id: int | None = None) -> None:
    """Tell the stream servers, when the current transaction commits, that what these show has changed."""
    if not settings.LIVE_STREAMS:
        return
    topics = [order_topic(order_id)] if order_id is not None else []
    if pizzeria_id is not None:
        topics.append(pizzeria_topic(pizzeria_id))
    with connection.cursor() as cursor:
        # psycopg2 writes the payload into the statement as a quoted literal, which NOTIFY takes.
        cursor.execute(f"NOTIFY {CHANNEL}, %s", [" ".join(topics)])
