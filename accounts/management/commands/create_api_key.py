from django.core.management.base import BaseCommand, CommandError

from accounts.models import Plan
from accounts.services import get_or_create_user, issue_api_key


class Command(BaseCommand):
    help = "Issue an API key for an account (created if needed); the key is the last line."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--plan", help="free, pro, enterprise or any plan in the database")
        parser.add_argument("--name", default="CLI key")

    def handle(self, *args, email, plan, name, **options):
        if plan and not Plan.objects.filter(name=plan).exists():
            names = ", ".join(Plan.objects.values_list("name", flat=True))
            raise CommandError(f"unknown plan {plan!r}; choose one of: {names}")
        user, created = get_or_create_user(email=email, plan_name=plan)
        _, full_key = issue_api_key(user=user, name=name)
        self.stderr.write(
            f"{'Created' if created else 'Found'} {user.email} on the {user.plan.name} plan."
            " The key below is shown once:"
        )
        self.stdout.write(full_key)
