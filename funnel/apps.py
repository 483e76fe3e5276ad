from __future__ import annotations

from django.apps import AppConfig


class FunnelConfig(AppConfig):
    name = "funnel"
    verbose_name = "Funnel"

    def ready(self) -> None:
        from funnel import panels, receivers
        from funnel.models import Stage
        from leads.panels import register_lead_panel
        from leads.signals import leads_ingested, leads_scored
        from leads.stages import register_stage_choices

        leads_ingested.connect(receivers.on_leads_ingested, dispatch_uid="funnel.leads_ingested")
        leads_scored.connect(receivers.on_leads_scored, dispatch_uid="funnel.leads_scored")
        register_lead_panel(panels.funnel_panel)
        register_stage_choices(
            lambda: list(Stage.objects.order_by("order", "id").values_list("slug", "name"))
        )
