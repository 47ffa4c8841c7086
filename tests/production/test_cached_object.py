"""Objects kept unpickled by each process, never beyond the cache's own entry."""

from django.core.cache import cache

from production.cache import cached_object


def builder():
    built = []

    def build():
        built.append(object())
        return {"built": len(built)}

    return build, built


def test_a_process_serves_its_own_copy_while_the_cache_keeps_the_entry():
    build, built = builder()
    first = cached_object("thing:1", build, 60)
    assert cached_object("thing:1", build, 60) is first  # not unpickled again
    assert len(built) == 1


def test_the_copy_goes_with_the_cache_entry():
    build, _ = builder()
    first = cached_object("thing:1", build, 60)
    cache.clear()  # expired, evicted, or another release's cache
    again = cached_object("thing:1", build, 60)
    assert again is not first and again == {"built": 2}


def test_another_process_building_it_again_replaces_the_copy():
    build, built = builder()
    first = cached_object("thing:1", build, 60)
    cache.set("thing:1:token", "from another server")
    cache.set("thing:1", {"built": "elsewhere"})
    assert cached_object("thing:1", build, 60) == {"built": "elsewhere"} and len(built) == 1
    rebuilt = cached_object("thing:1", build, 60, fresh=True)
    assert rebuilt == {"built": 2} and rebuilt is not first
