"""The one control-character rule, the same in serializers, pydantic payloads and Django forms."""

from __future__ import annotations

from typing import Annotated

import pytest
from django.core.exceptions import ValidationError
from pydantic import AfterValidator, BaseModel
from pydantic import ValidationError as PydanticValidationError
from rest_framework import serializers

from core.text import (
    CONTROL_CHARACTERS_MESSAGE,
    has_control_characters,
    no_control_characters,
    no_control_characters_in_line,
    one_line,
)
from leads.forms import NoteForm

LINE_BREAKS = ["a\tb", "a\nb", "a\r\nb"]
CONTROLS = ["nul\x00", "bell\x07", "vt\x0b", "ff\x0c", "esc\x1b", "unit\x1f", "del\x7f"]


@pytest.mark.parametrize("value", CONTROLS)
def test_c0_controls_and_del_are_refused_in_every_kind_of_text(value):
    assert has_control_characters(value, multiline=True)
    assert has_control_characters(value, multiline=False)


@pytest.mark.parametrize("value", LINE_BREAKS)
def test_tabs_and_line_breaks_are_text_only_where_a_value_may_span_lines(value):
    assert not has_control_characters(value, multiline=True)
    assert has_control_characters(value, multiline=False)


@pytest.mark.parametrize("value", ["Zoë Müller", "東京", "a b", "", "\u00a0\u200b"])
def test_printable_text_passes(value):
    assert not has_control_characters(value, multiline=False)


def test_the_django_validators_raise_the_one_message():
    with pytest.raises(ValidationError) as multi:
        no_control_characters("x\x00")
    with pytest.raises(ValidationError) as single:
        no_control_characters_in_line("x\ny")
    assert multi.value.messages == single.value.messages == [CONTROL_CHARACTERS_MESSAGE]
    assert no_control_characters("two\nlines") == "two\nlines"


def test_a_serializer_field_reports_the_rule_as_a_field_error():
    class Reason(serializers.Serializer):
        reason = serializers.CharField(validators=[no_control_characters])

    refused = Reason(data={"reason": "bad\x1b[31m"})
    assert not refused.is_valid()
    assert refused.errors == {"reason": [CONTROL_CHARACTERS_MESSAGE]}
    assert Reason(data={"reason": "line one\nline two"}).is_valid()


def test_a_pydantic_field_reports_the_rule_as_a_value_error():
    class Payload(BaseModel):
        name: Annotated[str, AfterValidator(one_line)]

    with pytest.raises(PydanticValidationError) as exc:
        Payload(name="Ann\tLee")
    assert CONTROL_CHARACTERS_MESSAGE in exc.value.errors()[0]["msg"]
    assert Payload(name="Ann Lee").name == "Ann Lee"


def test_a_page_form_refuses_control_characters_with_the_same_message():
    form = NoteForm({"body": "ring \x07 the bell"})
    assert not form.is_valid()
    assert form.errors["body"] == [CONTROL_CHARACTERS_MESSAGE]
    assert NoteForm({"body": "first line\nsecond line"}).is_valid()
