"""The pages: each view checks who is signed in, calls one service, renders a template.

A person signs in with a name and password made from the CLI; the session cookie (HttpOnly,
SameSite=Lax, Secure where configured) holds their name and role. The role decides what a page
shows and which forms it offers, and every POST checks the role again (a forged form is 403)
and carries a CSRF token (a form without one is refused with 400).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from authreg.api.context import changing, clock, current_policy, due_soon_days, engine, service, subject_key, today
from authreg.domain import yaml_input
from authreg.domain.category_tree import category_tree
from authreg.domain.clock import utcnow
from authreg.domain.conditions import ConditionState
from authreg.domain.document_format import FREQUENCIES
from authreg.domain.documents import Document, read_text
from authreg.domain.errors import Conflict, Invalid, NotFound, Problem
from authreg.domain.lifecycle import STATES
from authreg.domain.requests import load_request
from authreg.services import access_report, checkpoints, people, public_register, record_facts
from authreg.services.apply import ApplyReport, apply_documents
from authreg.services.calendar_feed import calendar
from authreg.services.impact import ImpactReport, impact
from authreg.services.reports import (
    audit_records,
    authorisation_record,
    authorisation_summaries,
    condition_states,
    csv_text,
    usable_categories,
    version_diff,
    versioned_document,
)
from authreg.web.form_document import document_from_form, form_values, problems_by_field
from authreg.web.words import DEFAULT, LANGUAGES, word

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")
csrf = CSRFProtect()
READERS = ("privacy-officer", "manager")
View = TypeVar("View", bound=Callable[..., Any])
HOME = {
    "privacy-officer": "web.overview",
    "manager": "web.overview",
    "auditor": "web.audit",
    "application": "web.tester",
}


def init_web(app: Any) -> None:
    """The pages at ``/``; CSRF is checked on the pages' forms only (the API takes tokens)."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    # a session cookie is refused after 8 hours, whatever the browser keeps; the form tokens
    # live as long as their session (an edit takes longer than Flask-WTF's default hour)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=8)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Secure (HTTPS only) where the server is reached over HTTPS: AUTHREG_SESSION_COOKIE_SECURE=true
    csrf.init_app(app)
    app.register_blueprint(blueprint)


@blueprint.before_request
def _guard_forms() -> Any:
    if not current_app.secret_key:  # no secret key: no session can be signed, so no one signs in
        return _page("error.html", message="no secret key: sign-in is not possible; see the server log"), 503
    if request.method == "POST":
        csrf.protect()
    return None


@blueprint.after_request
def _private(answer: Response) -> Response:
    """Pages show personal data: kept by no cache, framed by no other site, never sniffed."""
    answer.headers["Cache-Control"] = "no-store"
    answer.headers["X-Frame-Options"] = "DENY"
    answer.headers["X-Content-Type-Options"] = "nosniff"
    answer.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    return answer


LOCAL = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%&=?+-]*")


def _local(target: str, fallback: str) -> str:
    """A path on this site to go back to, else the fallback: no scheme, no host, no ``//``,
    backslash, whitespace or control character (a tab in ``/\t/evil`` is dropped on the way
    and leaves ``//evil``)."""
    return target if LOCAL.fullmatch(target) else fallback


@blueprint.errorhandler(CSRFError)
def _no_token(error: CSRFError) -> tuple[str, int]:
    return _page("error.html", message=error.description), 400


@blueprint.errorhandler(HTTPException)
def _refused(error: HTTPException) -> tuple[str, int]:
    """A page's refusal (400, 403, 404) as a page, not as the API's JSON."""
    return _page("error.html", message=f"{error.code} {error.name}: {error.description}"), error.code or 500


@blueprint.app_context_processor
def _words() -> dict[str, Any]:
    language = session.get("language", DEFAULT)
    return {"t": lambda key: word(language, key), "language": language, "who": session.get("who")}


def signed_in(*roles: str) -> Callable[[View], View]:
    """Only for these roles: not signed in goes to the sign-in page, another role gets 403."""

    def wrap(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            who = session.get("who") or {}
            person = people.current(engine(), who["name"]) if who.get("name") else None
            if person is None or not person.holds(who.get("role", ""), who.get("since", ""), who.get("began", "")):
                session.clear()  # removed, another role now, or signed out: the session has ended
                return redirect(url_for("web.sign_in", next=request.path))
            if who["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def _page(template: str, **values: Any) -> str:
    return render_template(template, **values)


@blueprint.get("/sign-in")
def sign_in() -> str:
    return _page("sign_in.html", error=None, name="")


@blueprint.post("/sign-in")
def sign_in_post() -> Any:
    name = request.form.get("name", "")
    try:
        person = people.sign_in(engine(), name=name, password=request.form.get("password", ""), now=utcnow())
    except people.SignInRefused as refused:
        return _page("sign_in.html", error=str(refused), name=name), 401
    language = session.get("language", DEFAULT)
    session.clear()  # a new session for the signed-in person (no fixation)
    session["who"] = {
        "name": person.name,
        "role": person.role,
        "since": people.utc_text(person.created_at),
        "began": utcnow().isoformat(),
    }
    session["language"] = language
    return redirect(_local(request.args.get("next", ""), url_for(HOME[person.role])))


@blueprint.post("/sign-out")
def sign_out() -> Response:
    who = session.get("who") or {}
    if who.get("name"):
        people.sign_out(engine(), name=who["name"], now=utcnow())
    session.clear()
    return redirect(url_for("web.sign_in"))


@blueprint.post("/language")
def language() -> Response:
    chosen = request.form.get("language", DEFAULT)
    session["language"] = chosen if chosen in LANGUAGES else DEFAULT
    return redirect(_local(request.form.get("back", "/"), "/"))


@blueprint.get("/public")
def public() -> str:
    """The transparency register, for anyone, signed in or not (``AUTHREG_PUBLIC_REGISTER``)."""
    if not current_app.config["PUBLIC_REGISTER"]:
        abort(404)
    day = _day()
    return _page("public.html", day=day, found=public_register.entries(engine(), at=day))


ACCESS_FIELDS = ("user", "organisation", "category", "source")


@blueprint.get("/access")
@signed_in(*READERS)
def access() -> Any:
    """Who may read what on a day (``authreg access``): by user and organisation, or by
    category; the form alone until one is asked."""
    day = _day()
    asked = {key: request.args[key] for key in ACCESS_FIELDS if request.args.get(key)}
    if not asked:
        return _page("access.html", day=day, asked=asked, rows=None, problems=[])
    policy = current_policy()
    try:
        rows = access_report.access(policy, day, **asked)
    except Invalid as error:
        return _page("access.html", day=day, asked=asked, rows=None, problems=error.problems), 422
    return _page("access.html", day=day, asked=asked, rows=[row.as_dict() for row in rows], problems=[])


@blueprint.get("/")
def home() -> Response:
    who = session.get("who")
    return redirect(url_for(HOME[who["role"]]) if who else url_for("web.sign_in"))


def _day(name: str = "at") -> date:
    """A day from the query (``?at=2017-12-01``), today when none is given; 400 when it is not one."""
    text = request.args.get(name, "")
    if not text:
        return today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(400, f"{name}: not a day (YYYY-MM-DD): {text[:20]!r}")


OVERVIEW_FILTERS = ("at", "status", "organisation", "purpose", "category")


@blueprint.get("/authorisations")
@signed_in(*READERS)
def overview() -> str:
    """The register as of a day: counted by state (each count a link to those), then listed,
    narrowed by the filters and the state chosen."""
    day = _day()
    query = request.args
    status, state = query.get("status") or None, query.get("state") or None
    if state is not None and state not in STATES:
        abort(400, f"state: one of {', '.join(STATES)}")
    found = authorisation_summaries(
        engine(),
        at=day,
        status=status,
        organisation=query.get("organisation") or None,
        purpose=query.get("purpose") or None,
        category=query.get("category") or None,
    )
    ending = [s for s in found if s.valid_until is not None and day <= s.valid_until <= day + timedelta(days=90)]
    counted: dict[str, dict[str, int]] = {}
    for condition in _states(day):
        counted.setdefault(condition.authorisation, {}).setdefault(condition.state, 0)
        counted[condition.authorisation][condition.state] += 1
    return _page(
        "overview.html",
        day=day,
        status=status,
        state=state,
        states=STATES,
        by_state=Counter(summary.state for summary in found),
        found=[summary for summary in found if state is None or summary.state == state],
        counted=counted,
        ending=ending,
        query=query,
        keep={key: query[key] for key in OVERVIEW_FILTERS if query.get(key)},
    )


@blueprint.get("/authorisations/<authorisation_id>")
@signed_in(*READERS)
def authorisation(authorisation_id: str) -> str:
    done = request.args.get("done")
    return _authorisation_page(authorisation_id, problems=[], done=done if done in FACTS else None)


def _authorisation_page(authorisation_id: str, *, problems: list[Problem], done: str | None) -> str:
    day = _day()
    try:
        found = authorisation_record(engine(), authorisation_id, at=day, window_days=due_soon_days())
    except NotFound:
        abort(404)
    return _page(
        "authorisation.html",
        day=day,
        record=found,
        document=found.document,
        timeline=found.facts.timeline,
        problems=problems,
        done=done,
    )


@blueprint.get("/authorisations/<authorisation_id>/diff")
@signed_in(*READERS)
def version_changes(authorisation_id: str) -> str:
    try:
        before, after = int(request.args.get("from", "")), int(request.args.get("to", ""))
    except ValueError:
        abort(400, "from and to: two version numbers")
    try:
        diff = version_diff(engine(), authorisation_id, before, after)
    except NotFound as error:
        abort(404, str(error))
    return _page("diff.html", authorisation_id=authorisation_id, before=before, after=after, diff=diff)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# What each form of the authorisation page records: the service it calls with the form's fields.
FACTS: dict[str, Callable[[str, Any, str], object]] = {
    "sample": lambda auth, form, actor: record_facts.register_sample(
        engine(),
        authorisation=auth,
        sample=form.get("sample", ""),
        drawn_on=_form_day(form.get("drawn_on", ""), "drawn_on"),
        subjects=_lines(form.get("subjects", "")),
        secret=subject_key(),
        actor=actor,
        clock=clock(),
    ),
    "communication": lambda auth, form, actor: record_facts.communicate_sample(
        engine(),
        authorisation=auth,
        sample=form.get("sample", ""),
        on=_form_day(form.get("communicated_on", ""), "communicated_on"),
        to=form.getlist("to"),
        actor=actor,
        clock=clock(),
    ),
    "declaration": lambda auth, form, actor: record_facts.record_declaration(
        engine(),
        authorisation=auth,
        user=form.get("user", ""),
        signed_on=_form_day(form.get("signed_on", ""), "signed_on"),
        evidence=form.get("evidence") or None,
        actor=actor,
        clock=clock(),
    ),
}


@blueprint.post("/authorisations/<authorisation_id>/<any(sample, communication, declaration):act>")
@signed_in("privacy-officer")
def record(authorisation_id: str, act: str) -> Any:
    try:
        with changing():
            FACTS[act](authorisation_id, request.form, f"web:{session['who']['name']}")
    except (Invalid, NotFound, Conflict) as error:
        problems = error.problems if isinstance(error, Invalid) else [Problem("", act, str(error))]
        return _authorisation_page(authorisation_id, problems=problems, done=None), 422
    return redirect(url_for("web.authorisation", authorisation_id=authorisation_id, done=act))


@blueprint.get("/register")
@signed_in("privacy-officer")
def register() -> str:
    return _page("edit.html", text="", version="", problems=[], report=None, current=None)


@blueprint.get("/authorisations/<authorisation_id>/edit")
@signed_in("privacy-officer")
def amend(authorisation_id: str) -> str:
    version, document = _stored(authorisation_id)
    text = yaml_input.dump(document)
    return _page("edit.html", text=text, version=str(version), problems=[], report=None, current=authorisation_id)


def _stored(authorisation_id: str) -> tuple[int, dict[str, Any]]:
    """The version and document being amended; 404 for an unknown id."""
    try:
        return versioned_document(engine(), authorisation_id)
    except NotFound:
        abort(404)


@blueprint.post("/register/preview")
@signed_in("privacy-officer")
def preview() -> Any:
    """What saving would change (the diff, and the stored authorisations a change of categories
    affects), written nowhere; the form to save it carries the text and the version it changes."""
    return _apply_form(dry_run=True)


@blueprint.post("/register/save")
@signed_in("privacy-officer")
def save() -> Any:
    return _apply_form(dry_run=False)


def _apply_form(*, dry_run: bool) -> Any:
    form = request.form
    upload = request.files.get("upload")
    text = upload.read().decode("utf-8", errors="replace") if upload and upload.filename else form.get("text", "")
    version, current = form.get("version", ""), form.get("current") or None
    since = form.get("impact_since", "") if dry_run else ""
    found = None
    try:
        if since:
            found = _impact(text, version, current, _form_day(since, "impact_since"))
            report = found.apply
        else:
            report = _check_and_apply(text, version, current, dry_run=dry_run)
    except Invalid as error:
        return _page(
            "edit.html", text=text, version=version, problems=error.problems, report=None, current=current
        ), 422
    except NotFound as error:  # a version given for an id not registered
        problems = [Problem("", "version", str(error))]
        return _page("edit.html", text=text, version=version, problems=problems, report=None, current=current), 422
    except Conflict as error:  # saved by someone since it was opened, or while its impact was worked out
        problems = [_stale(error)]
        return _page("edit.html", text=text, version=version, problems=problems, report=None, current=current), 409
    if dry_run:
        return _page("edit.html", text=text, version=version, problems=[], report=report, current=current, impact=found)
    return redirect(url_for("web.authorisation", authorisation_id=report.changes[0].key))


def _stale(error: Conflict) -> Problem:
    return Problem("", "version", f"{error}: someone saved it since you opened it; your text is kept here")


def _check_and_apply(text: str, version: str, current: str | None, *, dry_run: bool) -> ApplyReport:
    """Check one authorisation's YAML against the registry and save it (or only report what
    saving would change); ``version`` is the one the person opened (none: a new one), so a
    change saved by someone else since is a Conflict, not overwritten."""
    document, expected = _checked(text, version, current)
    key = document.body["id"]
    with changing():
        return apply_documents(
            engine(),
            [document],
            actor=f"web:{session['who']['name']}",
            now=clock().now,
            dry_run=dry_run,
            expected_versions={key: expected},
        )


def _checked(text: str, version: str, current: str | None) -> tuple[Document, int | None]:
    """The authorisation in the text, and the version it amends (None: a new one)."""
    document = read_text(text, "the document")
    if document.kind != "authorisation":
        raise Invalid([Problem("the document", "", "only an authorisation can be registered here")])
    key = document.body["id"]
    if current is not None and key != current:
        raise Invalid([Problem("the document", "id", f"{key!r} is not the authorisation being amended")])
    # registering (no ``current``) expects no stored one: a version sent with it amends nothing
    return document, int(version) if current is not None and re.fullmatch(r"[0-9]{1,18}", version) else None


def _impact(text: str, version: str, current: str | None, since: date) -> ImpactReport:
    """The preview with the logged decisions since the day replayed (``authreg apply --dry-run
    --impact``); asked for, not done on every preview, since it reads the whole log."""
    document, expected = _checked(text, version, current)
    return impact(
        engine(),
        [document],
        since=since,
        actor=f"web:{session['who']['name']}",
        now=clock().now,
        expected_versions={document.body["id"]: expected},
    )


@blueprint.get("/register/form")
@signed_in("privacy-officer")
def register_form() -> str:
    return _form_page({}, current=None, version="")


@blueprint.get("/authorisations/<authorisation_id>/form")
@signed_in("privacy-officer")
def amend_form(authorisation_id: str) -> str:
    version, document = _stored(authorisation_id)
    return _form_page(form_values(document), current=authorisation_id, version=str(version))


@blueprint.post("/register/form")
@signed_in("privacy-officer")
def form_preview() -> Any:
    """The document the form describes, checked and previewed like pasted YAML (saved from the
    preview); a problem is shown beside the field it is about."""
    form = request.form
    current = form.get("current") or None
    version = form.get("version", "") if current else ""  # a new one carries no version on to its save
    given = {**form.to_dict(), "categories": form.getlist("categories")}
    try:
        found = versioned_document(engine(), current) if current else None
    except NotFound as error:
        return _form_page(given, current=None, version="", problems=[Problem("", "current", str(error))]), 404
    if found is not None and str(found[0]) != version:  # checked first: what was typed is kept
        stale = Conflict(f"authorisation {current!r} is at version {found[0]}, not {version}")
        return _form_page(given, current=current, version=version, problems=[_stale(stale)]), 409
    stored = found[1] if found is not None else None
    if stored is not None and form_values(stored) is None:  # the form would drop what it cannot show
        return _form_page(None, current=current, version=version), 422
    document = document_from_form(form, form.getlist("categories"), stored)
    text = yaml_input.dump(document)
    try:
        report = _check_and_apply(text, version, current, dry_run=True)
    except Invalid as error:
        beside, rest = problems_by_field(error.problems, document)
        return _form_page(given, current=current, version=version, beside=beside, problems=rest), 422
    except Conflict as error:
        if current is None:  # a new one with the id of a registered one
            beside = {"id": [f"id: {error}; amend that one instead"]}
            return _form_page(given, current=None, version=version, beside=beside), 409
        return _form_page(given, current=current, version=version, problems=[_stale(error)]), 409
    text = yaml_input.dump(read_text(text, "the form").canonical())  # as it is stored: no defaults spelled out
    return _page("edit.html", text=text, version=version, problems=[], report=report, current=current)


def _form_page(
    values: dict[str, Any] | None,
    *,
    current: str | None,
    version: str,
    beside: dict[str, list[str]] | None = None,
    problems: list[Problem] | None = None,
) -> str:
    found = usable_categories(engine(), current)
    tops = sorted(key for key, entry in found.items() if not entry.get("parent"))
    return _page(
        "form.html",
        values=values,
        current=current,
        version=version,
        beside=beside or {},
        problems=problems or [],
        trees=category_tree(tops, found),
        frequencies=FREQUENCIES,
    )


@blueprint.get("/conditions")
@signed_in(*READERS)
def conditions() -> str:
    day = _day()
    states = _states(day)
    done = request.args.get("done")
    known = {state.condition for state in states}
    return _page("conditions.html", day=day, states=states, problems=[], done=done if done in known else None)


@blueprint.post("/conditions/<authorisation_id>/<condition_id>/fulfilments")
@signed_in("privacy-officer")
def fulfil(authorisation_id: str, condition_id: str) -> Any:
    form = request.form
    try:
        fulfilled_on = _form_day(form.get("fulfilled_on", ""), "fulfilled_on")
        with changing():
            record_facts.record_fulfilment(
                engine(),
                authorisation=authorisation_id,
                condition=condition_id,
                fulfilled_on=fulfilled_on,
                evidence=form.get("evidence", ""),
                actor=f"web:{session['who']['name']}",
                clock=clock(),
            )
    except (Invalid, NotFound, Conflict) as error:
        problems = error.problems if isinstance(error, Invalid) else [Problem("", "", str(error))]
        day = _day()
        states = _states(day)
        return _page("conditions.html", day=day, states=states, problems=problems, done=None), 422
    return redirect(url_for("web.conditions", at=request.args.get("at", ""), done=condition_id))


def _states(day: date, authorisation: str | None = None) -> list[ConditionState]:
    """Every condition's state on the day (of one authorisation, or of all)."""
    return condition_states(engine(), at=day, window_days=due_soon_days(), authorisation=authorisation)


def _form_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise Invalid([Problem("", field, "not a day (YYYY-MM-DD)")]) from error


FIELDS = ("user", "organisation", "data_category", "purpose", "source", "data_subject", "at")


@blueprint.route("/tester", methods=["GET", "POST"])
@signed_in("privacy-officer", "application")
def tester() -> Any:
    asked = {key: request.form.get(key, "").strip() for key in FIELDS}
    answer, problems = None, []
    if request.method == "POST":
        try:
            loaded = load_request({key: value for key, value in asked.items() if value})
            asked_by, language = f"web:{session['who']['name']}", session.get("language", DEFAULT)
            answer = service().ask(loaded, asked_by=asked_by, now=utcnow(), language=language)
        except Invalid as error:
            problems = error.problems
    status = 422 if problems else 200
    asked["data_subject"] = ""  # asked once, never shown again (it is logged only as a keyed hash)
    return _page("tester.html", asked=asked, answer=answer, problems=problems), status


AUDIT_FILTERS = ("user", "organisation", "authorisation", "decision", "from", "to")
AUDIT_SHOWN = 500
AUDIT_BATCH = 1000


def _audit_entries() -> list[dict[str, Any]]:
    """Every entry of the log the filters ask for, oldest first: verdict, authorisation and days
    through the log's query, user and organisation (inside each logged request) on the entries,
    read in batches over the whole log, so a filter never stops at the first thousand."""
    query = request.args
    filters = {
        "decision": query.get("decision") or None,
        "authorisation": query.get("authorisation") or None,
        "since": _optional_day("from"),
        "until": _optional_day("to"),
    }
    wanted = {key: query[key] for key in ("user", "organisation") if query.get(key)}
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        batch = audit_records(engine(), after=after, limit=AUDIT_BATCH, **filters)
        found += [e for e in batch if all(e.get("request", {}).get(k) == v for k, v in wanted.items())]
        if len(batch) < AUDIT_BATCH:
            return found
        after = batch[-1]["seq"]


def _audit_page(verified: dict[str, Any] | None) -> str:
    found = _audit_entries()
    kept = {key: request.args[key] for key in AUDIT_FILTERS if request.args.get(key)}
    return _page(
        "audit.html",
        entries=list(reversed(found[-AUDIT_SHOWN:])),  # the newest first
        total=len(found),
        shown=min(len(found), AUDIT_SHOWN),
        verified=verified,
        query=kept,
        csv_link=url_for("web.audit_csv") + ("?" + urlencode(kept) if kept else ""),
    )


def _optional_day(name: str) -> date | None:
    return _day(name) if request.args.get(name) else None


@blueprint.get("/audit")
@signed_in("auditor")
def audit() -> str:
    return _audit_page(None)


@blueprint.get("/audit.csv")
@signed_in("auditor")
def audit_csv() -> Response:
    answer = Response(csv_text(_audit_entries()), mimetype="text/csv")
    answer.headers["Content-Disposition"] = "attachment; filename=audit.csv"
    return answer


@blueprint.post("/audit/verify")
@signed_in("auditor")
def audit_verify() -> str:
    verified = checkpoints.verify_server_log(
        engine(),
        secret=subject_key(),
        folder=Path(current_app.config["CHECKPOINT_DIR"]),
        signing_key_file=Path(current_app.config["SIGNING_KEY_FILE"]),
    )
    return _audit_page(verified)


@blueprint.get("/conditions.ics")
@signed_in(*READERS)
def conditions_feed() -> Response:
    states = _states(_day())
    return Response(calendar(states, generated_at=clock().now), mimetype="text/calendar")
