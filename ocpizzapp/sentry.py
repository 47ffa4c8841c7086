"""Error reporting to Sentry: on only when SENTRY_DSN is set."""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration


def sentry_init(*, dsn: str, environment: str, release: str | None) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), LoggingIntegration()],
        # Customers' e-mails, addresses and phone numbers stay with us: the SDK sends
        # no personal data by default (send_default_pii, deprecated in this SDK, stays unset).
        traces_sample_rate=0.0,
    )
