from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Count

from accounts.models import ApiKey, Plan, UsageRecord, User
from accounts.services import issue_api_key, revoke_api_key


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name", "display_name", "max_image", "max_batch_images", "groups", "overrides",
        "user_count", "sort_order",
    )
    list_editable = ("sort_order",)
    search_fields = ("name", "display_name")
    ordering = ("sort_order",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(user_total=Count("users"))

    @admin.display(description="endpoint groups")
    def groups(self, plan):
        return ", ".join(plan.allowed_groups)

    @admin.display(description="max image", ordering="max_image_bytes")
    def max_image(self, plan):
        return f"{plan.max_image_megabytes:g} MB"

    @admin.display(description="rate-limit overrides")
    def overrides(self, plan):
        return ", ".join(
            f"{group} {limits.get('per_minute', '·')}/min {limits.get('per_second', '·')}/s"
            for group, limits in (plan.rate_limits or {}).items()
        ) or "defaults"

    @admin.display(description="accounts", ordering="user_total")
    def user_count(self, plan):
        return plan.user_total


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "plan")


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("name", "key_id", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_id", "created_at", "last_used_at")
    can_delete = False
    show_change_link = True


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    list_display = ("email", "name", "plan", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("plan", "is_active", "is_staff", "date_joined")
    list_select_related = ("plan",)
    date_hierarchy = "date_joined"
    search_fields = ("email", "name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "plan")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "plan", "password1", "password2")}),
    )
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Only the public key id is ever shown; the digest cannot be turned back into a key."""

    list_display = ("name", "prefix", "user", "active", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("name", "key_id", "user__email")
    readonly_fields = ("key_id", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "key_id", "created_at", "last_used_at", "revoked_at")
    autocomplete_fields = ("user",)
    actions = ["revoke_selected"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        api_key, full_key = issue_api_key(user=obj.user, name=obj.name)
        obj.pk, obj.key_id, obj.digest = api_key.pk, api_key.key_id, api_key.digest
        obj.created_at = api_key.created_at
        self.message_user(
            request, f"Key created. Copy it now, it will not be shown again: {full_key}",
            messages.WARNING,
        )

    @admin.display(description="active", boolean=True)
    def active(self, api_key):
        return api_key.is_active

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request, queryset):
        for api_key in queryset:
            revoke_api_key(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = (
        "created_at", "user", "group", "method", "path", "status", "latency_ms", "bytes_in"
    )
    list_filter = ("group", "method", "status", "created_at")
    search_fields = ("user__email", "path", "api_key__key_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "api_key")
    readonly_fields = (
        "created_at", "user", "api_key", "group", "method", "path", "status", "latency_ms",
        "bytes_in",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
