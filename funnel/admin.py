from __future__ import annotations

from typing import Any

from django.contrib import admin

from funnel.models import FunnelSettings, Handoff, RepProfile
from leads.models import LostReason, RejectReason, Stage, Transition


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "order", "team", "sla_hours"]
    list_editable = ["order", "sla_hours"]
    ordering = ["order"]


@admin.register(RejectReason)
class RejectReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "active", "order"]
    list_editable = ["active", "order"]
    prepopulated_fields = {"slug": ["label"]}


@admin.register(LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "active", "order"]
    list_editable = ["active", "order"]
    prepopulated_fields = {"slug": ["label"]}


@admin.register(Transition)
class TransitionAdmin(admin.ModelAdmin):
    list_display = ["lead", "from_stage", "to_stage", "at", "actor", "rule", "amount", "lost_reason"]
    list_filter = ["to_stage"]
    raw_id_fields = ["lead"]
    show_full_result_count = False


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ["lead", "rep", "status", "assigned_at", "sla_due_at", "breached_at", "late"]
    list_filter = ["status", "late"]
    raw_id_fields = ["lead"]


@admin.register(RepProfile)
class RepProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "active", "capacity", "countries"]
    list_editable = ["active", "capacity"]
    filter_horizontal = ["markets"]
    readonly_fields = ["rotation"]


@admin.register(FunnelSettings)
class FunnelSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "escalate_breaches", "default_sla_hours", "business_hours_only"]

    def has_add_permission(self, request: Any) -> bool:
        return not FunnelSettings.objects.exists()

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
