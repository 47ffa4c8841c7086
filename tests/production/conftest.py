from dataclasses import dataclass

import pytest

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.models import Fulfilment


@dataclass
class Team:
    pizzaiolo: object
    rider: object
    counter: object
    manager: object
    customer: object
    other_pizzaiolo: object

    def user(self, role):
        return None if role == "anonymous" else getattr(self, role)


@pytest.fixture
def team(shop):
    def member(role, pizzeria, email):
        user = factories.UserFactory(email=email)
        factories.StaffMemberFactory(user=user, role=role, pizzeria=pizzeria)
        return user

    return Team(
        pizzaiolo=member(StaffMember.PIZZAIOLO, shop.pizzeria, "pizzaiolo@ocpizza.fr"),
        rider=member(StaffMember.RIDER, shop.pizzeria, "livreur@ocpizza.fr"),
        counter=member(StaffMember.COUNTER, shop.pizzeria, "comptoir@ocpizza.fr"),
        manager=member(StaffMember.MANAGER, None, "manager@ocpizza.fr"),
        customer=factories.CustomerFactory(user=factories.UserFactory(email="client@example.com")).user,
        other_pizzaiolo=member(StaffMember.PIZZAIOLO, shop.other_pizzeria, "pizzaiolo-mon@ocpizza.fr"),
    )


@pytest.fixture
def delivery(shop):
    """A delivery order placed on the web, paid in cash at the door."""
    return place(shop, fulfilment=Fulfilment.DELIVERY)
