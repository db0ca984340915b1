"""The helpers that bring an existing backend resource in line with the world."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from botocore.exceptions import ClientError

from simulator.world.converge import mismatch, or_none, same_document, sync_tags

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def refusal(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "Op")


def test_or_none_only_swallows_the_named_codes() -> None:
    def exists() -> None:
        raise refusal("EntityAlreadyExists")

    assert or_none(lambda: {"Role": 1}, "EntityAlreadyExists") == {"Role": 1}
    assert or_none(exists, "EntityAlreadyExists") is None
    with pytest.raises(ClientError):
        or_none(exists, "ResourceExistsException")


@pytest.mark.parametrize(
    "current",
    [DOC, json.dumps(DOC), json.dumps(DOC, indent=2), urllib.parse.quote(json.dumps(DOC))],
    ids=["parsed", "json", "reformatted", "url-encoded"],
)
def test_same_document_whatever_form_the_backend_answers_in(current: Any) -> None:
    assert same_document(current, DOC)


def test_a_different_or_unreadable_document_is_not_the_same() -> None:
    other = {**DOC, "Statement": [{**DOC["Statement"][0], "Action": "s3:PutObject"}]}  # type: ignore[dict-item]
    assert not same_document(other, DOC)
    assert not same_document("not json", DOC)


def test_sync_tags_removes_stale_and_sets_changed_and_new_only() -> None:
    calls: list[tuple[str, Any]] = []
    sync_tags(
        {"keep": "1", "change": "old", "drop": "x"},
        {"keep": "1", "change": "new", "add": "y"},
        lambda tags: calls.append(("tag", tags)),
        lambda keys: calls.append(("untag", keys)),
    )
    assert calls == [("untag", ["drop"]), ("tag", {"change": "new", "add": "y"})]
    calls.clear()
    sync_tags(
        {"a": "1"}, {"a": "1"}, lambda t: calls.append(("tag", t)), lambda k: calls.append(("untag", k))
    )
    assert calls == []


def test_mismatch_names_the_place_and_both_shapes() -> None:
    err = mismatch("w.yaml: roles.app", "role 'app'", "path /", "path /svc/")
    assert str(err) == (
        "w.yaml: roles.app: role 'app' already exists in the AWS backend with path /, but the world declares "
        "path /svc/; it cannot be changed in place: delete it from the backend or give it another name in "
        "the world"
    )
