from __future__ import annotations

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring"

    def ready(self) -> None:
        from leads.signals import leads_changed
        from scoring import receivers

        leads_changed.connect(receivers.on_leads_changed, dispatch_uid="scoring.leads_changed")
