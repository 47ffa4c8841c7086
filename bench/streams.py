"""The live streams' scenario (issue 21): many idle tracking and kitchen streams held open at once, orders
changing at a steady rate, and how long each change takes from its commit to the event a client receives.

The stream server is built separately; until its endpoints exist this scenario measures nothing and the
report says so. Its contract, for whoever fills it in:

- open ``order_streams`` EventSource-like HTTP clients on order pages' streams (guests, by signed link) and
  ``kitchen_streams`` on the kitchen's (a pizzaiolo's session cookie: ``fixture.kitchen_cookie``), idle but
  for the heartbeats, from a few processes with non-blocking sockets;
- move ``changes_per_second`` orders through the workflow (``ventes.workflow``) from this process, noting
  each commit's time, and time each change's event on a client that follows that order;
- read the stream server's resident memory (``/proc/<pid>/status``, VmRSS) with every stream open;
- return ``{"summary": str, "met": bool, "order_streams": int, "kitchen_streams": int, "rss_mb": float,
  "p50_ms": float, "p99_ms": float, "errors": int}``; "met" is the target: the streams all held and the
  p99 from commit to event under 1 s.
"""

ORDER_STREAMS = 10_000
KITCHEN_STREAMS = 1_000
CHANGES_PER_SECOND = 20.0


def streams_measure(
    *,
    base: str,
    fixture,
    seconds: float,
    order_streams: int = ORDER_STREAMS,
    kitchen_streams: int = KITCHEN_STREAMS,
    changes_per_second: float = CHANGES_PER_SECOND,
) -> dict | None:
    """The figures above, or None while this build serves no stream."""
    return None
