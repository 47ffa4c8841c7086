"""OC Pizza settings, read from the environment (12-factor).

Development is the default and runs with nothing set (SQLite file, console
e-mail). ``ENV_MODE=production`` demands its secrets and refuses to start
without them, naming the missing variable.
"""

import datetime
import os
import shlex
import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# On a server the secrets live in one file outside the code (ENV_FILE), read by
# gunicorn, cron jobs and manage.py alike; a .env beside manage.py otherwise.
ENV_FILE = os.environ.get("ENV_FILE", "")
environ.Env.read_env(ENV_FILE or BASE_DIR / ".env", overwrite=False)

ENV_MODE = env.str("ENV_MODE", default="development").lower()
if ENV_MODE not in {"development", "production"}:
    raise ImproperlyConfigured(f"ENV_MODE must be 'development' or 'production', not {ENV_MODE!r}")
PRODUCTION = ENV_MODE == "production"


def required(name: str, **kwargs):
    """A variable production cannot run without: one clear line when missing."""
    if name not in env.ENVIRON or env.ENVIRON[name] == "":
        raise ImproperlyConfigured(f"Missing required environment variable {name} (ENV_MODE=production).")
    return env(name, **kwargs)


def money_setting(name: str, *, default: str) -> Decimal:
    """An amount in euros, e.g. ``25`` or ``25.00``; a typo stops the start with its name."""
    raw = env.str(name, default=default).strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0 or not raw.isascii():
        raise ImproperlyConfigured(f"{name} must be an amount in euros such as 25.00, not {raw!r}")
    return amount.quantize(Decimal("0.01"))


def time_setting(name: str, *, default: str) -> datetime.time:
    """A time of day, ``HH:MM``; a typo stops the start with its name."""
    raw = env.str(name, default=default).strip()
    try:
        if not (raw.isascii() and len(raw) == 5):
            raise ValueError(raw)
        return datetime.time.fromisoformat(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a time of day such as 04:00, not {raw!r}") from None


DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = required("SECRET_KEY")
    ALLOWED_HOSTS = required("ALLOWED_HOSTS", cast=list)
else:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-key")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "ocpizzapp.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "ocpizzapp",
    "accounts",
    "production",
    "ventes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ocpizzapp.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Below the messages and htmx middleware, whose work its answers use.
    "ocpizzapp.errors.BusinessErrorMiddleware",
]

ROOT_URLCONF = "ocpizzapp.urls"
WSGI_APPLICATION = "ocpizzapp.wsgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Plain inputs, options and labels written in Python, the rest by Django's templates (ocpizzapp/forms.py).
FORM_RENDERER = "ocpizzapp.forms.TagRenderer"

DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
else:
    # SQLite waits for the writer instead of failing at once when two requests write.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A guest's session (cart, form tokens) travels in a signed cookie, a signed-in user's lives in the
# database: any app server answers any request, and placing an order writes no session (ocpizzapp/sessions.py).
SESSION_ENGINE = "ocpizzapp.sessions"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.StaffAwareModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "ventes:home"
LOGOUT_REDIRECT_URL = "ventes:home"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OC Pizza <commandes@ocpizza.fr>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
if "EMAIL_URL" in env.ENVIRON:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = (
        "django.core.mail.backends.smtp.EmailBackend"
        if PRODUCTION
        else "django.core.mail.backends.console.EmailBackend"
    )
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# Behind nginx: trust the scheme it forwards (nginx overwrites the header).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The health checks, asked on the server itself: the site's and the stream server's (verify_deployment).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^flux/sante$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"

# Live screens (order tracking, kitchen, counter, rider, dashboard) are pushed as Server-Sent Events by the
# stream server (ocpizzapp/asgi.py, ocpizzapp/streams.py), which hears of changes by PostgreSQL LISTEN/NOTIFY:
# on SQLite there is nothing to listen to, and the pages follow by polling alone, as they do whenever their
# stream is down. LIVE_STREAMS=0 turns the streams off.
ON_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
LIVE_STREAMS = env.bool("LIVE_STREAMS", default=True) and ON_POSTGRES
# Where the pages reach the stream server: empty behind nginx, which serves it under /flux/ on the site's own
# origin; another origin in development (manage.py rundev: http://127.0.0.1:8001), which then answers the
# site's origin (SITE_URL) with CORS.
LIVE_STREAM_URL = env.str("LIVE_STREAM_URL", default="").rstrip("/")
# Where verify_deployment finds the stream server: unix:/path/to/socket or http://host:port.
LIVE_STREAM_SERVER = env.str("LIVE_STREAM_SERVER", default="")
# A comment line this often keeps proxies from closing an idle stream and shows a gone client.
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=15.0)
# A stream ends after this long and the browser opens it again, authorised again (a revoked access stops).
LIVE_STREAM_MAX_SECONDS = env.float("LIVE_STREAM_MAX_SECONDS", default=900.0)
# Off: the live screens with a stream do not poll at all and follow their stream only (the browser test that
# proves the streams carry the changes turns it off).
LIVE_POLL = env.bool("LIVE_POLL", default=True)

# Every script and style comes from our own origin (htmx is vendored): nothing
# injected into a page can run. Forms may only lead to us or to the payment and
# sign-in providers we redirect to.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF, *([LIVE_STREAM_URL] if LIVE_STREAM_URL else [])],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [
            SELF,
            "https://checkout.stripe.com",
            "https://accounts.google.com",
            "https://www.facebook.com",
        ],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # UTC on every line (ocpizzapp/logs.py), whatever TIME_ZONE does to the process's local time.
        "plain": {"class": "ocpizzapp.logs.UtcFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ocpizzapp.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": env.str("LOG_FORMAT", default="plain")}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # gunicorn's worker lines through the same handler once Django has loaded in the worker.
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Business settings of the shop and the kitchen.
OCPIZZA = {
    # Minutes an oven needs per pizza, and the lead time added for a delivery.
    "PREPARATION_MINUTES_PER_PIZZA": env.int("PREPARATION_MINUTES_PER_PIZZA", default=6),
    "ESTIMATE_SPREAD_MINUTES": env.int("ESTIMATE_SPREAD_MINUTES", default=10),
    "MAX_ORDER_LINES": env.int("MAX_ORDER_LINES", default=30),
    "MAX_LINE_QUANTITY": env.int("MAX_LINE_QUANTITY", default=50),
    "LOW_AVAILABILITY": env.int("LOW_AVAILABILITY", default=5),
    "PAYMENT_EXPIRY_MINUTES": env.int("PAYMENT_EXPIRY_MINUTES", default=30),
    # Longest a cached menu may lag behind its stock when a change cannot reach
    # every server's cache (local memory): the order page's poll interval.
    "MENU_CACHE_SECONDS": env.int("MENU_CACHE_SECONDS", default=5),
    # A paused pizzeria still takes orders for slots at least this far ahead.
    "PAUSE_LEAD_MINUTES": env.int("PAUSE_LEAD_MINUTES", default=60),
    # A refund Stripe could not make is tried again after this many minutes, doubling up to the cap;
    # after this many failed tries the managers are told (the tries go on).
    "REFUND_RETRY_BASE_MINUTES": env.float("REFUND_RETRY_BASE_MINUTES", default=5),
    "REFUND_RETRY_MAX_MINUTES": env.float("REFUND_RETRY_MAX_MINUTES", default=360),
    "REFUND_ALERT_AFTER_ATTEMPTS": env.int("REFUND_ALERT_AFTER_ATTEMPTS", default=3),
    # Most that meal vouchers may pay in a day (euros, French rule): an order pays the rest otherwise.
    "MEAL_VOUCHER_DAILY_LIMIT": money_setting("MEAL_VOUCHER_DAILY_LIMIT", default="25.00"),
    # A service that runs past midnight belongs to the evening it started: the till's day (sales journal,
    # daily closing Z) ends at this local time, and the day's Z is made then.
    "TILL_DAY_ENDS_AT": time_setting("TILL_DAY_ENDS_AT", default="04:00"),
    # A guest's name, phone, e-mail and address are taken out of their orders this many months after them.
    "GUEST_DATA_MONTHS": env.int("GUEST_DATA_MONTHS", default=12),
    # A half-and-half pizza costs its dearer half's price ("dearer") or the average of its halves ("average").
    "HALF_AND_HALF_PRICE": env.str("HALF_AND_HALF_PRICE", default="dearer"),
    # Busy mode starts by itself when a kitchen's orders run this many minutes late on average; 0: never.
    "AUTO_BUSY_LATE_MINUTES": env.int("AUTO_BUSY_LATE_MINUTES", default=15),
    # A stock line with a par level (what to hold after a delivery) is low at this share of it, in percent.
    "PAR_ALERT_PERCENT": env.int("PAR_ALERT_PERCENT", default=50),
    # Suggested purchases forecast each day's use from the same weekday of this many past weeks.
    "PURCHASE_HISTORY_WEEKS": env.int("PURCHASE_HISTORY_WEEKS", default=4),
}

# Seals the sales journal's archives (ventes/archives.py); kept apart from them: whoever checks an archive needs it.
ARCHIVE_SIGNING_KEY = env.str("ARCHIVE_SIGNING_KEY", default="")

# The seller's legal mentions on every receipt (French receipts: name, address, SIRET, VAT number).
COMPANY = {
    "NAME": env.str("COMPANY_NAME", default="OC Pizza"),
    "ADDRESS": env.str("COMPANY_ADDRESS", default=""),
    "SIRET": env.str("COMPANY_SIRET", default=""),
    "VAT_NUMBER": env.str("COMPANY_VAT_NUMBER", default=""),
}
# Named with its version on every receipt, as the sales journal's rules ask of the software that keeps it.
with open(BASE_DIR / "pyproject.toml", "rb") as project:
    SOFTWARE_VERSION = f"OC Pizza {tomllib.load(project)['project']['version']}"
if OCPIZZA["HALF_AND_HALF_PRICE"] not in ("dearer", "average"):
    raise ImproperlyConfigured("HALF_AND_HALF_PRICE must be dearer or average.")

# Absolute links in e-mails (order tracking) start with this address.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Google Maps (delivery zones, ventes/geo.py): off when empty, postcode zones then.
GMAP_API_KEY = env.str("GMAP_API_KEY", default="")

# Stripe online card payment (ventes/gateway.py, ventes/payments.py): offered only when the three keys are set.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# A signed webhook older than this is refused (replay protection).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", default=300)
# A customer waits on these calls: fail fast and let them choose another way to pay.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=5.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
# Where Stripe's API answers: another address only for a stand-in such as stripe-mock on a staging server.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")

# Google and Facebook sign-in (accounts/social.py): each provider is on only when its key and secret are set.
INSTALLED_APPS += ["social_django"]
MIDDLEWARE += ["accounts.social.SocialAuthErrorMiddleware"]
TEMPLATES[0]["OPTIONS"]["context_processors"] += ["accounts.social.social_providers"]
SOCIAL_AUTH_GOOGLE_OAUTH2_KEY = env.str("SOCIAL_AUTH_GOOGLE_OAUTH2_KEY", default="")
SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET = env.str("SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET", default="")
SOCIAL_AUTH_FACEBOOK_KEY = env.str("SOCIAL_AUTH_FACEBOOK_KEY", default="")
SOCIAL_AUTH_FACEBOOK_SECRET = env.str("SOCIAL_AUTH_FACEBOOK_SECRET", default="")
if SOCIAL_AUTH_GOOGLE_OAUTH2_KEY and SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET:
    AUTHENTICATION_BACKENDS += ["social_core.backends.google.GoogleOAuth2"]
if SOCIAL_AUTH_FACEBOOK_KEY and SOCIAL_AUTH_FACEBOOK_SECRET:
    AUTHENTICATION_BACKENDS += ["social_core.backends.facebook.FacebookOAuth2"]
SOCIAL_AUTH_USER_MODEL = AUTH_USER_MODEL
SOCIAL_AUTH_USER_FIELDS = ["email", "first_name", "last_name"]
SOCIAL_AUTH_FORCE_EMAIL_LOWERCASE = True
SOCIAL_AUTH_FACEBOOK_SCOPE = ["email"]
SOCIAL_AUTH_FACEBOOK_PROFILE_EXTRA_PARAMS = {"fields": "id,name,email,first_name,last_name"}
SOCIAL_AUTH_LOGIN_ERROR_URL = "accounts:login"
SOCIAL_AUTH_PIPELINE = [
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_names",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "accounts.social.associate_by_verified_email",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "accounts.social.complete_customer_profile",
]

# Operations: backups, scheduled jobs, maintenance mode, error reporting.
INSTALLED_APPS += ["dbbackup", "django_crontab", "maintenance_mode"]
MIDDLEWARE.append("ocpizzapp.maintenance.StaffAwareMaintenanceMiddleware")

# Backups never go under MEDIA_ROOT, which nginx serves to the public.
BACKUP_DIR = env.path("BACKUP_DIR", default=BASE_DIR / "backups")
STORAGES["dbbackup"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(BACKUP_DIR)},
}
DBBACKUP_CLEANUP_KEEP = env.int("BACKUP_KEEP", default=12)
DBBACKUP_CLEANUP_KEEP_MEDIA = DBBACKUP_CLEANUP_KEEP
# Failures are logged and sent to Sentry by the job runner, not mailed by dbbackup.
DBBACKUP_SEND_EMAIL = False
# SQLite restores check the file before touching the live database (ocpizzapp/ops/backup.py).
DBBACKUP_CONNECTOR_MAPPING = {"django.db.backends.sqlite3": "ocpizzapp.ops.backup.CheckedSqliteConnector"}
# Microseconds: two backups in one second must not share a name.
DBBACKUP_DATE_FORMAT = "%Y-%m-%d-%H%M%S-%f"

# Cron starts jobs with an empty environment: the prefix gives them what the
# web processes have (the secrets themselves stay in ENV_FILE, not in crontab).
CRONJOBS = [
    ("0 6 * * *", "ocpizzapp.cron.cyclic_update"),
    ("0 6 1 * *", "ocpizzapp.cron.cyclic_backup"),
    ("*/5 * * * *", "ocpizzapp.cron.expire_payments"),
    ("*/5 * * * *", "ocpizzapp.cron.retry_refunds"),
    # The day's closing (Z) within a quarter of an hour of TILL_DAY_ENDS_AT, and the month's and year's with it.
    ("*/15 * * * *", "ocpizzapp.cron.close_periods"),
    ("30 4 * * *", "ocpizzapp.cron.purge_guest_data"),
    ("*/5 * * * *", "ocpizzapp.cron.watch_kitchens"),
]
CRONTAB_COMMAND_PREFIX = " ".join(
    f"{name}={shlex.quote(os.environ[name])}"
    for name in ("ENV_FILE", "ENV_MODE", "BACKUP_DIR", "STATIC_ROOT", "MEDIA_ROOT", "LOG_LEVEL")
    if os.environ.get(name)
)
CRONTAB_COMMAND_SUFFIX = env.str("CRON_LOG", default="2>&1 | logger -t ocpizza-cron")
# One comment per checkout, so that two deployments on one host keep their own jobs.
CRONTAB_COMMENT = f"ocpizza jobs of {BASE_DIR}"
# django-crontab's lock file is named after the job alone, hence shared by every
# deployment on the host: the jobs take their own per-deployment lock (ocpizzapp/jobs.py).
CRONTAB_LOCK_JOBS = False

# Maintenance state lives in the database so that every app server sees it.
MAINTENANCE_MODE_STATE_BACKEND = "ocpizzapp.maintenance.DatabaseBackend"
MAINTENANCE_MODE_TEMPLATE = "maintenance.html"
MAINTENANCE_MODE_RETRY_AFTER = env.int("MAINTENANCE_RETRY_AFTER", default=900)
MAINTENANCE_STATE_TTL = env.float("MAINTENANCE_STATE_TTL", default=5.0)
MAINTENANCE_MODE_IGNORE_STAFF = True
# Off while the switch cannot be read (ocpizzapp.maintenance): the library's default, written out for its reader.
MAINTENANCE_MODE_STATE_BACKEND_FALLBACK_VALUE = False
MAINTENANCE_MODE_IGNORE_SUPERUSER = True
MAINTENANCE_MODE_IGNORE_ADMIN_SITE = True
# The staff area (its login, screens, htmx polling and streams) stays open: every view in it
# is gated by production.decorators.staff_only, so a customer gains nothing there.
MAINTENANCE_MODE_IGNORE_URLS = [r"^/healthz$", r"^/static/", r"^/equipe/", r"^/flux/equipe/", r"^/flux/sante$"]

# Login throttling (django-axes) on every login form (shop, staff, admin): after
# AXES_FAILURE_LIMIT failures for one e-mail from one client address, that pair
# waits AXES_COOLOFF_MINUTES. Locking the e-mail alone would let anyone lock a
# customer out. The client address is REMOTE_ADDR unless TRUSTED_PROXY_COUNT
# proxies (nginx: 1) append it to X-Forwarded-For (ocpizzapp/security.py):
# trusting the header without a proxy in front lets a client write its own.
INSTALLED_APPS += ["axes"]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "lockout.html"
AXES_CLIENT_IP_CALLABLE = "ocpizzapp.security.client_ip"
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_USERNAME_CALLABLE = "ocpizzapp.security.login_name"

SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="") or env.str("SOURCE_VERSION", default="")
if SENTRY_DSN:
    from ocpizzapp.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=ENV_MODE, release=SENTRY_RELEASE or None)

# Work off the request path (django-tasks, database backend): a task row is
# written in the transaction that causes it, and `manage.py run_worker` runs it
# on any server (rows taken with SKIP LOCKED on PostgreSQL). docs/taches.md.
INSTALLED_APPS += ["django_tasks", "django_tasks_db", "phonenumber_field"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A worker writes its heartbeat this often; one silent for WORKER_LOST_SECONDS
# is taken for dead and the tasks it was running are run again (each is idempotent).
WORKER_HEARTBEAT_SECONDS = env.float("WORKER_HEARTBEAT_SECONDS", default=10.0)
WORKER_LOST_SECONDS = env.float("WORKER_LOST_SECONDS", default=60.0)
# verify_deployment fails when a ready task has waited longer than this.
TASK_MAX_WAIT_SECONDS = env.int("TASK_MAX_WAIT_SECONDS", default=300)

# Customer notifications (ventes/notifications.py): a failed delivery is tried
# again after NOTIFY_RETRY_SECONDS, doubling up to NOTIFY_RETRY_MAX_SECONDS, at
# most NOTIFY_MAX_ATTEMPTS times (about four hours with the defaults).
NOTIFY_RETRY_SECONDS = env.float("NOTIFY_RETRY_SECONDS", default=30.0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=900.0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=20)
# A delivery in progress is another worker's for this long (longer than EMAIL_TIMEOUT).
NOTIFY_SEND_LEASE_SECONDS = env.float("NOTIFY_SEND_LEASE_SECONDS", default=EMAIL_TIMEOUT * 3 + 30)

# SMS (ventes/sms.py, Twilio): customers are told by e-mail only unless the three are set.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
PHONENUMBER_DEFAULT_REGION = "FR"
PHONENUMBER_DEFAULT_FORMAT = "E164"
