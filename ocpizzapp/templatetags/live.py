"""The attributes of a live part: its poll and its stream (``ocpizzapp.streams``, htmx's SSE extension)."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def live_stream(url_name: str, *args: object, since: str = "", token: str = "") -> SafeString:
    """``hx-ext`` and ``sse-connect`` for the element whose live part follows this stream; nothing when the
    streams are off. ``since``: the version the page was drawn at, so that a change made before the stream
    opened is sent at once; ``token``: a guest's signed link."""
    if not settings.LIVE_STREAMS:
        return SafeString("")
    query = urlencode([(name, value) for name, value in (("t", token), ("lastEventId", since)) if value])
    url = settings.LIVE_STREAM_URL + reverse(url_name, args=args) + (f"?{query}" if query else "")
    return format_html('hx-ext="sse" sse-connect="{}" data-stream', url)


@register.simple_tag
def live_trigger(seconds: int) -> str:
    """A live part's ``hx-trigger``: its poll, and its stream's events when there are streams; the poll only
    while its stream is down (static/js/live.js), never with ``LIVE_POLL`` off."""
    if not settings.LIVE_STREAMS:
        return f"every {seconds}s"
    return f"every {seconds}s, sse:changed" if settings.LIVE_POLL else "sse:changed"
