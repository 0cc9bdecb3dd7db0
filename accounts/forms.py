"""Dashboard forms: sign-up, API key creation, plan change and request, account deletion."""

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Plan, User


class SignUpForm(UserCreationForm):
    """Email and password; the account starts on the default (free) plan."""

    class Meta:
        model = User
        fields = ("email",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"autocomplete": "email", "autofocus": True})
        self.fields.pop("usable_password", None)

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Key name",
        help_text="Something to recognise it by, e.g. the app or server that uses it.",
        widget=forms.TextInput(attrs={"placeholder": "my app", "autocomplete": "off"}),
    )


class PlanChangeForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.all(), to_field_name="name", empty_label=None
    )


class PlanRequestForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.all(), to_field_name="name", empty_label=None,
        label="Plan you need",
    )
    message = forms.CharField(
        max_length=1000, required=False, label="Message to our staff (optional)",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What you need it for"}),
    )


class AccountDeleteForm(forms.Form):
    """The password, entered again: a stolen session alone cannot delete an account."""

    password = forms.CharField(
        label="Your password", strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password; nothing was deleted.")
        return password
