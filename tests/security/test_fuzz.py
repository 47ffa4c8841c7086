"""Every form and query parameter fed hostile values: never a 500.

CI runs a fixed, derandomized sample; ``HYPOTHESIS_PROFILE=large`` runs many
more examples with a random seed (see docs/security.md).
"""

import os

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from production.models import StaffMember
from tests import factories
from tests.ventes.helpers import place
from ventes.models import Fulfilment

settings.register_profile(
    "ci", derandomize=True, max_examples=8, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile("large", max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SNIPPETS = [
    "",
    "\x00",
    "a\x00b",
    "' OR 1=1 --",
    "'; DROP TABLE ventes_order; --",
    '<script>alert("x")</script>',
    "{{ settings.SECRET_KEY }}",
    "9" * 400,
    "-1",
    "0",
    "1e309",
    "NaN",
    "-9223372036854775809",
    "18446744073709551616",
    "１２",
    "٣",
    "\ud7ff\U0001f355",
    "../../etc/passwd",
    "x" * 20000,
]
hostile = st.one_of(
    st.sampled_from(SNIPPETS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=60),
)


def _form(fields):
    """Any subset of the form's fields (so some are missing), each with a hostile value."""
    return st.dictionaries(st.sampled_from(fields), hostile, max_size=len(fields))


@pytest.fixture
def fuzz(shop):
    owner = factories.CustomerFactory(user=factories.UserFactory(email="owner@example.com"))
    cook = factories.UserFactory(email="pizzaiolo@ocpizza.fr")
    factories.StaffMemberFactory(user=cook, role=StaffMember.PIZZAIOLO, pizzeria=shop.pizzeria)
    counter = factories.UserFactory(email="comptoir@ocpizza.fr")
    factories.StaffMemberFactory(user=counter, role=StaffMember.COUNTER, pizzeria=shop.pizzeria)
    order = place(shop, customer=owner, fulfilment=Fulfilment.DELIVERY)
    clients = {"anonymous": Client(), "owner": Client(), "cook": Client(), "counter": Client()}
    clients["owner"].force_login(owner.user)
    clients["cook"].force_login(cook)
    clients["counter"].force_login(counter)
    slug, stock, product = shop.pizzeria.slug, shop.stock["cheese"].pk, shop.margherita.pk
    qty = [f"qty_{p.pk}--" for p in (shop.margherita, shop.regina, shop.beer)]
    details = ["customer_name", "customer_phone", "fulfilment", "address_line", "address_postcode", "address_city"]
    details += ["address_instructions", "when", "slot", "payment_method", "note", "token"]
    return {
        # name: (who, method, url, fields)
        "home search": ("anonymous", "get", reverse("ventes:home"), ["adresse", "code_postal"]),
        "menu": ("anonymous", "get", reverse("ventes:menu", args=[slug]), ["page", "categorie"]),
        "cart add": ("anonymous", "post", reverse("ventes:cart_add"), ["pizzeria", "product", "quantity", "replace"]),
        "cart update": ("anonymous", "post", reverse("ventes:cart_update", args=[product]), ["quantity"]),
        "checkout": ("owner", "post", reverse("ventes:checkout"), [*details, "customer_email", "saved_address_id"]),
        "order edit": (
            "owner",
            "post",
            reverse("ventes:order_edit", args=[order.number]),
            [*qty, "more", "fewer", "drop", "add"],
        ),
        "order cancel": (
            "counter",
            "post",
            reverse("ventes:order_cancel", args=[order.number]),
            ["reason", "cancel_reason", "detail"],
        ),
        "order link": ("anonymous", "get", reverse("ventes:order_detail", args=[order.number]), ["t"]),
        "reorder": ("owner", "post", reverse("ventes:reorder", args=[order.number]), ["next"]),
        "staff order": ("counter", "post", reverse("ventes:staff_order"), [*details, "channel", "pizzeria", *qty]),
        "stock restock": (
            "cook",
            "post",
            reverse("production:stock_restock", args=[slug, stock]),
            ["restock-quantity", "restock-note"],
        ),
        "stock inventory": (
            "cook",
            "post",
            reverse("production:stock_inventory", args=[slug, stock]),
            ["inventory-quantity", "inventory-note"],
        ),
        "stock waste": ("cook", "post", reverse("production:stock_waste", args=[slug, stock]), ["waste-quantity"]),
        "stock ledger": ("cook", "get", reverse("production:stock_ledger", args=[slug]), ["page"]),
        "order history": ("owner", "get", reverse("accounts:orders"), ["page"]),
        "login": ("anonymous", "post", reverse("accounts:login"), ["username", "password", "next"]),
        "staff login": ("anonymous", "post", reverse("production:login"), ["username", "password", "next"]),
        "signup": (
            "anonymous",
            "post",
            reverse("accounts:signup"),
            ["email", "first_name", "last_name", "phone", "password1", "password2"],
        ),
        "password reset": ("anonymous", "post", reverse("accounts:password_reset"), ["email"]),
        "profile": ("owner", "post", reverse("accounts:profile"), ["first_name", "last_name", "phone"]),
        "address add": (
            "owner",
            "post",
            reverse("accounts:address_add"),
            ["label", "line1", "line2", "postcode", "city", "instructions"],
        ),
    }, clients


FORMS = [
    "home search",
    "menu",
    "cart add",
    "cart update",
    "checkout",
    "order edit",
    "order cancel",
    "order link",
    "reorder",
    "staff order",
    "stock restock",
    "stock inventory",
    "stock waste",
    "stock ledger",
    "order history",
    "login",
    "staff login",
    "signup",
    "password reset",
    "profile",
    "address add",
]


@pytest.mark.parametrize("name", FORMS)
def test_hostile_input_never_breaks_a_page(name, fuzz):
    targets, clients = fuzz
    assert set(targets) == set(FORMS)
    who, method, url, fields = targets[name]
    client = clients[who]

    @given(data=_form(fields))
    def visit(data):
        response = getattr(client, method)(url, data)
        assert response.status_code < 500, (name, data, response.status_code)

    visit()
