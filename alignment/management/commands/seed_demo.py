from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from alignment.demo import seed_goals
from alignment.demo_users import DEMO_PASSWORD, DEMO_USERS, ensure_demo_users
from core.maintenance_sql import analyze
from core.models import ApiToken, hash_token
from core.tokens import issue_token
from funnel.demo import seed_funnel
from leads.demo import seed_activities, seed_leads
from leads.models import Activity, Lead, LeadSearch
from scoring.rescore import rescore_all

DEMO_TOKEN_SCOPES = ["ingest", "read"]


def demo_token(token_file: Path | None) -> str:
    """The demo token's secret: the one kept in ``token_file`` while it is still active, else a new one
    (written there, readable by its owner only). A token is stored hashed, so the file is the only copy."""
    if token_file is not None and token_file.is_file():
        secret = token_file.read_text(encoding="utf-8").strip()
        if secret and ApiToken.objects.filter(key_hash=hash_token(secret), revoked_at=None).exists():
            return secret
    issued = issue_token(
        user=get_user_model().objects.get(username="integration"), name="demo token", scopes=DEMO_TOKEN_SCOPES
    )
    if token_file is not None:
        token_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(issued.secret + "\n")
        token_file.chmod(0o600)
    return issued.secret


class Command(BaseCommand):
    help = "Create demo users, and demo data when the database has no leads; print the logins and a token."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--leads", type=int, default=5000, help="how many demo leads (default 5000)")
        parser.add_argument("--seed", type=int, default=42, help="random seed, for repeatable data")
        parser.add_argument("--force", action="store_true", help="add demo data even if leads exist")
        parser.add_argument("--no-token", action="store_true", help="do not create a demo API token")
        parser.add_argument(
            "--token-file",
            type=Path,
            default=None,
            help="keep the demo token here (mode 0600) and reuse it while it is active",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_demo_users()
        if options["force"] or not Lead.objects.exists():
            rng = random.Random(options["seed"])
            now = timezone.now()
            self.stdout.write(f"Creating {options['leads']} demo leads over the last 12 months…")
            seed_leads(count=options["leads"], rng=rng, now=now)
            activities = seed_activities(rng=rng, now=now)
            analyze(models=[Lead, LeadSearch, Activity])
            # Scored after the activities are written, so the sweep finds nothing stale afterwards.
            run = rescore_all(reason="demo data")
            self.stdout.write(f"{activities} activities; scored {run.done if run else 0} leads.")
            seed_funnel(rng=rng, now=now)
            seed_goals(rng=rng, now=now)
            self.stdout.write(self.style.SUCCESS("Demo data ready."))
        else:
            self.stdout.write("Leads exist already; demo data left as it is.")
        logins = ", ".join(f"{u} ({role})" for u, _, _, role in DEMO_USERS if u != "integration")
        self.stdout.write(f"Demo logins (password “{DEMO_PASSWORD}”): {logins}")
        if not options["no_token"]:
            secret = demo_token(options["token_file"])
            self.stdout.write(f"Demo API token (scopes ingest, read): {secret}")
