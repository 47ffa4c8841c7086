"""Writes on accounts and their customer profile."""

from django.db import transaction

from ventes.models import Customer


@transaction.atomic
def customer_complete_profile(*, user, phone: str) -> Customer:
    """Create the user's customer profile, or fill in its phone number."""
    customer, _ = Customer.objects.select_for_update().get_or_create(user=user, defaults={"phone": phone})
    if customer.phone != phone:
        customer.phone = phone
        customer.save(update_fields=["phone"])
    return customer
