"""The member's own pages: signing in, the program page with its QR code, the subscription."""

from __future__ import annotations

import datetime as dt

import segno
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from subscriptions.access import member_required
from subscriptions.forms import MemberLoginForm, SubscriptionForm
from subscriptions.models import Product, Subscription
from subscriptions.services import subscription_save


class MemberLoginView(LoginView):
    template_name = "registration/login.html"
    form_class = MemberLoginForm
    redirect_authenticated_user = True


def program_qr_code(request: HttpRequest) -> segno.QRCode:
    return segno.make(request.build_absolute_uri(reverse("program")), error="m")


@member_required
def program(request: HttpRequest) -> HttpResponse:
    """定期購入特典プログラム: the rules, and a QR code (generated here) that opens this page."""
    qr = program_qr_code(request)
    svg = qr.svg_inline(scale=5, dark="#111111", light="#ffffff", title=_("QR code of this page"))
    context = {"market": request.member.market, "qr_svg": mark_safe(svg)}  # noqa: S308 - segno's own SVG
    return render(request, "program.html", context)


@member_required
def program_qr(request: HttpRequest) -> HttpResponse:
    """The program page's QR code as an SVG file (to print or share)."""
    response = HttpResponse(content_type="image/svg+xml")
    program_qr_code(request).save(response, kind="svg", scale=8, dark="#111111")
    return response


@require_http_methods(["GET", "POST"])
@member_required
def subscription(request: HttpRequest) -> HttpResponse:
    """「定期購入を追加後、保存」: products and quantities, next shipment date, payment method."""
    member = request.member
    current = (
        Subscription.objects.filter(member_id=member.pk, status=Subscription.Status.ACTIVE)
        .prefetch_related("items__product")
        .first()
    )
    products = Product.objects.filter(market_id=member.market_id, is_active=True, is_subscribable=True).order_by("sku")
    status = 200
    if request.method == "POST":
        form = SubscriptionForm(request.POST, products=products)
        if form.is_valid():
            subscription_save(
                member=member, items=form.items(), next_shipment_date=form.cleaned_data["next_shipment_date"]
            )
            messages.success(request, _("Your subscription is saved."))
            return redirect("subscription")
        status = 400
    else:
        initial = {"next_shipment_date": timezone.localdate() + dt.timedelta(days=7)}
        if current is not None:
            initial["next_shipment_date"] = current.next_shipment_date
            for item in current.items.all():
                initial[SubscriptionForm.field_name(item.product)] = item.quantity
        initial = {SubscriptionForm.field_name(product): 0 for product in products} | initial
        form = SubscriptionForm(initial=initial, products=products)
    context = {
        "member": member,
        "market": member.market,
        "subscription": current,
        "form": form,
    }
    return render(request, "subscription.html", context, status=status)
