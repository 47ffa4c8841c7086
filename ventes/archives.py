"""Archives of the sales journal (NF525 principles): one file per pizzeria and period, sealed, checked offline.

``archive_build`` writes a zip with the period's journal rows and closings, one
JSON object a line, each holding exactly what its hash covers plus the hash,
and a manifest: the SHA-256 of each file, the first and last hashes of each
chain. The whole file is sealed: its last 64 bytes (the zip's comment) are the
HMAC-SHA256, with ``ARCHIVE_SIGNING_KEY`` (from the environment, never stored
with the archives), of every byte before them.

``archive_verify`` needs nothing but the file and the key: not the database,
not this application's models. It checks the seal, every file against the
manifest, every row's hash against its content, and that each row follows the
one before it. A byte changed anywhere makes it fail and say where.
"""

import datetime
import hashlib
import hmac
import io
import json
import zipfile
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone

from production.models import Pizzeria

from .closings import closing_content
from .journal import entry_content
from .models import Closing, JournalEntry

FORMAT = "ocpizza-archive/1"
FILES = ("journal.jsonl", "closings.jsonl")
SEAL_LENGTH = 64  # hexadecimal HMAC-SHA256
# A fixed time inside the zip: the same period gives the same bytes, whenever it is exported.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)


class ArchiveInvalid(Exception):
    """What is wrong with an archive, in French, for the operator."""


def _canonical(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _lines(rows: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(_canonical(row) + b"\n" for row in rows)


def _seal(data: bytes, key: str) -> bytes:
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest().encode()


def _chain_ends(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"count": 0}
    return {
        "count": len(rows),
        "first_sequence": rows[0]["sequence"],
        "last_sequence": rows[-1]["sequence"],
        "first_previous_hash": rows[0]["previous_hash"],
        "last_hash": rows[-1]["hash"],
    }


def archive_build(*, pizzeria: Pizzeria, start: datetime.date, end: datetime.date, key: str | None = None) -> bytes:
    """The archive of a pizzeria's till days from ``start`` to ``end``: journal rows and closings within."""
    key = key if key is not None else settings.ARCHIVE_SIGNING_KEY
    if not key:
        raise ArchiveInvalid("ARCHIVE_SIGNING_KEY n'est pas défini : impossible de sceller l'archive.")
    entries = JournalEntry.objects.filter(pizzeria=pizzeria, business_date__gte=start, business_date__lte=end)
    journal = [{**entry_content(e), "hash": e.hash} for e in entries.order_by("sequence").iterator(chunk_size=2000)]
    closings_rows = Closing.objects.filter(pizzeria=pizzeria, period_start__gte=start, period_end__lte=end)
    closings = [{**closing_content(c), "hash": c.hash} for c in closings_rows.order_by("sequence")]
    files = {"journal.jsonl": _lines(journal), "closings.jsonl": _lines(closings)}
    manifest = _canonical(
        {
            "format": FORMAT,
            "pizzeria": {"id": pizzeria.pk, "code": pizzeria.code, "name": pizzeria.name},
            "period": [start.isoformat(), end.isoformat()],
            "made_at": timezone.now().astimezone(datetime.UTC).isoformat(timespec="seconds"),
            "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
            "journal": _chain_ends(journal),
            "closings": _chain_ends(closings),
        }
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in [*files.items(), ("manifest.json", manifest)]:
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data)
        # The comment ends the file: room for the seal, written once every byte before it is known.
        archive.comment = b"0" * SEAL_LENGTH
    body = out.getvalue()[:-SEAL_LENGTH]
    return body + _seal(body, key)


def _check_chain(name: str, data: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            row = json.loads(line)
            content = {key: value for key, value in row.items() if key != "hash"}
            stated = row["hash"]
        except (ValueError, KeyError, AttributeError) as error:
            raise ArchiveInvalid(f"{name}, ligne {number} : illisible ({error}).") from None
        if hashlib.sha256(_canonical(content)).hexdigest() != stated:
            raise ArchiveInvalid(f"{name}, ligne {number} (n° {content.get('sequence')}) : contenu modifié.")
        if rows and content.get("previous_hash") != rows[-1]["hash"]:
            raise ArchiveInvalid(f"{name}, ligne {number} (n° {content.get('sequence')}) : chaînage rompu.")
        rows.append(row)
    return rows


def archive_verify(data: bytes, *, key: str) -> dict[str, Any]:
    """Check an archive with its key only; return its manifest, or raise ``ArchiveInvalid`` saying what fails."""
    if not hmac.compare_digest(_seal(data[:-SEAL_LENGTH], key), data[-SEAL_LENGTH:]):
        raise ArchiveInvalid("Le sceau ne correspond pas : archive modifiée, tronquée, ou mauvaise clé.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            contents = {name: archive.read(name) for name in [*FILES, "manifest.json"]}
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zipfile.LargeZipFile) as error:
        raise ArchiveInvalid(f"Archive illisible ou incomplète ({error}).") from None
    except Exception as error:  # zlib and zip raise several kinds on a damaged byte: all mean the same here
        raise ArchiveInvalid(f"Archive endommagée ({error}).") from None
    manifest = json.loads(contents["manifest.json"])
    for name in FILES:
        if hashlib.sha256(contents[name]).hexdigest() != manifest["files"][name]:
            raise ArchiveInvalid(f"{name} ne correspond pas à son empreinte dans le manifeste.")
    for name, part in [("journal.jsonl", "journal"), ("closings.jsonl", "closings")]:
        if _chain_ends(_check_chain(name, contents[name])) != manifest[part]:
            raise ArchiveInvalid(f"{name} : début ou fin de chaîne différents du manifeste.")
    return manifest
