from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import get_or_create_user, issue_api_key, revoke_api_key

DEMO_EMAIL = "demo@visionera.local"
DEMO_PASSWORD = "visionera-demo"  # noqa: S105 - a local demo login, printed on purpose
DEMO_KEY_NAME = "demo (make run)"


class Command(BaseCommand):
    help = "Create the demo account (pro plan) and print a fresh demo API key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000",
            help="where the server will listen, for the printed links (make run passes its "
                 "HOST and PORT)",
        )

    @transaction.atomic
    def handle(self, *args, url, **options):
        base = url.rstrip("/")
        user, created = get_or_create_user(email=DEMO_EMAIL, plan_name="pro")
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        # Keys are stored hashed, so the only way to show one again is to issue a new one.
        for old in user.api_keys.active().filter(name=DEMO_KEY_NAME):
            revoke_api_key(api_key=old)
        _, full_key = issue_api_key(user=user, name=DEMO_KEY_NAME)
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "VisionEra demo account",
                    f"  dashboard: {base}/dashboard/  ({DEMO_EMAIL} / {DEMO_PASSWORD})",
                    f"  API docs:  {base}/docs/",
                    f"  API key:   {full_key}",
                    "  try:      curl -H 'X-API-Key: " + full_key + "' \\",
                    f"              -F source=@a.jpg -F target=@b.jpg {base}/api/faces/compare",
                    "",
                ]
            )
        )
