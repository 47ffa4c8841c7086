"""Writes on accounts and their customer profile: sign-up, profile, address book."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.exceptions import EmailAlreadyUsed, UnknownAddress
from ventes.geo import AddressNotFound, GeocodingUnavailable, geocode_address
from ventes.models import Address, Customer
from ventes.services import customer_set_notifications


@transaction.atomic
def customer_complete_profile(*, user, phone: str) -> Customer:
    """Create the user's customer profile, or fill in its phone number."""
    customer, _ = Customer.objects.select_for_update().get_or_create(user=user, defaults={"phone": phone})
    if customer.phone != phone:
        customer.phone = phone
        customer.save(update_fields=["phone"])
    return customer


def customer_sign_up(*, email: str, password: str, first_name: str, last_name: str, phone: str):
    """Open a customer account: the user (e-mail as login) and its customer profile, together or not at all.

    Raises ``EmailAlreadyUsed`` when the address is taken, in any case, even by
    a sign-up racing this one (the database's case-insensitive unique index decides).
    """
    users = get_user_model().objects
    email = users.normalize_email(email.strip()).lower()
    if users.filter(email__iexact=email).exists():
        raise EmailAlreadyUsed()
    try:
        with transaction.atomic():
            user = users.create_user(email=email, password=password, first_name=first_name, last_name=last_name)
            Customer.objects.create(user=user, phone=phone)
    except IntegrityError as error:
        raise EmailAlreadyUsed() from error
    return user


@transaction.atomic
@transaction.atomic
def customer_update_profile(
    *, user, first_name: str, last_name: str, phone: str, notify_email: bool = True, sms_updates: bool = False
) -> Customer:
    user.first_name, user.last_name = first_name, last_name
    user.save(update_fields=["first_name", "last_name"])
    customer = customer_complete_profile(user=user, phone=phone)
    return customer_set_notifications(
        customer=customer, notify_email=notify_email, sms_updates=sms_updates, phone=phone
    )


@dataclass(frozen=True)
class AddressData:
    label: str
    line1: str
    postcode: str
    city: str
    line2: str = ""
    instructions: str = ""


def _locate(data: AddressData) -> tuple[Decimal | None, Decimal | None]:
    """Coordinates for the delivery radius; none when geocoding is off or down (checkout falls back to postcodes).

    Raises ``AddressNotFound`` when Google answers that the address does not exist.
    """
    try:
        location = geocode_address(address=f"{data.line1}, {data.postcode} {data.city}")
    except GeocodingUnavailable:
        return None, None
    if location is None:
        raise AddressNotFound()
    return location.latitude, location.longitude


def address_create(*, user, data: AddressData) -> Address:
    # Geocoding waits on Google: done before the transaction, not inside it.
    latitude, longitude = _locate(data)
    with transaction.atomic():
        customer, _ = Customer.objects.get_or_create(user=user)
        return Address.objects.create(
            customer=customer,
            label=data.label,
            line1=data.line1,
            line2=data.line2,
            postcode=data.postcode,
            city=data.city,
            instructions=data.instructions,
            latitude=latitude,
            longitude=longitude,
        )


def _owned_address(*, user, address_id: int, lock: bool = False) -> Address:
    addresses = Address.objects.filter(customer__user=user)
    if lock:
        addresses = addresses.select_for_update()
    address = addresses.filter(pk=address_id).first()
    if address is None:
        raise UnknownAddress()
    return address


def address_update(*, user, address_id: int, data: AddressData) -> Address:
    """Change one of the user's addresses; ``UnknownAddress`` for anyone else's."""
    current = _owned_address(user=user, address_id=address_id)
    moved = (current.line1, current.postcode, current.city) != (data.line1, data.postcode, data.city)
    coordinates = _locate(data) if moved else (current.latitude, current.longitude)
    with transaction.atomic():
        address = _owned_address(user=user, address_id=address_id, lock=True)
        address.label, address.line1, address.line2 = data.label, data.line1, data.line2
        address.postcode, address.city, address.instructions = data.postcode, data.city, data.instructions
        address.latitude, address.longitude = coordinates
        address.save()
        return address


@transaction.atomic
def address_delete(*, user, address_id: int) -> None:
    """Remove one of the user's addresses; ``UnknownAddress`` for anyone else's.

    Past orders keep their own copy of the delivery address.
    """
    deleted, _ = Address.objects.filter(customer__user=user, pk=address_id).delete()
    if not deleted:
        raise UnknownAddress()
