"""Error reporting to Sentry: on only when SENTRY_DSN is set.

One failure, one event. A failure is often seen several times on its way up:
logged where it happened (the logging integration makes an event of every
ERROR record carrying an exception), wrapped into another exception and
re-raised (``raise … from error``), caught by a middleware that logs it again,
reported by the job runner, then by Django's request signal. The SDK's own
dedupe only recognises the very same exception object seen last, so each
wrapper or re-log of the same failure became a new event. ``before_send``
drops an event when any exception of its chain was already reported.

No personal data: the SDK sends none by default (send_default_pii stays
unset), but a URL's query string, a log message or an exception's text may
carry a customer's e-mail address; ``before_send`` blanks every address.
"""

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

EMAIL = re.compile(r"[\w.+%-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
EMAIL_PLACEHOLDER = "[adresse masquée]"
_REPORTED = "_ocpizza_reported_to_sentry"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _already_reported(hint: Hint) -> bool:
    exc_info = hint.get("exc_info")
    if not exc_info or exc_info[1] is None:
        return False
    chain = list(_chain(exc_info[1]))
    if any(getattr(error, _REPORTED, False) for error in chain):
        return True
    for error in chain:
        # An exception type with __slots__ cannot be marked: the SDK's own dedupe still applies.
        with contextlib.suppress(AttributeError):
            setattr(error, _REPORTED, True)
    return False


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return EMAIL.sub(EMAIL_PLACEHOLDER, value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def before_send(event: Event, hint: Hint) -> Event | None:
    if _already_reported(hint):
        return None
    scrubbed: Event = _scrub(event)
    return scrubbed


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb | None:
    scrubbed: Breadcrumb = _scrub(crumb)
    return scrubbed


def sentry_init(*, dsn: str, environment: str, release: str | None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        traces_sample_rate=0.0,
    )
