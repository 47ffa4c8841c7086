import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Once this process has seen every migration applied it stops asking: the code it
# runs cannot gain migrations, and the graph costs more than the health check.
_schema_complete = False


def _pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for nginx, supervisors and load balancers: can this process serve pages?

    A database that answers is not enough: a server started without its
    ENV_FILE runs on an empty SQLite file that answers ``SELECT 1`` while every
    page is a 503. So the schema this code expects must be there too.
    """
    global _schema_complete
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = 0 if _schema_complete else _pending_migrations()
    except DatabaseError:
        logger.exception("Health check: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    if pending:
        logger.error("Health check: %d migration(s) not applied to this database", pending)
        return JsonResponse({"status": "error", "database": "ok", "migrations": f"{pending} pending"}, status=503)
    _schema_complete = True
    return JsonResponse({"status": "ok", "database": "ok"})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
