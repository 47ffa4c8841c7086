"""The daily cyclic update (manual chapter 6.2): expire unpaid orders, write
yesterday's report per pizzeria, alert managers about low stock, check every
stock line against its ledger, clear expired sessions. Running it twice gives
the same reports and sends no second low-stock alert; a ledger drift is
reported at every run until someone mends it.
"""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from production.models import DailyReport, Pizzeria, StaffMember, Stock
from production.selectors import stock_low
from ventes.models import Order, OrderEvent, OrderLine, OrderState
from ventes.reports import facts_refresh
from ventes.selectors import LedgerDrift, stock_check_ledger
from ventes.services import orders_expire_unpaid

logger = logging.getLogger(__name__)
BEST_SELLERS = 3


@dataclass(frozen=True)
class DailyUpdateResult:
    day: datetime.date
    expired_orders: int
    reports: int
    alerts_sent: int
    ledger_drifts: int = 0


def _average_preparation_minutes(*, orders) -> Decimal | None:
    stamps = (
        OrderEvent.objects.filter(order__in=orders, to_state__in=[OrderState.PREPARING, OrderState.READY])
        .values("order_id", "to_state")
        .annotate(at=Min("at"))
    )
    started: dict[int, datetime.datetime] = {}
    finished: dict[int, datetime.datetime] = {}
    for row in stamps:
        (started if row["to_state"] == OrderState.PREPARING else finished)[row["order_id"]] = row["at"]
    durations = [
        (finished[order_id] - started[order_id]).total_seconds()
        for order_id in started
        if order_id in finished and finished[order_id] >= started[order_id]
    ]
    if not durations:
        return None
    return (Decimal(sum(durations)) / len(durations) / 60).quantize(Decimal("0.1"))


def report_write(*, pizzeria: Pizzeria, day: datetime.date) -> DailyReport:
    orders = Order.objects.filter(pizzeria=pizzeria, business_date=day)
    figures = orders.aggregate(
        count=Count("pk"),
        cancellations=Count("pk", filter=Q(state=OrderState.CANCELLED)),
        takings=Sum("total", filter=Q(state=OrderState.COMPLETED)),
    )
    best_sellers = [
        {"product": row["product_name"], "quantity": row["quantity"]}
        for row in OrderLine.objects.filter(order__in=orders.exclude(state=OrderState.CANCELLED))
        .values("product_name")
        .annotate(quantity=Sum("quantity"))
        .order_by("-quantity", "product_name")[:BEST_SELLERS]
    ]
    low_stock = [
        {
            "ingredient": line.ingredient.name,
            "available": line.available,
            "on_hand": line.on_hand,
            "reserved": line.reserved,
            # A share of the par level when the line has one, else its low threshold.
            "threshold": line.alert_threshold,
            "par_level": line.par_level,
        }
        for line in stock_low(Stock.objects.filter(pizzeria=pizzeria)).select_related("ingredient")
    ]
    report, _ = DailyReport.objects.update_or_create(
        pizzeria=pizzeria,
        day=day,
        defaults={
            "orders": figures["count"],
            "cancellations": figures["cancellations"],
            "takings": figures["takings"] or Decimal("0"),
            "average_preparation_minutes": _average_preparation_minutes(orders=orders),
            "best_sellers": best_sellers,
            "low_stock": low_stock,
        },
    )
    return report


def _manager_emails(*, pizzeria: Pizzeria | None = None, pizzeria_ids: list[int] | None = None) -> list[str]:
    """The e-mails of the chain's managers and of those of ``pizzeria`` (or of ``pizzeria_ids``)."""
    ids = pizzeria_ids if pizzeria_ids is not None else [pizzeria.pk] if pizzeria is not None else []
    managers = StaffMember.objects.filter(role=StaffMember.MANAGER, user__is_active=True).filter(
        Q(pizzeria__isnull=True) | Q(pizzeria_id__in=ids)
    )
    return sorted({email for email in managers.values_list("user__email", flat=True) if email})


def _threshold(item: dict) -> str:
    if item.get("par_level") is None:  # no par level, or a report written before par levels
        return f"seuil {item['threshold']}"
    return f"niveau cible {item['par_level']}, alerte à {item['threshold']}"


def _low_figures(item: dict) -> str:
    if "available" not in item:  # a report written before stock had two figures
        return str(item["quantity"])
    return f"{item['available']} disponibles ({item['on_hand']} en stock, {item['reserved']} réservés)"


def ledger_drift_alert(*, drifts: list[LedgerDrift]) -> bool:
    """Tell the managers (log ERROR and e-mail) which stock lines their ledger no longer explains."""
    if not drifts:
        return False
    lines = "\n".join(f"- {drift}" for drift in drifts)
    logger.error("Stock ledger drift on %d line(s):\n%s", len(drifts), lines)
    recipients = _manager_emails(pizzeria_ids=sorted({drift.pizzeria_id for drift in drifts}))
    if not recipients:
        logger.error("Stock ledger drift but no manager to alert")
        return False
    send_mail(
        subject=f"[OC Pizza] Stock : {len(drifts)} ligne(s) ne correspondent plus à leur registre",
        message=(
            "Bonjour,\n\nLe contrôle quotidien du stock a trouvé des lignes dont les chiffres ne correspondent "
            f"plus aux mouvements enregistrés :\n{lines}\n\n"
            "Recomptez ces ingrédients (inventaire) et signalez l'écart à l'équipe technique : "
            "une écriture a contourné le registre."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
    return True


def low_stock_alert(*, report: DailyReport, now: datetime.datetime) -> bool:
    """Mail the managers of the pizzeria once per report; True when a mail went out."""
    if not report.low_stock or report.low_stock_alert_sent_at:
        return False
    recipients = _manager_emails(pizzeria=report.pizzeria)
    if not recipients:
        logger.warning("Low stock at %s but no manager to alert", report.pizzeria)
        return False
    lines = "\n".join(
        f"- {item['ingredient']} : {_low_figures(item)} ({_threshold(item)})" for item in report.low_stock
    )
    send_mail(
        subject=f"[OC Pizza] Stocks bas — {report.pizzeria}",
        message=(
            f"Bonjour,\n\nCes ingrédients sont au seuil bas à {report.pizzeria} :\n{lines}\n\n"
            "Pensez à réapprovisionner."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
    DailyReport.objects.filter(pk=report.pk).update(low_stock_alert_sent_at=now)
    return True


def daily_update(*, now: datetime.datetime | None = None) -> DailyUpdateResult:
    now = now or timezone.now()
    day = timezone.localdate(now) - datetime.timedelta(days=1)
    expired = orders_expire_unpaid(now=now)
    with transaction.atomic():
        reports = [report_write(pizzeria=pizzeria, day=day) for pizzeria in Pizzeria.objects.order_by("pk")]
        # The managers' reports read the day from its facts from now on.
        facts_refresh(since=day, until=day, now=now)
    alerts = sum(low_stock_alert(report=report, now=now) for report in reports)
    drifts = stock_check_ledger()
    ledger_drift_alert(drifts=drifts)
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return DailyUpdateResult(
        day=day, expired_orders=expired, reports=len(reports), alerts_sent=alerts, ledger_drifts=len(drifts)
    )
