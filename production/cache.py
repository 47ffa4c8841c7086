"""Version keys for what the menu shows: a cached menu is read under the
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

from django.core.cache import cache
from django.db import transaction

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


def catalogue_version() -> int:
    return cache.get(CATALOGUE_KEY, 0)


def menu_version(*, pizzeria_id: int) -> str:
    versions = cache.get_many([CATALOGUE_KEY, PIZZERIA_KEY.format(pizzeria_id)])
    return f"{versions.get(CATALOGUE_KEY, 0)}.{versions.get(PIZZERIA_KEY.format(pizzeria_id), 0)}"
