from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.tokens import InvalidScopes, issue_token


class Command(BaseCommand):
    help = "Create an API token for a user; the token is printed alone on the last line, and only once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--scopes", default="ingest", help="comma-separated: ingest, read, write")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {options['user']!r}") from None
        try:
            issued = issue_token(
                user=user,
                name=options["name"] or f"token for {user.username}",
                scopes=options["scopes"].split(","),
            )
        except InvalidScopes as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(
            f"Created token {issued.token.prefix}… with scopes {', '.join(issued.token.scopes)}"
        )
        self.stdout.write(issued.secret)
