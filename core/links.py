"""Links to many objects of one kind on a page: the URL pattern reversed once, each id put in its place."""

from __future__ import annotations

from django.urls import reverse


class IdLinks:
    """``links(42)`` is ``reverse(name, args=[42])``, for a URL pattern that takes one integer id.

    TRICKY: ``reverse()`` costs tens of microseconds, and a link or three on each of 50 rows made it a fifth
    of a page's rendering; the pattern is reversed once with a placeholder id that each row's id replaces.
    Make one per page (or per request): the script prefix is read when it is made.
    """

    PLACEHOLDER = 987654321

    def __init__(self, name: str) -> None:
        self.name = name
        halves = reverse(name, args=[self.PLACEHOLDER]).split(str(self.PLACEHOLDER))
        # The placeholder may also appear in the script prefix: then there is no shortcut.
        self.halves = (halves[0], halves[1]) if len(halves) == 2 else None

    def __call__(self, pk: int) -> str:
        if self.halves is None:
            return reverse(self.name, args=[pk])
        return f"{self.halves[0]}{pk}{self.halves[1]}"
