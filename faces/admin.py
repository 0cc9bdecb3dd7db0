from django.contrib import admin

from faces.models import Collection, Face


class FaceInline(admin.TabularInline):
    model = Face
    fields = ("label", "metadata", "box", "created_at")
    readonly_fields = ("label", "metadata", "box", "created_at")
    extra = 0
    can_delete = True
    show_change_link = True


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "face_count", "version", "created_at")
    list_filter = ("created_at",)
    search_fields = ("name", "owner__email", "id")
    readonly_fields = ("id", "version", "face_count", "created_at")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    inlines = [FaceInline]


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    """Descriptors are never shown or edited by hand; a face is re-enrolled instead."""

    list_display = ("label", "collection", "created_at")
    search_fields = ("label", "collection__name", "collection__owner__email", "id")
    list_filter = ("created_at",)
    fields = ("id", "collection", "label", "metadata", "box", "image", "created_at")
    readonly_fields = ("id", "collection", "box", "image", "created_at")
    list_select_related = ("collection",)

    def has_add_permission(self, request):
        return False
