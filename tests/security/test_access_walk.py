"""Every URL of the project that names an object, walked as every kind of visitor.

The URL patterns come from the resolver itself: a new pattern with a parameter
that is not in ``RULES`` (nor excluded with a reason) fails the walk, so no new
URL escapes it. For each pattern, GET and POST are sent by an anonymous visitor,
another customer, staff of another pizzeria, the right staff with an object of
another pizzeria in the URL, and the owner or right staff. The refused ones get
a login redirect, 403, 404 or 405 and the database is left exactly as it was.
"""

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from production.models import (
    Formula,
    FormulaChoice,
    FormulaSlot,
    Pizzeria,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StaffMember,
    Supplier,
    SupplierItem,
)
from tests import factories
from tests.ventes.helpers import place
from ventes.models import Fulfilment

# Library patterns with their own gate, walked by their own tests.
EXCLUDED_NAMESPACES = {
    "admin": "Django's admin: is_staff + model permissions, its own login; tests/production/test_admin.py",
    "social": "social-auth's OAuth dance: <backend> names a provider, not an object; tests/accounts/test_social.py",
    "flux": "the live screens' streams, served by the stream server (ASGI) only: each beside its page, as every "
    "visitor, in tests/security/test_streams_access.py",
}

PUBLIC = "public"  # anyone: the object is public (a menu) or lives in the visitor's own session (the cart)
TOKEN = "token"  # anyone may open it, only a valid signed token acts


@dataclass(frozen=True)
class Rule:
    obj: str  # what the parameter names: order, address, stock, product, pizzeria, reset
    allowed: frozenset  # actors who may act; PUBLIC / TOKEN for the special cases
    methods: frozenset = frozenset({"get", "post"})
    data: tuple = ()  # POST fields for the allowed actor; a callable is read when posting (a row's id)

    def post_data(self):
        # A callable key too: a field named after a row's id (a purchase order's line).
        return {(key() if callable(key) else key): value() if callable(value) else value for key, value in self.data}


def _rule(obj, allowed, methods=("get", "post"), **data):
    allowed = frozenset({allowed} if isinstance(allowed, str) else allowed)
    return Rule(obj=obj, allowed=allowed, methods=frozenset(methods), data=tuple(data.items()))


KITCHEN, RIDER, COUNTER, MANAGER = "pizzaiolo", "rider", "counter", "manager"


def _line_field(prefix: str, status: str):
    """The packs field of Bastille's purchase order in ``status``, named when posting (its line's id)."""
    return lambda: (
        f"{prefix}-line-{PurchaseOrderLine.objects.get(order__pizzeria__code='BAS', order__status=status).pk}"
    )


# Who does what, as in production/views.py; managers reach every pizzeria.
COOKS = {KITCHEN, MANAGER}
RIDERS = {RIDER, MANAGER}
DESK = {COUNTER, MANAGER}
TICKET = {KITCHEN, COUNTER, MANAGER}
ORDER_READERS = {"owner", KITCHEN, RIDER, COUNTER, MANAGER}
ORDER_EDITORS = {"owner", COUNTER, MANAGER}

RULES = {
    "accounts:password_reset_confirm": _rule("reset", TOKEN, new_password1="Nouveau-mot-2026", new_password2="x"),
    "accounts:address_edit": _rule("address", "owner", line1="1 rue de Rivoli", postcode="75001"),
    "accounts:address_delete": _rule("address", "owner"),
    "ventes:menu": _rule("pizzeria", PUBLIC, methods=("get",)),
    "ventes:product_configure": _rule("product", PUBLIC, quantity="1"),
    "ventes:formula_choose": _rule("formula", PUBLIC, methods=("get",)),
    "ventes:cart_update": _rule("product", PUBLIC, methods=("post",), quantity="2"),
    "ventes:cart_remove": _rule("product", PUBLIC, methods=("post",)),
    "ventes:order_detail": _rule("order", ORDER_READERS, methods=("get",)),
    "ventes:order_status": _rule("order", ORDER_READERS, methods=("get",)),
    "ventes:receipt": _rule("order", ORDER_READERS, methods=("get",)),
    "ventes:receipt_reprint": _rule("order", ORDER_READERS, methods=("post",)),
    "ventes:order_edit": _rule("order", ORDER_EDITORS),
    "ventes:order_cancel": _rule("order", ORDER_EDITORS, reason="changed_mind", cancel_reason="too_busy"),
    "ventes:reorder": _rule("order", "owner", methods=("post",)),
    "ventes:order_refund": _rule("order", MANAGER, scope="all", reason="quality"),
    "production:pizzeria_pause": _rule("pizzeria", MANAGER, methods=("post",), accepting="0"),
    "production:sales_journal_close": _rule("pizzeria", MANAGER, methods=("post",)),
    "production:pizzeria_busy": _rule("pizzeria", COOKS, methods=("post",), minutes="10"),
    "production:kitchen": _rule("pizzeria", COOKS, methods=("get",)),
    "production:kitchen_board": _rule("pizzeria", COOKS, methods=("get",)),
    "production:kitchen_start": _rule("order", COOKS, methods=("post",)),
    "production:kitchen_finish": _rule("order", COOKS, methods=("post",)),
    "production:kitchen_undo": _rule("order", COOKS, methods=("post",)),
    "production:recipe_list": _rule("pizzeria", COOKS, methods=("get",)),
    "production:recipe_detail": _rule("product", COOKS, methods=("get",)),
    "production:order_ticket": _rule("order", TICKET, methods=("get",)),
    "production:rider": _rule("pizzeria", RIDERS, methods=("get",)),
    "production:rider_board": _rule("pizzeria", RIDERS, methods=("get",)),
    "production:rider_take": _rule("order", RIDERS, methods=("post",)),
    "production:rider_deliver": _rule("order", RIDERS, methods=("post",)),
    "production:counter": _rule("pizzeria", DESK, methods=("get",)),
    "production:counter_board": _rule("pizzeria", DESK, methods=("get",)),
    "production:counter_handover": _rule("order", DESK, methods=("post",)),
    "production:menu_prices": _rule(
        "pizzeria",
        MANAGER,
        product=lambda: Product.objects.filter(pizzerias__code="BAS").order_by("pk").first().pk,
        withdrawn="on",
    ),
    "production:stock": _rule("pizzeria", COOKS, methods=("get",)),
    "production:stock_ledger": _rule("pizzeria", COOKS, methods=("get",)),
    "production:stock_line": _rule("stock", COOKS, methods=("get",)),
    "production:stock_restock": _rule("stock", COOKS, methods=("post",), **{"restock-quantity": "5"}),
    "production:stock_inventory": _rule("stock", COOKS, methods=("post",), **{"inventory-quantity": "1150"}),
    "production:stock_waste": _rule("stock", COOKS, methods=("post",), **{"waste-quantity": "1"}),
    "production:stock_transfer": _rule(
        "stock",
        MANAGER,
        methods=("post",),
        **{"transfer-destination": lambda: Pizzeria.objects.get(code="MON").pk, "transfer-quantity": "1"},
    ),
    "production:purchase_orders": _rule("pizzeria", MANAGER, methods=("get",)),
    "production:reports_export": _rule("report", MANAGER, methods=("get",)),
    "production:par_levels": _rule("pizzeria", MANAGER),
    "production:purchase_suggestion": _rule("supplier", MANAGER, methods=("get",)),
    "production:purchase_draft": _rule("supplier", MANAGER, methods=("post",)),
    "production:purchase_order": _rule("purchase_order", MANAGER, methods=("get",)),
    "production:purchase_order_csv": _rule("sent_order", MANAGER, methods=("get",)),
    "production:purchase_order_lines": Rule(
        "purchase_order", frozenset({MANAGER}), frozenset({"post"}), ((_line_field("order", "draft"), "2"),)
    ),
    "production:purchase_order_send": _rule("purchase_order", MANAGER, methods=("post",)),
    "production:purchase_order_resend": _rule("sent_order", MANAGER, methods=("post",)),
    "production:purchase_order_cancel": _rule("purchase_order", MANAGER, methods=("post",)),
    "production:purchase_order_receive": Rule(
        "sent_order", frozenset({MANAGER}), frozenset({"post"}), ((_line_field("receive", "sent"), "1"),)
    ),
}

DENIED = {403, 404, 405}
LOGIN_URLS = ("/compte/connexion/", "/equipe/connexion/")
PROJECT_APPS = ("accounts", "production", "ventes")


def url_patterns(patterns=None, namespace="", params=frozenset()):
    """(qualified name, parameters) of every pattern, through every include."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        found = params | _parameters(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry.url_patterns, inner, found)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}", found


def _parameters(pattern) -> frozenset:
    return frozenset(pattern.converters) | frozenset(pattern.regex.groupindex)


def walked_patterns() -> dict[str, frozenset]:
    return {
        name: params for name, params in url_patterns() if params and name.split(":", 1)[0] not in EXCLUDED_NAMESPACES
    }


def test_every_pattern_with_an_object_parameter_is_in_the_walk():
    found = walked_patterns()
    assert set(found) - set(RULES) == set(), "URL patterns with a parameter missing from RULES"
    assert set(RULES) - set(found) == set(), "RULES names patterns that no longer exist"


def test_the_discovery_reaches_nested_includes_and_exclusions_are_real():
    every = dict(url_patterns())
    assert every["production:stock_waste"] == {"slug", "pk"}
    assert every["ventes:order_detail"] == {"number"}
    for namespace in EXCLUDED_NAMESPACES:
        assert any(name.startswith(f"{namespace}:") and params for name, params in every.items())


def db_state() -> dict:
    """Every row of the project's own tables: what a refused request must leave alone."""
    state = {}
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            rows = model.objects.order_by("pk").values_list()
            state[model._meta.label] = [tuple(row) for row in rows]
    return state


@pytest.fixture
def world(shop):
    def staff(role, pizzeria, email):
        user = factories.UserFactory(email=email)
        factories.StaffMemberFactory(user=user, role=role, pizzeria=pizzeria)
        return user

    owner = factories.CustomerFactory(user=factories.UserFactory(email="owner@example.com"))
    stranger = factories.CustomerFactory(user=factories.UserFactory(email="stranger@example.com"))
    foreign_product = factories.ProductFactory(name="Calzone", pizzerias=[shop.other_pizzeria])
    users = {
        "owner": owner.user,
        "stranger": stranger.user,
        "foreign_staff": staff(StaffMember.PIZZAIOLO, shop.other_pizzeria, "pizzaiolo-mon@ocpizza.fr"),
        KITCHEN: staff(StaffMember.PIZZAIOLO, shop.pizzeria, "pizzaiolo@ocpizza.fr"),
        RIDER: staff(StaffMember.RIDER, shop.pizzeria, "livreur@ocpizza.fr"),
        COUNTER: staff(StaffMember.COUNTER, shop.pizzeria, "comptoir@ocpizza.fr"),
        MANAGER: staff(StaffMember.MANAGER, None, "manager@ocpizza.fr"),
    }
    # Suppliers serve the whole chain: the one out of reach is one that no longer supplies it.
    supplier = Supplier.objects.create(name="Latteria", email="commandes@latteria.example")
    former = Supplier.objects.create(name="Ancien fournisseur", email="ancien@example.com", is_active=False)
    SupplierItem.objects.create(
        supplier=supplier, ingredient=shop.stock["cheese"].ingredient, pack_label="sac", pack_size=2500, pack_price=18
    )

    def purchase(pizzeria, status):
        order = PurchaseOrder.objects.create(
            pizzeria=pizzeria, supplier=supplier, status=status, sent_at=None if status == "draft" else timezone.now()
        )
        PurchaseOrderLine.objects.create(
            order=order,
            ingredient=shop.stock["cheese"].ingredient,
            pack_label="sac",
            pack_size=2500,
            pack_price=18,
            packs=1,
        )
        return order

    def formula(pizzeria, product):
        made = Formula.objects.create(name=f"Formule {pizzeria.code}", price=10)
        made.pizzerias.add(pizzeria)
        FormulaChoice.objects.create(slot=FormulaSlot.objects.create(formula=made, name="Pizza"), product=product)
        return made

    mine = place(shop, customer=owner, fulfilment=Fulfilment.DELIVERY)
    theirs = place(shop, pizzeria_id=shop.other_pizzeria.pk, customer=stranger)
    objects = {
        # (object of the URL's pizzeria, the same kind of object elsewhere)
        "order": (mine, theirs),
        "address": (factories.AddressFactory(customer=owner), factories.AddressFactory(customer=stranger)),
        "stock": (shop.stock["cheese"], shop.other_pizzeria.stock_lines.get(ingredient__name="cheese")),
        "product": (shop.margherita, foreign_product),
        "formula": (formula(shop.pizzeria, shop.margherita), formula(shop.other_pizzeria, foreign_product)),
        "pizzeria": (shop.pizzeria, shop.other_pizzeria),
        "reset": (owner.user, stranger.user),
        "supplier": (supplier, former),
        "purchase_order": (purchase(shop.pizzeria, "draft"), purchase(shop.other_pizzeria, "draft")),
        "sent_order": (purchase(shop.pizzeria, "sent"), purchase(shop.other_pizzeria, "sent")),
        # A report names no row: the chain's figures, for managers only.
        "report": (SimpleNamespace(pk=None, report="ventes"), SimpleNamespace(pk=None, report="ventes")),
    }
    return shop, users, objects


def _url(name: str, params: frozenset, obj, pizzeria) -> str:
    """The URL naming ``obj``; a pizzeria slug beside another object stays ``pizzeria``."""
    if params == {"slug"}:
        return reverse(name, kwargs={"slug": obj.slug})
    values = {
        "slug": pizzeria.slug,
        "number": getattr(obj, "number", None),
        "pk": obj.pk,
        "product_id": obj.pk,
        "formula_id": obj.pk,
        "supplier_id": obj.pk,
        "key": f"{obj.pk}::",  # a cart line: the product as it comes
        "name": getattr(obj, "report", None),
        "address_id": obj.pk,
        # A forged link: a real user's id with a token that was never issued.
        "uidb64": urlsafe_base64_encode(force_bytes(obj.pk)),
        "token": "c0ffee-0123456789abcdef",
    }
    return reverse(name, kwargs={param: values[param] for param in params})


def _refused(response) -> bool:
    if response.status_code in DENIED:
        return True
    return response.status_code == 302 and response["Location"].startswith(LOGIN_URLS)


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("name", sorted(RULES))
def test_only_the_right_visitor_reaches_an_object(name, world):
    shop, users, objects = world
    rule, params = RULES[name], walked_patterns()[name]
    mine, theirs = objects[rule.obj]
    own_url = _url(name, params, mine, shop.pizzeria)
    clients = {actor: _client(user) for actor, user in [("anonymous", None), *users.items()]}
    visits = [(actor, own_url) for actor in clients if actor not in rule.allowed]
    if rule.allowed - {PUBLIC, TOKEN} and rule.obj != "pizzeria":
        # The right person, but an object that is not theirs in the URL (another pizzeria's, another customer's).
        # A manager may read any pizzeria's order, but not through another pizzeria's screen.
        crossing = rule.allowed if "slug" in params else rule.allowed - {MANAGER}
        visits += [(actor, _url(name, params, theirs, shop.pizzeria)) for actor in crossing]

    before = db_state()
    for actor, url in visits:
        for method in ("get", "post"):
            response = getattr(clients[actor], method)(url, rule.post_data())
            allowed_here = rule.allowed & {PUBLIC, TOKEN} and method in rule.methods and url == own_url
            if not allowed_here:
                assert _refused(response), (actor, method, url, response.status_code)
            else:
                assert response.status_code < 500, (actor, method, url, response.status_code)
            assert db_state() == before, (actor, method, url, "changed the database")

    for actor in rule.allowed - {PUBLIC, TOKEN}:
        for method in ("get", "post"):
            response = getattr(clients[actor], method)(own_url, rule.post_data())
            if method in rule.methods:
                assert response.status_code < 400, (actor, method, own_url, response.status_code)
                assert not _refused(response), (actor, method, own_url)
            else:
                assert response.status_code == 405, (actor, method, own_url, response.status_code)
