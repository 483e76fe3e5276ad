from __future__ import annotations

from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from leads import audit_words  # noqa: F401 - declares how its actions read in the audit trail
