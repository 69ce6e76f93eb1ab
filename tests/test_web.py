"""The web pages through the real WSGI app: sign-in (Argon2, slowed down), the role of each page,
CSRF on every form, the conditions board as of a day with a fulfilment recorded, the decision
tester, the audit log, and a crawl of every link from the overview (issue 11)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from authreg.app import create_app
from authreg.domain.clock import utcnow
from authreg.domain.errors import Invalid
from authreg.domain.requests import load_request
from authreg.services import people
from authreg.services.decision_service import DecisionService
from tests.conftest import SEED_ASK, SEED_ID, TEST_SECRET, dump_tables

PASSWORD = "correct horse battery staple"
ROLES = {"officer": "privacy-officer", "manager": "manager", "auditor": "auditor", "app": "application"}


@pytest.fixture
def web(api: Flask, seeded: Engine) -> FlaskClient:
    for name, role in ROLES.items():
        people.create(seeded, name=name, role=role, password=PASSWORD, now=utcnow())
    return api.test_client()


def token(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "a form without a CSRF token"
    return found.group(1)


def sign_in(web: FlaskClient, name: str) -> None:
    form = web.get("/sign-in")
    answer = web.post("/sign-in", data={"name": name, "password": PASSWORD, "csrf_token": token(form)})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def test_sign_in_lands_each_role_on_its_page_and_sign_out_ends_it(web: FlaskClient) -> None:
    assert web.get("/").headers["Location"].endswith("/sign-in")
    assert web.get("/authorisations").status_code == 302  # not signed in
    for name, home in (("officer", "/authorisations"), ("auditor", "/audit"), ("app", "/tester")):
        form = web.get("/sign-in")
        answer = web.post("/sign-in", data={"name": name, "password": PASSWORD, "csrf_token": token(form)})
        assert answer.headers["Location"] == home
        cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        page = web.get(home)
        out = web.post("/sign-out", data={"csrf_token": token(page)})
        assert out.status_code == 302 and web.get(home).status_code == 302


def test_a_wrong_password_is_refused_and_guessing_slows_down(web: FlaskClient, seeded: Engine) -> None:
    form = web.get("/sign-in")
    wrong = web.post("/sign-in", data={"name": "officer", "password": "not it", "csrf_token": token(form)})
    unknown = web.post("/sign-in", data={"name": "nobody", "password": "not it", "csrf_token": token(form)})
    assert wrong.status_code == unknown.status_code == 401
    said = [re.search(r'role="alert">(.*?)<', a.get_data(as_text=True)).group(1) for a in (wrong, unknown)]  # type: ignore[union-attr]
    assert said[0] == said[1]  # the same words: they do not tell which names exist
    now = utcnow()
    for _ in range(2):
        with pytest.raises(people.SignInRefused):
            people.sign_in(seeded, name="officer", password="still not", now=now)
    with pytest.raises(people.SignInRefused, match=r"^wrong name or password"):  # the right one, too soon
        people.sign_in(seeded, name="officer", password=PASSWORD, now=now)
    assert people.sign_in(seeded, name="officer", password=PASSWORD, now=now + timedelta(seconds=2)).role
    assert people.wait_after(2) == timedelta(0) and people.wait_after(20) == timedelta(seconds=60)


def test_parallel_guesses_are_mostly_refused_unchecked(web: FlaskClient, seeded: Engine) -> None:
    """Each try is claimed in a short write before the password is checked: of 12 guesses at
    once, only the free ones are checked, and the right password right after is refused too."""
    now = utcnow()
    with ThreadPoolExecutor(4) as pool:
        refused = list(pool.map(lambda _: _refused(seeded, now), range(12)))
    assert all(refused)
    assert dump_tables(seeded)["web_user"] and _failures(seeded, "officer") == people.FREE_FAILURES + 1
    with pytest.raises(people.SignInRefused):
        people.sign_in(seeded, name="officer", password=PASSWORD, now=now)


def _refused(engine: Engine, now: Any) -> bool:
    try:
        people.sign_in(engine, name="officer", password="guess", now=now)
    except people.SignInRefused:
        return True
    return False


def _failures(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT failed_sign_ins FROM web_user WHERE name = :name")
        return int(connection.execute(query, {"name": name}).scalar_one())


def test_names_are_lower_case_ids_and_a_removed_person_is_signed_out(web: FlaskClient, seeded: Engine) -> None:
    for name in ("Officer", "officer ", "a b"):
        with pytest.raises(Invalid) as caught:
            people.create(seeded, name=name, role="manager", password=PASSWORD, now=utcnow())
        assert caught.value.problems[0].path == "name"
    sign_in(web, "manager")
    assert web.get("/authorisations").status_code == 200
    people.remove(seeded, name="manager")
    assert web.get("/authorisations").headers["Location"].startswith("/sign-in")
    people.create(seeded, name="manager", role="manager", password=PASSWORD, now=utcnow())
    assert web.get("/authorisations").status_code == 302  # a new person of that name: the old session is not theirs


@pytest.mark.parametrize(
    "target", ["//evil.example", "/\\evil.example", "/\t/evil.example", "http://evil.example/", "/\n/x"]
)
def test_sign_in_goes_back_only_to_this_site(web: FlaskClient, target: str) -> None:
    form = web.get("/sign-in")
    answer = web.post(
        "/sign-in",
        query_string={"next": target},
        data={"name": "officer", "password": PASSWORD, "csrf_token": token(form)},
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/authorisations"
    back = web.post(
        "/language", data={"language": "en", "back": target, "csrf_token": token(web.get("/authorisations"))}
    )
    assert back.status_code == 302 and back.headers["Location"] == "/"


def test_pages_are_private_and_an_insz_is_not_shown_again(web: FlaskClient) -> None:
    sign_in(web, "officer")
    page = web.get("/authorisations")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    asked = {"user": "esf-controller-1", "organisation": "WSE-ESF", "data_category": "naam",
             "purpose": "amif-eligibility", "data_subject": "85.07.30-033.28", "csrf_token": token(page)}  # fmt: skip
    answer = web.post("/tester", data=asked).get_data(as_text=True)
    assert "85.07.30-033.28" not in answer and 'class="verdict' in answer
    assert "Geregistreerd." not in web.get("/conditions?done=anything").get_data(as_text=True)
    assert web.get("/audit?_method=POST").status_code == 403  # a query key is never a url_for argument
    bad_version = web.post("/register/preview", data={"text": "id: x", "version": "\u00b2", "csrf_token": token(page)})
    assert bad_version.status_code == 422


def test_a_form_without_its_csrf_token_is_refused(web: FlaskClient, seeded: Engine) -> None:
    no_token = web.post("/sign-in", data={"name": "officer", "password": PASSWORD})
    assert no_token.status_code == 400
    sign_in(web, "officer")
    before = dump_tables(seeded)
    forged = web.post(
        f"/conditions/{SEED_ID}/security-plan/fulfilments", data={"fulfilled_on": "2017-12-04", "evidence": "x"}
    )
    assert forged.status_code == 400 and dump_tables(seeded) == before


def test_a_manager_sees_no_form_and_a_forged_post_is_403(web: FlaskClient, seeded: Engine) -> None:
    sign_in(web, "manager")
    board = web.get("/conditions?at=2017-12-01")
    assert board.status_code == 200 and "fulfilled_on" not in board.get_data(as_text=True)
    before = dump_tables(seeded)
    forged = web.post(
        f"/conditions/{SEED_ID}/security-plan/fulfilments?at=2017-12-01",
        data={"fulfilled_on": "2017-12-04", "evidence": "forged", "csrf_token": token(board)},
    )
    assert forged.status_code == 403 and dump_tables(seeded) == before
    assert web.get("/audit").status_code == 403 and web.get("/tester").status_code == 403


def test_the_security_plan_is_overdue_then_fulfilled_late(web: FlaskClient) -> None:
    sign_in(web, "officer")
    overview = web.get("/authorisations?at=2017-12-01").get_data(as_text=True)
    assert "1 te laat" in overview  # Dutch by default: one condition overdue
    board = web.get("/conditions?at=2017-12-01")
    row = re.search(r'<tr id="vtc-2017-amif-aii-wse__security-plan">.*?</tr>', board.get_data(as_text=True), re.S)
    assert row and 'class="state overdue"' in row.group(0)
    bad = web.post(
        f"/conditions/{SEED_ID}/security-plan/fulfilments?at=2017-12-01",
        data={"fulfilled_on": "the fourth", "evidence": "plan", "csrf_token": token(board)},
    )
    assert bad.status_code == 422 and "fulfilled_on: not a day" in bad.get_data(as_text=True)
    done = web.post(
        f"/conditions/{SEED_ID}/security-plan/fulfilments?at=2017-12-05",
        data={"fulfilled_on": "2017-12-04", "evidence": "brief VTC 2017/412", "csrf_token": token(board)},
    )
    assert done.status_code == 302
    later = web.get(done.headers["Location"]).get_data(as_text=True)
    row = re.search(r'<tr id="vtc-2017-amif-aii-wse__security-plan">.*?</tr>', later, re.S)
    assert row and 'class="state fulfilled-late"' in row.group(0)


def test_the_tester_shows_every_reason_and_names_a_wrong_field(web: FlaskClient) -> None:
    sign_in(web, "app")
    page = web.get("/tester")
    asked = {
        "user": "esf-controller-1",
        "organisation": "WSE-ESF",
        "data_category": "naam",
        "purpose": "amif-eligibility",
        "data_subject": "85.07.30-033.28",
        "at": "2018-03-05",
        "csrf_token": token(page),
    }
    answer = web.post("/tester", data=asked).get_data(as_text=True)
    assert 'class="verdict deny"' in answer and "subject-not-in-communicated-sample" in answer  # §90-92
    assert "§90 §91 §92 §100" in answer
    wrong = web.post("/tester", data={**asked, "at": "the fifth"})
    assert wrong.status_code == 422 and "at: not an ISO 8601" in wrong.get_data(as_text=True)


def test_the_auditor_reads_and_verifies_the_log(web: FlaskClient) -> None:
    sign_in(web, "app")
    page = web.get("/tester")
    web.post("/tester", data={"user": "x", "organisation": "X", "data_category": "naam", "purpose": "p",
                              "csrf_token": token(page)})  # fmt: skip
    web.post("/sign-out", data={"csrf_token": token(page)})
    sign_in(web, "auditor")
    log = web.get("/audit")
    assert "web:app" in log.get_data(as_text=True)
    verified = web.post("/audit/verify", data={"csrf_token": token(log)}).get_data(as_text=True)
    assert "ongeschonden" in verified and "1 regels" in verified


def test_no_link_from_the_overview_answers_a_server_error(web: FlaskClient) -> None:
    """A crawl: every page a link of the overview reaches, and every link on those, as an officer."""
    sign_in(web, "officer")
    seen: set[str] = set()
    queue = ["/authorisations?at=2017-12-01"]
    while queue:
        path = queue.pop()
        if path in seen or len(seen) > 200:
            continue
        seen.add(path)
        answer = web.get(path, follow_redirects=True)
        body = answer.get_data(as_text=True)
        answer.close()  # the stylesheet is a file stream
        assert answer.status_code == 200, path  # the stylesheet too
        if answer.mimetype == "text/html":
            well_formed(body, path)
            for link in re.findall(r'(?:href|src)="(/[^"]*)"', body):
                queue.append(link.replace("&amp;", "&"))
    assert len(seen) >= 5


def well_formed(body: str, path: str) -> None:
    """No two elements share an id (a label would name the wrong one), and every link within
    the page leads to an element of it."""
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), (path, sorted(i for i in ids if ids.count(i) > 1))
    assert set(re.findall(r'href="#([^"]+)"', body)) <= set(ids), path


def test_a_bad_day_in_the_query_is_400_not_500(web: FlaskClient) -> None:
    sign_in(web, "officer")
    assert web.get("/conditions?at=2017-13-45").status_code == 400
    assert web.get("/authorisations/no-such-thing").status_code == 404


def test_user_create_from_the_cli(run_cli: Callable[..., Any], seeded: Engine) -> None:
    made = run_cli("user", "create", "--role", "manager", "--name", "bob", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.exit_code == 0 and made.stdout.strip().endswith("user bob (manager) created; sign in at /")
    short = run_cli("user", "create", "--role", "manager", "--name", "eve", input="short\nshort\n")
    assert short.exit_code == 2 and "password: must be 12" in short.stderr
    again = run_cli("user", "create", "--role", "auditor", "--name", "bob", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 2 and "exists already" in again.stderr
    assert "$argon2id$" in repr(dump_tables(seeded)["web_user"]) and PASSWORD not in repr(dump_tables(seeded))


def test_amending_previews_the_diff_and_two_people_cannot_overwrite_each_other(
    web: FlaskClient, api: Flask, seeded: Engine
) -> None:
    sign_in(web, "officer")
    other = api.test_client()
    sign_in(other, "officer")
    mine, theirs = web.get(f"/authorisations/{SEED_ID}/edit"), other.get(f"/authorisations/{SEED_ID}/edit")
    text = re.search(r'<textarea id="text" name="text"[^>]*>(.*?)</textarea>', mine.get_data(as_text=True), re.S)
    assert text and 'name="version" value="1"' in mine.get_data(as_text=True)
    original = html.unescape(text.group(1))
    changed = original.replace("max_users: 2", "max_users: 3")
    before = dump_tables(seeded)
    shown = web.post(
        "/register/preview",
        data={"text": changed, "version": "1", "current": SEED_ID, "csrf_token": token(mine)},
    )
    assert shown.status_code == 200 and "-max_users: 2" in html.unescape(shown.get_data(as_text=True))
    assert dump_tables(seeded) == before  # a preview writes nothing
    saved = other.post(
        "/register/save",
        data={"text": original.replace("max_users: 2", "max_users: 4"), "version": "1", "current": SEED_ID,
              "csrf_token": token(theirs)},
    )  # fmt: skip
    assert saved.status_code == 302
    late = web.post(
        "/register/save", data={"text": changed, "version": "1", "current": SEED_ID, "csrf_token": token(mine)}
    )
    assert late.status_code == 409 and "someone saved it since you opened it" in late.get_data(as_text=True)
    assert "max_users: 3" in html.unescape(late.get_data(as_text=True))  # nothing lost: the text is kept
    stored = web.get(f"/authorisations/{SEED_ID}/edit").get_data(as_text=True)
    assert "max_users: 4" in stored and 'name="version" value="2"' in stored
    page = web.get(f"/authorisations/{SEED_ID}").get_data(as_text=True)
    assert "Vergelijken" in page and "web:officer" in page  # the versions, who made them
    diff = html.unescape(web.get(f"/authorisations/{SEED_ID}/diff?from=1&to=2").get_data(as_text=True))
    assert "-max_users: 2" in diff and "+max_users: 4" in diff
    assert web.get(f"/authorisations/{SEED_ID}/diff?from=1&to=9").status_code == 404
    assert web.get(f"/authorisations/{SEED_ID}/diff?from=one&to=2").status_code == 400


def test_a_wrong_document_is_shown_beside_its_field(web: FlaskClient, seeded: Engine) -> None:
    sign_in(web, "officer")
    page = web.get("/register")
    before = dump_tables(seeded)
    wrong = web.post("/register/preview", data={"text": "id: x\nflows: []\n", "csrf_token": token(page)})
    assert wrong.status_code == 422 and "<code>reference</code>" in wrong.get_data(as_text=True)
    broken = web.post("/register/preview", data={"text": "id: [x\n", "csrf_token": token(page)})
    assert broken.status_code == 422 and "not valid YAML" in broken.get_data(as_text=True)
    assert dump_tables(seeded) == before
    sign_in(web, "manager")
    assert web.get("/register").status_code == 403


def test_facts_recorded_from_the_authorisation_page(web: FlaskClient, seeded: Engine) -> None:
    sign_in(web, "officer")
    page = web.get(f"/authorisations/{SEED_ID}")
    body = page.get_data(as_text=True)
    assert 'name="subjects"' in body and 'value="AII-SC"' in body and 'value="VTC"' not in body
    data = {"csrf_token": token(page)}
    drawn = web.post(
        f"/authorisations/{SEED_ID}/sample",
        data={**data, "sample": "web-2018", "drawn_on": "2018-03-01", "subjects": "85.07.30-033.28\n\n00.01.01-001.05"},
    )
    assert drawn.status_code == 302 and drawn.headers["Location"].endswith("done=sample")
    told = web.post(
        f"/authorisations/{SEED_ID}/communication",
        data={**data, "sample": "web-2018", "communicated_on": "2018-03-02", "to": ["AII-SC"]},
    )
    assert told.status_code == 302
    before = dump_tables(seeded)
    wrong = web.post(
        f"/authorisations/{SEED_ID}/communication",
        data={**data, "sample": "web-2018", "communicated_on": "2018-03-03", "to": ["VTC"]},
    )
    assert wrong.status_code == 422 and "security" in wrong.get_data(as_text=True)
    again = web.post(
        f"/authorisations/{SEED_ID}/sample",
        data={**data, "sample": "web-2018", "drawn_on": "2018-03-01", "subjects": "85.07.30-033.28"},
    )
    assert again.status_code == 422 and dump_tables(seeded) == before  # a duplicate changes nothing
    signed = web.post(
        f"/authorisations/{SEED_ID}/declaration",
        data={**data, "user": "esf-controller-2", "signed_on": "2018-02-01", "evidence": "map AMIF-2018"},
    )
    assert signed.status_code == 302
    stored = repr(dump_tables(seeded))
    assert "85073003328" not in stored and "85.07.30-033.28" not in stored  # only keyed hashes
    sign_in(web, "manager")
    manager_page = web.get(f"/authorisations/{SEED_ID}")
    assert 'name="subjects"' not in manager_page.get_data(as_text=True)
    forged = web.post(
        f"/authorisations/{SEED_ID}/declaration",
        data={"csrf_token": token(manager_page), "user": "esf-controller-1", "signed_on": "2018-02-01"},
    )
    assert forged.status_code == 403


def test_the_audit_log_filtered_and_exported(web: FlaskClient) -> None:
    sign_in(web, "app")
    page = web.get("/tester")
    base = {"organisation": "WSE-ESF", "data_category": "naam", "purpose": "amif-eligibility", "at": "2018-03-05"}
    for user in ("esf-controller-1", "nobody"):
        web.post("/tester", data={**base, "user": user, "csrf_token": token(page)})
    dutch = web.post("/tester", data={**base, "user": "nobody", "csrf_token": token(page)}).get_data(as_text=True)
    assert "gebruiker nobody" in dutch.lower()  # the reasons in the page's language
    sign_in(web, "auditor")
    everyone = web.get("/audit").get_data(as_text=True)
    one = web.get("/audit?user=nobody").get_data(as_text=True)
    assert everyone.count("<tr><td>") == 3 and one.count("<tr><td>") == 2
    exported = web.get("/audit.csv?user=esf-controller-1&decision=deny")
    rows = exported.get_data(as_text=True).splitlines()
    assert exported.mimetype == "text/csv" and rows[0].startswith("seq,decision_id") and len(rows) == 2
    assert web.get("/audit?from=2017-02-30").status_code == 400


def test_the_board_links_its_calendar(web: FlaskClient) -> None:
    sign_in(web, "manager")
    board = web.get("/conditions?at=2017-12-01").get_data(as_text=True)
    assert 'href="/conditions.ics"' in board
    feed = web.get("/conditions.ics?at=2017-12-01")
    assert feed.mimetype == "text/calendar" and "security-plan" in feed.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("organisation=WSE-ESF", True),
        ("organisation=GEM-GENT", False),
        ("purpose=amif-eligibility", True),
        ("purpose=something-else", False),
        ("category=naam", True),  # granted through officiele-personalia
        ("category=no-such-category", False),
        ("status=suspended", False),
    ],
)
def test_the_overview_filters(web: FlaskClient, query: str, listed: bool) -> None:
    sign_in(web, "manager")
    page = web.get(f"/authorisations?at=2018-03-05&{query}").get_data(as_text=True)
    assert (f'href="/authorisations/{SEED_ID}?at=2018-03-05"' in page) is listed


def test_the_overview_names_what_ends_within_90_days(web: FlaskClient) -> None:
    sign_in(web, "manager")
    assert "Loopt af binnen 90 dagen" in web.get("/authorisations?at=2023-05-01").get_data(as_text=True)
    assert "Loopt af binnen 90 dagen" not in web.get("/authorisations?at=2023-01-01").get_data(as_text=True)


def test_the_cookie_is_secure_where_configured(
    seeded: Engine, database_url: str, outside: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AUTHREG_SESSION_COOKIE_SECURE=true, as behind HTTPS: the cookie is sent over HTTPS only."""
    monkeypatch.setenv("AUTHREG_SESSION_COOKIE_SECURE", "true")
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SUBJECT_KEY": TEST_SECRET, **outside})
    people.create(seeded, name="officer", role="privacy-officer", password=PASSWORD, now=utcnow())
    client = app.test_client()
    form = client.get("/sign-in")
    answer = client.post("/sign-in", data={"name": "officer", "password": PASSWORD, "csrf_token": token(form)})
    assert "Secure" in answer.headers["Set-Cookie"]
    app.extensions["authreg.engine"].dispose()


def test_signing_out_ends_every_copy_of_the_session(web: FlaskClient, api: Flask) -> None:
    """A cookie copied before sign-out (a shared computer, a stolen cookie) no longer works."""
    sign_in(web, "officer")
    page = web.get("/authorisations")
    copied = web.get_cookie("session")
    assert copied is not None
    web.post("/sign-out", data={"csrf_token": token(page)})
    thief = api.test_client()
    thief.set_cookie("session", copied.value)
    assert thief.get("/authorisations").status_code == 302
    sign_in(web, "officer")  # signing in again begins a new session
    assert web.get("/authorisations").status_code == 200


def test_who_may_read_what_by_user_and_by_category(web: FlaskClient) -> None:
    sign_in(web, "manager")
    empty = web.get("/access")
    assert empty.status_code == 200 and 'id="access"' not in empty.get_data(as_text=True)
    by_user = html.unescape(
        web.get("/access?user=esf-controller-1&organisation=WSE-ESF&at=2018-03-05").get_data(as_text=True)
    )
    assert "geboorteland" in by_user and "samples-communicated" in by_user and "aii-to-esf" in by_user
    by_category = web.get("/access?category=naam&at=2018-03-05").get_data(as_text=True)
    assert "esf-controller-2" in by_category and "WSE-ESF" in by_category
    half = web.get("/access?user=esf-controller-1")
    assert half.status_code == 422 and "organisation" in half.get_data(as_text=True)
    assert web.get("/access?category=naam&at=someday").status_code == 400
    sign_in(web, "app")
    assert web.get("/access?category=naam").status_code in (302, 403)


def test_the_preview_replays_the_logged_decisions_when_asked(web: FlaskClient, seeded: Engine) -> None:
    sign_in(web, "officer")
    asked = {**SEED_ASK, "at": "2018-03-05"}
    DecisionService.load(seeded, timezone="Europe/Brussels", secret=TEST_SECRET).ask(
        load_request(asked), asked_by="case-app", now=utcnow()
    )
    mine = web.get(f"/authorisations/{SEED_ID}/edit")
    text = re.search(r'<textarea id="text" name="text"[^>]*>(.*?)</textarea>', mine.get_data(as_text=True), re.S)
    assert text
    shorter = html.unescape(text.group(1)).replace("valid_until: 2023-06-30", "valid_until: 2018-03-01")
    form = {"text": shorter, "version": "1", "current": SEED_ID, "csrf_token": token(mine)}
    before = dump_tables(seeded)
    plain = web.post("/register/preview", data=form).get_data(as_text=True)
    assert 'id="impact"' not in plain  # only when asked: it reads the whole log
    shown = web.post("/register/preview", data={**form, "impact_since": "2000-01-01"})
    page = html.unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200 and 'id="impact"' in page and "1 zouden omslaan" in page
    assert dump_tables(seeded) == before
    wrong = web.post("/register/preview", data={**form, "impact_since": "soon"})
    assert wrong.status_code == 422 and "impact_since" in wrong.get_data(as_text=True)
