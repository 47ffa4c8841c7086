"""Google Maps delivery zones, driven through the real googlemaps client against faked HTTP."""

import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache
from django.utils import timezone

from production.models import OpeningHours
from tests.factories import PizzeriaFactory
from ventes.geo import (
    AddressNotFound,
    GeocodingUnavailable,
    Location,
    OutOfDeliveryZone,
    delivery_zone_check,
    distance_km,
    geocode_address,
    nearest_pizzeria_for,
    pizzerias_delivering_to,
)

GEOCODE_URL = "https://maps.googleapis.com/maps/api/geocode/json"
# The customer's address, and pizzerias around it.
HOME = (48.860000, 2.380000)
NEAR = (Decimal("48.861000"), Decimal("2.379000"))  # ~0.1 km
MIDDLE = (Decimal("48.856600"), Decimal("2.352200"))  # ~2.1 km
FAR = (Decimal("48.890000"), Decimal("2.200000"))  # ~13.5 km
# A Monday at noon, Paris time.
NOON = timezone.make_aware(datetime.datetime(2026, 11, 23, 12, 0))


def found(lat=HOME[0], lng=HOME[1], formatted="8 Rue Keller, 75011 Paris, France"):
    return {
        "status": "OK",
        "results": [{"formatted_address": formatted, "geometry": {"location": {"lat": lat, "lng": lng}}}],
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def gmap_key(settings):
    settings.GMAP_API_KEY = "AIzaTestKeyNotReal"


@pytest.fixture
def google():
    # Any request that is not faked fails: the suite never reaches the network.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def pizzeria_at(point, *, hours=None, **fields):
    """A pizzeria at ``point``, open all day unless ``hours`` lists (opens, closes) for NOON's day."""
    pizzeria = PizzeriaFactory(latitude=point[0], longitude=point[1], open_all_week=hours is None, **fields)
    for opens, closes in hours or []:
        OpeningHours.objects.create(pizzeria=pizzeria, weekday=NOON.weekday(), opens=opens, closes=closes)
    return pizzeria


# --- geocoding -------------------------------------------------------------------


def test_geocode_found_returns_coordinates_and_sends_key_and_country(gmap_key, google):
    google.get(GEOCODE_URL, json=found())

    location = geocode_address(address="8 rue Keller, 75011 Paris")

    assert location == Location(
        latitude=Decimal("48.860000"),
        longitude=Decimal("2.380000"),
        formatted_address="8 Rue Keller, 75011 Paris, France",
    )
    query = parse_qs(urlsplit(google.calls[0].request.url).query)
    assert query["key"] == ["AIzaTestKeyNotReal"]
    assert query["address"] == ["8 rue Keller, 75011 Paris"]
    assert query["components"] == ["country:FR"]


def test_geocode_zero_results_returns_none(gmap_key, google):
    google.get(GEOCODE_URL, json={"status": "ZERO_RESULTS", "results": []})

    assert geocode_address(address="nulle part, 75099") is None


@pytest.mark.parametrize("status", ["OVER_QUERY_LIMIT", "OVER_DAILY_LIMIT", "REQUEST_DENIED"])
def test_geocode_quota_or_refusal_raises_unavailable_without_retrying(gmap_key, google, status):
    google.get(GEOCODE_URL, json={"status": status, "results": [], "error_message": "quota"})

    with pytest.raises(GeocodingUnavailable) as raised:
        geocode_address(address="8 rue Keller, 75011 Paris")

    assert raised.value.code == "geocoding_unavailable"
    assert "choisissez votre pizzeria" in raised.value.message
    assert len(google.calls) == 1


@pytest.mark.parametrize("error", [requests.exceptions.Timeout(), requests.exceptions.ConnectTimeout()])
def test_geocode_timeout_raises_unavailable_at_once(gmap_key, google, error):
    google.get(GEOCODE_URL, body=error)

    with pytest.raises(GeocodingUnavailable):
        geocode_address(address="8 rue Keller, 75011 Paris")

    assert len(google.calls) == 1


def test_geocode_uses_a_short_timeout(gmap_key, google):
    google.get(GEOCODE_URL, json=found())

    geocode_address(address="8 rue Keller, 75011 Paris")

    assert google.calls[0].request.req_kwargs["timeout"] <= 5


def test_geocode_is_cached_by_normalised_address(gmap_key, google):
    google.get(GEOCODE_URL, json=found())

    first = geocode_address(address="8 rue Keller, 75011 Paris")
    second = geocode_address(address="  8 Rue KELLER,   75011 paris ")

    assert second == first
    assert len(google.calls) == 1


def test_geocode_caches_zero_results_too(gmap_key, google):
    google.get(GEOCODE_URL, json={"status": "ZERO_RESULTS", "results": []})

    assert geocode_address(address="nulle part, 75099") is None
    assert geocode_address(address="nulle part, 75099") is None
    assert len(google.calls) == 1


def test_failures_are_not_cached(gmap_key, google):
    google.get(GEOCODE_URL, json={"status": "OVER_QUERY_LIMIT", "results": []})
    with pytest.raises(GeocodingUnavailable):
        geocode_address(address="8 rue Keller, 75011 Paris")

    google.replace(responses.GET, GEOCODE_URL, json=found())
    assert geocode_address(address="8 rue Keller, 75011 Paris") is not None


def test_geocode_without_key_is_unavailable_and_sends_nothing(settings, google):
    settings.GMAP_API_KEY = ""

    with pytest.raises(GeocodingUnavailable):
        geocode_address(address="8 rue Keller, 75011 Paris")

    assert len(google.calls) == 0


def test_a_malformed_key_is_unavailable_and_sends_nothing(settings, google):
    settings.GMAP_API_KEY = "not-a-google-key"

    with pytest.raises(GeocodingUnavailable):
        geocode_address(address="8 rue Keller, 75011 Paris")

    assert len(google.calls) == 0


def test_distance_is_the_straight_line():
    paris, lyon = (48.8566, 2.3522), (45.7640, 4.8357)

    assert distance_km(*paris, *lyon) == pytest.approx(392, abs=2)
    assert distance_km(*paris, *paris) == 0


# --- nearest pizzeria ------------------------------------------------------------


@pytest.mark.django_db
def test_nearest_open_pizzeria_whose_radius_covers_the_address(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    pizzeria_at(MIDDLE, name="Bastille")
    near = pizzeria_at(NEAR, name="Oberkampf")
    pizzeria_at(FAR, name="Levallois", delivery_radius_km=Decimal("20.0"))

    assert nearest_pizzeria_for(address="8 rue Keller", postcode="75011", at=NOON) == near


@pytest.mark.django_db
def test_an_open_pizzeria_beats_a_nearer_one_opening_tonight(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    pizzeria_at(NEAR, hours=[(datetime.time(18), datetime.time(23))])
    middle = pizzeria_at(MIDDLE)

    assert nearest_pizzeria_for(address="8 rue Keller", postcode="75011", at=NOON) == middle


@pytest.mark.django_db
def test_a_pizzeria_opening_later_today_takes_the_order_when_none_is_open(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    tonight = pizzeria_at(NEAR, hours=[(datetime.time(18), datetime.time(23))])
    pizzeria_at(MIDDLE, hours=[(datetime.time(8), datetime.time(11))])  # closed for the rest of the day

    assert nearest_pizzeria_for(address="8 rue Keller", postcode="75011", at=NOON) == tonight


@pytest.mark.django_db
def test_paused_inactive_and_out_of_radius_pizzerias_are_skipped(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    pizzeria_at(NEAR, accepting_orders=False)
    pizzeria_at(NEAR, is_active=False)
    pizzeria_at(MIDDLE, delivery_radius_km=Decimal("1.5"))
    wide = pizzeria_at(FAR, delivery_radius_km=Decimal("15.0"))

    assert pizzerias_delivering_to(location=Location(Decimal(HOME[0]), Decimal(HOME[1])), at=NOON) == [wide]


@pytest.mark.django_db
def test_no_pizzeria_delivers_there(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    pizzeria_at(FAR)

    with pytest.raises(OutOfDeliveryZone) as raised:
        nearest_pizzeria_for(address="8 rue Keller", postcode="75011", at=NOON)

    assert raised.value.message == "Aucune de nos pizzerias ne livre cette adresse aujourd'hui."


@pytest.mark.django_db
def test_nearest_for_an_unknown_address(gmap_key, google):
    google.get(GEOCODE_URL, json={"status": "ZERO_RESULTS", "results": []})
    pizzeria_at(NEAR)

    with pytest.raises(AddressNotFound):
        nearest_pizzeria_for(address="rue inconnue", postcode="75011", at=NOON)


@pytest.mark.django_db
def test_nearest_without_key_asks_the_customer_to_pick(settings):
    settings.GMAP_API_KEY = ""
    pizzeria_at(NEAR)

    with pytest.raises(GeocodingUnavailable):
        nearest_pizzeria_for(address="8 rue Keller", postcode="75011", at=NOON)


@pytest.mark.django_db
def test_postcode_fallback_lists_the_pizzerias_serving_it(settings):
    settings.GMAP_API_KEY = ""
    serving = pizzeria_at(NEAR, served_postcodes="75011, 75012")
    pizzeria_at(MIDDLE, served_postcodes="75004")

    assert pizzerias_delivering_to(postcode="75011", at=NOON) == [serving]


# --- the checkout zone check -----------------------------------------------------


@pytest.mark.django_db
def test_zone_check_inside_the_radius_returns_the_coordinates(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    pizzeria = pizzeria_at(MIDDLE)

    zone = delivery_zone_check(pizzeria=pizzeria, address="8 rue Keller", postcode="75011")

    assert zone.method == "distance"
    assert zone.location.latitude == Decimal("48.860000")
    assert zone.distance_km == pytest.approx(2.1, abs=0.1)


@pytest.mark.django_db
def test_zone_check_refuses_an_address_out_of_the_radius(gmap_key, google):
    google.get(GEOCODE_URL, json=found())
    # The postcode is served, but the geocoded address is too far: the radius decides.
    pizzeria = pizzeria_at(FAR, served_postcodes="75011", name="Levallois")

    with pytest.raises(OutOfDeliveryZone) as raised:
        delivery_zone_check(pizzeria=pizzeria, address="8 rue Keller", postcode="75011")

    assert raised.value.code == "out_of_delivery_zone"
    assert raised.value.message == "Cette adresse est à 13,5 km de Levallois, qui livre jusqu'à 3,0 km."


@pytest.mark.django_db
def test_zone_check_refuses_an_address_google_cannot_find(gmap_key, google):
    google.get(GEOCODE_URL, json={"status": "ZERO_RESULTS", "results": []})
    pizzeria = pizzeria_at(NEAR, served_postcodes="75011")

    with pytest.raises(AddressNotFound):
        delivery_zone_check(pizzeria=pizzeria, address="rue inconnue", postcode="75011")


@pytest.mark.django_db
@pytest.mark.parametrize("postcode, accepted", [("75011", True), ("75015", False)])
def test_zone_check_without_key_falls_back_to_served_postcodes(settings, google, postcode, accepted):
    settings.GMAP_API_KEY = ""
    pizzeria = pizzeria_at(NEAR, served_postcodes="75011,75012", name="Oberkampf")

    if accepted:
        zone = delivery_zone_check(pizzeria=pizzeria, address="8 rue Keller", postcode=postcode)
        assert (zone.method, zone.location) == ("postcode", None)
    else:
        with pytest.raises(OutOfDeliveryZone) as raised:
            delivery_zone_check(pizzeria=pizzeria, address="8 rue Keller", postcode=postcode)
        assert raised.value.message == "Oberkampf ne livre pas le code postal 75015."
    assert len(google.calls) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "failure",
    [{"json": {"status": "OVER_QUERY_LIMIT", "results": []}}, {"body": requests.exceptions.ConnectTimeout()}],
    ids=["over-quota", "timeout"],
)
def test_zone_check_falls_back_to_postcodes_when_google_fails(gmap_key, google, failure):
    google.get(GEOCODE_URL, **failure)
    pizzeria = pizzeria_at(FAR, served_postcodes="75011")

    zone = delivery_zone_check(pizzeria=pizzeria, address="8 rue Keller", postcode="75011")
    assert zone.method == "postcode"

    with pytest.raises(OutOfDeliveryZone):
        delivery_zone_check(pizzeria=pizzeria, address="8 rue Keller", postcode="75020")
