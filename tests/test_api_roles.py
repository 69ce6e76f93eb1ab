"""The role matrix of DESIGN §5, every role against every endpoint: privacy officers write,
applications decide, managers read the registry and its conditions, auditors read the log."""

from __future__ import annotations

import pytest
from flask import Flask

from authreg.services.tokens import ROLES
from tests.conftest import SEED_ID

A = f"/api/v1/authorisations/{SEED_ID}"
# method, path, the roles that may call it, and what such a call with an empty body answers:
# the GETs their page, every write 422 naming a missing field (nothing is written)
ENDPOINTS: list[tuple[str, str, set[str], int]] = [
    ("POST", "/api/v1/decisions", {"application"}, 422),
    ("POST", "/api/v1/decisions/batch", {"application"}, 422),
    ("GET", "/api/v1/authorisations", {"privacy-officer", "manager"}, 200),
    ("POST", "/api/v1/authorisations", {"privacy-officer"}, 422),
    ("GET", A, {"privacy-officer", "manager"}, 200),
    ("PUT", A, {"privacy-officer"}, 422),
    ("GET", f"{A}/history", {"privacy-officer", "manager"}, 200),
    ("POST", f"{A}/suspend", {"privacy-officer"}, 422),
    ("POST", f"{A}/reinstate", {"privacy-officer"}, 422),
    ("POST", f"{A}/revoke", {"privacy-officer"}, 422),
    ("GET", "/api/v1/conditions", {"privacy-officer", "manager"}, 200),
    ("GET", "/api/v1/conditions.ics", {"privacy-officer", "manager"}, 200),
    ("POST", f"{A}/conditions/security-plan/fulfilments", {"privacy-officer"}, 422),
    ("POST", f"{A}/samples", {"privacy-officer"}, 422),
    ("POST", f"{A}/samples/s1/subjects", {"privacy-officer"}, 422),
    ("POST", f"{A}/samples/s1/communications", {"privacy-officer"}, 422),
    ("POST", f"{A}/users/esf-controller-1/declarations", {"privacy-officer"}, 422),
    ("POST", f"{A}/events", {"privacy-officer"}, 422),
    ("GET", "/api/v1/audit", {"auditor"}, 200),
    ("GET", "/api/v1/audit/verify", {"auditor"}, 200),
    ("GET", "/api/v1/audit/checkpoint", {"auditor"}, 200),
]


@pytest.mark.parametrize(
    ("method", "path", "allowed", "answer"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS]
)
def test_every_role_against_every_endpoint(
    api: Flask, bearer: dict[str, dict[str, str]], method: str, path: str, allowed: set[str], answer: int
) -> None:
    client = api.test_client()
    for role in ROLES:
        response = client.open(
            path, method=method, json={} if method in ("POST", "PUT") else None, headers=bearer[role]
        )
        if role in allowed:
            assert response.status_code == answer, (role, response.status_code, response.get_data(as_text=True)[:300])
        else:
            assert response.status_code == 403, (role, response.status_code)
            assert response.mimetype == "application/problem+json"
    assert client.open(path, method=method).status_code == 401


def test_the_open_parts(api: Flask) -> None:
    client = api.test_client()
    assert client.get("/health").status_code == 200
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"/api/docs/assets/swagger-ui-bundle.js" in page.data
    for path in ("/api/v1/public/register", "/api/v1/public/register.csv"):  # the transparency register
        assert client.get(path).status_code == 200, path
        assert document["paths"][path]["get"]["security"] == []
    script = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000
    script.close()
