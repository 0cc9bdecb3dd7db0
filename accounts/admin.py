from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.models import ApiKey, Plan, PlanRequest, UsageRecord, User
from accounts.pages import pop_new_key, redirect_showing_new_key, stash_new_key
from accounts.services import (
    decline_plan_request,
    grant_plan_request,
    issue_api_key,
    revoke_api_key,
)
from accounts.throttles import throttle_login, throttle_password_check
from visionera.units import megabytes


def _throttled(site: admin.AdminSite, view, throttle, refused_template: str):
    """The admin's `view` under one of accounts.throttles' decorators; a POST it flagged
    gets `refused_template` with 429."""

    @throttle
    def throttled(request, extra_context=None):
        if request.method == "POST" and getattr(request, "limited", False):
            context = {**site.each_context(request), "title": "Too many attempts"}
            return TemplateResponse(request, refused_template, context, status=429)
        return view(request, extra_context)

    return throttled


def throttle_admin_password_forms(site: admin.AdminSite) -> None:
    """The admin's log-in takes passwords too: the same per-IP and per-email throttle as the
    dashboard's log-in (and the same counters); its password change shares the per-account
    counter of the dashboard's. Set on the site before its URLs are built."""
    site.login = _throttled(site, site.login, throttle_login,
                            "admin/accounts/login_throttled.html")
    site.password_change = _throttled(site, site.password_change, throttle_password_check,
                                      "admin/accounts/password_change_throttled.html")


throttle_admin_password_forms(admin.site)


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
        return megabytes(plan.max_image_bytes)

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

    def save(self, commit=True):
        user = super().save(commit=False)
        user.email_verified_at = timezone.now()  # staff vouch for accounts they create
        if commit:
            user.save()
            self.save_m2m()
        return user


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

    def has_add_permission(self, request, obj=None):
        # A key is issued by ApiKeyAdmin, which shows it once; a row typed in here would
        # have neither an id nor a digest.
        return False


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
        ("Profile", {"fields": ("name", "plan", "email_verified_at")}),
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
        # Kept in the server-side session for the one page that shows it: never in the
        # messages cookie, never in a page a reload or the browser cache could show again.
        stash_new_key(request, api_key, full_key)

    def response_add(self, request, obj, post_url_continue=None):
        return redirect_showing_new_key(request, reverse("admin:accounts_apikey_created",
                                                         args=[obj.pk]))

    def get_urls(self):
        created = path(
            "<int:pk>/created/", self.admin_site.admin_view(self.created_view),
            name="accounts_apikey_created",
        )
        return [created, *super().get_urls()]

    def created_view(self, request, pk):
        """Shows a key created here, once (no-store); afterwards only its public id."""
        api_key = pop_new_key(request, ApiKey.objects.filter(pk=pk).select_related("user"))
        if api_key is None or not self.has_view_permission(request, api_key):
            self.message_user(request, "A key is shown only once, right after it is created.",
                              messages.INFO)
            return redirect(reverse("admin:accounts_apikey_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.model._meta,
            "api_key": api_key,
            "change_url": reverse("admin:accounts_apikey_change", args=[api_key.pk]),
        }
        response = TemplateResponse(request, "admin/accounts/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

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


@admin.register(PlanRequest)
class PlanRequestAdmin(admin.ModelAdmin):
    """Account holders' requests for another plan (the dashboard emails staff a link here)."""

    list_display = ("user", "current_plan", "plan", "created_at", "handled_at", "granted")
    list_filter = (("handled_at", admin.EmptyFieldListFilter), "granted", "plan")
    list_select_related = ("user", "user__plan", "plan")
    search_fields = ("user__email",)
    readonly_fields = ("user", "current_plan", "plan", "message", "created_at", "handled_at",
                       "granted")
    fields = readonly_fields
    actions = ["grant_selected", "decline_selected"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="current plan")
    def current_plan(self, plan_request):
        return plan_request.user.plan

    @admin.action(description="Grant: move the accounts to the plan they asked for")
    def grant_selected(self, request, queryset):
        granted = 0
        for plan_request in queryset.filter(handled_at__isnull=True):
            grant_plan_request(plan_request=plan_request)
            granted += 1
        self.message_user(request, f"Granted {granted} request(s).")

    @admin.action(description="Decline (the plan stays as it is)")
    def decline_selected(self, request, queryset):
        declined = 0
        for plan_request in queryset.filter(handled_at__isnull=True):
            decline_plan_request(plan_request=plan_request)
            declined += 1
        self.message_user(request, f"Declined {declined} request(s).")
