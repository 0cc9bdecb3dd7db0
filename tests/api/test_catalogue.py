"""One error catalogue (visionera.api.errors.CATALOGUE): the handler, the schema and the
guide page's rows all come from it, and every domain error's code is in it."""

import importlib

import pytest
from django.apps import apps

from tests.contract.conformance import raw_schema
from visionera.api.errors import (
    CATALOGUE,
    AlreadyExists,
    as_api_error,
    catalogue_rows,
    error_class_for,
)
from visionera.errors import DomainError


def _all_subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _all_subclasses(subclass)


def test_every_code_once_in_status_order():
    codes = [error_class.code for error_class in CATALOGUE]
    assert len(codes) == len(set(codes))
    statuses = [error_class.status for error_class in CATALOGUE]
    assert statuses == sorted(statuses)
    assert {409, 415, 503, 507} <= set(statuses)


@pytest.mark.parametrize("error_class", CATALOGUE, ids=lambda error_class: error_class.code)
def test_a_domain_error_with_a_catalogue_code_becomes_that_api_error(error_class):
    class Refused(DomainError):
        code = error_class.code

    error = as_api_error(Refused("told why", extra={"hint": 1}))
    assert (type(error), error.status, error.code) == (error_class, error_class.status,
                                                       error_class.code)
    assert error.message == "told why" and error.extra == {"hint": 1}


def test_every_domain_error_of_every_app_has_a_catalogue_code():
    for app in apps.get_app_configs():
        try:
            importlib.import_module(f"{app.name}.errors")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.errors":
                raise
    for domain_error in (DomainError, *_all_subclasses(DomainError)):
        error_class_for(domain_error.code)  # LookupError names the stray code


def test_an_unknown_code_is_a_loud_lookup_error():
    with pytest.raises(LookupError, match="no_such_code"):
        error_class_for("no_such_code")


def test_a_collection_name_in_use_is_409_already_exists_whoever_defines_it():
    importlib.import_module("faces.services")  # may define its own 409 class: not a 2nd entry
    assert [e for e in CATALOGUE if e.status == 409] == [AlreadyExists]
    assert error_class_for("already_exists") is AlreadyExists
    assert AlreadyExists.status == 409


def test_the_guide_rows_are_the_catalogue():
    rows = catalogue_rows()
    assert rows == [
        {"status": e.status, "code": e.code, "message": e.default_message, "when": e.when}
        for e in CATALOGUE
    ]
    conflict = next(row for row in rows if row["status"] == 409)
    assert conflict["code"] == "already_exists" and conflict["when"]

def test_every_operation_documents_every_error_status_with_its_codes():
    by_status = {}
    for error_class in CATALOGUE:
        by_status.setdefault(str(error_class.status), []).append(error_class)
    for path, item in raw_schema()["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status, error_classes in by_status.items():
                assert status in responses, (method, path, status)
                description = responses[status]["description"]
                if responses[status]["content"]["application/json"]["schema"] != {
                    "$ref": "#/components/schemas/ErrorEnvelope"
                }:
                    continue
                for error_class in error_classes:
                    assert f"`{error_class.code}`" in description, (method, path, status)


def test_creating_a_collection_documents_409_already_exists():
    create = raw_schema()["paths"]["/api/faces/collections"]["post"]
    assert "`already_exists`" in create["responses"]["409"]["description"]
    assert "conflict" not in create["responses"]["409"]["description"]
