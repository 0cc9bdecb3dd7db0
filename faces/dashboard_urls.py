"""Dashboard pages of the faces app, included under /dashboard/."""

from django.urls import path

from faces import views

urlpatterns = [
    path("collections/", views.collection_list, name="collections"),
    path("collections/<uuid:pk>/", views.collection_detail, name="collection-detail"),
    path("collections/<uuid:pk>/delete/", views.collection_delete, name="collection-delete"),
    path(
        "collections/<uuid:pk>/faces/<uuid:face_id>/delete/",
        views.face_delete,
        name="face-delete",
    ),
    path("playground/", views.playground, name="playground"),
]
