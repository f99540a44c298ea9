"""Property-based requests (schemathesis) for every operation the OpenAPI document describes, against
the catalog's app in this process (tests/inprocess.py) holding the example events, as an admin: no
answer may be a server error. Deterministic (derandomized), so a failure shows again on a rerun."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture(scope="module")
def admin_token(catalog_api) -> str:
    token = catalog_api.create_token("schemathesis", admin=True)
    for path in sorted(Path(EXAMPLES).rglob("*.json")):
        answer = catalog_api.send(json.loads(path.read_text()))
        assert answer.status_code == 201, (path.name, answer.text)
    return token


def test_no_operation_answers_a_server_error(catalog_api, admin_token):
    schema = schemathesis.openapi.from_asgi("/openapi.json", catalog_api.app)
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures, answers = [], Counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def requests_of(case):
            answers[case.call_and_validate(headers=headers, checks=[not_a_server_error]).status_code // 100] += 1

        try:
            requests_of()
        except Exception as failure:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
    # answered, not refused wholesale: most requests pass auth and many reach the catalog
    assert sum(answers.values()) > 20 * len(operations) and answers[2] > 5 * len(operations), answers
