import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from accounts.groups import ALL_GROUPS, DEFAULT_RATE_LIMITS, GROUP_CHOICES
from visionera.units import BYTES_PER_MEGABYTE

DEFAULT_PLAN_NAME = "free"


class PlanQuerySet(models.QuerySet):
    def default(self) -> "Plan":
        return self.get(name=DEFAULT_PLAN_NAME)


class Plan(models.Model):
    """What an account may do: sizes, endpoint groups, rate limits. Edited by staff."""

    name = models.SlugField(max_length=40, unique=True)
    display_name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    max_image_bytes = models.PositiveBigIntegerField(help_text="Largest image accepted, in bytes.")
    allowed_groups = models.JSONField(
        default=list, help_text=f"Endpoint groups this plan may call: {', '.join(ALL_GROUPS)}."
    )
    rate_limits = models.JSONField(
        default=dict,
        blank=True,
        help_text='Overrides per group, e.g. {"compare": {"per_minute": 120, "per_second": 20}}.',
    )
    max_batch_images = models.PositiveIntegerField(
        default=0, help_text="Most images in one batch-match request (0: no batch)."
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.display_name

    def allows(self, group: str) -> bool:
        return group in self.allowed_groups

    def limits_for(self, group: str) -> tuple[int, int]:
        """(per minute, per second) for a group, the plan's override or the default."""
        per_minute, per_second = DEFAULT_RATE_LIMITS[group]
        override = (self.rate_limits or {}).get(group) or {}
        return (
            int(override.get("per_minute", per_minute)),
            int(override.get("per_second", per_second)),
        )

    @property
    def max_image_megabytes(self) -> float:
        return self.max_image_bytes / BYTES_PER_MEGABYTE


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account holder; logs in with an email address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="users")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the sign-up email's link was followed (or staff created the account). With
    # VISIONERA_SIGNUP=verify an account creates no API keys before that.
    email_verified_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    def save(self, *args, **kwargs):
        if self.plan_id is None:
            self.plan = Plan.objects.default()
        super().save(*args, **kwargs)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


API_KEY_PREFIX = "ve_live_"
KEY_ID_LENGTH = 12
KEY_SECRET_LENGTH = 32


def api_key_digest(full_key: str) -> str:
    """HMAC-SHA256 of the whole key with a server-side secret; a stolen table is useless."""
    secret = settings.API_KEY_HMAC_SECRET.encode()
    return hmac.new(secret, full_key.encode(), hashlib.sha256).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """An integrator's key. Only its public id and a digest are stored; the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=KEY_ID_LENGTH, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def prefix(self) -> str:
        return f"{API_KEY_PREFIX}{self.key_id}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def matches(self, full_key: str) -> bool:
        return hmac.compare_digest(self.digest, api_key_digest(full_key))


class UsageRecord(models.Model):
    """One API request, kept small: the dashboard charts these."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="usage_records")
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="usage_records"
    )
    group = models.CharField(max_length=20, choices=GROUP_CHOICES)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=200)
    status = models.PositiveSmallIntegerField()
    latency_ms = models.PositiveIntegerField()
    bytes_in = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.method} {self.path} → {self.status}"

    @property
    def succeeded(self) -> bool:
        return self.status < 400


class PlanRequestQuerySet(models.QuerySet):
    def open(self):
        return self.filter(handled_at__isnull=True)


class PlanRequest(models.Model):
    """An account holder asks staff for another plan; staff grant it in the admin."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="plan_requests")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="requests")
    message = models.TextField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    granted = models.BooleanField(default=False)

    objects = PlanRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open request per account: asking again replaces it, it does not pile up.
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(handled_at__isnull=True),
                name="one_open_plan_request_per_user",
            )
        ]

    def __str__(self):
        return f"{self.user} → {self.plan}"
