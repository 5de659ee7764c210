"""A bounded fuzzing pass over the whole OpenAPI (schemathesis): no input, however odd, is a server error.

On a throw-away database and stack of its own (the fuzzer leaves junk behind), signed in once as an admin and
once as a community worker; a few generated examples per operation. Operations that would end the fuzzer's own
sign-in (sign-out, changing its account) are left out: they have tests of their own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from tests.client import ADMIN_PASSWORD, PASSWORD
from tests.conftest import running_stack
from tests.infra import migrated_database

EXAMPLES = 5
PHASES = os.environ.get("ELDERCARE_FUZZ_PHASES", "examples,fuzzing").split(",")


@pytest.fixture(scope="module")
def fuzz_stack(redis_url: str) -> Iterator[str]:
    with migrated_database() as url, running_stack(url, redis_url, name="fuzz-") as stack:
        yield stack.base_url


def _token(base_url: str, username: str, password: str) -> str:
    response = httpx.post(f"{base_url}/api/v1/auth/token", data={"username": username, "password": password})
    response.raise_for_status()
    return str(response.json()["access_token"])


def _schema(base_url: str, token: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30)
    schema.config.update(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, request_timeout=30)
    schema.config.generation.update(max_examples=EXAMPLES, no_shrink=True, deterministic=True)
    schema.config.phases.update(phases=PHASES)
    return schema


@pytest.fixture(scope="module")
def as_admin(fuzz_stack: str) -> schemathesis.BaseSchema:
    return _schema(fuzz_stack, _token(fuzz_stack, "admin", ADMIN_PASSWORD))


@pytest.fixture(scope="module")
def as_community_worker(fuzz_stack: str) -> schemathesis.BaseSchema:
    admin = {"Authorization": f"Bearer {_token(fuzz_stack, 'admin', ADMIN_PASSWORD)}"}
    tag = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=fuzz_stack, headers=admin, timeout=30) as http:
        here = {"lat": 31.31, "lon": 120.62}
        district = http.post("/api/v1/districts", json={"code": f"F{tag}", "name": "模糊区", "location": here}).json()
        street = http.post(
            "/api/v1/streets", json={"district_id": district["id"], "code": f"FS{tag}", "name": "街", "location": here}
        ).json()
        community = http.post(
            "/api/v1/communities",
            json={"street_id": street["id"], "code": f"FC{tag}", "name": "社区", "location": here},
        ).json()
        username = f"fuzz_{tag}"
        http.post(
            "/api/v1/users",
            json={
                "username": username,
                "password": PASSWORD,
                "role": "community_staff",
                "community_id": community["id"],
            },
        ).raise_for_status()
    return _schema(fuzz_stack, _token(fuzz_stack, username, PASSWORD))


def _bounded(fixture: str) -> schemathesis.pytest.LazySchema:
    return (
        schemathesis.pytest.from_fixture(fixture)
        .exclude(path="/api/v1/auth/logout")
        .exclude(path_regex=r"^/api/v1/users/\{user_id\}$", method="PATCH")
    )


@_bounded("as_admin").parametrize()
def test_no_input_is_a_server_error_for_an_admin(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])


@_bounded("as_community_worker").parametrize()
def test_no_input_is_a_server_error_for_a_community_worker(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
