"""Every secret still in its rotation overlap keeps signing, not only the last one: the single
previous_secret / previous_expires_at pair becomes a list, carrying over the pair's secret."""

from django.db import migrations, models


def carry_over(apps, schema_editor):
    WebhookSecret = apps.get_model("videos", "WebhookSecret")
    for row in WebhookSecret.objects.exclude(previous_secret="").exclude(
            previous_expires_at=None):
        row.previous_secrets = [{"secret": row.previous_secret,
                                 "expires_at": row.previous_expires_at.isoformat()}]
        row.save(update_fields=["previous_secrets"])


def carry_back(apps, schema_editor):
    WebhookSecret = apps.get_model("videos", "WebhookSecret")
    for row in WebhookSecret.objects.all():
        if row.previous_secrets:
            newest = row.previous_secrets[0]
            row.previous_secret = newest["secret"]
            row.previous_expires_at = newest["expires_at"]
            row.save(update_fields=["previous_secret", "previous_expires_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("videos", "0002_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhooksecret",
            name="previous_secrets",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(carry_over, carry_back),
        migrations.RemoveField(model_name="webhooksecret", name="previous_secret"),
        migrations.RemoveField(model_name="webhooksecret", name="previous_expires_at"),
    ]
