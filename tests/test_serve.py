"""planner serve's JSON API and front door, on the bundled example, through Starlette's TestClient.

Every what-if key is planned and its effect checked in the answer; bad input comes back as
the scenario's located messages (422); the token, the Host check, the same-origin and JSON
rules and the body limit are each tried from the wrong side. The browser side is
tests/test_serve_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.core.cancel import Cancelled
from planner.core.resources import EXAMPLE_SCENARIO
from planner.inputs.scenario import load_scenario
from planner.inputs.what_if import WHAT_IF_KEYS, what_if_scenario
from planner.optimise.optimiser import plan_portfolio
from planner.render.html import script_json
from planner.serve.app import create_app
from planner.serve.jobs import Busy, Solves
from planner.serve.workspace import interpolate, open_workspace

starlette_testclient = pytest.importorskip("starlette.testclient")
TestClient = starlette_testclient.TestClient
BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def workspace():
    return open_workspace(EXAMPLE_SCENARIO, time_limit=30)


@pytest.fixture(scope="module")
def client(workspace):
    with TestClient(create_app(workspace), base_url=BASE) as client:
        yield client


def post(client, data, path="/api/plan", **headers):
    return client.post(path, content=json.dumps(data), headers={"content-type": "application/json", **headers})


def stage_of(workspace) -> dict[str, str]:
    return {e.id: e.journey_stage for e in workspace.portfolio.experiences}


def unfunded_free(workspace) -> str:
    """An experience the plan of record leaves out that depends on nothing and excludes nothing."""
    return next(d.experience.id for d in workspace.record.not_funded
                if not d.experience.requires and not d.experience.excludes and d.experience.layer == "frontstage")


# ---------------------------------------------------------------------------------------
# The plan of record


def test_get_plan_is_the_plan_json_document_of_the_plan_of_record(client, workspace, tmp_path):
    from planner.cycle.roll import write_plan_state

    answer = client.get("/api/plan")
    assert answer.status_code == 200
    written = json.loads(write_plan_state(workspace.record, tmp_path / "plan.json").read_text())
    assert answer.json() == written
    assert answer.json()["format"] == "planner-plan"


def test_the_empty_what_if_is_the_plan_of_record_with_no_changes(client, workspace):
    answer = post(client, {}).json()
    assert answer["totals"]["npv"] == pytest.approx(workspace.record.npv)
    assert answer["changes"] == []
    assert answer["status"]["proven_optimal"] is True
    spread = answer["uncertainty"]
    assert spread["draws"] == 1000 and spread["p10"] < spread["p50"] < spread["p90"]


def test_a_what_if_comes_with_its_own_p10_and_p90(client, workspace):
    cut = post(client, {"budget": "-30%"}).json()
    assert cut["uncertainty"]["p90"] < workspace.record_uncertainty["p90"]
    assert cut["uncertainty"]["p10"] <= cut["totals"]["npv"] <= cut["uncertainty"]["p90"]


# ---------------------------------------------------------------------------------------
# Every key a what-if can set, planned, with its effect in the answer


def _budget(workspace, answer):
    assert sum(answer["budget"].values()) == pytest.approx(0.9 * sum(workspace.record.portfolio.budget))
    assert answer["total_budget"] == pytest.approx(0.9 * workspace.record.portfolio.total_budget)
    assert answer["totals"]["spend"] <= answer["total_budget"] + 1
    assert any(c["change"] == "left" and "budget" in c["reason"] for c in answer["changes"])


def _capacity(workspace, answer):
    assert answer["capacity"]["Digital"]["2027Q1"] == pytest.approx(workspace.record.portfolio.team("Digital").capacity[0] * 0.5)


def _adjust(workspace, answer):
    stages = stage_of(workspace)
    before = {e.id: e.uplift_base for e in workspace.record.portfolio.experiences}
    for e in answer["experiences"]:
        factor = 1.5 if stages[e["id"]] == "get help" else 1.0
        assert e["estimates"]["uplift_base"] == pytest.approx(min(1.0, before[e["id"]] * factor))


def _forced_in(workspace, answer):
    forced = unfunded_free(workspace)
    row = next(e for e in answer["experiences"] if e["id"] == forced)
    assert row["funded"]
    change = next(c for c in answer["changes"] if c["id"] == forced)
    assert change["change"] == "entered" and "forced in" in change["reason"]


def _forced_out(workspace, answer):
    assert not next(e for e in answer["experiences"] if e["id"] == "CX-302")["funded"]
    change = next(c for c in answer["changes"] if c["id"] == "CX-302")
    assert change["change"] == "left" and "forced out" in change["reason"]


def _horizon(workspace, answer):
    assert answer["horizon_quarters"] == 6 and len(answer["budget"]) == 6


def _discount(workspace, answer):
    assert answer["settings"]["annual_discount_rate"] == pytest.approx(0.10)
    assert answer["totals"]["npv"] < workspace.record.npv


def _estimate(workspace, answer):
    assert answer["totals"]["npv"] < workspace.record.npv
    lows = {e.id: e.uplift_low for e in workspace.portfolio.experiences}
    assert all(e["estimates"]["uplift_base"] == pytest.approx(lows[e["id"]]) for e in answer["experiences"])


def _objective(workspace, answer):
    assert answer["totals"]["pv_benefit"] >= workspace.record.pv_benefit - 1


def _balance(workspace, answer):
    stages = stage_of(workspace)
    spend = sum(sum(e["spend"].values()) for e in answer["experiences"])
    help_spend = sum(sum(e["spend"].values()) for e in answer["experiences"] if stages[e["id"]] == "get help")
    assert help_spend >= 0.35 * spend - 1
    assert answer["changes"]


def _hurdle(workspace, answer):
    assert answer["totals"]["npv"] / answer["totals"]["pv_cost"] >= 1.0 - 1e-9
    assert workspace.record.roi < 1.0  # so the rule bound


def _solver(workspace, answer):
    assert answer["solve"]["solver"] == "highs" and answer["status"]["solver"] == "highs"
    assert answer["totals"]["npv"] == pytest.approx(workspace.record.npv, rel=1e-6)


def _time_limit(workspace, answer):
    assert answer["status"]["time_limit_seconds"] == 7


def _gap(workspace, answer):
    assert answer["status"]["gap_target"] == pytest.approx(0.02)
    assert answer["totals"]["npv"] >= workspace.record.npv * 0.98 - 1


def _start_quarters(workspace, answer):
    from planner.core.domain import quarter_label

    # Only the earliest start is on offer (after an enabler's delivery, for one that requires it).
    earliest = {e.id: quarter_label(workspace.portfolio.settings, e.earliest_start) for e in workspace.portfolio.experiences if not e.requires}
    funded = [e for e in answer["experiences"] if e["funded"] and e["id"] in earliest]
    assert funded and all(e["start_quarter"] == earliest[e["id"]] for e in funded)
    assert any(d.start_quarter != d.experience.earliest_start for d in workspace.record.funded if not d.experience.requires)


def _certify(workspace, answer):
    assert answer["status"]["proven_optimal"]


def _hiring(workspace, answer):
    # Digital's capacity binds in the plan of record; cheap team-weeks to buy can only help.
    assert answer["totals"]["npv"] > workspace.record.npv


def _named(workspace, answer):
    assert answer["scenario"]["name"] == "Board cut"


def _described(workspace, answer):
    assert answer["totals"]["npv"] == pytest.approx(workspace.record.npv)


EVERY_KEY = {
    "name": ({"name": "Board cut"}, _named),
    "description": ({"description": "what the board asked"}, _described),
    "budget": ({"budget": "-10%"}, _budget),
    "capacity": ({"capacity": {"Digital": "-50%"}}, _capacity),
    "adjust": ({"adjust": [{"where": {"journey_stage": "get help"}, "uplift": "+50%"}]}, _adjust),
    "forced_in": (None, _forced_in),
    "forced_out": ({"forced_out": ["CX-302"]}, _forced_out),
    "horizon_quarters": ({"horizon_quarters": 6}, _horizon),
    "discount_rate": ({"discount_rate": "10%"}, _discount),
    "uplift_estimate": ({"uplift_estimate": "low"}, _estimate),
    "objective": ({"objective": "benefit"}, _objective),
    "balance": ({"balance": [{"journey_stage": "get help", "min_share": "35%"}]}, _balance),
    "roi_hurdle": ({"roi_hurdle": "100%"}, _hurdle),
    "solver": ({"solver": "highs"}, _solver),
    "time_limit_seconds": ({"time_limit_seconds": 7}, _time_limit),
    "gap": ({"gap": "2%"}, _gap),
    "start_quarters": ({"start_quarters": "fixed"}, _start_quarters),
    "certify": ({"certify": True}, _certify),
    "hiring": ({"hiring": {"Digital": {"cost_per_team_week": 100, "max_team_weeks": 20}}}, _hiring),
}


def test_every_what_if_key_is_covered():
    assert set(EVERY_KEY) | {"stop"} == set(WHAT_IF_KEYS)  # stop: see the bad-input table (nothing is in flight)


@pytest.mark.parametrize("key", sorted(EVERY_KEY))
def test_every_what_if_key_changes_the_plan_as_a_scenario_file_would(client, workspace, key):
    data, check = EVERY_KEY[key]
    data = data if data is not None else {"forced_in": [unfunded_free(workspace)]}
    answer = post(client, data)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["what_if"] == data
    assert body["status"]["status"] in ("optimal", "feasible", "heuristic")
    check(workspace, body)


def test_the_workspace_time_limit_caps_every_solve(client):
    assert post(client, {"time_limit_seconds": 900}).json()["status"]["time_limit_seconds"] == 30


def test_a_what_if_reads_as_a_scenario_file_extending_the_served_one_would(workspace, tmp_path):
    data = {"budget": {"per_quarter": {"2027Q2": 900000}, "total": "8,500,000"}, "capacity": {"all teams": "+10%", "Digital": 40},
            "adjust": [{"where": {"channel": "app"}, "reach": 0.8}], "forced_out": "CX-302, CX-101"}
    (tmp_path / "what-if.yaml").write_text(
        f"extends: {Path(workspace.scenario.source).resolve()}\nname: {workspace.scenario.name} (what-if)\n"
        "budget: {per_quarter: {2027Q2: 900000}, total: '8,500,000'}\ncapacity: {all teams: +10%, Digital: 40}\n"
        "adjust: [{where: {channel: app}, reach: 0.8}]\nforced_out: CX-302, CX-101\n")
    from dataclasses import replace

    from_file = load_scenario(tmp_path / "what-if.yaml")
    assert what_if_scenario(workspace.scenario, data) == replace(from_file, source=workspace.scenario.source, extends=())
    assert from_file.capacity and from_file.adjustments and from_file.total_budget  # the keys were read, not dropped


# ---------------------------------------------------------------------------------------
# Bad input: the scenario's messages, located by key, all at once


BAD = [
    ({"budget": "ten"}, "budget", "is not an amount"),
    ({"budget": {"totl": 5}}, "budget.totl", 'did you mean "total"'),
    ({"forced_in": ["CX-999"]}, "forced_in", '"CX-999" is not an experience'),
    ({"capacity": {"Digitl": "+10%"}}, "capacity.Digitl", 'did you mean "Digital"'),
    ({"forced_in": ["CX-302"], "forced_out": ["cx-302"]}, "forced_out", "forced both in and out"),
    ({"workbook": "/etc/passwd"}, "workbook", "names a file"),
    ({"extends": "../../secret.yaml"}, "extends", "names a file"),
    ({"stop": ["CX-302"]}, "stop", "is not in flight"),
    ({"horizon_quarters": 0}, "horizon_quarters", "is not a whole number of quarters"),
    ({"budget": {"per_quarter": {"2031Q1": 5}}}, "budget.per_quarter.2031Q1", "is not a quarter of the horizon"),
    ({"adjust": [{"where": {"journey_stage": "checkout"}, "uplift": "+5%"}]}, "adjust[0].where.journey_stage", "matches no experience"),
    ({"balance": [{"journey_stage": "get help", "min_share": "150%"}]}, "balance[0].min_share", "between 0% and 100%"),
    ({"solver": "gurobi"}, "solver", "is not one of cbc, highs"),
    ({"budget": "-250000000"}, "budget.per_quarter", "below zero"),
    ({"wat": 1}, "wat", "is not a known key"),
]


@pytest.mark.parametrize("data, key, message", BAD, ids=[b[1] for b in BAD])
def test_bad_input_is_the_scenario_message_with_the_wrong_key(client, data, key, message):
    answer = post(client, data)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert any(e["key"] == key and message in e["message"] for e in errors), errors
    assert all(e["where"].startswith("what-if") for e in errors)


def test_every_problem_of_a_what_if_comes_back_in_one_answer(client):
    errors = post(client, {"budget": "ten", "gap": "lots", "solver": "gurobi"}).json()["errors"]
    assert {e["key"] for e in errors} == {"budget", "gap", "solver"}


@pytest.mark.parametrize("body, message", [
    ("[1, 2]", "must be a mapping"),
    ("{budget: -10%}", "is not valid JSON"),
    ('{"budget": NaN}', "is not valid JSON"),
    ('{"adjust": ' + "[" * 40 + "]" * 40 + "}", "too large or too deeply nested"),
])
def test_a_body_that_is_no_what_if_is_refused(client, body, message):
    answer = client.post("/api/plan", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert message in answer.json()["errors"][0]["message"]


def test_a_what_if_no_plan_satisfies_says_which_rules_conflict(client):
    answer = post(client, {"budget": 0})
    assert answer.status_code == 422
    body = answer.json()
    assert body["infeasible"] is True
    assert any("CX-M0" in e["message"] or "mandatory" in e["message"] for e in body["errors"]), body


# ---------------------------------------------------------------------------------------
# Save as scenario, and the reports


def test_save_as_scenario_gives_a_file_planner_plan_reproduces(client, workspace, tmp_path):
    data = {"budget": {"total": 8000000}, "forced_in": [unfunded_free(workspace)], "capacity": {"Operations": "-25%"}}
    saved = post(client, data, "/api/scenario")
    assert saved.status_code == 200
    assert "attachment" in saved.headers["content-disposition"]
    path = tmp_path / "saved.yaml"
    path.write_text(saved.text)
    scenario = load_scenario(path)
    again = plan_portfolio(workspace.portfolio, scenario)
    assert again.npv == pytest.approx(post(client, data).json()["totals"]["npv"], abs=0.01)


def test_save_as_scenario_refuses_a_bad_what_if(client):
    answer = post(client, {"forced_in": ["CX-999"]}, "/api/scenario")
    assert answer.status_code == 422 and answer.json()["errors"][0]["key"] == "forced_in"


def test_the_reports_of_a_what_if_download_as_html_and_xlsx(client):
    html = post(client, {"budget": "-10%"}, "/api/report/html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "(what-if)" in html.text and "</html>" in html.text
    xlsx = post(client, {"budget": "-10%"}, "/api/report/xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert post(client, {}, "/api/report/pdf").status_code == 404


# ---------------------------------------------------------------------------------------
# The page and the escaping


def test_the_page_opens_on_the_plan_of_record_with_its_script_and_no_other_host(client, workspace):
    page = client.get("/")
    assert page.status_code == 200
    assert '<script src="/static/workspace.js">' in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "") and "https://" not in page.text
    data = json.loads(page.text.split('id="workspace-data">')[1].split("</script>")[0])
    assert data["record"]["totals"]["npv"] == pytest.approx(workspace.record.npv)
    assert client.get("/static/workspace.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_text_from_the_inputs_is_escaped_in_the_page_and_its_data(tmp_path):
    hostile = "</script><script>alert(1)</script>"
    (tmp_path / "hostile.yaml").write_text(f"extends: {EXAMPLE_SCENARIO}\nname: '{hostile}'\n")
    workspace = open_workspace(tmp_path / "hostile.yaml")
    with TestClient(create_app(workspace), base_url=BASE) as client:
        page = client.get("/").text
    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page
    assert json.loads(str(script_json({"name": hostile}))) == {"name": hostile}


# ---------------------------------------------------------------------------------------
# The front door: host, token, same origin, JSON only, size


def test_a_loopback_workspace_answers_loopback_names_only(client):
    assert client.get("/api/plan", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/api/plan", headers={"host": "attacker.example:8765"}).status_code == 421


@pytest.fixture(scope="module")
def guarded(workspace):
    with TestClient(create_app(workspace, host="0.0.0.0", token="s3cret-token"), base_url="http://10.1.2.3:8765") as client:
        yield client


def test_another_host_needs_a_token():
    with pytest.raises(ValueError, match="needs a token"):
        create_app(None, host="0.0.0.0")


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"authorization": "Bearer wrong"}, 401),
    ({"authorization": "Bearer s3cret-token"}, 200),
    ({"cookie": "planner_token=s3cret-token"}, 200),
    ({"cookie": "planner_token=nope"}, 401),
])
def test_the_token_comes_as_a_bearer_header_or_a_cookie(guarded, headers, status):
    guarded.cookies.clear()
    assert guarded.get("/api/plan", headers=headers).status_code == status
    assert post(guarded, {}, **headers).status_code == status


def test_the_printed_url_swaps_its_token_for_a_strict_cookie(guarded):
    guarded.cookies.clear()
    assert guarded.get("/?token=wrong", follow_redirects=False).status_code == 401
    answer = guarded.get("/?token=s3cret-token", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"].lower()
    assert "planner_token=s3cret-token" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert guarded.get("/").status_code == 200  # the cookie now opens the page
    guarded.cookies.clear()
    assert guarded.get("/api/plan?token=s3cret-token").status_code == 401  # only the page takes it from the URL


@pytest.mark.parametrize("headers, status", [
    ({"origin": BASE}, 200),
    ({"origin": "http://attacker.example"}, 403),
    ({"origin": "null"}, 403),
    ({"origin": "http://127.0.0.1:9999"}, 403),
    ({"sec-fetch-site": "cross-site"}, 403),
    ({"sec-fetch-site": "same-site"}, 403),
    ({"sec-fetch-site": "same-origin", "origin": BASE}, 200),
])
def test_changes_come_from_the_same_origin_only(client, headers, status):
    assert post(client, {}, **headers).status_code == status


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""])
def test_changes_are_json_only(client, content_type):
    answer = client.post("/api/plan", content=b"{}", headers={"content-type": content_type})
    assert answer.status_code == 415


def test_a_request_body_is_limited(client):
    big = {"description": "x" * 70_000}
    assert post(client, big).status_code == 413
    chunks = (b"x" * 8192 for _ in range(10))  # no Content-Length: counted as it arrives
    assert client.post("/api/plan", content=chunks, headers={"content-type": "application/json"}).status_code == 413


def test_every_answer_carries_the_security_headers(client):
    for answer in (client.get("/"), client.get("/api/plan"), post(client, {"wat": 1}), client.get("/api/plan", headers={"host": "x.example"})):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["x-content-type-options"] == "nosniff"


# ---------------------------------------------------------------------------------------
# The pool: queue bound, cancellation, progress


def test_a_newer_what_if_from_the_same_page_cancels_the_older(client):
    older: dict = {}
    thread = threading.Thread(target=lambda: older.update(answer=post(client, {"budget": "-17%"}, **{"x-planner-page": "p1"})))
    thread.start()
    deadline = time.monotonic() + 20
    while client.get("/api/progress?page=p1").json()["state"] != "solving" and time.monotonic() < deadline:
        time.sleep(0.02)
    newer = post(client, {"budget": "-18%"}, **{"x-planner-page": "p1"})
    thread.join(60)
    assert newer.status_code == 200
    assert older["answer"].status_code == 409 and older["answer"].json()["cancelled"] is True
    assert client.get("/api/progress?page=p1").json()["state"] == "idle"
    assert client.get("/api/progress?page=p1").json()["cancelled"] >= 1
    assert solver_children() == []  # the cancelled solve's CBC processes were stopped, not left to run out their time


def solver_children() -> list[str]:
    """Command lines of this process's child processes that run a solver."""
    import os

    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            command = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == os.getpid() and ("cbc" in command.lower() or "highs" in command.lower()):
            found.append(command)
    return found


def test_the_same_what_if_asked_at_once_by_two_pages_is_solved_once(client):
    before = client.get("/api/progress?page=none").json()["completed"]
    answers: dict = {}
    threads = [threading.Thread(target=lambda page=page: answers.update({page: post(client, {"budget": "-21%"}, **{"x-planner-page": page})}))
               for page in ("q1", "q2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [answers[p].status_code for p in ("q1", "q2")] == [200, 200]
    assert answers["q1"].json()["totals"] == answers["q2"].json()["totals"]
    assert client.get("/api/progress?page=none").json()["completed"] == before + 1


def test_the_queue_is_bounded():
    async def scenario():
        solves = Solves(workers=1, queue_limit=1)
        release = threading.Event()

        def blocking():
            release.wait(10)
            return "done"

        first = asyncio.ensure_future(solves.run("a", blocking))
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(solves.run("b", blocking))
        await asyncio.sleep(0.05)
        states = solves.progress("a")["state"], solves.progress("b")
        try:
            await solves.run("c", blocking)
            refused = False
        except Busy:
            refused = True
        release.set()
        results = await asyncio.gather(first, waiting)
        solves.close()
        return states, refused, results

    (first_state, waiting_state), refused, results = asyncio.run(scenario())
    assert first_state == "solving" and waiting_state["state"] == "queued" and waiting_state["ahead"] == 1
    assert refused
    assert results == ["done", "done"]


def test_a_replaced_request_that_waits_is_cancelled_without_solving():
    async def scenario():
        solves = Solves(workers=1, queue_limit=4)
        release = threading.Event()
        ran: list[str] = []

        def blocking(name):
            def run():
                ran.append(name)
                release.wait(10)
                return name
            return run

        first = asyncio.ensure_future(solves.run("a", blocking("first")))
        await asyncio.sleep(0.05)
        older = asyncio.ensure_future(solves.run("b", blocking("older")))
        await asyncio.sleep(0.05)
        newer = asyncio.ensure_future(solves.run("b", blocking("newer")))
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(first, older, newer, return_exceptions=True)
        solves.close()
        return ran, results

    ran, results = asyncio.run(scenario())
    assert ran == ["first", "newer"]
    assert results[0] == "first" and isinstance(results[1], Cancelled) and results[2] == "newer"


def test_interpolating_the_frontier():
    points = [(1.0, 10.0), (3.0, 30.0), (5.0, 35.0)]
    assert interpolate(points, 2.0) == pytest.approx(20.0)
    assert interpolate(points, 9.0) == 35.0
    assert interpolate(points, 0.5) is None


# ---------------------------------------------------------------------------------------
# The command


def test_planner_serve_on_another_host_makes_up_a_token_and_prints_the_url(monkeypatch):
    import planner.serve
    from planner.cli import cli

    seen = {}

    def fake_serve(path, host, port, token, time_limit, workers, announce):
        seen.update(host=host, port=port, token=token)
        announce(planner.serve.url(host, port, token))

    monkeypatch.setattr(planner.serve, "serve", fake_serve)
    result = CliRunner().invoke(cli, ["serve", str(EXAMPLE_SCENARIO), "--host", "0.0.0.0", "--port", "8800"])
    assert result.exit_code == 0, result.output
    assert seen["token"] and len(seen["token"]) >= 24
    assert f"http://0.0.0.0:8800/?token={seen['token']}" in result.output
    result = CliRunner().invoke(cli, ["serve", str(EXAMPLE_SCENARIO)])
    assert seen["token"] is None and "http://127.0.0.1:8765/\n" in result.output
