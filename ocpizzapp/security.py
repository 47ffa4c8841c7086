"""The client address for login throttling: what the connection says, or what trusted proxies say."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless ``TRUSTED_PROXY_COUNT`` proxies stand in front of the application.

    Each trusted proxy appends the address it received the connection from
    (nginx: ``$proxy_add_x_forwarded_for``), so with N of them the N-th entry
    from the right is the last one a client cannot forge; everything left of it
    is whatever the client sent. With no proxy configured the header is only
    what the client wrote: reading it would let anyone reaching gunicorn
    directly pick a new address per attempt and dodge the lockout.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [entry for entry in entries if entry]
    # Fewer entries than proxies: the request did not come through them all.
    return entries[-count] if len(entries) >= count else remote


def login_name(request: HttpRequest, credentials: dict | None) -> str | None:
    """The e-mail being tried, lowercased so that "Camille@" does not dodge the lock on "camille@"."""
    name = (credentials or {}).get("username") or (credentials or {}).get("email")
    if not name and request is not None:
        name = request.POST.get("username")
    return name.strip().lower() if isinstance(name, str) else None
