from __future__ import annotations

from django.apps import AppConfig


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = "Funnel"

    def ready(self) -> None:
        from funnel import audit_words, receivers  # noqa: F401 - audit_words declares its wording
        from leads.signals import leads_merged
        from scoring.signals import leads_scored

        leads_scored.connect(receivers.on_leads_scored, dispatch_uid="funnel.leads_scored")
        leads_merged.connect(receivers.on_leads_merged, dispatch_uid="funnel.leads_merged")
