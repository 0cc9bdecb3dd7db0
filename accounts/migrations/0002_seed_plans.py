from django.db import migrations

FREE_GROUPS = ["compare", "search", "analyze"]
ALL_GROUPS = ["compare", "search", "batch", "analyze", "video", "video_status"]

PLANS = [
    {
        "name": "free",
        "display_name": "Free",
        "description": "Faces, collections, vehicles and bodies; no batch matching, no video.",
        "max_image_bytes": 2_000_000,
        "allowed_groups": FREE_GROUPS,
        "rate_limits": {},
        "max_batch_images": 0,
        "sort_order": 0,
    },
    {
        "name": "pro",
        "display_name": "Pro",
        "description": "Every endpoint, 10 MB images, batches of up to 50 images.",
        "max_image_bytes": 10_000_000,
        "allowed_groups": ALL_GROUPS,
        "rate_limits": {},
        "max_batch_images": 50,
        "sort_order": 1,
    },
    {
        "name": "enterprise",
        "display_name": "Enterprise",
        "description": "Every endpoint, 20 MB images, batches of up to 100 images, doubled limits.",
        "max_image_bytes": 20_000_000,
        "allowed_groups": ALL_GROUPS,
        "rate_limits": {
            "compare": {"per_minute": 120, "per_second": 20},
            "search": {"per_minute": 60, "per_second": 10},
            "batch": {"per_minute": 20, "per_second": 4},
            "analyze": {"per_minute": 120, "per_second": 20},
            "video": {"per_minute": 20, "per_second": 4},
            "video_status": {"per_minute": 240, "per_second": 40},
        },
        "max_batch_images": 100,
        "sort_order": 2,
    },
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for fields in PLANS:
        Plan.objects.update_or_create(name=fields["name"], defaults=fields)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
