"""Forms of the leads app shared by pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from core.text import no_control_characters


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Note",
        max_length=5000,
        validators=[no_control_characters],
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What should the other team know?"}),
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise ValidationError("Write something first.")
        return body
