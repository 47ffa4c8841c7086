"""Archives of the sales journal: sealed with a key from the environment, checked offline, any changed byte caught."""

import datetime
import io
import json
import random
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests import factories
from ventes.archives import ArchiveInvalid, archive_build, archive_verify
from ventes.closings import closings_make

from .journal_helpers import completed, refunded

pytestmark = pytest.mark.django_db
KEY = "clé-de-test-pas-secrète"


@pytest.fixture
def archive(shop, settings):
    settings.ARCHIVE_SIGNING_KEY = KEY
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    completed(shop, manager)
    refunded(shop, manager)
    completed(shop, manager, pizzeria_id=shop.other_pizzeria.pk)
    closings_make(pizzeria_id=shop.pizzeria.pk, now=timezone.now() + datetime.timedelta(days=2))
    today = timezone.localdate()
    return archive_build(
        pizzeria=shop.pizzeria, start=today - datetime.timedelta(days=3), end=today + datetime.timedelta(days=3)
    )


def rebuilt(data: bytes, name: str, change) -> bytes:
    """The archive with one of its files changed and the zip itself made valid again (as a forger would)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info, change(content) if info.filename == name else content)
    return out.getvalue()


def test_an_archive_holds_the_period_and_verifies_without_the_database(archive, shop, django_assert_num_queries):
    with django_assert_num_queries(0):
        manifest = archive_verify(archive, key=KEY)
    assert manifest["pizzeria"]["code"] == "BAS"
    assert manifest["journal"]["count"] == 5  # sale + payment, sale + payment + refund: the other pizzeria's apart
    assert manifest["journal"]["first_sequence"] == 1
    assert manifest["closings"]["count"] >= 1
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        rows = [json.loads(line) for line in files.read("journal.jsonl").splitlines()]
    assert [row["kind"] for row in rows] == ["sale", "payment", "sale", "payment", "refund"]


def test_any_single_byte_changed_fails_verification(archive):
    chance = random.Random(525)
    for position in chance.sample(range(len(archive)), 40):
        damaged = bytearray(archive)
        damaged[position] ^= 0x01
        with pytest.raises(ArchiveInvalid):
            archive_verify(bytes(damaged), key=KEY)


def test_a_row_changed_inside_a_valid_zip_breaks_the_seal(archive):
    forged = rebuilt(archive, "journal.jsonl", lambda data: data.replace(b'"amount":"9.50"', b'"amount":"1.50"', 1))
    with pytest.raises(ArchiveInvalid, match="sceau"):
        archive_verify(forged, key=KEY)


def test_a_row_altered_in_the_database_before_the_export_is_named_in_the_archive(shop, settings):
    from django.db import connection

    settings.ARCHIVE_SIGNING_KEY = KEY
    manager = factories.StaffMemberFactory(role="manager", pizzeria=None).user
    completed(shop, manager)
    completed(shop, manager)
    sql = "UPDATE ventes_journalentry SET amount = 1 WHERE pizzeria_id = %s AND sequence = 3"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, [shop.pizzeria.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    # Around the days on either side: after midnight the orders still belong to the business day before.
    today = timezone.localdate()
    data = archive_build(
        pizzeria=shop.pizzeria, start=today - datetime.timedelta(days=1), end=today + datetime.timedelta(days=1)
    )
    with pytest.raises(ArchiveInvalid, match=r"journal.jsonl, ligne 3 \(n° 3\) : contenu modifié"):
        archive_verify(data, key=KEY)


def test_a_forger_without_the_key_cannot_reseal(archive):
    def recount(data):
        manifest = json.loads(data)
        manifest["journal"]["count"] = 4
        return json.dumps(manifest).encode()

    with pytest.raises(ArchiveInvalid, match="sceau"):
        archive_verify(rebuilt(archive, "manifest.json", recount), key=KEY)
    with pytest.raises(ArchiveInvalid, match="sceau"):
        archive_verify(archive, key="une autre clé")


def test_the_commands_write_and_check_an_archive(shop, settings, tmp_path, capsys, archive):
    path = tmp_path / "bas.zip"
    today = timezone.localdate()
    call_command("export_archive", "BAS", f"{today:%Y-%m-%d}", f"{today:%Y-%m-%d}", str(path))
    call_command("verify_archive", str(path))
    assert "Archive conforme : OC Pizza Bastille" in capsys.readouterr().out

    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="Archive NON conforme"):
        call_command("verify_archive", str(path))

    settings.ARCHIVE_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="ARCHIVE_SIGNING_KEY"):
        call_command("export_archive", "BAS", "2026-01-01", "2026-01-31", str(tmp_path / "x.zip"))
    with pytest.raises(CommandError, match="Date invalide"):
        call_command("export_archive", "BAS", "2026-13-01", "2026-01-31", str(tmp_path / "x.zip"))
