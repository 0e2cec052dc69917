from django.db import migrations, models


class Migration(migrations.Migration):
    """Separate from 0003, whose data changes must be committed before PostgreSQL alters the table."""

    dependencies = [
        ("caregov", "0003_scope_start_and_escalation_order"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="escalation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("resolved_at__isnull", True),
                    ("resolved_at__gte", models.F("raised_at")),
                    _connector="OR",
                ),
                name="escalation_resolved_after_raised",
            ),
        ),
        migrations.AddConstraint(
            model_name="escalation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("acknowledged_at__isnull", True),
                    ("acknowledged_at__gte", models.F("raised_at")),
                    _connector="OR",
                ),
                name="escalation_acknowledged_after_raised",
            ),
        ),
    ]
