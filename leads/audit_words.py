"""How the leads app's actions and objects read in the audit trail (see ``core.audit_wording``)."""

from __future__ import annotations

from core.audit_wording import action, object_kind

object_kind("leads.lead", noun="lead", url_name="leads:detail")
object_kind("leads.csvimport", noun="CSV import", url_name="imports:detail")

action("lead.import_started", verb="started", details="from the file {file}")
