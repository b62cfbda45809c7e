"""The exchange wizard (交換特典) and the member's exchange history.

Steps, as the member guide has them: 1 catalogue → 2 quantity (「セーブ」) → 3 custom bundle
(「続行」) → 4 final confirmation with the agreement (「変更を保存」) → 5 done. The cart lives in
the session as product ids and quantities only; every figure on every page comes from
``quote_build``. Placing goes through ``exchange_place`` with the idempotency key and the
quote fingerprint the confirmation page issued, so a double tap places one exchange and a
changed figure shows the new confirmation instead of a silently different charge.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from exchange.cart import Cart
from exchange.exceptions import (
    BoxChanged,
    BoxClosed,
    InvalidLine,
    NoActiveSubscription,
    NotCancellable,
    PaymentMethodNeedsStaff,
    QuoteChanged,
)
from exchange.forms import ConfirmForm, ExchangeRequestForm, QuantityForm
from exchange.models import Exchange, ExchangeChange, ExchangeLine
from exchange.quotes import MAX_QUANTITY, Quote, active_subscription_items, quote_build
from exchange.selectors import (
    box_of,
    exchange_bundled_shipment,
    exchange_points_return,
    exchange_requests_recent,
    exchanges_with_next_shipment,
    placed_exchange,
)
from exchange.services import box_open_check, exchange_cancel, exchange_place, exchange_request_create
from ssr_points.display import lot_rows
from ssr_points.exceptions import InsufficientPoints, NegativeBalance
from ssr_points.selectors import points_available
from subscriptions.access import member_required
from subscriptions.catalogue import catalogue_for, catalogue_products
from subscriptions.models import Member, Product
from subscriptions.pagination import page_of

HISTORY_PAGE_SIZE = 20


class StepRedirect(Exception):
    """A step cannot be shown; send the member to ``url`` with ``message``."""

    def __init__(self, url: str, message: str = "", level: int = messages.WARNING):
        self.url, self.message, self.level = url, message, level


def wizard_step(view):
    """Every wizard step: member signed in and paying by card, with an active subscription.

    Bank-transfer / direct-debit members get the Customer Experience page instead (never a
    dead end); members without a subscription are led to the subscription page first.
    """

    @member_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        member = request.member
        if not member.pays_by_card:
            return cx_page(request, member)
        try:
            request.subscription_items = active_subscription_items(member=member)
            return view(request, *args, **kwargs)
        except NoActiveSubscription as exc:
            messages.warning(request, str(exc))
            return redirect("subscription")
        except StepRedirect as step:
            if step.message:
                messages.add_message(request, step.level, step.message)
            return redirect(step.url)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def cx_offer(member: Member) -> tuple[int, list[tuple[Product, int]]]:
    """The points available and each reward of the catalogue with the points it still needs (0:
    affordable), for a member whose exchanges Customer Experience places."""
    available = points_available(member=member)
    spare = max(available, 0)
    return available, [
        (product, max(product.point_cost - spare, 0)) for product in catalogue_for(member.market).exchangeable
    ]


def cx_page(
    request: HttpRequest,
    member: Member,
    form: ExchangeRequestForm | None = None,
    *,
    available: int | None = None,
    error: str = "",
    status: int = 200,
):
    """Members paying by bank transfer or direct debit: Customer Experience places their exchanges.
    They see the catalogue with their points and what each reward takes, and pick rewards and
    quantities for their request (or write, call or email)."""
    if form is None or available is None:
        available, products = cx_offer(member)
        form = form or ExchangeRequestForm(products=products)
    context = {
        "member": member,
        "market": member.market,
        "available": available,
        "request_form": form,
        "request_error": error,
        "exchange_requests": exchange_requests_recent(member=member),
    }
    return render(request, "exchange/cx.html", context, status=status)


def cart_quote(request: HttpRequest, cart: Cart, lines=None) -> Quote:
    """The quote of the cart (or of ``lines``); products that can no longer be exchanged are
    taken out of the cart with a message, an empty cart goes back to the catalogue."""
    member = request.member
    items = request.subscription_items
    box = cart_box(request, cart)
    try:
        return quote_build(
            member=member,
            lines=lines if lines is not None else cart.lines(),
            ship_now=cart.ship_now,
            items=items,
            box=box,
        )
    except InvalidLine:
        exchangeable = set(
            Product.objects.filter(
                pk__in=cart.quantities, market_id=member.market_id, is_active=True, point_cost__isnull=False
            ).values_list("pk", flat=True)
        )
        gone = set(cart.quantities) - exchangeable
        if not gone:
            raise
        for product_id in gone:
            cart.remove(product_id)
        cart.save(request.session)
        message = _("A product in your cart can no longer be exchanged and was taken out of it.")
        if not cart:
            raise StepRedirect(reverse("exchange:catalogue"), message) from None
        messages.warning(request, message)
        return quote_build(member=member, lines=cart.lines(), ship_now=cart.ship_now, items=items, box=box)


def request_box(request: HttpRequest):
    """The member's box (``box_of``), read once per request and only by the pages that show it."""
    if not hasattr(request, "box_read"):
        request.box_read = box_of(member=request.member)
    return request.box_read


def cart_box(request: HttpRequest, cart: Cart):
    """The box a cart edits: the member's box for a bundled cart, None for apply now."""
    return None if cart.ship_now else request_box(request)


def points_refusal(quote: Quote) -> str:
    """Why this cart cannot be placed now (the box is closed, a negative balance, not enough
    points), or ''."""
    if not quote.ship_now:
        try:
            box_open_check(shipment_date=quote.next_shipment_date, zone=quote.market.zone, now=timezone.now())
        except BoxClosed as closed:
            return str(closed)
    if quote.points_delta > 0 and quote.available_points < 0:
        return str(NegativeBalance(debt=-quote.available_points))
    if quote.points_delta > quote.available_points:
        return str(InsufficientPoints(requested=quote.points_delta, available=max(quote.available_points, 0)))
    return ""


def cart_of(request: HttpRequest, *, announce: bool = True) -> Cart:
    """The session's cart; a bundled one is the member's box as it is to stand: it starts from the
    box, and starts again from it when the box was changed elsewhere (another tab, CX) or is gone."""
    cart = Cart.load(request.session)
    if cart.ship_now:
        return cart
    box = request_box(request)
    if box is not None:
        elsewhere = cart.box_revision is not None and cart.box_revision != box.revision
        changed, capped = cart.box_start(box.quantities, box.revision)
        if changed:
            if elsewhere and announce:
                messages.warning(request, str(BoxChanged()))
            for product in (line.product for line in box.lines if line.product_id in capped):
                message = _(
                    "Together with what is already in your box, %(product)s would come to more than %(maximum)s: "
                    "it is %(maximum)s now. Check the quantity before you go on."
                )
                messages.warning(request, message % {"product": product.name, "maximum": MAX_QUANTITY})
        else:
            return cart
        cart.save(request.session)
    elif cart.box_revision is not None:
        cart.box_gone()
        cart.save(request.session)
        messages.info(request, _("Your box has shipped or was cancelled: start a new one."))
    return cart


def ship_now_from(request: HttpRequest, cart: Cart) -> bool:
    """「今すぐ申し込む」: ``?ship_now=1`` on a link, or the toggle's POST; remembered in the cart.
    What the cart adds to the member's box ships now instead (the box stays as it is)."""
    value = request.POST.get("ship_now") if request.method == "POST" else request.GET.get("ship_now")
    if value in ("0", "1"):
        box = request_box(request)
        cart.set_ship_now(value == "1", box_quantities=box.quantities if box is not None else None)
        cart.save(request.session)
        return True
    return False


def require_cart(request: HttpRequest, cart: Cart) -> None:
    if cart:
        return
    box = cart_box(request, cart)
    if box is not None:
        message = _("Your box would be empty. To take everything out of it, cancel the exchange.")
        raise StepRedirect(reverse("exchange:cancel", args=[box.exchange.number]), message)
    raise StepRedirect(reverse("exchange:catalogue"), _("Your cart is empty. Choose a product to exchange first."))


# -- step 1: the catalogue -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@wizard_step
def catalogue(request: HttpRequest) -> HttpResponse:
    """Step 1: choose the product to exchange; the balance, and the box for the next shipment
    with what is already in it, are always visible."""
    cart = cart_of(request)
    if ship_now_from(request, cart) and request.method == "POST":
        return redirect("exchange:catalogue")
    return catalogue_page(request, cart)


def catalogue_page(request: HttpRequest, cart: Cart, error: str = "", status: int = 200) -> HttpResponse:
    member = request.member
    products = catalogue_for(member.market).exchangeable
    quote = cart_quote(request, cart) if cart else None
    available = quote.available_points if quote else points_available(member=member)
    # 「あと○pt」: the points one more of each product needs beyond what the available balance
    # leaves after the cart's other products.
    in_cart = {line.product.pk: line.points for line in quote.reward_lines} if quote else {}
    cart_points = quote.points if quote else 0
    box = cart_box(request, cart)
    points_before = box.exchange.points if box is not None else 0

    def shortfall(product: Product) -> int:
        spare = available + points_before - (cart_points - in_cart.get(product.pk, 0))
        return max(product.point_cost - max(spare, 0), 0)

    context = {
        "step": 1,
        "products": [
            (
                product,
                shortfall(product),
                box.quantities.get(product.pk, 0) if box else 0,
                cart.quantities.get(product.pk, 0),
            )
            for product in products
        ],
        "cart": cart,
        "quote": quote,
        "available": available,
        "error": error,
        "refusal": points_refusal(quote) if quote else "",
        "market": member.market,
        "box": box,
    }
    return render(request, "exchange/catalogue.html", context, status=status)


# -- step 2: the quantity ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@wizard_step
def quantity(request: HttpRequest, product_id: int) -> HttpResponse:
    """Step 2: choose the quantity; the points of the selection and the fee headroom are shown.

    Buttons: − / + / 再計算 re-render with the new figures; 「セーブ」 puts it in the cart.
    """
    member = request.member
    cart = cart_of(request)
    product = catalogue_products(member.market, [product_id]).get(product_id)
    if product is None or not product.is_exchangeable:
        return catalogue_page(request, cart, error=str(InvalidLine()), status=400)

    status = 200
    error = ""
    if request.method == "POST":
        form = QuantityForm(request.POST)
        action = request.POST.get("action", "save")
        if form.is_valid():
            chosen = form.cleaned_data["quantity"]
            if action in ("minus", "plus"):
                chosen = min(max(chosen + (1 if action == "plus" else -1), 1), MAX_QUANTITY)
                form = QuantityForm(initial={"quantity": chosen})
            quote = cart_quote(request, cart, lines=cart.lines_with(product.pk, chosen))
            error = points_refusal(quote)
            if action == "save" and not error:
                cart.set_quantity(product.pk, chosen)
                cart.save(request.session)
                request.session.pop(LAST_PLACED_KEY, None)  # a new exchange is under way
                return redirect("exchange:bundle")
            if error and action == "save":
                status = 400
        else:
            status = 400
            chosen = cart.quantities.get(product.pk, 1)
            quote = None
    else:
        chosen = cart.quantities.get(product.pk, 1)
        form = QuantityForm(initial={"quantity": chosen})
        quote = cart_quote(request, cart, lines=cart.lines_with(product.pk, chosen))
        error = points_refusal(quote)

    if quote is None:
        quote = cart_quote(request, cart, lines=cart.lines_with(product.pk, chosen))
    selection = next(line for line in quote.reward_lines if line.product.pk == product.pk)
    context = {
        "step": 2,
        "product": product,
        "form": form,
        "quote": quote,
        "selection": selection,
        "cart": cart,
        "error": error,
    }
    return render(request, "exchange/quantity.html", context, status=status)


# -- step 3: the custom bundle ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@wizard_step
def bundle(request: HttpRequest) -> HttpResponse:
    """Step 3: カスタムバンドルを構築 — the subscription's items and the rewards, item count,
    tax-included total and PV; 「続行」 goes on to the confirmation. With a box, what changes in it
    (added, another quantity, taken out) is marked."""
    cart = cart_of(request)
    if request.method == "POST":
        if ship_now_from(request, cart):
            return redirect("exchange:bundle")
        try:
            remove = int(request.POST.get("remove", ""))
        except ValueError:
            remove = None
        if remove in cart.quantities:
            cart.remove(remove)
            cart.save(request.session)
            messages.info(request, _("The product was taken out of your cart."))
        return redirect("exchange:bundle")
    require_cart(request, cart)
    quote = cart_quote(request, cart)
    context = {"step": 3, "quote": quote, "cart": cart, "refusal": points_refusal(quote)}
    return render(request, "exchange/bundle.html", context | box_changes(request, cart, quote))


def box_changes(request: HttpRequest, cart: Cart, quote: Quote) -> dict:
    """What the bundle and the confirmation show of a cart's change to the box: each line of the
    quote with that reward's quantity in the box now (``lines``; None: not in the box), the box's
    rewards the cart takes out (``taken_out``), and the exchanges placed before boxes existed that
    ship with it (``earlier``)."""
    box = cart_box(request, cart)
    in_box = box.quantities if box is not None else {}
    return {
        "box": box,
        "lines": [(line, in_box.get(line.product.pk) if line.is_reward else None) for line in quote.lines],
        "taken_out": [line for line in box.lines if line.product_id not in cart.quantities] if box else [],
        "earlier": box.earlier if box else [],
    }


# -- steps 4 and 5: final confirmation, agreement, 「変更を保存」 ----------------------------------


# Never from the browser's cache (GET and POST, 200 and 400): once placed, the back button
# asks the server again, which answers with the received page (docs/member-site.md).
@never_cache
@require_http_methods(["GET", "POST"])
@wizard_step
def confirm(request: HttpRequest) -> HttpResponse:
    """Step 4: the guide's seven lines and the lots the points come from; step 5: agree and save.

    The idempotency key belongs to the cart (``Cart.confirmation_key``): a reload, a second tab
    or the back button show the same key, so however often and from wherever the member
    confirms, one exchange is placed. A key that is not the cart's (a page from before the cart
    changed) places nothing and shows the current confirmation.
    """
    member = request.member
    if request.method == "GET":
        if not Cart.load(request.session) and (received := last_placed(request)) is not None:
            # The back button from the done page: say the exchange was received, not "empty cart".
            return render(request, "exchange/received.html", {"step": 5, "exchange": received})
        cart = cart_of(request)
        require_cart(request, cart)
        quote = cart_quote(request, cart)
        return confirm_page(request, quote, cart=cart)
    cart = Cart.load(request.session)  # as the confirmation issued it: a box changed elsewhere is refused below

    form = ConfirmForm(request.POST)
    form.is_valid()
    posted_key = form.cleaned_data.get("idempotency_key")
    if posted_key is not None and str(posted_key) != cart.key:
        # Not the open cart's key: a double tap, a refresh, the back button or a second tab
        # after placing (which empties the cart). The exchange it placed is the answer. With
        # the cart's own key, ``exchange_place`` answers a repeat under the account lock.
        change = ExchangeChange.objects.filter(member_id=member.pk, idempotency_key=posted_key).first()
        if change is not None:
            return redirect("exchange:done", number=change.exchange.number)
    require_cart(request, cart)
    key = cart.confirmation_key(request.session)
    # The quote is read here only to show the confirmation again; placing quotes afresh.
    if form.is_tampered:
        message = _("This confirmation was out of date or altered. Please check the figures and confirm again.")
        return confirm_page(request, cart_quote(request, cart), cart=cart, error=message, status=400)
    if posted_key != key:
        message = _("Your cart changed after this confirmation was opened. Please check the figures and confirm again.")
        return confirm_page(request, cart_quote(request, cart), cart=cart, error=message)
    if not form.is_valid():
        return confirm_page(request, cart_quote(request, cart), cart=cart, form=form, status=400)
    try:
        exchange = exchange_place(
            member=member,
            lines=cart.lines(),
            ship_now=cart.ship_now,
            idempotency_key=key,
            expected_fingerprint=form.cleaned_data["fingerprint"],
            box_revision=None if cart.ship_now else cart.box_revision,
        )
    except BoxChanged as exc:  # the box as it now stands: nothing was placed
        request.box_read = box_of(member=member)
        cart = cart_of(request, announce=False)
        require_cart(request, cart)
        return confirm_page(request, cart_quote(request, cart), cart=cart, error=str(exc))
    except QuoteChanged as exc:
        return confirm_page(request, exc.quote, cart=cart, error=str(exc))
    except (InsufficientPoints, NegativeBalance, InvalidLine, BoxClosed) as exc:
        return confirm_page(request, cart_quote(request, cart), cart=cart, error=str(exc), status=400)
    except PaymentMethodNeedsStaff:
        return redirect("exchange:catalogue")
    Cart.clear(request.session)
    request.session[LAST_PLACED_KEY] = exchange.number
    return redirect("exchange:done", number=exchange.number)


LAST_PLACED_KEY = "exchange_last_placed"


def last_placed(request: HttpRequest) -> Exchange | None:
    """The exchange this session placed last (kept until the cart is filled again), so the pages
    of its wizard opened again (back button, history) can say it was received."""
    number = request.session.get(LAST_PLACED_KEY)
    if not isinstance(number, str):
        return None
    return Exchange.objects.filter(member_id=request.member.pk, number=number).first()


def confirm_page(
    request: HttpRequest,
    quote: Quote,
    *,
    cart: Cart,
    form: ConfirmForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    key = cart.confirmation_key(request.session)
    hidden = {"idempotency_key": key, "fingerprint": quote.fingerprint}
    if form is None:
        form = ConfirmForm(initial=hidden)
    else:  # keep the agreement error, but issue the figures the member now sees
        form.data = form.data.copy()
        for name, value in hidden.items():
            form.data[name] = str(value)
    context = {
        "step": 4,
        "quote": quote,
        "form": form,
        "error": error,
        "refusal": points_refusal(quote),
        "lots_used": lot_rows(((use.lot.expires_at, use.points) for use in quote.lot_uses), zone=quote.market.zone),
    }
    return render(request, "exchange/confirm.html", context | box_changes(request, cart, quote), status=status)


@member_required
def done(request: HttpRequest, number: str) -> HttpResponse:
    """お疲れ様でした 製品到着をお待ちください — with the exchange number and, for a bundled
    exchange, the shipment date and the last day it can be cancelled."""
    exchange = placed_exchange(member_id=request.member.pk, number=number)
    if exchange is None:
        raise Http404
    shipment = exchange.shipment
    # Plain values, not ``shipment.…`` in the template: the template engine pays an exception
    # for each attribute it looks up on None.
    context = {
        "step": 5,
        "exchange": exchange,
        "shipment_date": shipment.shipment_date if shipment else None,
        "cancel_day": shipment.cancel_last_day if shipment else None,
    }
    return render(request, "exchange/done.html", context)


# -- history, detail, cancel -------------------------------------------------------------------


@member_required
def history(request: HttpRequest) -> HttpResponse:
    """The member's exchanges, newest first, each with its products (one query for the page)."""
    member = request.member
    exchanges = Exchange.objects.filter(member_id=member.pk).order_by("-created_at", "-id")
    page = page_of(exchanges, number=request.GET.get("page"), per_page=HISTORY_PAGE_SIZE)
    lines = defaultdict(list)
    for line in (
        ExchangeLine.objects.filter(member_id=member.pk, exchange__in=[exchange.pk for exchange in page.object_list])
        .select_related("product")
        .order_by("product__sku")
    ):
        lines[line.exchange_id].append(line)
    for exchange in page.object_list:
        exchange.reward_lines = lines[exchange.pk]
    return render(request, "exchange/history.html", {"page": page})


@member_required
def detail(request: HttpRequest, number: str) -> HttpResponse:
    exchange = get_object_or_404(
        exchanges_with_next_shipment(Exchange.objects), member_id=request.member.pk, number=number
    )
    lines = exchange.lines.select_related("product").order_by("product__sku")
    # The tax per rate recorded when it was placed (none for exchanges from before it was
    # recorded); member_id keeps the read on the member's shard (docs/scaling.md).
    tax_lines = exchange.tax_lines.filter(member_id=exchange.member_id).order_by("rate")
    context = {
        "exchange": exchange,
        "lines": lines,
        "tax_lines": tax_lines,
        "market": request.member.market,
        "shipment": exchange_bundled_shipment(exchange=exchange),
        "changes": exchange.changes.filter(member_id=exchange.member_id).order_by("revision"),
    }
    return render(request, "exchange/detail.html", context)


@require_http_methods(["GET", "POST"])
@member_required
def cancel(request: HttpRequest, number: str) -> HttpResponse:
    """Cancel an exchange that has not shipped: GET asks to confirm, saying what comes back
    (the points, to which lots, and that nothing is charged); POST cancels, the points go back
    to their lots."""
    exchange = get_object_or_404(Exchange, member_id=request.member.pk, number=number)
    if exchange.status == Exchange.Status.CANCELLED:
        messages.info(request, _("Exchange %(number)s is already cancelled.") % {"number": exchange.number})
        return redirect("exchange:detail", number=exchange.number)
    if request.method == "GET":
        if not exchange.is_cancellable:
            messages.error(request, str(NotCancellable(number=exchange.number)))
            return redirect("exchange:detail", number=exchange.number)
        context = {
            "exchange": exchange,
            "market": request.member.market,
            "returns": exchange_points_return(exchange=exchange),
        }
        return render(request, "exchange/cancel.html", context)
    try:
        exchange = exchange_cancel(exchange=exchange)
    except NotCancellable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Exchange %(number)s is cancelled. %(points)s points are back in your balance.")
            % {"number": exchange.number, "points": exchange.points},
        )
    return redirect("exchange:detail", number=exchange.number)


# -- bank transfer / direct debit: ask Customer Experience ----------------------------------------


@require_POST
@member_required
def exchange_request(request: HttpRequest) -> HttpResponse:
    """A bank-transfer / direct-debit member asks Customer Experience to exchange for them: the
    rewards and quantities picked on the page, a message, or both."""
    member = request.member
    available, products = cx_offer(member)
    form = ExchangeRequestForm(request.POST, products=products)
    if not form.is_valid():
        return cx_page(request, member, form=form, available=available, status=400)
    try:
        exchange_request_create(
            member=member,
            message=form.cleaned_data["message"],
            contact_phone=form.cleaned_data["contact_phone"],
            lines=form.lines(),
        )
    except (InsufficientPoints, NegativeBalance, InvalidLine) as exc:
        return cx_page(request, member, form=form, available=available, error=str(exc), status=400)
    messages.success(request, _("Your request was sent. Customer Experience will contact you."))
    return redirect("exchange:catalogue")
