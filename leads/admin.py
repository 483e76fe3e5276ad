from __future__ import annotations

from django.contrib import admin

from leads.models import Activity, Campaign, CampaignCost, CsvImport, Lead, Market, Note, Persona


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "countries"]
    prepopulated_fields = {"slug": ["name"]}


class CampaignCostInline(admin.TabularInline):
    model = CampaignCost
    extra = 1


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "channel", "owner", "starts_on", "ends_on"]
    list_filter = ["channel"]
    raw_id_fields = ["owner"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug", "utm_campaign"]
    inlines = [CampaignCostInline]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "first_name",
        "last_name",
        "company",
        "stage",
        "score",
        "grade",
        "owner",
        "created_at",
    ]
    list_filter = ["stage", "grade", "source", "seniority", "persona", "campaign"]
    search_fields = ["email", "first_name", "last_name", "company"]
    raw_id_fields = ["owner"]
    list_select_related = ["owner"]
    readonly_fields = [
        "score",
        "fit_score",
        "engagement_score",
        "grade",
        "score_breakdown",
        "scored_at",
        "stage",
        "sla_due_at",
        "created_at",
        "updated_at",
    ]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["lead", "type", "occurred_at", "external_id"]
    list_filter = ["type"]
    raw_id_fields = ["lead"]
    search_fields = ["lead__email", "external_id"]
    show_full_result_count = False


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["lead", "author", "created_at"]
    raw_id_fields = ["lead"]


@admin.register(CsvImport)
class CsvImportAdmin(admin.ModelAdmin):
    list_display = [
        "file_name",
        "created_by",
        "status",
        "total_rows",
        "processed_rows",
        "error_count",
        "created_at",
    ]
    list_filter = ["status"]
    exclude = ["content"]
    readonly_fields = ["headers", "errors"]
