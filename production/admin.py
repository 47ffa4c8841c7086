from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count

from .models import (
    Allergen,
    DailyReport,
    Formula,
    FormulaChoice,
    FormulaSlot,
    FormulaWindow,
    Ingredient,
    MenuOverride,
    OpeningException,
    OpeningHours,
    Option,
    OptionGroup,
    Pizzeria,
    PizzeriaEvent,
    Product,
    ProductSize,
    PurchaseOrder,
    PurchaseOrderLine,
    RecipeLine,
    RecipeStep,
    StaffMember,
    Stock,
    StockMovement,
    StockTransfer,
    Supplier,
    SupplierItem,
)
from .services import pizzeria_set_accepting_orders, stock_count_inventory


def save_stock_line(*, stock: Stock, by) -> None:
    """Save a stock line edited in the admin: a new on-hand figure is an inventory count."""
    counted = stock.on_hand
    if stock.pk is None:
        stock.on_hand = 0
        stock.save()
    else:
        Stock.objects.filter(pk=stock.pk).update(low_threshold=stock.low_threshold, par_level=stock.par_level)
    stock_count_inventory(stock=stock, counted=counted, by=by, note="saisie back-office")


class StockForm(forms.ModelForm):
    """The on-hand figure typed in the back-office is a count: it cannot be less than what orders hold."""

    class Meta:
        model = Stock
        fields = ["pizzeria", "ingredient", "on_hand", "low_threshold", "par_level"]

    def clean_on_hand(self) -> int:
        counted = self.cleaned_data["on_hand"]
        if counted is not None and counted < self.instance.reserved:
            raise forms.ValidationError(
                f"Les commandes en attente en réservent {self.instance.reserved} : "
                "le stock compté ne peut pas être inférieur."
            )
        return counted


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class OpeningExceptionInline(admin.TabularInline):
    model = OpeningException
    extra = 0
    fields = ["day", "closed", "opens", "closes", "label", "chain_wide"]
    readonly_fields = ["chain_wide"]


class StockInline(admin.TabularInline):
    model = Stock
    form = StockForm
    extra = 0
    autocomplete_fields = ["ingredient"]
    fields = ["ingredient", "on_hand", "reserved", "available", "low_threshold", "par_level"]
    readonly_fields = ["reserved", "available"]

    @admin.display(description="disponible")
    def available(self, stock):
        return stock.available


@admin.register(Pizzeria)
class PizzeriaAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "postcode", "phone", "is_active", "accepting_orders"]
    list_filter = ["is_active", "accepting_orders"]
    search_fields = ["name", "address", "postcode"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OpeningHoursInline, OpeningExceptionInline, StockInline]
    actions = ["pause_orders", "resume_orders"]

    @admin.action(description="Mettre en pause les commandes immédiates", permissions=["change"])
    def pause_orders(self, request, queryset):
        for pizzeria in queryset:
            pizzeria_set_accepting_orders(pizzeria=pizzeria, accepting=False, by=request.user)
        self.message_user(request, f"{len(queryset)} pizzeria(s) en pause.", messages.SUCCESS)

    @admin.action(description="Reprendre les commandes", permissions=["change"])
    def resume_orders(self, request, queryset):
        for pizzeria in queryset:
            pizzeria_set_accepting_orders(pizzeria=pizzeria, accepting=True, by=request.user)
        self.message_user(request, f"{len(queryset)} pizzeria(s) reprennent les commandes.", messages.SUCCESS)

    @transaction.atomic
    def save_formset(self, request, form, formset, change):
        if formset.model is not Stock:
            return super().save_formset(request, form, formset, change)
        for stock in formset.save(commit=False):
            save_stock_line(stock=stock, by=request.user)
        for stock in formset.deleted_objects:
            stock.delete()


@admin.register(PizzeriaEvent)
class PizzeriaEventAdmin(admin.ModelAdmin):
    """Pauses and busy modes as they were set: written by the staff screens, read here."""

    list_display = ["at", "pizzeria", "kind", "minutes", "until", "by"]
    list_filter = ["kind", "pizzeria"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Allergen)
class AllergenAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name"]


@admin.register(Ingredient)
class IngredientAdmin(admin.ModelAdmin):
    list_display = ["name", "unit"]
    list_filter = ["unit", "allergens"]
    search_fields = ["name"]
    filter_horizontal = ["allergens"]


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    form = StockForm
    list_display = [
        "ingredient",
        "pizzeria",
        "on_hand",
        "reserved",
        "available",
        "low_threshold",
        "par_level",
        "is_low",
    ]
    list_filter = ["pizzeria", "ingredient__unit"]
    list_select_related = ["ingredient", "pizzeria"]
    search_fields = ["ingredient__name", "pizzeria__name"]
    autocomplete_fields = ["ingredient"]
    readonly_fields = ["reserved", "available"]

    @admin.display(description="disponible")
    def available(self, stock):
        return stock.available

    @admin.display(boolean=True, description="stock bas")
    def is_low(self, stock):
        return stock.is_low

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        save_stock_line(stock=obj, by=request.user)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["at", "stock", "kind", "on_hand_delta", "reserved_delta", "order", "purchase_order", "by"]
    list_filter = ["kind", "stock__pizzeria"]
    list_select_related = ["stock__ingredient", "stock__pizzeria", "order", "purchase_order", "by"]
    search_fields = ["stock__ingredient__name", "order__number", "note"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RecipeLineInline(admin.TabularInline):
    model = RecipeLine
    extra = 0
    autocomplete_fields = ["ingredient"]


class RecipeStepInline(admin.TabularInline):
    model = RecipeStep
    extra = 0


class ProductSizeInline(admin.TabularInline):
    model = ProductSize
    extra = 0
    fields = ["name", "detail", "price", "recipe_factor", "position"]


class OptionGroupInline(admin.TabularInline):
    """The groups of a product; their options are edited on each group's own page."""

    model = OptionGroup
    extra = 0
    fields = ["name", "kind", "min_choices", "max_choices", "position"]
    show_change_link = True


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0
    autocomplete_fields = ["ingredient"]
    fields = ["name", "price", "ingredient", "quantity", "position"]


@admin.register(OptionGroup)
class OptionGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "product", "kind", "min_choices", "max_choices"]
    list_filter = ["kind"]
    list_select_related = ["product"]
    search_fields = ["name", "product__name"]
    autocomplete_fields = ["product"]
    inlines = [OptionInline]


@admin.register(MenuOverride)
class MenuOverrideAdmin(admin.ModelAdmin):
    """A pizzeria's own price for a product, a size or an option, or its withdrawal there."""

    list_display = ["pizzeria", "product", "size", "option", "price", "withdrawn"]
    list_filter = ["pizzeria", "withdrawn"]
    list_select_related = ["pizzeria", "product", "size__product", "option"]
    search_fields = ["product__name", "option__name"]
    autocomplete_fields = ["product"]


class FormulaWindowInline(admin.TabularInline):
    model = FormulaWindow
    extra = 0


class FormulaSlotInline(admin.TabularInline):
    """The slots of a formula; their choices are edited on each slot's own page."""

    model = FormulaSlot
    extra = 0
    show_change_link = True


class FormulaChoiceInline(admin.TabularInline):
    model = FormulaChoice
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(FormulaSlot)
class FormulaSlotAdmin(admin.ModelAdmin):
    list_display = ["name", "formula", "position"]
    list_select_related = ["formula"]
    inlines = [FormulaChoiceInline]


@admin.register(Formula)
class FormulaAdmin(admin.ModelAdmin):
    """A set meal: its price, where and when it is sold, and its slots."""

    list_display = ["name", "price", "is_active", "position"]
    list_editable = ["is_active"]
    filter_horizontal = ["pizzerias"]
    inlines = [FormulaWindowInline, FormulaSlotInline]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "category",
        "price",
        "vat_rate",
        "oven_load",
        "contains_alcohol",
        "is_active",
        "recipe_size",
    ]
    list_filter = ["category", "is_active", "contains_alcohol", "vat_rate", "pizzerias"]
    list_editable = ["is_active"]
    search_fields = ["name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["pizzerias"]
    inlines = [ProductSizeInline, OptionGroupInline, RecipeLineInline, RecipeStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(recipe_count=Count("recipe_lines"))

    @admin.display(description="ingrédients", ordering="recipe_count")
    def recipe_size(self, product):
        return product.recipe_count


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "pizzeria"]
    list_filter = ["role", "pizzeria"]
    list_select_related = ["user", "pizzeria"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]


@admin.register(DailyReport)
class DailyReportAdmin(admin.ModelAdmin):
    """Written by the daily update only: managers read it."""

    list_display = ["day", "pizzeria", "orders", "takings", "cancellations", "average_preparation_minutes"]
    list_filter = ["pizzeria"]
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StockTransfer)
class StockTransferAdmin(admin.ModelAdmin):
    """The transfers between pizzerias, read only: they are made from the stock screens."""

    list_display = ["at", "ingredient", "quantity", "source", "destination", "by"]
    list_filter = ["source", "destination"]
    list_select_related = ["ingredient", "source", "destination", "by"]
    search_fields = ["ingredient__name", "note"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SupplierItemInline(admin.TabularInline):
    model = SupplierItem
    extra = 1
    autocomplete_fields = ["ingredient"]
    fields = ["ingredient", "reference", "pack_label", "pack_size", "pack_price"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "lead_time_days", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "email"]
    inlines = [SupplierItemInline]


class PurchaseOrderLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    fields = readonly_fields = (
        "ingredient",
        "pack_label",
        "pack_size",
        "pack_price",
        "suggested_packs",
        "packs",
        "packs_received",
    )

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    """The purchase orders, read only: they are drafted, sent and received from the purchasing screens."""

    list_display = ["pk", "pizzeria", "supplier", "status", "email_state", "created_at", "sent_at", "received_at"]
    list_filter = ["status", "email_state", "pizzeria", "supplier"]
    list_select_related = ["pizzeria", "supplier"]
    date_hierarchy = "created_at"
    inlines = [PurchaseOrderLineInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
