"""Collections: the account's galleries, a gallery's faces, and deleting either."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.lookups import get_or_404
from faces.selectors import collection_get, collection_list, face_get, face_list
from faces.services import delete_collection, delete_face

FACES_PER_PAGE = 50


@login_required
def collection_index(request):
    collections = collection_list(owner=request.user).order_by("name")
    return render(
        request, "dashboard/collections.html", {"collections": collections, "nav": "collections"}
    )


@login_required
def collection_detail(request, pk):
    collection = get_or_404(collection_get, owner=request.user, reference=pk)
    label = request.GET.get("label", "").strip()
    faces = face_list(collection=collection, label=label or None).order_by("label", "created_at")
    page = Paginator(faces, FACES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/collection_detail.html",
        {"collection": collection, "page": page, "label": label, "nav": "collections"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def collection_delete(request, pk):
    """GET asks for confirmation, POST deletes the collection and its faces."""
    collection = get_or_404(collection_get, owner=request.user, reference=pk)
    if request.method == "POST":
        name = collection.name
        delete_collection(collection=collection)
        messages.success(request, f"Collection “{name}” and its faces are deleted.")
        return redirect("dashboard:collections")
    return render(request, "dashboard/collection_delete.html",
                  {"collection": collection, "nav": "collections"})


@login_required
@require_POST
def face_delete(request, pk, face_id):
    collection = get_or_404(collection_get, owner=request.user, reference=pk)
    face = get_or_404(face_get, collection=collection, face_id=face_id)
    label = face.label
    get_or_404(delete_face, face=face)  # a second click racing the first: already gone
    messages.success(request, f"Face “{label}” is removed from {collection.name}.")
    return redirect("dashboard:collection-detail", pk=collection.pk)
