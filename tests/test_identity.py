"""A person's id (docs/sources.md#roster): normalized email, else phone in E.164, else name + ZIP, then keyed-hashed."""

from __future__ import annotations

import pytest

from pipelines.pii import (
    MissingSaltError,
    normalize_email,
    normalize_phone,
    person_key,
    pseudonymize,
    require_salt,
)

SALT = "identity-test-salt"


def person_id(email=None, phone=None, name=None, zip_code=None) -> str | None:
    key = person_key(email, phone, name, zip_code)
    return pseudonymize(key, SALT) if key else None


@pytest.mark.parametrize(
    "variant",
    [
        "maria.garcia@gmail.com",
        "Maria.Garcia@Gmail.com",
        "  maria.garcia@gmail.com\t",
        "mariagarcia@gmail.com",
        "m.a.r.i.a.garcia@gmail.com",
        "maria.garcia+caps@gmail.com",
        "MariaGarcia+beat-meeting@googlemail.com",
    ],
)
def test_email_variants_resolve_to_one_id(variant):
    assert person_id(email=variant, name="anything") == person_id(email="mariagarcia@gmail.com")


def test_dots_and_plus_tags_are_only_folded_for_gmail():
    # Other providers may treat dots and tags as distinct mailboxes: keep them apart.
    assert normalize_email("Jo.Smith+x@Example.org") == "jo.smith+x@example.org"
    assert person_id(email="jo.smith@example.org") != person_id(email="josmith@example.org")


@pytest.mark.parametrize(
    "variant",
    ["(312) 744-6321", "312-744-6321", "312.744.6321", "+1 312 744 6321", "1 (312) 744 6321", "3127446321"],
)
def test_phone_variants_resolve_to_one_id(variant):
    assert normalize_phone(variant) == "+13127446321"
    assert person_id(phone=variant, name="R. Moreno") == person_id(phone="+13127446321", name="Rita Moreno")


def test_email_wins_over_phone_and_name():
    assert person_id(email="ada@example.org", phone="312-744-6321", name="Ada") == person_id(
        email="ADA@example.org"
    )
    assert person_key("not an email", "312-744-6321", "Ada", "60601") == "phone:+13127446321"


@pytest.mark.parametrize(
    ("name", "zip_code"),
    [("Sam Lee", "60602"), ("SAM  LEE", "60602-1234"), (" sam lee ", " 60602"), ("Sam Lee.", "60602")],
)
def test_name_and_zip_variants_resolve_to_one_id(name, zip_code):
    assert person_id(name=name, zip_code=zip_code) == person_id(name="sam lee", zip_code="60602")


def test_accents_and_apostrophes_fold_in_names():
    assert person_id(name="José O’Brien", zip_code="60601") == person_id(
        name="jose o'brien", zip_code="60601"
    )


def test_same_name_different_emails_stay_two_people():
    assert person_id(email="tom.jones@gmail.com", name="Tom Jones") != person_id(
        email="tjones@example.net", name="Tom Jones"
    )
    # Same name, different ZIP, nothing else: two people as well.
    assert person_id(name="Tom Jones", zip_code="60601") != person_id(name="Tom Jones", zip_code="60637")


def test_nothing_identifying_gives_no_id():
    assert person_key("", "", "", "") is None
    assert person_key(None, "not a phone", "  ", "60601") is None


def test_ids_are_keyed_hashes_that_depend_on_the_salt():
    key = person_key("ada@example.org", None, None, None)
    assert pseudonymize(key, SALT) != pseudonymize(key, "another-salt")
    assert "ada" not in pseudonymize(key, SALT) and len(pseudonymize(key, SALT)) == 64
    with pytest.raises(MissingSaltError, match="NBHD_PII_SALT"):
        require_salt("", "roster file")
