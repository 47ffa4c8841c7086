"""Reads of the accounts; customers, their addresses and orders come from ``ventes.selectors``."""

from production.models import StaffMember


def user_is_staff_member(*, user) -> bool:
    return StaffMember.objects.filter(user=user).exists()
