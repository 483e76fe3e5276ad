"""Forms of the leads app shared by pages."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

# Tabs and line breaks are text; other control characters (NUL above all) are refused, as in the API.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What should the other team know?"}),
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if _CONTROL.search(body):
            raise ValidationError("Control characters are not allowed.")
        if not body:
            raise ValidationError("Write something first.")
        return body
