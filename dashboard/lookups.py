"""Selectors answer a missing object (or another account's, which is the same) with a
"not_found" domain error; a page answers it with Django's 404 page."""

from django.http import Http404

from visionera.errors import DomainError


def get_or_404(selector, **kwargs):
    """`selector(**kwargs)`, or Http404 when it says not_found."""
    try:
        return selector(**kwargs)
    except DomainError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from None
        raise
