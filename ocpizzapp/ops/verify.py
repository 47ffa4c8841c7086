"""The deployment check the manuals ask for: "a custom command that tests
that everything is in place" (OCPizzApp 4.1.4, DigitalOcean 4.5).

Each check returns a ``CheckResult``; none raises, so that one broken piece
does not hide the state of the others.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.mail import get_connection
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import DatabaseError, connection
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.urls import reverse
from django.utils import translation
from maintenance_mode.core import get_maintenance_mode
from stdnum.fr import siret, tva

from ocpizzapp.ops.backup import BackupError, backup_probe


@dataclass(frozen=True)
class CheckResult:
    event: str
    ok: bool
    detail: str = ""


REQUIRED_VARIABLES = ["ENV_MODE", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"]
# Outside services are optional (each is off without its key) but a key that is
# there must look right: a typo would only show when a customer pays.
SERVICE_KEYS = {
    "GMAP_API_KEY": re.compile(r"^AIza[0-9A-Za-z_\-]{35}$"),
    "STRIPE_SECRET_KEY": re.compile(r"^(sk|rk)_(live|test)_[0-9A-Za-z]{10,}$"),
    "STRIPE_PUBLISHABLE_KEY": re.compile(r"^pk_(live|test)_[0-9A-Za-z]{10,}$"),
    "STRIPE_WEBHOOK_SECRET": re.compile(r"^whsec_[0-9A-Za-z+/=]{10,}$"),
    "SENTRY_DSN": re.compile(r"^https://[0-9a-f]+@[\w.\-]+(:\d+)?/\d+$"),
    "SOCIAL_AUTH_GOOGLE_OAUTH2_KEY": re.compile(r"^[0-9]+-[0-9a-z]+\.apps\.googleusercontent\.com$"),
    "SOCIAL_AUTH_FACEBOOK_KEY": re.compile(r"^[0-9]{5,20}$"),
}


def check_database() -> CheckResult:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return CheckResult("Database-connection", False, f"base injoignable : {error}".strip())
    return CheckResult("Database-connection", True)


def check_migrations() -> CheckResult:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return CheckResult("Database-migrations", False, f"état des migrations illisible : {error}")
    if plan:
        pending = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan[:5])
        return CheckResult("Database-migrations", False, f"{len(plan)} migration(s) à appliquer : {pending}")
    return CheckResult("Database-migrations", True)


def check_models_migrations() -> CheckResult:
    """Models changed without their migration: migrate would do nothing and the pages would fail."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    # As makemigrations does: migrations hold untranslated names, the models' are lazy (French here).
    with translation.override(None):
        changes = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps)).changes(
            graph=loader.graph
        )
    if changes:
        described = "; ".join(
            f"{label} : "
            + ", ".join(operation.describe() for migration in migrations for operation in migration.operations)
            for label, migrations in sorted(changes.items())
        )
        return CheckResult(
            "Models-migrations",
            False,
            f"modèle(s) modifié(s) sans migration ({described}) : livrer la migration écrite par les développeurs, "
            "ne pas lancer makemigrations sur le serveur",
        )
    return CheckResult("Models-migrations", True)


def check_static_files() -> CheckResult:
    root = Path(settings.STATIC_ROOT)
    missing = [path for finder in get_finders() for path, _ in finder.list([]) if not (root / path).is_file()]
    if missing:
        return CheckResult(
            "Static-files-collection",
            False,
            f"{len(missing)} fichier(s) absent(s) de {root}, ex. {missing[0]} : lancer collectstatic",
        )
    return CheckResult("Static-files-collection", True)


def check_static_manifest() -> CheckResult:
    """In production every page names its static files through staticfiles.json: a missing
    manifest or hashed file makes every page answer 500 after the next restart."""
    storage = staticfiles_storage
    if not isinstance(storage, ManifestFilesMixin):
        return CheckResult("Static-files-manifest", True, "pas de manifeste hors production")
    manifest = Path(settings.STATIC_ROOT) / storage.manifest_name
    try:
        paths = json.loads(manifest.read_text())["paths"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return CheckResult(
            "Static-files-manifest", False, f"{manifest} absent ou illisible ({error}) : lancer collectstatic"
        )
    missing = sorted(name for name in paths.values() if not (Path(settings.STATIC_ROOT) / name).is_file())
    if missing:
        return CheckResult(
            "Static-files-manifest",
            False,
            f"{len(missing)} fichier(s) du manifeste absent(s) de {settings.STATIC_ROOT}, ex. {missing[0]} : "
            "lancer collectstatic",
        )
    return CheckResult("Static-files-manifest", True)


def check_environment() -> CheckResult:
    missing = [name for name in REQUIRED_VARIABLES if not os.environ.get(name)]
    if missing:
        return CheckResult("Environment-variables", False, f"variable(s) manquante(s) : {', '.join(missing)}")
    return CheckResult("Environment-variables", True)


def check_email() -> CheckResult:
    """Production sends e-mail by SMTP (localhost when EMAIL_URL is not set): the server must answer,
    or the 06:00 job and every order confirmation fail with a connection error."""
    if not settings.PRODUCTION:
        return CheckResult("Email-server", True, "développement : courriels écrits dans la console")
    if not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        return CheckResult("Email-server", True, f"courriels confiés à {settings.EMAIL_BACKEND}, aucun serveur SMTP")
    server = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    try:
        with get_connection(fail_silently=False):
            pass
    except (OSError, smtplib.SMTPException) as error:
        unset = "" if "EMAIL_URL" in os.environ else " (EMAIL_URL absent : serveur local par défaut)"
        return CheckResult(
            "Email-server",
            False,
            f"serveur de courriel {server}{unset} injoignable : {error} ; "
            "définir EMAIL_URL (ex. smtp+tls://utilisateur:motdepasse@smtp.exemple.fr:587)",
        )
    return CheckResult("Email-server", True, f"serveur de courriel {server}")


def check_service_keys() -> CheckResult:
    malformed = [
        name for name, pattern in SERVICE_KEYS.items() if os.environ.get(name) and not pattern.match(os.environ[name])
    ]
    if malformed:
        return CheckResult("Outside-services-keys", False, f"clé(s) mal formée(s) : {', '.join(malformed)}")
    off = [name for name in SERVICE_KEYS if not os.environ.get(name)]
    return CheckResult("Outside-services-keys", True, f"service(s) désactivé(s) : {', '.join(off)}" if off else "")


def check_legal_mentions() -> CheckResult:
    """Every receipt prints the seller's mentions (CGI art. 242 nonies A): in production they must all be there,
    and a SIRET or VAT number with a typo would be printed on every receipt until someone notices."""
    company = settings.COMPANY
    if not settings.PRODUCTION:
        return CheckResult("Legal-mentions", True, "développement : mentions légales facultatives")
    missing = [f"COMPANY_{key}" for key in ("NAME", "ADDRESS", "SIRET", "VAT_NUMBER") if not company[key].strip()]
    if missing:
        return CheckResult(
            "Legal-mentions",
            False,
            f"mention(s) légale(s) absente(s) des tickets : {', '.join(missing)} ; les écrire dans le fichier "
            "d'environnement (raison sociale, adresse du siège, SIRET, n° de TVA intracommunautaire)",
        )
    problems = []
    if not siret.is_valid(company["SIRET"]):
        problems.append(f"COMPANY_SIRET « {company['SIRET']} » n'est pas un SIRET valable (14 chiffres, clé)")
    if not tva.is_valid(company["VAT_NUMBER"]):
        problems.append(f"COMPANY_VAT_NUMBER « {company['VAT_NUMBER']} » n'est pas un n° de TVA français valable")
    elif siret.is_valid(company["SIRET"]) and tva.compact(company["VAT_NUMBER"])[-9:] != siret.to_siren(
        company["SIRET"]
    ):
        problems.append("COMPANY_VAT_NUMBER ne correspond pas au SIREN de COMPANY_SIRET")
    if problems:
        return CheckResult("Legal-mentions", False, " ; ".join(problems))
    return CheckResult("Legal-mentions", True, f"{company['NAME']}, SIRET {company['SIRET']}")


# An HMAC key shorter than this is guessable enough to forge a sealed archive.
ARCHIVE_KEY_MIN_LENGTH = 32


def check_archive_signing_key() -> CheckResult:
    """The sales journal's archives are sealed with this key (ventes/archives.py); without it none can be made."""
    key = settings.ARCHIVE_SIGNING_KEY
    if not settings.PRODUCTION and not key:
        return CheckResult("Archive-signing-key", True, "développement : archives du journal non scellées")
    if len(key) < ARCHIVE_KEY_MIN_LENGTH:
        state = "absente" if not key else f"trop courte ({len(key)} caractères, {ARCHIVE_KEY_MIN_LENGTH} au moins)"
        return CheckResult(
            "Archive-signing-key",
            False,
            f"ARCHIVE_SIGNING_KEY {state} : en générer une (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), l'écrire dans le fichier d'environnement et en garder une copie "
            "hors des serveurs",
        )
    return CheckResult("Archive-signing-key", True)


def check_backup_storage() -> CheckResult:
    """The backup path end to end: a real small dump in BACKUP_DIR, restored by the drill, then removed."""
    location = Path(settings.STORAGES["dbbackup"]["OPTIONS"]["location"])
    if Path(settings.MEDIA_ROOT).resolve() in [location.resolve(), *location.resolve().parents]:
        return CheckResult("Backup-storage", False, f"{location} est dans MEDIA_ROOT, servi au public")
    try:
        location.mkdir(parents=True, exist_ok=True)
        probe = backup_probe(folder=location)
    except OSError as error:
        return CheckResult("Backup-storage", False, f"{location} non inscriptible : {error}")
    except (BackupError, DatabaseError) as error:
        return CheckResult("Backup-storage", False, f"sauvegarde d'essai en échec : {error}")
    return CheckResult("Backup-storage", True, f"sauvegarde d'essai de {probe} restaurée et comparée")


def cron_job_hash(job: tuple) -> str:
    """The hash django-crontab writes on each crontab line (same encoding as its own)."""
    return hashlib.md5(json.JSONEncoder(sort_keys=True).encode(job).encode("utf-8")).hexdigest()


def check_scheduled_jobs() -> CheckResult:
    crontab = shutil.which("crontab")
    if crontab is None:
        return CheckResult("Scheduled-jobs", False, "commande crontab absente")
    listing = subprocess.run([crontab, "-l"], capture_output=True, text=True, check=False).stdout
    missing = [job[1] for job in settings.CRONJOBS if cron_job_hash(job) not in listing]
    if missing:
        return CheckResult(
            "Scheduled-jobs", False, f"tâche(s) absente(s) de la crontab : {', '.join(missing)} (manage.py crontab add)"
        )
    return CheckResult("Scheduled-jobs", True)


def check_maintenance() -> CheckResult:
    if get_maintenance_mode():
        return CheckResult("Maintenance-mode", False, "le site est en maintenance (manage.py maintenance off)")
    return CheckResult("Maintenance-mode", True)


def check_task_worker() -> CheckResult:
    """A worker beat lately, and no task ready to run has waited longer than TASK_MAX_WAIT_SECONDS."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult, get_date_max

    from ocpizzapp.models import WorkerHeartbeat

    now = timezone.now()
    try:
        last = WorkerHeartbeat.objects.order_by("-seen_at").first()
        ready = DBTaskResult.objects.ready()
        # A task is due from its enqueueing, or from its run_after when it was deferred (a retry).
        due = [
            ready.filter(run_after=get_date_max())
            .order_by("enqueued_at")
            .values_list("enqueued_at", flat=True)
            .first(),
            ready.exclude(run_after=get_date_max()).order_by("run_after").values_list("run_after", flat=True).first(),
        ]
        oldest = min((at for at in due if at is not None), default=None)
    except DatabaseError as error:
        return CheckResult("Task-worker", False, f"file des tâches illisible : {error}")
    if last is None or (now - last.seen_at).total_seconds() > settings.WORKER_LOST_SECONDS:
        since = f"depuis {last.seen_at:%d/%m %H:%M}" if last else "jamais vu"
        return CheckResult("Task-worker", False, f"aucun worker de tâches actif ({since}) : manage.py run_worker")
    if oldest is not None and (waited := (now - oldest).total_seconds()) > settings.TASK_MAX_WAIT_SECONDS:
        return CheckResult(
            "Task-worker", False, f"une tâche attend depuis {int(waited)} s : workers trop peu nombreux ?"
        )
    took = f"dernière tâche à {timezone.localtime(last.last_task_at):%H:%M:%S}" if last.last_task_at else "aucune tâche"
    return CheckResult(
        "Task-worker", True, f"worker {last.worker_id} vu à {timezone.localtime(last.seen_at):%H:%M:%S}, {took}"
    )


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def check_stream_server() -> CheckResult:
    """The stream server (ocpizzapp/asgi.py) answers at LIVE_STREAM_SERVER and listens to the database: else the
    live screens poll, as when it is down, and every open page costs a request every few seconds."""
    if not settings.LIVE_STREAMS:
        return CheckResult("Stream-server", True, "flux en direct désactivés (SQLite ou LIVE_STREAMS=0) : polling seul")
    address = settings.LIVE_STREAM_SERVER
    if not address.startswith(("unix:", "http://")):
        return CheckResult(
            "Stream-server",
            False,
            f"LIVE_STREAM_SERVER « {address} » : écrire dans le fichier d'environnement où écoute le serveur de "
            "flux (unix:/chemin/du/socket ou http://hôte:port)",
        )
    if address.startswith("unix:"):
        connection: http.client.HTTPConnection = _UnixHTTPConnection(address.removeprefix("unix:"), timeout=10)
    else:
        connection = http.client.HTTPConnection(urlsplit(address).netloc, timeout=10)
    try:
        host = next((name.lstrip(".") for name in settings.ALLOWED_HOSTS if name != "*"), "localhost")
        connection.request("GET", reverse("flux:health"), headers={"Host": host})
        response = connection.getresponse()
        status, body = response.status, response.read()
    except OSError as error:
        return CheckResult(
            "Stream-server",
            False,
            f"serveur de flux injoignable à {address} : {error} (systemctl status ocpizza-streams, "
            "ou watchdog.sh status streams)",
        )
    finally:
        connection.close()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    if status != 200 or answer.get("status") != "ok":
        return CheckResult(
            "Stream-server",
            False,
            f"le serveur de flux à {address} répond {status} : {body[:200].decode(errors='replace')}",
        )
    streams = answer.get("streams", 0)
    return CheckResult("Stream-server", True, f"{address}, {streams} flux ouvert(s) dans le processus qui a répondu")


def check_deploy_settings() -> CheckResult:
    output = StringIO()
    try:
        call_command("check", deploy=True, fail_level="WARNING", stdout=output, stderr=output)
    except SystemCheckError as error:
        return CheckResult("Django-deploy-checks", False, str(error).strip().splitlines()[0])
    return CheckResult("Django-deploy-checks", True)


def check_https() -> CheckResult:
    """Production cookies are Secure: a browser never sends them back over plain HTTP."""
    plain = [address for address in [settings.SITE_URL, *settings.CSRF_TRUSTED_ORIGINS] if address.startswith("http:")]
    if plain:
        return CheckResult(
            "Https-serving",
            False,
            f"site annoncé en HTTP ({', '.join(plain)}) : en production les cookies de session et CSRF sont"
            " « Secure », le navigateur ne les renvoie pas en HTTP et chaque formulaire échoue (403)."
            " Servir le site en HTTPS (certbot) et écrire SITE_URL / CSRF_TRUSTED_ORIGINS en https://",
        )
    return CheckResult("Https-serving", True)


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "migrations": check_migrations,
    "models": check_models_migrations,
    "static": check_static_files,
    "manifest": check_static_manifest,
    "environment": check_environment,
    "email": check_email,
    "services": check_service_keys,
    "legal": check_legal_mentions,
    "archives": check_archive_signing_key,
    "backups": check_backup_storage,
    "cron": check_scheduled_jobs,
    "maintenance": check_maintenance,
    "worker": check_task_worker,
    "streams": check_stream_server,
    "deploy": check_deploy_settings,
    "https": check_https,
}


def verify_deployment(*, skip: frozenset[str] = frozenset()) -> list[CheckResult]:
    names = [name for name in CHECKS if name not in skip]
    if not settings.PRODUCTION:
        # check --deploy and the HTTPS check judge production settings only.
        names = [name for name in names if name not in {"deploy", "https"}]
    results: list[CheckResult] = []
    for name in names:
        if name == "migrations" and results and not results[0].ok:
            results.append(CheckResult("Database-migrations", False, "base injoignable"))
            continue
        results.append(CHECKS[name]())
    return results
