"""The web pages in a real browser (issue 11): Debian's chromium driven by Playwright against
``authreg serve`` on a registry made as a user makes one (init, apply of the organisations and
the taxonomy, user create), the seed registered by uploading its file in the browser.

Every page is checked with axe-core (vendored in ``tests/vendor``, MPL-2.0): no serious or
critical violation. Screenshots of every page at 1280x800 and 390x844 are written to
``docs/screenshots/`` for the README.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ROOT, TEST_SECRET
from tests.serving import served

PASSWORD = "correct horse battery staple"
AXE = ROOT / "tests" / "vendor" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
SEED = ROOT / "policies" / "authorisations" / "vtc-2017-amif-aii-wse.yaml"
SIZES = {"wide": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def chromium() -> str:
    found = os.environ.get("AUTHREG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no chromium: install Debian's (apt-get install chromium; .ci/run does) or set AUTHREG_CHROMIUM")
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, browser: Browser) -> Iterator[str]:
    """A registry with the organisations and the taxonomy, three people, and the seed registered
    by a privacy officer uploading its file in the browser."""
    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'authreg.db'}"
    env = {**os.environ, "AUTHREG_DATABASE_URL": url, "AUTHREG_SECRET_KEY": TEST_SECRET}
    authreg = [sys.executable, "-m", "authreg.cli.main"]
    subprocess.run([*authreg, "init"], check=True, env=env, capture_output=True)
    shared = [str(ROOT / "policies" / name) for name in ("organisations.yaml", "taxonomy.yaml")]
    subprocess.run([*authreg, "apply", *shared], check=True, env=env, capture_output=True)
    for name, role in (("officer", "privacy-officer"), ("manager", "manager"), ("auditor", "auditor")):
        subprocess.run(
            [*authreg, "user", "create", "--role", role, "--name", name],
            check=True,
            env=env,
            input=f"{PASSWORD}\n{PASSWORD}\n",
            text=True,
            capture_output=True,
        )
    with served(url, AUTHREG_SECRET_KEY=TEST_SECRET) as port:
        address = f"http://127.0.0.1:{port}"
        register_the_seed_by_upload(browser, address)
        yield address


def register_the_seed_by_upload(browser: Browser, site: str) -> None:
    page = signed_in(browser, site, "officer")
    page.get_by_role("link", name="Machtiging registreren (YAML)").click()
    page.get_by_label("Een YAML-bestand opladen").set_input_files(str(SEED))
    page.get_by_role("button", name="Controleren en voorbeeld tonen").click()
    expect(page.locator("#report")).to_contain_text("created authorisation vtc-2017-amif-aii-wse")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.locator("h1")).to_contain_text("Mededeling van persoonsgegevens")
    page.context.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), chromium_sandbox=False, args=["--no-sandbox"])
        yield launched
        launched.close()


def signed_in(browser: Browser, site: str, name: str, size: str = "wide") -> Page:
    page = browser.new_context(viewport=SIZES[size], bypass_csp=True).new_page()  # type: ignore[arg-type]
    page.goto(f"{site}/sign-in")
    page.get_by_label("Naam").fill(name)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    return page


def record_a_communicated_sample(page: Page, sample: str, insz: str) -> None:
    """On the seed's page: a sample of one person drawn on 1 March 2018, communicated to AII's
    security consultant the next day."""
    page.get_by_label("Steekproef").first.fill(sample)
    page.get_by_label("Getrokken op").fill("2018-03-01")
    page.get_by_label("INSZ van de personen, één per regel").fill(insz)
    page.locator("form", has=page.get_by_label("Getrokken op")).get_by_role("button", name="Registreren").click()
    expect(page.get_by_role("status")).to_contain_text("sample")
    communication = page.locator("form", has=page.get_by_label("Meegedeeld op"))
    communication.get_by_label("Steekproef").fill(sample)
    communication.get_by_label("Meegedeeld op").fill("2018-03-02")
    communication.get_by_label("AII-SC").check()
    communication.get_by_role("button", name="Registreren").click()
    expect(page.get_by_role("status")).to_contain_text("communication")


def accessible(page: Page) -> None:
    """axe-core injected into the page (the context bypasses the pages' CSP for it alone)."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate("async () => (await axe.run()).violations")
    serious = [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]
    assert serious == [], page.url


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(SIZES["wide"])  # type: ignore[arg-type]


def test_the_security_plan_overdue_then_fulfilled_late_in_a_browser(browser: Browser, site: str) -> None:
    page = signed_in(browser, site, "officer")
    expect(page.get_by_role("heading", name="Machtigingen")).to_be_visible()
    page.get_by_label("Op datum").fill("2017-12-01")
    page.get_by_role("button", name="Toon").click()
    expect(page.locator(".badge.overdue")).to_have_text("1 te laat")
    accessible(page)
    shoot(page, "overview")

    page.get_by_role("link", name="vtc-2017-amif-aii-wse").click()
    expect(page.locator("h1")).to_contain_text("Mededeling van persoonsgegevens")
    accessible(page)
    shoot(page, "authorisation")

    page.goto(f"{site}/conditions?at=2017-12-01")
    row = page.locator("#vtc-2017-amif-aii-wse__security-plan")
    expect(row.locator(".state")).to_have_text("overdue")
    accessible(page)
    shoot(page, "conditions")
    row.get_by_label("Vervuld op").fill("2017-12-04")
    row.get_by_label("Bewijs").fill("veiligheidsplan ontvangen, brief VTC 2017/412")
    row.get_by_role("button", name="Registreren").click()
    page.goto(f"{site}/conditions?at=2017-12-05")
    expect(page.locator("#vtc-2017-amif-aii-wse__security-plan .state")).to_have_text("fulfilled-late")


def ask_the_seeds_question(page: Page, site: str) -> None:
    """The tour's request, asked in the tester: may ESF's controller read a name on 5 March 2018?"""
    page.goto(f"{site}/tester")
    for label, value in (
        ("Gebruiker", "esf-controller-1"),
        ("Organisatie", "WSE-ESF"),
        ("Gegevenscategorie", "naam"),
        ("Doeleinde", "amif-eligibility"),
        ("INSZ van de persoon (optioneel)", "85.07.30-033.28"),
        ("Dag", "2018-03-05"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Vraag").click()


def test_the_tester_and_the_audit_log_in_a_browser(browser: Browser, site: str) -> None:
    """Denied first (no declaration, no sample); allowed once both are recorded in the pages."""
    page = signed_in(browser, site, "officer")
    ask_the_seeds_question(page, site)
    expect(page.locator("#answer")).to_contain_text("deny")
    expect(page.locator("ul.reasons")).to_contain_text("declaration-missing")
    expect(page.locator("ul.reasons")).to_contain_text("§78")
    accessible(page)
    shoot(page, "tester")

    page.goto(f"{site}/authorisations/vtc-2017-amif-aii-wse")
    page.get_by_label("Gebruiker").select_option("esf-controller-1")
    page.get_by_label("Ondertekend op").fill("2017-10-02")
    page.get_by_label("Bewijs").first.fill("getekende verklaring")
    page.locator("form", has=page.get_by_label("Ondertekend op")).get_by_role("button", name="Registreren").click()
    expect(page.get_by_role("status")).to_contain_text("declaration")
    record_a_communicated_sample(page, "controle-2018-03", "85.07.30-033.28")
    accessible(page)
    ask_the_seeds_question(page, site)
    expect(page.locator("#answer")).to_contain_text("allow")
    expect(page.locator("ul.obligations")).to_contain_text("retention")

    auditor = signed_in(browser, site, "auditor")
    expect(auditor.get_by_role("heading", name="Auditlog")).to_be_visible()
    auditor.get_by_role("button", name="Keten controleren").click()
    expect(auditor.locator("#verified")).to_contain_text("Het log is ongeschonden")
    accessible(auditor)
    shoot(auditor, "audit")


def test_a_manager_sees_no_form_and_a_forged_post_is_refused(browser: Browser, site: str) -> None:
    page = signed_in(browser, site, "manager")
    page.goto(f"{site}/conditions?at=2017-12-01")
    expect(page.locator("#vtc-2017-amif-aii-wse__security-plan")).to_be_visible()
    expect(page.get_by_label("Vervuld op")).to_have_count(0)
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    forged = page.request.post(
        f"{site}/conditions/vtc-2017-amif-aii-wse/security-plan/fulfilments",
        form={"fulfilled_on": "2017-12-04", "evidence": "forged", "csrf_token": token or ""},
    )
    assert forged.status == 403
    without = page.request.post(
        f"{site}/conditions/vtc-2017-amif-aii-wse/security-plan/fulfilments",
        form={"fulfilled_on": "2017-12-04", "evidence": "forged"},
    )
    assert without.status == 400
    sign_in = browser.new_context(viewport=SIZES["phone"], bypass_csp=True).new_page()  # type: ignore[arg-type]
    sign_in.goto(f"{site}/sign-in")
    accessible(sign_in)
    shoot(sign_in, "sign-in")


def test_register_by_upload_and_two_browsers_amending_at_once(browser: Browser, site: str, tmp_path: Path) -> None:
    seed = SEED.read_text(encoding="utf-8")
    upload = tmp_path / "kopie.yaml"
    upload.write_text(seed.replace("id: vtc-2017-amif-aii-wse", "id: vtc-2017-amif-kopie", 1), encoding="utf-8")
    page = signed_in(browser, site, "officer")
    page.get_by_role("link", name="Machtiging registreren (YAML)").click()
    page.get_by_label("Een YAML-bestand opladen").set_input_files(str(upload))
    page.get_by_role("button", name="Controleren en voorbeeld tonen").click()
    expect(page.locator("#report")).to_contain_text("created authorisation vtc-2017-amif-kopie")
    accessible(page)
    shoot(page, "register")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.locator("h1")).to_contain_text("Mededeling van persoonsgegevens")
    assert page.url.endswith("/authorisations/vtc-2017-amif-kopie")

    first, second = signed_in(browser, site, "officer"), signed_in(browser, site, "officer")
    for one in (first, second):
        one.goto(f"{site}/authorisations/vtc-2017-amif-kopie/edit")
    first.get_by_label("of het document plakken of bewerken (YAML)").fill(
        first.get_by_label("of het document plakken of bewerken (YAML)")
        .input_value()
        .replace("max_users: 2", "max_users: 3")
    )
    first.get_by_role("button", name="Controleren en voorbeeld tonen").click()
    first.get_by_role("button", name="Opslaan").click()
    expect(first.locator("h1")).to_contain_text("Mededeling van persoonsgegevens")
    box = second.get_by_label("of het document plakken of bewerken (YAML)")
    box.fill(box.input_value().replace("max_users: 2", "max_users: 5"))
    second.get_by_role("button", name="Controleren en voorbeeld tonen").click()
    expect(second.locator("#problems")).to_contain_text("someone saved it since you opened it")
    assert "max_users: 5" in second.get_by_label("of het document plakken of bewerken (YAML)").input_value()


def test_register_by_form_with_a_mistake_shown_beside_its_field(browser: Browser, site: str) -> None:
    page = signed_in(browser, site, "officer")
    page.get_by_role("link", name="Machtiging registreren met een formulier").click()
    for label, value in (
        ("Id (gebruikt in links)", "vtc-2026-formulier"),
        ("Referentie", "VTC beraadslaging 2026/1"),
        ("Titel", "Mededeling van contactgegevens door AII aan WSE-ESF"),
        ("Beslist op", "2026-01-15"),
        ("Geldig vanaf", "2026-02-01"),
        ("Instantie (id van de organisatie)", "VTC"),
        ("Verstrekker (id van de organisatie)", "AII"),
        ("Ontvanger (id van de organisatie)", "WSE-ESF"),
        ("Doeleinden", "amif-eligibility: controle van de subsidiabiliteit"),
        ("Gebruikers", "esf-lezer | ONBEKEND | Lezer van afdeling ESF"),
    ):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Contactgegevens contactgegevens").check()
    accessible(page)
    shoot(page, "form")
    page.get_by_role("button", name="Controleren en voorbeeld tonen").click()
    users = page.get_by_label("Gebruikers", exact=True)
    expect(users).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#problem-users")).to_contain_text("authorised_users[0].organisation")
    accessible(page)
    users.fill("esf-lezer | WSE-ESF | Lezer van afdeling ESF")
    page.get_by_role("button", name="Controleren en voorbeeld tonen").click()
    expect(page.locator("#report")).to_contain_text("created authorisation vtc-2026-formulier")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.locator("h1")).to_contain_text("Mededeling van contactgegevens door AII aan WSE-ESF")
    accessible(page)


def test_no_link_followed_from_the_overview_answers_a_server_error(browser: Browser, site: str) -> None:
    """A crawl in the browser, as each role that sees the overview: every link on every page
    reached, followed once; none answers 5xx."""
    for name in ("officer", "manager"):
        page = signed_in(browser, site, name)
        seen: set[str] = set()
        queue = [f"{site}/authorisations?at=2017-12-01"]
        while queue and len(seen) < 150:
            url = queue.pop()
            if url in seen:
                continue
            seen.add(url)
            answer = page.request.get(url)
            assert answer.status < 500, url
            if answer.headers.get("content-type", "").startswith("text/html"):
                page.goto(url)
                found = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href.split('#')[0])")
                queue += [link for link in found if link.startswith(site) and link not in seen]
        assert len(seen) > 10, seen
        page.context.close()


def test_the_public_register_for_anyone_in_a_browser(browser: Browser, site: str) -> None:
    """Not signed in: the link in the header, the register of a day, its downloads; no person named."""
    page = browser.new_context(viewport=SIZES["wide"], bypass_csp=True).new_page()  # type: ignore[arg-type]
    page.goto(f"{site}/sign-in")
    page.get_by_role("link", name="Openbaar register").click()
    expect(page.locator("h1")).to_have_text("Openbaar register")
    page.get_by_label("Op datum").fill("2020-01-01")
    page.get_by_role("button", name="Toon").click()
    # the seed, and any copy of it another test of this module registered
    row = page.locator("tbody tr", has_text="VTC beraadslaging 13-09-2017 (AMIF)").first
    expect(row).to_contain_text("Departement WSE, afdeling ESF")
    expect(row).to_contain_text("Agentschap Integratie en Inburgering")
    expect(row).to_contain_text("2029-12-31")
    expect(page.locator("body")).not_to_contain_text("esf-controller")
    download = page.request.get(site + (page.get_by_role("link", name="CSV").get_attribute("href") or ""))
    assert download.status == 200 and "vtc-2017-amif-aii-wse" in download.text()
    accessible(page)
    shoot(page, "public")
    page.context.close()


def test_who_may_read_what_in_a_browser(browser: Browser, site: str) -> None:
    """A declaration and a communicated sample recorded in the page (the seed's purposes are
    gated: before anyone is sampled, nobody may be looked at, and nothing is listed), then the
    people who may read a category, and what one of them may read, through the header's link."""
    page = signed_in(browser, site, "officer")
    page.goto(f"{site}/authorisations/vtc-2017-amif-aii-wse")
    page.get_by_label("Gebruiker").select_option("esf-controller-2")
    page.get_by_label("Ondertekend op").fill("2017-10-02")
    page.locator("form", has=page.get_by_label("Ondertekend op")).get_by_role("button", name="Registreren").click()
    expect(page.get_by_role("status")).to_contain_text("declaration")
    record_a_communicated_sample(page, "toegang-2018-03", "90.01.01-001.23")
    page.get_by_role("link", name="Wie mag wat inzien").click()
    page.get_by_label("Gegevenscategorie").fill("naam")
    page.get_by_label("Op datum").fill("2018-03-05")
    page.get_by_role("button", name="Toon").click()
    row = page.locator("#access tbody tr", has_text="esf-controller-2").first
    expect(row).to_contain_text("amif-eligibility")
    expect(row).to_contain_text("alleen personen in een meegedeelde steekproef")
    accessible(page)
    shoot(page, "access")
    page.get_by_label("Gegevenscategorie").fill("")
    page.get_by_label("Gebruiker").fill("esf-controller-2")
    page.get_by_label("Organisatie").fill("WSE-ESF")
    page.get_by_role("button", name="Toon").click()
    expect(page.locator("#access")).to_contain_text("geboorteland")
    page.context.close()
