"""Writes on accounts: sign-up, profile, address book.

The user is this app's; the customer profile and its addresses belong to
``ventes``, and are written through its services.
"""

from typing import TYPE_CHECKING

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from accounts.exceptions import EmailAlreadyUsed, StaffAccountNotErasable
from accounts.selectors import user_is_staff_member
from ventes.exceptions import UnknownAddress
from ventes.geo import AddressNotFound, GeocodingUnavailable, geocode_address
from ventes.privacy import customer_forget
from ventes.selectors import customer_address
from ventes.services import (
    AddressData,
    Coordinates,
    customer_address_create,
    customer_address_delete,
    customer_address_update,
    customer_complete_profile,
    customer_create,
    customer_set_notifications,
    order_claim,
)

if TYPE_CHECKING:
    from ventes.models import Address, Customer
__all__ = ["AddressData", "address_create", "address_delete", "address_update", "customer_sign_up"]


def customer_sign_up(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone: str,
    marketing: bool = False,
    claim: tuple[str, str] | None = None,
):
    """Open a customer account: the user (e-mail as login) and its customer profile, together or not at all.

    ``claim``: the (number, signed link) of the guest order the account is opened from, which becomes its first.

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
            customer = customer_create(user=user, phone=phone, marketing=marketing)
            if claim is not None:
                order_claim(number=claim[0], link=claim[1], customer=customer)
    except IntegrityError as error:
        raise EmailAlreadyUsed() from error
    return user


@transaction.atomic
def customer_update_profile(
    *,
    user,
    first_name: str,
    last_name: str,
    phone: str,
    notify_email: bool = True,
    sms_updates: bool = False,
    marketing: bool = False,
) -> "Customer":
    user.first_name, user.last_name = first_name, last_name
    user.save(update_fields=["first_name", "last_name"])
    customer = customer_complete_profile(user=user, phone=phone)
    return customer_set_notifications(
        customer=customer,
        notify_email=notify_email,
        sms_updates=sms_updates,
        phone=phone,
        marketing=marketing,
        source="compte",
    )


def _locate(data: AddressData) -> Coordinates:
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


def address_create(*, user, data: AddressData) -> "Address":
    # Geocoding waits on Google: done before the transaction, not inside it.
    return customer_address_create(user=user, data=data, coordinates=_locate(data))


def address_update(*, user, address_id: int, data: AddressData) -> "Address":
    """Change one of the user's addresses; ``UnknownAddress`` for anyone else's."""
    current = customer_address(user=user, address_id=address_id)
    if current is None:
        raise UnknownAddress()
    moved = (current.line1, current.postcode, current.city) != (data.line1, data.postcode, data.city)
    coordinates = _locate(data) if moved else (current.latitude, current.longitude)
    return customer_address_update(user=user, address_id=address_id, data=data, coordinates=coordinates)


def address_delete(*, user, address_id: int) -> None:
    """Remove one of the user's addresses; ``UnknownAddress`` for anyone else's."""
    customer_address_delete(user=user, address_id=address_id)


@transaction.atomic
def account_erase(*, user) -> int:
    """Erase a customer's account (GDPR art. 17): their orders kept without personal data, everything else deleted.

    The login attempts recorded under their e-mail go too. A staff member's account is not the shop's to
    erase (``StaffAccountNotErasable``). Returns the number of orders kept for the accounts.
    """
    if user.is_staff or user_is_staff_member(user=user):
        raise StaffAccountNotErasable()
    kept = customer_forget(user=user)
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        model.objects.filter(username__iexact=user.email).delete()
    user.delete()
    return kept
