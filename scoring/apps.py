from __future__ import annotations

from django.apps import AppConfig

from leads.signals import leads_changed, leads_merged


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring"

    def ready(self) -> None:
        from scoring import (
            audit_words,  # noqa: F401 - declares how its actions read
            receivers,  # loads models and tasks: only once the app registry is ready
        )

        leads_changed.connect(receivers.on_leads_changed, dispatch_uid="scoring.leads_changed")
        leads_merged.connect(receivers.on_leads_merged, dispatch_uid="scoring.leads_merged")
