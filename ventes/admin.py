from django.contrib import admin, messages
from django.http import HttpRequest

from .exceptions import OrderError
from .models import (
    Address,
    CancelReason,
    ConsentRecord,
    Customer,
    Notification,
    Order,
    OrderEvent,
    OrderLine,
    OrderState,
    Payment,
    Refund,
    StripeEvent,
)
from .workflow import order_transition


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ConsentRecordInline(ReadOnlyInline):
    model = ConsentRecord
    fields = readonly_fields = ("recorded_at", "purpose", "given", "source")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "phone"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "phone"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    # A consent is the customer's to give or withdraw, from their account, which records its proof.
    readonly_fields = ["sms_consent_at", "marketing_consent_at"]
    inlines = [AddressInline, ConsentRecordInline]


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = readonly_fields = ("product_name", "quantity", "unit_price", "vat_rate")


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ("at", "type", "from_state", "to_state", "params", "by", "note")


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = readonly_fields = ("method", "amount", "state", "provider_reference", "refunded_amount", "created_at")


class RefundInline(ReadOnlyInline):
    """Refunds are made from the order page (managers) and by the payments; here they are read."""

    model = Refund
    fk_name = "order"
    fields = readonly_fields = (
        "created_at",
        "amount",
        "method",
        "reason",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "by",
    )


class NotificationInline(ReadOnlyInline):
    """What the customer was told, by which channel, and what went wrong."""

    model = Notification
    fields = readonly_fields = (
        "state",
        "channel",
        "recipient",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
    )


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Every message to customers; filtered on « échec », the managers' list of messages that did not reach them."""

    list_display = ["order", "state", "channel", "recipient", "status", "attempts", "last_error", "created_at"]
    list_filter = ["status", "channel", "state", "order__pizzeria"]
    list_select_related = ["order"]
    search_fields = ["order__number", "recipient"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read here; their state only moves through the order workflow."""

    list_display = ["number", "pizzeria", "customer_name", "channel", "fulfilment", "state", "total", "created_at"]
    list_filter = ["state", "pizzeria", "channel", "fulfilment", "payment_method", "payment_state"]
    list_select_related = ["pizzeria"]
    search_fields = ["number", "customer_name", "customer_phone", "customer_email"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline, RefundInline, OrderEventInline, NotificationInline]
    actions = ["cancel_too_busy"]

    @admin.action(description="Annuler : pizzeria débordée", permissions=["view"])
    def cancel_too_busy(self, request, queryset):
        for order in queryset:
            try:
                order_transition(
                    order_id=order.pk,
                    to_state=OrderState.CANCELLED,
                    by=request.user,
                    cancel_reason=CancelReason.TOO_BUSY,
                )
            except OrderError as error:
                self.message_user(request, f"{order.number} : {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.number} annulée.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    """Stripe events already handled, for looking into a payment; written by the webhook only."""

    list_display = ["received_at", "type", "event_id", "order"]
    list_filter = ["type"]
    list_select_related = ["order"]
    search_fields = ["event_id", "order__number"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
