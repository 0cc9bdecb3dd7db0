"""Print (or rotate) an account's webhook signing secret.

    manage.py webhook_secret --email E [--rotate]

The secret is printed alone on the last line, so scripts can take it with `tail -n 1`.
After --rotate the previous secret keeps signing beside the new one for the overlap
(VISIONERA_WEBHOOK_ROTATION_OVERLAP_SECONDS, 24 h).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from videos import webhooks


class Command(BaseCommand):
    help = "Print an account's webhook signing secret (whsec_…); --rotate issues a new one."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="the account's email address")
        parser.add_argument("--rotate", action="store_true",
                            help="issue a new secret; the old one keeps signing for 24 h")

    def handle(self, *args, email, rotate, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"no account with the email {email!r}")
        if rotate:
            row = webhooks.rotate_webhook_secret(owner=user)
            until = row.previous_expires_at.isoformat(timespec="seconds")
            self.stderr.write(f"Rotated. The previous secret keeps signing until {until}.")
        else:
            row = webhooks.get_webhook_secret(owner=user)
        self.stdout.write(row.secret)
