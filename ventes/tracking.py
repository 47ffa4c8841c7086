"""Signed links that let a guest follow their order without an account.

The link carries the order number signed with a timestamp: it cannot be forged
for another order, and it stops working after ``MAX_AGE``.
"""

import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "ventes.order-tracking"
MAX_AGE = datetime.timedelta(days=30)


def order_tracking_token(*, number: str) -> str:
    return signing.TimestampSigner(salt=SALT).sign(number)


def order_number_from_token(token: str) -> str | None:
    """The order number a token was made for, or None when forged or expired."""
    try:
        return signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one of them
        return None


def order_tracking_url(*, number: str, absolute: bool = False) -> str:
    path = reverse("ventes:order_detail", kwargs={"number": number})
    url = f"{path}?{urlencode({'t': order_tracking_token(number=number)})}"
    return f"{settings.SITE_URL}{url}" if absolute else url
