"""Dashboard forms: sign-up, API key creation, plan change."""

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
