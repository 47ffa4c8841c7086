"""The categorical update (manual chapter 6.1): copy the files of an update
bundle to their places in the project, as ``controller.ini`` maps them.

The manual's controller wrote destinations with dots (``OC_PIZZA.city_001.models.py``),
which cannot tell a folder from an extension; ours are paths relative to the
project, and the dotted form is refused with the path it probably meant
(taken as a file name it would land, unused, at the project's root). A
destination outside the project is refused, every replaced file is kept so
that ``--rollback`` puts the project back as it was.

Files are placed with the time of the update as their modification time:
``collectstatic`` only copies a file newer than its collected copy, so a
bundle built last week, or the older file a rollback puts back, would
otherwise leave the previous version live.
"""

import configparser
import datetime
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

LIGHT_EXTENSIONS = {".ico", ".jpg", ".jpeg", ".png", ".gif", ".svg", ".webp", ".pdf"}
HEAVY_EXTENSIONS = {".py", ".html", ".css", ".js", ".json", ".ini", ".psql", ".sql", ".txt", ".md", ".po"}
SECTIONS = {"light_components": LIGHT_EXTENSIONS, "heavy_components": HEAVY_EXTENSIONS}
# Never written by an update: the code history, the installed packages, the secrets.
PROTECTED = {".git", ".venv", ".env"}
MANIFEST = "manifest.json"


class UpdateError(Exception):
    """An update refused before anything changed; the message says why, in French."""


@dataclass(frozen=True)
class Change:
    category: str
    source: str
    destination: str
    action: str  # "create" or "replace"


class _CaseKeepingParser(configparser.ConfigParser):
    """File names keep their case (ConfigParser lowers option names)."""

    def optionxform(self, optionstr: str) -> str:
        return optionstr


def lhc_plan(*, controller: Path, bundle: Path, project: Path) -> list[Change]:
    parser = _CaseKeepingParser(interpolation=None, delimiters=("=",))
    try:
        if not parser.read(controller, encoding="utf-8"):
            raise UpdateError(f"Fichier de contrôle introuvable : {controller}")
    except configparser.Error as error:
        raise UpdateError(f"controller.ini illisible : {error}") from error
    unknown = set(parser.sections()) - set(SECTIONS)
    if unknown:
        raise UpdateError(f"Section(s) inconnue(s) dans controller.ini : {', '.join(sorted(unknown))}")
    project, bundle = project.resolve(), bundle.resolve()
    changes = []
    for section, extensions in SECTIONS.items():
        if not parser.has_section(section):
            continue
        for source_name, destination_name in parser.items(section):
            destination_name = destination_name.strip()
            _refuse_dotted_form(source_name=source_name, destination_name=destination_name)
            source = (bundle / source_name).resolve()
            destination = (project / destination_name).resolve()
            if not source.is_relative_to(bundle) or not source.is_file():
                raise UpdateError(f"{source_name} : absent du paquet de mise à jour {bundle}")
            if not destination.is_relative_to(project) or destination == project:
                raise UpdateError(f"{source_name} : destination {destination_name} hors du projet, refusée")
            if destination.relative_to(project).parts[0] in PROTECTED:
                raise UpdateError(f"{source_name} : destination {destination_name} protégée, refusée")
            if source.suffix.lower() not in extensions or destination.suffix.lower() != source.suffix.lower():
                raise UpdateError(f"{source_name} → {destination_name} : extension hors de la catégorie {section}")
            changes.append(
                Change(
                    category=section,
                    source=str(source),
                    destination=str(destination.relative_to(project)),
                    action="replace" if destination.exists() else "create",
                )
            )
    if not changes:
        raise UpdateError("controller.ini ne décrit aucun composant à mettre à jour")
    return changes


def _refuse_dotted_form(*, source_name: str, destination_name: str) -> None:
    """``ocpizzapp.models.py``: the manual's dotted form, where dots stand for folders."""
    if "/" in destination_name or destination_name.count(".") < 2:
        return
    *folders, name, extension = destination_name.split(".")
    meant = "/".join([*folders, f"{name}.{extension}"])
    raise UpdateError(
        f"{source_name} : destination {destination_name} écrite avec des points (forme du dossier d'origine),"
        f" ambiguë entre dossier et nom de fichier : écrire le chemin avec des /, par ex. {meant}"
        f" (ou ./{destination_name} pour un fichier de ce nom à la racine du projet)"
    )


def _place(source: Path, destination: Path) -> None:
    """Copy the content and permissions, with a fresh modification time (see the module's docstring)."""
    shutil.copyfile(source, destination)
    shutil.copymode(source, destination)


def lhc_apply(*, changes: list[Change], project: Path, store: Path) -> Path:
    """Copy every file; keep what it replaces in a new folder of ``store``. Returns that folder."""
    saved = store / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
    saved.mkdir(parents=True)
    done: list[Change] = []
    try:
        for change in changes:
            destination = project / change.destination
            if change.action == "replace":
                keep = saved / "files" / change.destination
                keep.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(destination, keep)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _place(Path(change.source), destination)
            done.append(change)
    except OSError:
        _undo(changes=done, project=project, saved=saved)
        shutil.rmtree(saved)
        raise
    (saved / MANIFEST).write_text(json.dumps([asdict(change) for change in changes], indent=2), encoding="utf-8")
    return saved


def _undo(*, changes: list[Change], project: Path, saved: Path) -> None:
    for change in reversed(changes):
        destination = project / change.destination
        if change.action == "replace":
            _place(saved / "files" / change.destination, destination)
        else:
            destination.unlink(missing_ok=True)


def lhc_rollback(*, project: Path, store: Path) -> list[Change]:
    """Undo the latest update kept in ``store``."""
    updates = sorted(path for path in store.glob("*/") if (path / MANIFEST).is_file()) if store.is_dir() else []
    if not updates:
        raise UpdateError(f"Aucune mise à jour à annuler dans {store}")
    latest = updates[-1]
    changes = [Change(**item) for item in json.loads((latest / MANIFEST).read_text(encoding="utf-8"))]
    _undo(changes=changes, project=project, saved=latest)
    shutil.rmtree(latest)
    return changes
