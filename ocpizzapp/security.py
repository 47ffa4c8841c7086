"""The client address as nginx saw it, for login throttling."""

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The right-most X-Forwarded-For entry, else REMOTE_ADDR.

    nginx appends the address it received the connection from
    (``$proxy_add_x_forwarded_for``), so the last entry is the only one a client
    cannot forge; everything left of it is whatever the client sent.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or request.META.get("REMOTE_ADDR", "")


def login_name(request: HttpRequest, credentials: dict | None) -> str | None:
    """The e-mail being tried, lowercased so that "Camille@" does not dodge the lock on "camille@"."""
    name = (credentials or {}).get("username") or (credentials or {}).get("email")
    if not name and request is not None:
        name = request.POST.get("username")
    return name.strip().lower() if isinstance(name, str) else None
