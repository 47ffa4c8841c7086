"""Text messages to customers, through Twilio's official client; the only module that talks to Twilio.

Off unless TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM are all set:
customers are then told by e-mail only.
"""

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ocpizzapp.exceptions import BusinessError

# Twilio error codes that say the number itself will never take a message:
# invalid 'To', not a mobile, unsubscribed (STOP), region not enabled, landline.
REJECTED_NUMBER_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 21617})


class SmsRejected(BusinessError):
    """The provider refused this message for good (invalid number, opted out): not worth trying again."""


class SmsUnavailable(BusinessError):
    """The provider could not take the message now (error, time-out, throttling): try again later."""


def sms_enabled() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM)


def _client() -> Client:
    http_client = TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)


def sms_send(*, to: str, body: str) -> str:
    """Send ``body`` to ``to`` (E.164); returns Twilio's message SID."""
    try:
        message = _client().messages.create(to=to, from_=settings.TWILIO_FROM, body=body)
    except TwilioRestException as error:
        detail = f"Twilio {error.status} ({error.code}) : {error.msg}"[:300]
        if error.code in REJECTED_NUMBER_CODES or (400 <= error.status < 500 and error.status != 429):
            raise SmsRejected(detail) from error
        raise SmsUnavailable(detail) from error
    except requests.RequestException as error:
        raise SmsUnavailable(f"Twilio injoignable : {type(error).__name__}") from error
    return str(message.sid)
