"""How core's actions read in the audit trail (see ``core.audit_wording``)."""

from __future__ import annotations

from core.audit_wording import action, object_kind

# API tokens link nowhere: the token page shows only one's own tokens.
object_kind("core.apitoken", noun="API token")

action("token.created", verb="created", details="with scopes {scopes}")
action("token.revoked", verb="revoked", details="of {owner}", users=["owner"])
