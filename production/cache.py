"""What the production side keeps in the cache: the menu's version keys, and
the staff boards rendered once for every screen that shows them.

Version keys for what the menu shows: a cached menu is read under the
current versions, so bumping one makes every copy cached before it unreachable.

Two versions: one per pizzeria (its stock moved) and one for the whole
catalogue (a product, recipe, ingredient, allergen, pizzeria or opening hours
changed, or a pizzeria paused or resumed: rare changes that may show on every
menu). Bumps happen after commit, so that nobody caches, under the new
version, what a still-open transaction is about to change.

With a per-process cache (local memory, several gunicorn workers) a bump
reaches only its own process: the others serve their copy until it expires,
``MENU_CACHE_SECONDS`` at most. With a shared cache (``REDIS_URL``) a bump
reaches every server at once.
"""

import secrets
import threading
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from .models import CatalogueRevision

CATALOGUE_KEY = "catalogue-version"
PIZZERIA_KEY = "stock-version:{}"


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:  # not set yet (or evicted): any new value differs from what was read
        cache.set(key, 1, None)


def _bump_now_and_after_commit(key: str) -> None:
    _bump(key)
    transaction.on_commit(lambda: _bump(key))


def stock_changed(*, pizzeria_id: int) -> None:
    _bump_now_and_after_commit(PIZZERIA_KEY.format(pizzeria_id))


def catalogue_changed() -> None:
    _bump_now_and_after_commit(CATALOGUE_KEY)
    catalogue_revision_bump()


def catalogue_revision_bump() -> None:
    """Move the catalogue's revision in the change's own transaction: an order placed after it commits, on any
    server, is checked against the catalogue as changed (``ventes.selectors.catalogue_current``)."""
    if not CatalogueRevision.objects.filter(pk=CatalogueRevision.ONLY).update(number=F("number") + 1):
        CatalogueRevision.objects.get_or_create(pk=CatalogueRevision.ONLY, defaults={"number": 1})


def catalogue_version() -> int:
    return cache.get(CATALOGUE_KEY, 0)


def menu_version(*, pizzeria_id: int) -> str:
    versions = cache.get_many([CATALOGUE_KEY, PIZZERIA_KEY.format(pizzeria_id)])
    return f"{versions.get(CATALOGUE_KEY, 0)}.{versions.get(PIZZERIA_KEY.format(pizzeria_id), 0)}"


# A board is cached under its fingerprint, read from the database at every
# request: any change gives a new key, so no copy can be stale, with one
# process or many. The timeout only frees the memory of boards nobody shows
# any more (and bounds how long a shared cache serves a previous release's markup).
BOARD_KEY = "board:{kind}:{pizzeria_id}:{slug}:{fingerprint}"
BOARD_SECONDS = 60


def board_html(*, kind: str, pizzeria, fingerprint: str, render: Callable[[], str]) -> str:
    """The board ``kind`` of ``pizzeria`` as ``fingerprint`` says it is, rendered once for all its screens.

    ``render`` must depend on nothing else: no viewer, no session, no CSRF token.
    """
    key = BOARD_KEY.format(kind=kind, pizzeria_id=pizzeria.pk, slug=pizzeria.slug, fingerprint=fingerprint)
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, BOARD_SECONDS)
    return html


# A pizzeria's catalogue (its products with their sizes, options and recipes) is model instances: read from
# the cache, unpickling it cost more than the rest of an add to cart. Each process keeps the copy it read
# beside a token the cache holds with it: the copy serves while the cache still has that token under that
# key (one small read), so it never outlives the cache's entry, on one server or many.
_KEPT: dict[str, tuple[str, Any]] = {}
KEPT_MAX = 64
_kept_lock = threading.Lock()


def cached_object(key: str, build: Callable[[], Any], seconds: int, *, fresh: bool = False) -> Any:
    """``build()``, cached under ``key`` for ``seconds`` and kept unpickled by this process meanwhile;
    ``fresh`` builds it now and caches it again."""
    token_key = f"{key}:token"
    token: str | None = None if fresh else cache.get(token_key)
    value = None
    if token is not None:
        kept = _KEPT.get(key)
        if kept is not None and kept[0] == token:
            return kept[1]
        value = cache.get(key)
    if token is None or value is None:
        value, token = build(), secrets.token_hex(8)
        cache.set_many({key: value, token_key: token}, seconds)
    with _kept_lock:
        if len(_KEPT) >= KEPT_MAX:
            _KEPT.pop(next(iter(_KEPT)))
        _KEPT[key] = (token, value)
    return value
