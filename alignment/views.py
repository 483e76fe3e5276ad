from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.pages import role_required


@role_required()
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "alignment/dashboard.html", {})
