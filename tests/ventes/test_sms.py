"""SMS: Twilio's real client against HTTP-level fakes of its API (responses); no network."""

from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests import factories
from tests.queue import run_queued_tasks
from ventes import sms
from ventes.models import Order
from ventes.notifications import SMS_READY_FOR_DELIVERY, SMS_TEXTS, sms_text

from .helpers import place

SID = "AC" + "0" * 32
MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
# The GSM 03.38 basic alphabet: a text in these letters only fits 160 to a segment.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.fixture
def twilio(settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, "secret", "+33700000000"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        yield fake


def twilio_error(status: int, code: int, message: str) -> dict:
    return {
        "status": status,
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }


def sms_order(shop, phone="+33612345678", **overrides):
    order = place(shop, **overrides)
    Order.objects.filter(pk=order.pk).update(sms_phone=phone, sms_consent_at=timezone.now(), notify_email=False)
    return order


def test_sms_are_off_without_the_three_keys(settings, shop):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, "secret", ""
    assert not sms.sms_enabled()
    sms_order(shop)
    run_queued_tasks()
    assert not Order.objects.get().notifications.exists()


def test_an_order_followed_by_sms_gets_one_short_text_with_its_link(twilio, settings, shop):
    settings.SITE_URL = "https://ocpizza.fr"
    twilio.add(responses.POST, MESSAGES, json={"sid": "SM" + "1" * 32, "status": "queued"}, status=201)
    order = sms_order(shop)
    assert run_queued_tasks() == 1
    sent = parse_qs(twilio.calls[0].request.body)
    assert sent["To"] == ["+33612345678"] and sent["From"] == ["+33700000000"]
    assert sent["Body"][0].startswith("OC Pizza : commande enregistrée. https://ocpizza.fr/commande/")
    notification = order.notifications.get()
    assert (notification.channel, notification.status, notification.provider_id) == ("sms", "sent", "SM" + "1" * 32)


def test_every_text_fits_one_segment(settings, shop):
    settings.SITE_URL = "https://ocpizza.fr"
    order = place(shop)
    for state in SMS_TEXTS:
        text = sms_text(order=order, state=state)
        assert set(text) <= GSM7 and len(text) <= 160, (state, len(text), set(text) - GSM7)
    assert set(SMS_READY_FOR_DELIVERY) - {"{", "}"} <= GSM7


def test_an_invalid_number_is_not_retried_and_is_logged(twilio, shop, caplog):
    twilio.add(responses.POST, MESSAGES, json=twilio_error(400, 21211, "Invalid 'To' Phone Number"), status=400)
    order = sms_order(shop)
    run_queued_tasks()
    notification = order.notifications.get()
    assert (notification.status, notification.attempts) == ("failed", 1)
    assert "21211" in notification.last_error
    assert not DBTaskResult.objects.ready().exists()
    assert "refused for good" in caplog.text


@pytest.mark.parametrize(
    "answer",
    [
        {"json": twilio_error(500, 20500, "Internal Server Error"), "status": 500},
        {"json": twilio_error(429, 20429, "Too Many Requests"), "status": 429},
        {"body": requests.exceptions.ConnectTimeout("timed out")},
    ],
    ids=["error", "throttled", "timeout"],
)
def test_provider_errors_and_timeouts_are_retried(twilio, shop, answer):
    twilio.add(responses.POST, MESSAGES, **answer)
    order = sms_order(shop)
    run_queued_tasks()
    notification = order.notifications.get()
    assert (notification.status, notification.attempts) == ("pending", 1)
    retry = DBTaskResult.objects.get(status="READY")
    assert retry.task_path == "ventes.notifications.notification_send"

    twilio.replace(responses.POST, MESSAGES, json={"sid": "SM" + "2" * 32, "status": "queued"}, status=201)
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    Order.objects.get(pk=order.pk).notifications.update(next_attempt_at=timezone.now())
    run_queued_tasks()
    assert order.notifications.get().status == "sent"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("06 12 34 56 78", "+33612345678"), ("+33 7 81 23 45 67", "+33781234567"), ("0033612345678", "+33612345678")],
)
def test_mobile_numbers_are_stored_in_e164(raw, e164):
    assert sms.sms_number(raw) == e164


@pytest.mark.parametrize("raw", ["01 42 00 00 00", "06 12", "not a number", "+1 202"])
def test_a_number_that_takes_no_sms_is_refused_in_french(raw):
    with pytest.raises(sms.InvalidMobile, match="numéro de mobile valable"):
        sms.sms_number(raw)


def test_checkout_records_the_sms_choice_and_its_consent(client, twilio, shop):
    from .helpers import GUEST
    from .test_views_checkout import fill_cart, token_of

    fill_cart(client, shop, shop.margherita, 1)
    page = client.get("/commander/").content.decode()
    assert "Par e-mail et par SMS" in page
    response = client.post("/commander/", {**GUEST, "notify_by": "sms", "token": token_of(client.get("/commander/"))})
    assert response.status_code == 302
    order = Order.objects.get()
    assert str(order.sms_phone) == "+33612345678" and order.sms_consent_at is not None and not order.notify_email


def test_checkout_refuses_a_landline_for_sms_and_places_nothing(client, twilio, shop):
    from .helpers import GUEST
    from .test_views_checkout import fill_cart, token_of

    fill_cart(client, shop, shop.margherita, 1)
    data = {
        **GUEST,
        "customer_phone": "01 42 00 00 00",
        "notify_by": "both",
        "token": token_of(client.get("/commander/")),
    }
    response = client.post("/commander/", data)
    assert response.status_code == 200
    assert "indiquez un numéro de mobile valable" in response.content.decode()
    assert not Order.objects.exists()


def test_the_account_gives_and_withdraws_the_sms_consent(client, db):
    customer = factories.CustomerFactory(phone="06 12 34 56 78")
    client.force_login(customer.user)
    profile = {"first_name": "Camille", "last_name": "Martin", "phone": "06 12 34 56 78", "notify_email": "on"}
    client.post("/compte/", {**profile, "sms_updates": "on"})
    customer.refresh_from_db()
    assert str(customer.sms_phone) == "+33612345678" and customer.sms_consent_at is not None
    client.post("/compte/", profile)
    customer.refresh_from_db()
    assert customer.sms_consent_at is None and not customer.sms_phone and customer.notify_email
