"""visionera.ids.parse_uuid: what every selector accepts as an id from outside."""

import uuid

import pytest

from visionera.ids import parse_uuid

SAMPLE = uuid.UUID("12345678-1234-4678-9234-567812345678")


@pytest.mark.parametrize(
    "value", [SAMPLE, str(SAMPLE), SAMPLE.hex, str(SAMPLE).upper(), f"{{{SAMPLE}}}"]
)
def test_every_spelling_of_a_uuid_parses(value):
    assert parse_uuid(value) == SAMPLE


@pytest.mark.parametrize("value", [None, "", "xyz", "1234", str(SAMPLE) + "0", 12, b"\0" * 16])
def test_anything_else_is_none(value):
    assert parse_uuid(value) is None
