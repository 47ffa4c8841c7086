"""Where a typed business error a view lets through becomes its response.

One answer for every screen: the error's French message, its HTTP status
(``BusinessError.status``), and the shape the request expects. An htmx request
gets a small partial with the message, written in the page's alert region; a page gets the message in the messages
framework and goes back where it came from, or an error page when there is no
such place. A "not found" error is answered by the project's 404 page.

Views catch an error themselves only to show it beside a form field.
"""

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from .exceptions import BusinessError

View = Callable[..., HttpResponse]


def _referer(request: HttpRequest) -> str | None:
    referer = request.META.get("HTTP_REFERER", "")
    safe = url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return referer if referer and safe else None


def business_error_response(request: HttpRequest, error: BusinessError, *, back: str | None = None) -> HttpResponse:
    """The response to ``error``; ``back``: where a page goes to show it (default: the page it came from)."""
    if error.status == HTTPStatus.NOT_FOUND:
        raise Http404(error.message) from error
    if getattr(request, "htmx", False):
        response = render(request, "_business_error.html", {"error": error}, status=error.status)
        # Into the page's alert region, not the action's target; static/js/errors.js has htmx swap it.
        response["HX-Retarget"] = "#htmx-errors"
        response["HX-Reswap"] = "innerHTML"
        response["OC-Business-Error"] = error.code
        return response
    target = back or _referer(request)
    if target is None:
        return render(request, "business_error.html", {"error": error}, status=error.status)
    messages.error(request, error.message)
    return redirect(target)


def errors_go_back_to(back: Callable[..., str]) -> Callable[[View], View]:
    """A view whose business errors are shown on ``back(request, *args, **kwargs)`` (a URL)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except BusinessError as error:
                return business_error_response(request, error, back=back(request, *args, **kwargs))

        return wrapper

    return decorator


class BusinessErrorMiddleware:
    """Every other business error a view lets through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, BusinessError):
            return None
        return business_error_response(request, exception)
