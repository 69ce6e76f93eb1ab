"""Registering and amending by the form of common fields, and what the authorisation page and the
overview show: the life as a timeline, the categories as a tree, the paragraphs linked both ways,
fulfilments and samples, the count per state, and the stored authorisations a change affects
(issue 11)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from authreg.domain import yaml_input
from authreg.domain.citations import statements
from authreg.domain.clock import utcnow
from authreg.domain.documents import canonical, parse, read_file
from authreg.domain.errors import Problem
from authreg.domain.lifecycle import MILESTONE_KINDS, STATES
from authreg.services.apply import apply_documents
from authreg.web.form_document import document_from_form, form_values, problems_by_field
from authreg.web.words import WORDS
from tests.conftest import POLICIES, SEED, SEED_ID, dump_tables
from tests.test_web import sign_in, token, web, well_formed  # noqa: F401  (the fixture)

FIXTURES = POLICIES / "tests" / "fixtures"
TEMPLATES = Path(__file__).resolve().parent.parent / "registry" / "web" / "templates"
STATEMENT_KINDS = (
    *("field", "legal-basis", "party", "purpose", "flow"),
    *("number", "related", "exception", "condition", "remark"),
)
NEW = {
    "id": "vtc-2026-formulier",
    "reference": "VTC beraadslaging 2026/1",
    "title": "Mededeling van contactgegevens door AII aan WSE-ESF",
    "decided_on": "2026-01-15",
    "valid_from": "2026-02-01",
    "valid_until": "2028-01-31",
    "authority": "VTC",
    "discloser": "AII",
    "recipient": "WSE-ESF",
    "purposes": "amif-eligibility: controle van de subsidiabiliteit",
    "categories": ["contactgegevens", "naam"],
    "users": "esf-lezer | WSE-ESF | Lezer van afdeling ESF",
}


def form_of(document: dict[str, Any]) -> dict[str, Any]:
    """The form as a browser sends it: text fields, the checked categories, checkboxes only when
    checked."""
    values = form_values(document)
    assert values is not None
    return {key: value for key, value in values.items() if value is not False}


def stored(path: Path) -> dict[str, Any]:
    return read_file(path).canonical()


@pytest.mark.parametrize("path", [SEED, FIXTURES / "nummerlijst.yaml", FIXTURES / "gemeenten-bis.yaml"], ids=str)
def test_the_form_of_a_stored_document_gives_it_back_unchanged(path: Path) -> None:
    document = stored(path)
    values = form_of(document)
    again = document_from_form(values, values["categories"], document)
    assert canonical("authorisation", parse(again, "form").body) == document


def test_amending_by_form_keeps_what_the_form_does_not_show() -> None:
    """The number's user list (§79-80) is not on the form: renaming a user keeps it, so no one
    loses the restriction by editing a name."""
    document = stored(FIXTURES / "nummerlijst.yaml")
    values = form_of(document)
    values["users"] = values["users"].replace("Personeelslid op de lijst", "Hernoemd personeelslid")
    values["users"] += "\nnieuw | WSE-ESF | Nieuw personeelslid"
    again = parse(document_from_form(values, values["categories"], document), "form").body
    users = {u["id"]: u for u in again["authorised_users"]}
    assert users["op-de-lijst"]["national_register_number_list"] is True
    assert users["op-de-lijst"]["name"] == "Hernoemd personeelslid"
    assert users["nieuw"]["national_register_number_list"] is False  # added by the form: not on the list
    assert "national_register_number_list" not in users["niet-op-de-lijst"]  # as stored
    assert again["flows"][0]["national_register_number"] == {"allowed": True, "paragraphs": [98]}


def test_removing_the_last_user_on_the_number_list_does_not_lift_it() -> None:
    """The form does not show the list: emptying it of its only member must not let everyone use
    the national register number (no user stating the field means no list)."""
    document = stored(FIXTURES / "nummerlijst.yaml")
    values = form_of(document)
    values["users"] = "\n".join(line for line in values["users"].splitlines() if not line.startswith("op-de-lijst"))
    again = parse(document_from_form(values, values["categories"], document), "form").body
    assert [u.get("national_register_number_list") for u in again["authorised_users"]] == [False]


def test_a_change_that_drops_the_number_list_is_warned_of(seeded: Engine) -> None:
    document = yaml_input.load((FIXTURES / "nummerlijst.yaml").read_text(encoding="utf-8"))
    apply_documents(seeded, [parse(document, "test")], actor="test", now=utcnow())
    for user in document["authorised_users"]:
        user.pop("national_register_number_list", None)
    report = apply_documents(seeded, [parse(document, "test")], actor="test", now=utcnow(), dry_run=True)
    assert [(w.path, "§79-80" in w.message) for w in report.warnings] == [("authorised_users", True)]


def test_a_document_of_another_shape_is_not_put_in_the_form() -> None:
    document = stored(SEED)
    two = {**document, "flows": [*document["flows"], {**document["flows"][0], "id": "second"}]}
    assert form_values(two) is None
    some = {**document, "flows": [{**document["flows"][0], "purposes": ["amif-eligibility"]}]}
    assert form_values(some) is None


def test_problems_go_beside_their_fields() -> None:
    document = {"parties": [{"id": "VTC", "role": "authority"}, {"id": "", "role": "discloser"}]}
    problems = [
        Problem("form", "valid_from", "not a day"),
        Problem("form", "parties[1].id", "required"),
        Problem("form", "flows[0].data_categories[0]", "unknown category"),
        Problem("form", "authorised_users[0].organisation", "not a party"),
        Problem("form", "conditions[0].responsible", "not a party"),
    ]
    beside, rest = problems_by_field(problems, document)
    assert set(beside) == {"valid_from", "discloser", "categories", "users"}
    assert rest == [problems[-1]]


def test_register_by_form_previews_then_saves(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    sign_in(web, "officer")
    page = web.get("/register/form")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'for="f-reference"' in body and 'value="insz"' in body
    before = dump_tables(seeded)
    shown = web.post("/register/form", data={**NEW, "csrf_token": token(page)})
    text = html.unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200 and "<strong>created</strong> authorisation vtc-2026-formulier" in text
    assert dump_tables(seeded) == before  # a preview writes nothing
    saved_text = re.search(r'<textarea name="text" hidden>(.*?)</textarea>', text, re.S)
    assert saved_text is not None
    saved = web.post("/register/save", data={"text": saved_text.group(1), "version": "", "csrf_token": token(page)})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/authorisations/vtc-2026-formulier")
    again = html.unescape(web.get("/authorisations/vtc-2026-formulier").get_data(as_text=True))
    assert "Mededeling van contactgegevens door AII aan WSE-ESF" in again and "esf-lezer" in again
    twice = web.post("/register/form", data={**NEW, "csrf_token": token(page)})
    assert twice.status_code == 409 and "exists already" in twice.get_data(as_text=True)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"valid_from": "2026-13-01"}, "valid_from", "valid_from"),
        ({"categories": []}, "categories", "at least one category"),
        ({"categories": ["geen-categorie"]}, "categories", "geen-categorie"),
        ({"discloser": ""}, "discloser", "parties["),
        ({"purposes": "zonder-omschrijving"}, "purposes", "purposes[0].description"),
        ({"users": "lezer | ONBEKEND | Iemand"}, "users", "authorised_users[0].organisation"),
        ({"id": "Hoofdletters"}, "id", "id"),
    ],
)
def test_a_wrong_field_is_named_beside_it_and_nothing_is_written(
    web: FlaskClient,  # noqa: F811
    seeded: Engine,
    change: dict[str, Any],
    field: str,
    says: str,
) -> None:
    sign_in(web, "officer")
    page = web.get("/register/form")
    before = dump_tables(seeded)
    wrong = web.post("/register/form", data={**NEW, **change, "csrf_token": token(page)})
    body = html.unescape(wrong.get_data(as_text=True))
    assert wrong.status_code == 422, body
    beside = re.search(rf'<div class="problem" id="problem-{field}">(.*?)</div>', body, re.S)
    assert beside is not None and says in beside.group(1), body
    assert dump_tables(seeded) == before
    assert f'value="{NEW["reference"]}"' in body  # what was typed is kept


def test_amend_by_form_shows_the_diff_and_refuses_a_stale_version(
    web: FlaskClient,  # noqa: F811
    api: Flask,
    seeded: Engine,
) -> None:
    sign_in(web, "officer")
    page = web.get(f"/authorisations/{SEED_ID}/form")
    body = page.get_data(as_text=True)
    assert 'name="version" value="1"' in body and 'value="officiele-personalia" checked' in body
    form = {**form_of(stored(SEED)), "version": "1", "current": SEED_ID, "csrf_token": token(page)}
    same = web.post("/register/form", data=form)
    assert same.status_code == 200 and "<strong>unchanged</strong> authorisation" in same.get_data(as_text=True)
    assert '<button type="submit">Opslaan</button>' not in same.get_data(as_text=True)
    longer = web.post("/register/form", data={**form, "valid_until": "2024-06-30"})
    shown = html.unescape(longer.get_data(as_text=True))
    assert "-valid_until: '2023-06-30'" in shown or "-valid_until: 2023-06-30" in shown
    assert "+valid_until: 2024-06-30" in shown or "+valid_until: '2024-06-30'" in shown
    other = api.test_client()
    sign_in(other, "officer")
    yaml_page = other.get(f"/authorisations/{SEED_ID}/edit")
    text = re.search(r'<textarea id="text" name="text"[^>]*>(.*?)</textarea>', yaml_page.get_data(as_text=True), re.S)
    assert text is not None
    changed = html.unescape(text.group(1)).replace("max_users: 2", "max_users: 3")
    data = {"text": changed, "version": "1", "current": SEED_ID, "csrf_token": token(yaml_page)}
    assert other.post("/register/save", data=data).status_code == 302
    late = web.post("/register/form", data={**form, "valid_until": "2024-06-30"})
    assert late.status_code == 409 and 'value="2024-06-30"' in late.get_data(as_text=True)


def test_a_document_the_form_cannot_hold_is_neither_shown_nor_taken(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    sign_in(web, "officer")
    document = yaml_input.load(SEED.read_text(encoding="utf-8"))
    document["flows"].append({**document["flows"][0], "id": "second", "purposes": ["amif-indicators"]})
    page = web.get(f"/authorisations/{SEED_ID}/edit")
    saved = web.post(
        "/register/save",
        data={"text": yaml_input.dump(document), "version": "1", "current": SEED_ID, "csrf_token": token(page)},
    )
    assert saved.status_code == 302
    form_page = web.get(f"/authorisations/{SEED_ID}/form")
    assert "amend it in YAML" in form_page.get_data(as_text=True) or "wijzig ze in YAML" in form_page.get_data(
        as_text=True
    )
    assert 'name="reference"' not in form_page.get_data(as_text=True)
    before = dump_tables(seeded)
    forged = web.post(
        "/register/form",
        data={**NEW, "id": SEED_ID, "current": SEED_ID, "version": "2", "csrf_token": token(page)},
    )
    assert forged.status_code == 422 and dump_tables(seeded) == before


def test_a_manager_gets_no_form_and_a_forged_one_is_403(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    sign_in(web, "manager")
    assert web.get("/register/form").status_code == 403
    assert web.get(f"/authorisations/{SEED_ID}/form").status_code == 403
    page = web.get("/conditions")  # a page of the manager's own, with a token of the manager's session
    before = dump_tables(seeded)
    assert web.post("/register/form", data={**NEW, "csrf_token": token(page)}).status_code == 403
    assert dump_tables(seeded) == before


def test_a_changed_party_keeps_its_other_roles() -> None:
    """AII, discloser and security consultant, is replaced as discloser: it stays a consultant."""
    document = stored(SEED)
    aii = next(p for p in document["parties"] if p["id"] == "AII")
    del aii["role"]
    aii["roles"] = ["discloser", "security-consultant"]
    values = form_of(document)
    values["discloser"] = "AHOVOKS"
    again = document_from_form(values, values["categories"], document)
    roles = {p["id"]: p["roles"] for p in again["parties"]}
    assert roles["AII"] == ["security-consultant"] and roles["AHOVOKS"] == ["discloser"]


@pytest.mark.parametrize("end", ["\n", "\r", "\u2028", "\x85"])
def test_a_description_of_several_lines_is_not_put_in_the_form(end: str) -> None:
    """Each would be read back as a second purpose (``splitlines`` splits on all of them)."""
    document = stored(SEED)
    document["purposes"][0]["description"] = f"eerste regel{end}extra-doel: tweede regel"
    assert form_values(document) is None
    document = stored(SEED)
    document["authorised_users"][0]["name"] = "naam | met streep"
    assert form_values(document) is None


def test_odd_form_input_is_a_4xx_beside_its_field(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    sign_in(web, "officer")
    page = web.get("/register/form")
    before = dump_tables(seeded)
    odd = web.post("/register/form", data={**NEW, "max_users": "²", "csrf_token": token(page)})
    assert odd.status_code == 422 and 'id="problem-max_users"' in odd.get_data(as_text=True)
    taken = web.post("/register/form", data={**NEW, "id": SEED_ID, "csrf_token": token(page)})
    body = html.unescape(taken.get_data(as_text=True))
    assert taken.status_code == 409 and re.search(r'id="problem-id">\s*<p>id: .*exists already', body)
    assert web.get("/authorisations?endpoint=x&_external=1&_anchor=y").status_code == 200
    gone = web.post("/register/form", data={**NEW, "current": "no-such", "version": "1", "csrf_token": token(page)})
    assert (
        gone.status_code == 404
        and gone.mimetype == "text/html"
        and "no authorisation 'no-such'" in html.unescape(gone.get_data(as_text=True))
    )
    # a new registration carrying a version amends nothing: the id is taken
    forged = web.post("/register/form", data={**NEW, "id": SEED_ID, "version": "1", "csrf_token": token(page)})
    assert forged.status_code == 409 and 'id="problem-id"' in forged.get_data(as_text=True)
    yaml_page = web.get("/register")
    text = SEED.read_text(encoding="utf-8").replace("max_users: 2", "max_users: 3")
    pasted = web.post("/register/save", data={"text": text, "version": "1", "csrf_token": token(yaml_page)})
    assert pasted.status_code == 409 and "exists already" in pasted.get_data(as_text=True)
    assert dump_tables(seeded) == before


def test_a_stale_form_of_a_changed_shape_is_a_conflict_with_the_input_kept(
    web: FlaskClient,  # noqa: F811
    seeded: Engine,
) -> None:
    sign_in(web, "officer")
    page = web.get(f"/authorisations/{SEED_ID}/form")
    form = {**form_of(stored(SEED)), "version": "1", "current": SEED_ID, "csrf_token": token(page)}
    document = yaml_input.load(SEED.read_text(encoding="utf-8"))
    document["flows"].append({**document["flows"][0], "id": "second", "purposes": ["amif-indicators"]})
    saved = web.post(
        "/register/save",
        data={"text": yaml_input.dump(document), "version": "1", "current": SEED_ID, "csrf_token": token(page)},
    )
    assert saved.status_code == 302
    late = web.post("/register/form", data={**form, "reference": "mijn nieuwe referentie"})
    body = late.get_data(as_text=True)
    assert late.status_code == 409 and 'value="mijn nieuwe referentie"' in body and "version 2, not 1" in body


def anchors_resolve(body: str) -> None:
    """The page links within itself, every such link leads to an element of it, and no two
    elements share an id (``test_web.well_formed``)."""
    assert 'href="#' in body
    well_formed(body, "this page")


def test_the_authorisation_page_links_every_paragraph_both_ways(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    sign_in(web, "manager")
    body = html.unescape(web.get(f"/authorisations/{SEED_ID}?at=2017-12-01").get_data(as_text=True))
    anchors_resolve(body)
    cited = re.findall(r'<dt id="p-(\d+)">', body)
    assert "90" in cited and "101" in cited and len(cited) == len(set(cited))
    p90 = re.search(r'<dt id="p-90">§90</dt>\s*<dd>(.*?)</dd>', body, re.S)
    assert p90 is not None
    for anchor in ("party-KBI-SC", "condition-samples-communicated", "remark-3"):
        assert f'href="#{anchor}"' in p90.group(1)
    assert 'href="#p-90"' in body


def test_the_authorisation_page_shows_its_life_tree_and_facts(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    sign_in(web, "officer")
    page = web.get(f"/authorisations/{SEED_ID}")
    sample = {"sample": "s-2018", "drawn_on": "2018-03-01", "subjects": "85.07.30-033.28", "csrf_token": token(page)}
    assert web.post(f"/authorisations/{SEED_ID}/sample", data=sample).status_code == 302
    data = {"fulfilled_on": "2017-12-04", "evidence": "brief VTC 2017/412", "csrf_token": token(page)}
    assert web.post(f"/conditions/{SEED_ID}/security-plan/fulfilments", data=data).status_code == 302
    body = html.unescape(web.get(f"/authorisations/{SEED_ID}?at=2018-01-01").get_data(as_text=True))
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', body, re.S)
    assert timeline is not None
    days = re.findall(r"<strong>(\d{4}-\d\d-\d\d)</strong>", timeline.group(1))
    assert days == ["2017-09-13", "2017-09-13", "2018-01-01", "2023-06-30", "2029-12-31"]
    assert 'class="now"' in timeline.group(1)
    flow = re.search(r'<section class="flow" id="flow-aii-to-esf".*?</section>', body, re.S)
    assert flow is not None
    top = r"<summary>Officiële personalia <code>officiele-personalia</code> \((\d+)\)(.*?)</summary>"
    personalia = re.search(top, flow.group(0), re.S)
    assert personalia is not None and int(personalia.group(1)) >= 10
    assert "bevat het rijksregisternummer" in personalia.group(2)
    assert re.search(r"<code>insz</code>\s*<span class=\"badge number\">", flow.group(0))
    assert "brief VTC 2017/412" in body and "s-2018" in body and "niet meegedeeld" in body
    anchors_resolve(body)
    declared = re.search(r'<tr id="user-esf-controller-1">.*?</tr>', body, re.S)
    assert declared is not None and "2017-10-02" in declared.group(0)


def test_the_page_shows_what_decisions_count_after_a_change(web: FlaskClient, seeded: Engine) -> None:  # noqa: F811
    """A user renamed: the declaration signed under the former name no longer counts (as for a
    decision); a condition dropped: its fulfilment is listed, linked to nothing."""
    sign_in(web, "officer")
    page = web.get(f"/authorisations/{SEED_ID}")
    data = {"fulfilled_on": "2017-12-04", "evidence": "brief VTC 2017/412", "csrf_token": token(page)}
    assert web.post(f"/conditions/{SEED_ID}/security-plan/fulfilments", data=data).status_code == 302
    document = yaml_input.load(SEED.read_text(encoding="utf-8"))
    document["authorised_users"][0]["name"] = "Personeelslid 1 van de afdeling ESF"
    document["conditions"] = [c for c in document["conditions"] if c["id"] != "security-plan"]
    saved = web.post(
        "/register/save",
        data={"text": yaml_input.dump(document), "version": "1", "current": SEED_ID, "csrf_token": token(page)},
    )
    assert saved.status_code == 302
    body = html.unescape(web.get(f"/authorisations/{SEED_ID}?at=2018-01-01").get_data(as_text=True))
    renamed = re.search(r'<tr id="user-esf-controller-1">.*?</tr>', body, re.S)
    assert renamed is not None and "geen verklaring op erewoord" in renamed.group(0)
    assert "brief VTC 2017/412" in body and 'href="#condition-security-plan"' not in body
    anchors_resolve(body)


def test_a_flow_without_the_number_says_what_it_does_not_grant(web: FlaskClient, seeded: Engine, run_cli: Any) -> None:  # noqa: F811
    assert run_cli("apply", str(FIXTURES / "gemeenten.yaml")).exit_code == 0
    sign_in(web, "manager")
    body = html.unescape(web.get("/authorisations/vtc-2018-voorbeeld-gemeenten").get_data(as_text=True))
    assert "mag niet gebruikt worden" in body


def test_the_overview_counts_by_state_and_a_replacement_is_previewed(
    web: FlaskClient,  # noqa: F811
    seeded: Engine,
    run_cli: Any,
) -> None:
    assert run_cli("apply", str(FIXTURES / "gemeenten.yaml")).exit_code == 0
    sign_in(web, "officer")
    page = web.get("/register")
    bis = (FIXTURES / "gemeenten-bis.yaml").read_text(encoding="utf-8")
    shown = web.post("/register/preview", data={"text": bis, "csrf_token": token(page)})
    assert "vtc-2018-voorbeeld-gemeenten (replaced from 2021-07-01)" in html.unescape(shown.get_data(as_text=True))
    assert web.post("/register/save", data={"text": bis, "version": "", "csrf_token": token(page)}).status_code == 302
    body = html.unescape(web.get("/authorisations?at=2022-01-01").get_data(as_text=True))
    tiles = dict((label, int(count)) for count, label in re.findall(r"<strong>(\d+)</strong> ([^<]+)</a>", body))
    assert tiles["vervangen"] == 1 and tiles["alle"] == 3 and tiles["van kracht"] == 2
    replaced = html.unescape(web.get("/authorisations?at=2022-01-01&state=replaced").get_data(as_text=True))
    assert "vtc-2018-voorbeeld-gemeenten</a>" in replaced and f"{SEED_ID}</a>" not in replaced
    assert web.get("/authorisations?state=gone").status_code == 400
    page = html.unescape(web.get("/authorisations/vtc-2018-voorbeeld-gemeenten?at=2022-01-01").get_data(as_text=True))
    assert "vervangen door: vtc-2021-voorbeeld-gemeenten-bis" in page


def test_every_word_of_the_pages_is_in_both_languages() -> None:
    """A word missing in Dutch would show in English on a Dutch page (or as its key)."""
    templates = "\n".join(p.read_text(encoding="utf-8") for p in TEMPLATES.glob("*.html"))
    used = set(re.findall(r"""\bt\(\s*["']([a-z0-9-]+)["']\s*\)""", templates))
    used |= set(re.findall(r'\btext\("[a-z_]+", "([a-z0-9-]+)"', templates))
    for pair in re.findall(r"""\barea\("[a-z_]+", "([a-z0-9-]+)", "([a-z0-9-]+)"\)""", templates):
        used |= set(pair)
    used |= {f"hint-{key}" for key in re.findall(r'hint="hint-([a-z0-9-]+)"', templates)}
    used |= {f"state-{state}" for state in STATES} | {f"ms-{kind}" for kind in MILESTONE_KINDS}
    assert {found.kind for found in statements(stored(SEED))} == set(STATEMENT_KINDS)  # the seed has them all
    used |= {f"kind-{kind}" for kind in STATEMENT_KINDS}
    used |= {f"form-{role}{end}" for role in ("authority", "discloser", "recipient") for end in ("", "-name")}
    used |= {"organisation", "purpose", "category"}  # the overview's filters
    used.discard("")
    for language in ("en", "nl"):
        assert sorted(used - set(WORDS[language])) == [], language
    assert sorted(set(WORDS["nl"]) - set(WORDS["en"])) == []


def test_apply_names_what_a_change_starts_moves_or_stops_replacing(seeded: Engine) -> None:
    def affects(document: dict[str, Any], *, dry_run: bool = False) -> tuple[str, ...]:
        report = apply_documents(seeded, [parse(document, "test")], actor="test", now=utcnow(), dry_run=dry_run)
        return report.changes[0].affects

    bis = yaml_input.load((FIXTURES / "gemeenten-bis.yaml").read_text(encoding="utf-8"))
    replaced = "vtc-2018-voorbeeld-gemeenten"
    assert affects(bis, dry_run=True) == ()  # what it replaces is not registered: nothing answers otherwise
    assert affects(yaml_input.load((FIXTURES / "gemeenten.yaml").read_text(encoding="utf-8"))) == ()
    assert affects(bis) == (f"{replaced} (replaced from 2021-07-01)",)
    assert affects({**bis, "title": "another title"}) == ()  # replacing as before: nothing else answers otherwise
    assert affects({**bis, "valid_from": "2021-08-01"}) == (f"{replaced} (replaced from 2021-08-01)",)
    assert affects({**bis, "replaces": []}) == (f"{replaced} (no longer replaced)",)
    assert affects(bis) == (f"{replaced} (replaced from 2021-07-01)",)
    earlier = {**bis, "id": "vtc-2020-voorbeeld-gemeenten-ter", "decided_on": "2020-12-01", "valid_from": "2021-01-01"}
    assert affects(earlier) == (f"{replaced} (replaced from 2021-01-01)",)
    # the earlier replacement stays in force: moving or dropping the later one changes nothing
    assert affects({**bis, "replaces": []}) == ()
    assert affects({**bis, "valid_from": "2021-09-01"}) == ()
    assert affects({**earlier, "replaces": []}) == (f"{replaced} (replaced from 2021-09-01)",)
