"""Dashboard pages for faces: the account's collections, their faces, and the playground.

Every query is scoped to request.user: another account's collection or face is a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from faces.models import Collection, Face

FACES_PER_PAGE = 50


def _delete_collection(collection: Collection) -> None:
    try:
        from faces.services import delete_collection
    except ImportError:  # pragma: no cover - the service landed with the faces API
        collection.delete()
        return
    delete_collection(collection=collection)


def _delete_face(face: Face) -> None:
    try:
        from faces.services import delete_face
    except ImportError:  # pragma: no cover - the service landed with the faces API
        collection = face.collection
        face.delete()
        collection.bump(face_delta=-1)
        return
    delete_face(face=face)


def _own_collection(request, pk) -> Collection:
    return get_object_or_404(Collection, pk=pk, owner=request.user)


@login_required
def collection_list(request):
    collections = Collection.objects.filter(owner=request.user).order_by("name")
    return render(
        request, "faces/collections.html", {"collections": collections, "nav": "collections"}
    )


@login_required
def collection_detail(request, pk):
    collection = _own_collection(request, pk)
    label = request.GET.get("label", "").strip()
    faces = Face.objects.filter(collection=collection).defer("descriptor").order_by("label",
                                                                                   "created_at")
    if label:
        faces = faces.filter(label=label)
    page = Paginator(faces, FACES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "faces/collection_detail.html",
        {"collection": collection, "page": page, "label": label, "nav": "collections"},
    )


@login_required
@require_http_methods(["GET", "POST"])
def collection_delete(request, pk):
    collection = _own_collection(request, pk)
    if request.method == "POST":
        name = collection.name
        _delete_collection(collection)
        messages.success(request, f"Collection “{name}” and its faces are deleted.")
        return redirect("collections")
    return render(
        request, "faces/collection_delete.html", {"collection": collection, "nav": "collections"}
    )


@login_required
@require_POST
def face_delete(request, pk, face_id):
    collection = _own_collection(request, pk)
    face = get_object_or_404(Face, pk=face_id, collection=collection)
    label = face.label
    _delete_face(face)
    messages.success(request, f"Face “{label}” is removed from {collection.name}.")
    return redirect("collection-detail", pk=collection.pk)


@login_required
def playground(request):
    """Try the API in the browser: the page's script calls the real endpoints with the session."""
    collections = Collection.objects.filter(owner=request.user).order_by("name")
    return render(
        request,
        "dashboard/playground.html",
        {"collections": collections, "plan": request.user.plan, "nav": "playground"},
    )
