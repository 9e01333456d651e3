"""The one place where personal data is pseudonymized: keyed hashes with the salt from the environment."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

import phonenumbers

GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


class MissingSaltError(RuntimeError):
    pass


def require_salt(salt: str | None, source: str) -> str:
    if not salt:
        raise MissingSaltError(
            f"{source}: NBHD_PII_SALT is not set. Survey and roster loads replace personal identifiers with "
            "keyed hashes and need a secret salt: export NBHD_PII_SALT=<a long random string> and keep it stable."
        )
    return salt


def pseudonymize(value: str, salt: str) -> str:
    """HMAC-SHA256(salt, value): stable per deployment, irreversible without the salt."""
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


def normalize_email(raw: str | None) -> str | None:
    email = (raw or "").strip().lower()
    if "@" not in email:
        return None
    local, _, domain = email.rpartition("@")
    if domain in GMAIL_DOMAINS:
        # Gmail ignores dots and everything after '+': these are one mailbox.
        local, domain = local.split("+", 1)[0].replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def normalize_phone(raw: str | None, region: str = "US") -> str | None:
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_name(raw: str | None) -> str | None:
    # "José  O'Brien" and "jose o'brien" are one name: case, spacing and accents fold; punctuation other than
    # apostrophes and hyphens becomes a space.
    decomposed = unicodedata.normalize("NFKD", (raw or "").replace("\u2019", "'"))
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    name = " ".join(re.sub(r"[^\w\s'-]", " ", folded.lower()).split())
    return name or None


def person_key(
    email: str | None, phone: str | None, name: str | None, zip_code: str | None, region: str = "US"
) -> str | None:
    """A person's key (docs/sources.md#roster): normalized email, else phone in E.164, else name + ZIP; None when nothing identifies."""
    if normalized := normalize_email(email):
        return f"email:{normalized}"
    if normalized := normalize_phone(phone, region):
        return f"phone:{normalized}"
    if normalized := normalize_name(name):
        return f"name:{normalized}|{(zip_code or '').strip()[:5]}"
    return None
