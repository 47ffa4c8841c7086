"""Pages of the customer accounts, under /compte/: thin, they call accounts' services and selectors."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import Resolver404, resolve, reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exceptions import EmailAlreadyUsed
from accounts.forms import (
    AddressForm,
    EmailAuthenticationForm,
    EraseAccountForm,
    FrenchPasswordResetForm,
    FrenchSetPasswordForm,
    ProfileForm,
    SignupForm,
)
from accounts.selectors import user_is_staff_member
from accounts.services import (
    AddressData,
    account_erase,
    address_create,
    address_delete,
    address_update,
    customer_sign_up,
    customer_update_profile,
)
from ocpizzapp.errors import errors_go_back_to
from ventes.geo import GeoError
from ventes.privacy import customer_data_csv, customer_data_export
from ventes.selectors import customer_addresses, customer_for, customer_order_history, guest_order_from_link

# The staff screens' entry (another app); staff land there when it exists.
STAFF_HOME_PATH = "/equipe/"
ORDERS_PER_PAGE = 10
PASSWORD_BACKEND = "accounts.backends.StaffAwareModelBackend"


def staff_home_url() -> str | None:
    try:
        resolve(STAFF_HOME_PATH)
    except Resolver404:
        return None
    return STAFF_HOME_PATH


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        # Staff may sign in here too; without a ``next`` they belong on their own screens.
        if user_is_staff_member(user=self.request.user) and (staff_home := staff_home_url()):
            return staff_home
        return super().get_default_redirect_url()


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "Vous êtes déconnecté. À bientôt !")
        return response


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    # Opened from a guest's order (its signed link): the form starts from what they typed at the checkout, and
    # the order becomes the account's first.
    number, link = request.GET.get("commande", ""), request.GET.get("t", "")
    order = guest_order_from_link(number=number, link=link)
    form = SignupForm(request.POST or None, initial=_initial_from_order(order) if order else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = customer_sign_up(
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data["phone"],
                marketing=data["marketing"],
                claim=(number, link) if order else None,
            )
        except EmailAlreadyUsed as error:
            form.add_error("email", error.message)
        else:
            login(request, user, backend=PASSWORD_BACKEND)
            messages.success(request, f"Bienvenue, {user.first_name} ! Votre compte est créé.")
            if order is not None:
                return redirect("ventes:order_detail", number=order.number)
            return redirect(_safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL))
    context = {"form": form, "next": _safe_next(request), "order": order, "link": link}
    return render(request, "accounts/signup.html", context)


def _initial_from_order(order) -> dict[str, str]:
    first, _, last = order.customer_name.strip().partition(" ")
    return {"email": order.customer_email, "first_name": first, "last_name": last, "phone": order.customer_phone}


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    customer = customer_for(user=user)
    initial = {"first_name": user.first_name, "last_name": user.last_name, "phone": customer.phone if customer else ""}
    initial["notify_email"] = customer.notify_email if customer else True
    initial["sms_updates"] = bool(customer and customer.sms_consent_at)
    initial["marketing"] = bool(customer and customer.marketing_consent_at)
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        customer_update_profile(user=user, **form.cleaned_data)
        messages.success(request, "Vos coordonnées sont enregistrées.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def address_list(request):
    return render(request, "accounts/address_list.html", {"addresses": customer_addresses(user=request.user)})


def _address_data(form: AddressForm) -> AddressData:
    return AddressData(**form.cleaned_data)


def _owned_address_or_404(request, address_id: int):
    address = customer_addresses(user=request.user).filter(pk=address_id).first()
    if address is None:
        raise Http404("Adresse inconnue.")
    return address


@login_required
@require_http_methods(["GET", "POST"])
def address_add(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address_create(user=request.user, data=_address_data(form))
        except GeoError as error:
            form.add_error("line1", error.message)
        else:
            messages.success(request, "Adresse ajoutée.")
            return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": None})


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request, address_id: int):
    address = _owned_address_or_404(request, address_id)
    initial = {name: getattr(address, name) for name in AddressForm.base_fields}
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            address_update(user=request.user, address_id=address.pk, data=_address_data(form))
        except GeoError as error:
            form.add_error("line1", error.message)
        else:
            messages.success(request, "Adresse modifiée.")
            return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
@require_http_methods(["GET", "POST"])
def address_delete_view(request, address_id: int):
    address = _owned_address_or_404(request, address_id)
    if request.method == "POST":
        address_delete(user=request.user, address_id=address.pk)
        messages.success(request, "Adresse supprimée.")
        return redirect("accounts:addresses")
    return render(request, "accounts/address_confirm_delete.html", {"address": address})


@login_required
def order_history(request):
    page = Paginator(customer_order_history(user=request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "accounts/order_history.html", {"page": page, "orders": page.object_list})


@login_required
@require_GET
def my_data(request):
    return render(request, "accounts/my_data.html", {"form": EraseAccountForm(user=request.user)})


@login_required
@require_GET
def my_data_export(request, fmt: str):
    """Everything kept about the signed-in customer, as a file (GDPR articles 15 and 20)."""
    data = customer_data_export(user=request.user)
    if fmt == "json":
        response: HttpResponse = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 2})
    else:
        response = HttpResponse(customer_data_csv(data), content_type="text/csv; charset=utf-8")
    filename = f"ocpizza-mes-donnees-{timezone.localdate():%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
@errors_go_back_to(lambda request: reverse("accounts:my_data"))
def my_data_erase(request):
    form = EraseAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "accounts/my_data.html", {"form": form})
    account_erase(user=request.user)
    logout(request)
    messages.success(
        request,
        "Votre compte et vos données personnelles sont effacés. Vos commandes restent, anonymes, dans nos comptes.",
    )
    return redirect("ventes:home")


password_reset = auth_views.PasswordResetView.as_view(
    template_name="accounts/password_reset_form.html",
    form_class=FrenchPasswordResetForm,
    email_template_name="accounts/email/password_reset.txt",
    subject_template_name="accounts/email/password_reset_subject.txt",
    success_url=reverse_lazy("accounts:password_reset_done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html",
    form_class=FrenchSetPasswordForm,
    success_url=reverse_lazy("accounts:password_reset_complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
