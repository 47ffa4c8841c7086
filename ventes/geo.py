"""Delivery zones: geocoding with Google Maps, straight-line distances, nearest pizzeria.

Off when ``settings.GMAP_API_KEY`` is empty. Then, and whenever Google fails,
the customer picks a pizzeria and the zone check falls back to the pizzeria's
list of served postcodes.

How the shop calls it:

* address form, to choose the pizzeria::

      try:
          pizzeria = nearest_pizzeria_for(address="8 rue Keller", postcode="75011")
      except GeocodingUnavailable:
          ...  # let the customer pick; pizzerias_delivering_to(postcode=...) lists candidates
      except GeoError as error:
          ...  # error.message beside the address field

* checkout, on the server, whatever the browser sent::

      zone = delivery_zone_check(pizzeria=pizzeria, address=line1, postcode=postcode)
      # raises OutOfDeliveryZone / AddressNotFound; zone.location may be None (postcode fallback)

Distances are straight lines (haversine): Distance Matrix is closed to new keys.
"""

import datetime
import functools
import hashlib
import logging
import math
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus

import googlemaps
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import number_format

from ocpizzapp.exceptions import BusinessError
from production.models import Pizzeria
from production.selectors import pizzeria_hours_on, pizzeria_is_open, pizzeria_list

logger = logging.getLogger(__name__)

# A customer waits on this call: better to fall back to postcodes than to hang.
TIMEOUT_SECONDS = 3
RETRY_TIMEOUT_SECONDS = 2
# Google's terms allow keeping coordinates for up to 30 days.
CACHE_SECONDS = 30 * 24 * 3600
NOT_FOUND_CACHE_SECONDS = 24 * 3600
_NOT_FOUND = "not-found"
EARTH_RADIUS_KM = 6371.0088
COORDINATE_STEP = Decimal("0.000001")


class GeoError(BusinessError):
    code = "geo_error"
    default_message = "Impossible de vérifier cette adresse."


class GeocodingUnavailable(GeoError):
    """No key, or Google did not answer in time / refused: use the postcode fallback."""

    code = "geocoding_unavailable"
    status = HTTPStatus.SERVICE_UNAVAILABLE
    default_message = "La localisation des adresses est indisponible pour le moment : choisissez votre pizzeria."


class AddressNotFound(GeoError):
    code = "address_not_found"
    default_message = "Adresse introuvable : vérifiez le numéro, la rue et le code postal."


class OutOfDeliveryZone(GeoError):
    code = "out_of_delivery_zone"
    default_message = "Cette adresse est hors de notre zone de livraison."


@dataclass(frozen=True)
class Location:
    latitude: Decimal
    longitude: Decimal
    formatted_address: str = ""


@dataclass(frozen=True)
class ZoneResult:
    """A delivery address accepted for a pizzeria.

    ``method`` is ``"distance"`` (geocoded, within the radius) or ``"postcode"``
    (fallback); ``location`` and ``distance_km`` are None in the fallback.
    """

    pizzeria: Pizzeria
    method: str
    location: Location | None = None
    distance_km: float | None = None


def geocoding_enabled() -> bool:
    return bool(settings.GMAP_API_KEY)


@functools.lru_cache(maxsize=1)
def _client(key: str) -> googlemaps.Client:
    # One client per process keeps its HTTP connections alive between customers.
    return googlemaps.Client(
        key=key,
        timeout=TIMEOUT_SECONDS,
        retry_timeout=RETRY_TIMEOUT_SECONDS,
        retry_over_query_limit=False,
    )


def _cache_key(address: str) -> str:
    normalised = " ".join(address.casefold().split())
    return "geocode:v1:" + hashlib.sha256(normalised.encode()).hexdigest()


def _coordinate(value) -> Decimal:
    # Quantised to the precision of the latitude/longitude model fields.
    return Decimal(str(value)).quantize(COORDINATE_STEP)


def geocode_address(*, address: str) -> Location | None:
    """Coordinates of a postal address in France, or None when Google finds nothing.

    Pass the whole address, e.g. ``"8 rue Keller, 75011 Paris"``. Answers
    (found or not) are cached, keyed by the address with case and spaces
    normalised. Raises ``GeocodingUnavailable`` when there is no key or Google
    fails (timeout, quota, refusal): callers fall back to postcodes.
    """
    if not geocoding_enabled():
        raise GeocodingUnavailable()
    key = _cache_key(address)
    cached = cache.get(key)
    if cached == _NOT_FOUND:
        return None
    if cached is not None:
        return Location(**cached)

    try:
        results = _client(settings.GMAP_API_KEY).geocode(address, components={"country": "FR"}, language="fr")
    except (
        googlemaps.exceptions.ApiError,
        googlemaps.exceptions.TransportError,
        googlemaps.exceptions.Timeout,
    ) as error:
        logger.warning("Geocoding failed (%s): %s", type(error).__name__, error)
        raise GeocodingUnavailable() from error
    except ValueError as error:
        # The client refuses a malformed key before any request: a configuration mistake.
        logger.error("GMAP_API_KEY rejected by the Google Maps client: %s", error)
        raise GeocodingUnavailable() from error

    if not results:
        cache.set(key, _NOT_FOUND, NOT_FOUND_CACHE_SECONDS)
        return None
    best = results[0]
    point = best["geometry"]["location"]
    location = Location(
        latitude=_coordinate(point["lat"]),
        longitude=_coordinate(point["lng"]),
        formatted_address=best.get("formatted_address", ""),
    )
    cache.set(
        key,
        {
            "latitude": location.latitude,
            "longitude": location.longitude,
            "formatted_address": location.formatted_address,
        },
        CACHE_SECONDS,
    )
    return location


def distance_km(lat1: Decimal | float, lng1: Decimal | float, lat2: Decimal | float, lng2: Decimal | float) -> float:
    """Great-circle (haversine) distance between two points, in kilometres."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    dphi = phi2 - phi1
    dlambda = math.radians(float(lng2) - float(lng1))
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def pizzeria_distance_km(pizzeria: Pizzeria, location: Location) -> float:
    return distance_km(pizzeria.latitude, pizzeria.longitude, location.latitude, location.longitude)


def _opens_later_today(pizzeria: Pizzeria, local: datetime.datetime) -> bool:
    return any(hours.opens > local for hours in pizzeria_hours_on(pizzeria, local.date()))


def pizzerias_delivering_to(
    *, location: Location | None = None, postcode: str = "", at: datetime.datetime | None = None
) -> list[Pizzeria]:
    """Active pizzerias taking orders that deliver there today, best first.

    With a ``location``: those whose delivery radius covers it, open now first,
    then those opening later today, each group nearest first. Without one
    (postcode fallback): those serving ``postcode``, in the same open-first
    order, then by name. Pizzerias closed for the rest of the day are left out.
    """
    at = at or timezone.now()
    local = timezone.localtime(at)
    ranked = []
    for pizzeria in pizzeria_list():
        if pizzeria.is_paused_at(at):
            continue
        is_open = pizzeria_is_open(pizzeria, at=at)
        if not is_open and not _opens_later_today(pizzeria, local):
            continue
        if location is not None:
            distance = pizzeria_distance_km(pizzeria, location)
            if distance > float(pizzeria.delivery_radius_km):
                continue
        elif postcode.strip() in pizzeria.served_postcode_list:
            distance = 0.0
        else:
            continue
        ranked.append((not is_open, distance, pizzeria.name, pizzeria))
    ranked.sort(key=lambda row: row[:3])
    return [row[-1] for row in ranked]


def _full_address(address: str, postcode: str) -> str:
    return f"{address.strip()}, {postcode.strip()}"


def nearest_pizzeria_for(*, address: str, postcode: str, at: datetime.datetime | None = None) -> Pizzeria:
    """The pizzeria to deliver ``address`` (street line) in ``postcode``.

    The nearest one that is open now (else the nearest opening later today)
    and whose radius covers the address. Raises ``GeocodingUnavailable`` (let
    the customer pick), ``AddressNotFound`` or ``OutOfDeliveryZone``.
    """
    location = geocode_address(address=_full_address(address, postcode))
    if location is None:
        raise AddressNotFound()
    candidates = pizzerias_delivering_to(location=location, at=at)
    if not candidates:
        raise OutOfDeliveryZone("Aucune de nos pizzerias ne livre cette adresse aujourd'hui.")
    return candidates[0]


def delivery_zone_check(*, pizzeria: Pizzeria, address: str, postcode: str) -> ZoneResult:
    """Refuse, on the server, a delivery address outside ``pizzeria``'s zone.

    With a key and a geocode: the straight-line distance must be within the
    pizzeria's radius, and the coordinates come back in the result (to store
    on the order). Without a key or when Google fails: the postcode must be
    one the pizzeria serves. Raises ``OutOfDeliveryZone`` or ``AddressNotFound``.
    """
    try:
        location = geocode_address(address=_full_address(address, postcode))
    except GeocodingUnavailable:
        if postcode.strip() in pizzeria.served_postcode_list:
            return ZoneResult(pizzeria=pizzeria, method="postcode")
        raise OutOfDeliveryZone(
            f"{pizzeria.name} ne livre pas le code postal {postcode.strip()}.", pizzeria_id=pizzeria.pk
        ) from None
    if location is None:
        raise AddressNotFound()
    distance = pizzeria_distance_km(pizzeria, location)
    if distance > float(pizzeria.delivery_radius_km):
        raise OutOfDeliveryZone(
            f"Cette adresse est à {number_format(distance, 1)} km de {pizzeria.name}, qui livre jusqu'à "
            f"{number_format(pizzeria.delivery_radius_km, 1)} km.",
            pizzeria_id=pizzeria.pk,
            distance_km=distance,
        )
    return ZoneResult(pizzeria=pizzeria, method="distance", location=location, distance_km=distance)
