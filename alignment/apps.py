from __future__ import annotations

from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Goals and KPIs"

    def ready(self) -> None:
        from alignment import audit_words  # noqa: F401 - declares how its actions read in the audit trail
