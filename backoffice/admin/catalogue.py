"""Markets and products in admin: plain settings rows that ops add and change, never delete."""

from django.contrib import admin
from django.utils.translation import gettext_lazy

from backoffice.admin.base import NumbersAdminMixin, yen_field
from subscriptions.models import Market, Product
from subscriptions.services import product_save

# -- markets and products (ops) ---------------------------------------------------------------


@admin.register(Market)
class MarketAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "currency",
        "time_zone",
        "exchange_fee_per_100_points_yen",
        "handling_fee_incl_tax_yen",
        "free_handling_threshold_incl_tax_yen",
        "point_value",
    ]
    exchange_fee_per_100_points_yen = yen_field(Market, "exchange_fee_per_100_points")
    handling_fee_incl_tax_yen = yen_field(Market, "handling_fee_incl_tax")
    free_handling_threshold_incl_tax_yen = yen_field(Market, "free_handling_threshold_incl_tax")
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "currency", "time_zone"]}),
        (gettext_lazy("Tax"), {"fields": ["reduced_tax_rate", "standard_tax_rate"]}),
        (
            gettext_lazy("Fees"),
            {"fields": ["exchange_fee_per_100_points", "handling_fee_incl_tax", "free_handling_threshold_incl_tax"]},
        ),
        (gettext_lazy("Points"), {"fields": ["earn_rate_schedule", "point_value"]}),
        (gettext_lazy("Customer Experience"), {"fields": ["cx_phone", "cx_email"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # members, products and orders point at markets


@admin.register(Product)
class ProductAdmin(NumbersAdminMixin, admin.ModelAdmin):
    list_display = ["sku", "name_ja", "name_en", "price_incl_tax_yen", "tax_rate", "pv", "point_cost", "is_active"]
    price_incl_tax_yen = yen_field(Product, "price_incl_tax")
    list_filter = ["market", "is_active", "is_subscribable", "tax_rate"]
    search_fields = ["sku", "name_ja", "name_en"]

    def has_delete_permission(self, request, obj=None):
        return False  # order lines keep pointing at products; deactivate instead

    def save_model(self, request, obj, form, change):
        product_save(product=obj)  # every process reads the market's catalogue again
