"""The demo cast: one marketer, two sales reps, one manager, and an integration user for API clients."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

DEMO_PASSWORD = "demo"  # noqa: S105 - demo logins are printed by the run command on purpose
DEMO_USERS = [
    # username, first name, last name, role
    ("maria", "Maria", "Marketing", "marketing"),
    ("sam", "Sam", "Sales", "sales"),
    ("sofia", "Sofia", "Sales", "sales"),
    ("max", "Max", "Manager", "managers"),
    ("integration", "Website", "Integration", "marketing"),
]


def ensure_demo_users() -> list[User]:
    users = []
    for username, first, last, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if role == "managers":
                user.is_staff = True
                user.is_superuser = True
            user.save()
        user.groups.add(Group.objects.get(name=role))
        users.append(user)
    return users
