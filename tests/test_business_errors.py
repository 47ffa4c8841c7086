"""Typed business errors carry their HTTP meaning and are answered in one place (ocpizzapp.errors)."""

from http import HTTPStatus

import pytest

from accounts.exceptions import EmailAlreadyUsed
from ocpizzapp.exceptions import BusinessError
from production.exceptions import SoldOut
from ventes.exceptions import (
    IllegalTransition,
    InvalidOrder,
    OrderNotEditable,
    PizzeriaUnavailable,
    TransitionForbidden,
    UnknownAddress,
)
from ventes.geo import GeocodingUnavailable, OutOfDeliveryZone

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_business_errors")]
MESSAGE = "Cette commande vient de changer d&#x27;état."


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BusinessError, HTTPStatus.BAD_REQUEST),
        (InvalidOrder, HTTPStatus.BAD_REQUEST),
        (OutOfDeliveryZone, HTTPStatus.BAD_REQUEST),
        (IllegalTransition, HTTPStatus.CONFLICT),
        (OrderNotEditable, HTTPStatus.CONFLICT),
        (PizzeriaUnavailable, HTTPStatus.CONFLICT),
        (SoldOut, HTTPStatus.CONFLICT),
        (EmailAlreadyUsed, HTTPStatus.CONFLICT),
        (TransitionForbidden, HTTPStatus.NOT_FOUND),
        (UnknownAddress, HTTPStatus.NOT_FOUND),
        (GeocodingUnavailable, HTTPStatus.SERVICE_UNAVAILABLE),
    ],
)
def test_each_error_says_what_it_means_in_http(error, status):
    assert error.status == status


def test_a_page_goes_back_where_it_came_from_with_the_message(client):
    response = client.post("/conflit/", HTTP_REFERER="http://testserver/commande/BAS-1/")
    assert (response.status_code, response["Location"]) == (302, "http://testserver/commande/BAS-1/")


def test_the_message_is_shown_on_the_page_gone_back_to(client):
    response = client.post("/conflit/", HTTP_REFERER="http://testserver/", follow=True)
    assert response.status_code == 200
    assert MESSAGE in response.content.decode()


def test_without_a_page_to_go_back_to_an_error_page_with_the_status(client):
    response = client.post("/conflit/", HTTP_REFERER="https://elsewhere.example/")
    assert response.status_code == 409
    assert MESSAGE in response.content.decode() and "<h1>Opération impossible</h1>" in response.content.decode()


def test_htmx_gets_the_message_as_a_partial_with_the_status(client):
    response = client.post("/conflit/", HTTP_HX_REQUEST="true", HTTP_REFERER="http://testserver/")
    assert response.status_code == 409
    html = response.content.decode()
    assert 'role="alert"' in html and MESSAGE in html and "<html" not in html
    # Shown in the page's alert region whatever the action's target (htmx swaps it: static/js/errors.js).
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#htmx-errors", "innerHTML")
    assert response["OC-Business-Error"] == "illegal_transition"


def test_a_not_found_error_is_the_404_page(client):
    response = client.post("/interdit/")
    assert response.status_code == 404
