"""The keys that make two leads likely duplicates: a folded name-and-company, and the phone in E.164.

Pure functions (the data migration that fills the keys of existing leads uses them too).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_NOT_WORD = re.compile(r"[\W_]+")
# Legal forms that say nothing about which company it is ("Acme Inc." is "Acme").
_LEGAL_FORMS = frozenset(
    {"inc", "ltd", "llc", "gmbh", "ag", "sa", "sas", "bv", "plc", "corp", "co", "limited"}
)
NAME_KEY_MAX = 420
MIN_PHONE_DIGITS = 6


def fold(text: str) -> str:
    """Lower-case words without accents or punctuation: "  Zoë  O'Neil " → "zoe o neil"."""
    text = text or ""
    if not text.isascii():  # ASCII has nothing to normalise and no accents to drop
        decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = text.casefold()
    return " ".join(_NOT_WORD.sub(" ", plain).split())


def name_key(first_name: str, last_name: str, company: str) -> str:
    """ "first last|company", or "" when the name or the company is missing (too weak to match on)."""
    name = fold(f"{first_name} {last_name}")
    firm = " ".join(word for word in fold(company).split() if word not in _LEGAL_FORMS)
    if not name or not firm:
        return ""
    return f"{name}|{firm}"[:NAME_KEY_MAX]


def phone_key(phone: str, country: str) -> str:
    """The phone in E.164 (the lead's country is the region of a national number), or "" if not a number."""
    if not phone or not phone.strip():
        return ""
    try:
        number = phonenumbers.parse(phone, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return ""
    # Too short to tell one person from another ("12", an extension typed alone).
    if len(str(number.national_number)) < MIN_PHONE_DIGITS or not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
