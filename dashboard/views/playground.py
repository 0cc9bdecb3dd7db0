"""Playground: try the API in the browser; the page's script calls the real endpoints with
the session (static/js/playground.js)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from faces.selectors import collection_list


@login_required
def playground(request):
    return render(
        request,
        "dashboard/playground.html",
        {"collections": collection_list(owner=request.user).order_by("name"),
         "plan": request.user.plan, "nav": "playground"},
    )
