"""The URLconf of the minimal-create limit: a plain DRF ``CreateAPIView`` inserting a lead with only its
e-mail into the real leads table, no authentication, throttle or upsert.

It is mounted only by ``bench.minimal_settings``; the product's ``alignment.urls`` never includes it.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils import timezone
from rest_framework import generics, permissions, serializers

from leads.models import Lead

PATH = "bench/minimal-create/"


class MinimalLeadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ["id", "email"]


class MinimalCreateView(generics.CreateAPIView):
    serializer_class = MinimalLeadSerializer
    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list[Any] = []

    def perform_create(self, serializer: Any) -> None:
        now = timezone.now()
        serializer.save(created_at=now, updated_at=now)


urlpatterns = [path(PATH, MinimalCreateView.as_view())]
