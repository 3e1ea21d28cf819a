"""The workspace's web app (Starlette): the page, its script, and the JSON API behind both.

    GET  /                  the page, opened on the plan of record
    GET  /api/plan          the plan of record: the plan.json document
    POST /api/plan          a what-if (scenario keys, JSON) -> plan.json's document + what_if,
                            status, changes, frontier; 422 with the located problems
    POST /api/scenario      the what-if as a scenario .yaml that `planner plan` reproduces
    POST /api/report/html   the what-if's report.html (and /api/report/xlsx: report.xlsx)
    GET  /api/progress      ?page=ID: whether that page's latest what-if waits or solves
    GET  /api/workspace     what the page's controls show (quarters, teams, stages, ...)

A page sends `X-Planner-Page: ID` (random per page load); a newer what-if from the same
page cancels its older one (409). Solves run through `planner.serve.jobs.Solves`. The
front door (host, token, JSON and same-origin for POST, body size, headers) is
`planner.serve.guard.Guard`. Nothing is written to disk: the downloads are answers.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from planner.core.cancel import Cancelled
from planner.core.errors import InfeasibleError, InputError, PlannerError, Problem, SolverError
from planner.optimise.plan import Plan
from planner.serve.guard import COOKIE, Guard, is_loopback, query_values
from planner.serve.jobs import Busy, Solves
from planner.serve.workspace import Workspace, answer, page_data, plan_with_uncertainty, scenario_file, what_if_of

PAGE_HEADER = "x-planner-page"
STATIC = {"workspace.js": "text/javascript; charset=utf-8", "workspace.css": "text/css; charset=utf-8"}
# Plans of recent what-ifs, so a download or a repeated what-if does not solve again.
REMEMBERED_PLANS = 64


def create_app(workspace: Workspace, host: str = "127.0.0.1", token: str | None = None, workers: int = 2,
               queue_limit: int = 32) -> Guard:
    """The app for a workspace, behind its guard. A host other than loopback must come with a token."""
    if token is None and not is_loopback(host):
        raise ValueError(f"serving on {host} needs a token")
    solves = Solves(workers, queue_limit)
    plans: OrderedDict[str, tuple[Plan, dict[str, Any]]] = OrderedDict()
    running: dict[str, asyncio.Future] = {}  # by what-if: a solve under way, which the same what-if waits for
    static = {name: resources.files("planner.serve").joinpath("static", name).read_bytes() for name in STATIC}

    async def planned(request: Request) -> tuple[Any, tuple[Plan, dict[str, Any]]]:
        """(the what-if, (its plan, the plan's uncertainty)): from memory, from a solve of the same what-if
        already running for another request, or solved on the pool."""
        data = await _what_if(request)
        key = json.dumps(data, sort_keys=True)
        if key in plans:
            plans.move_to_end(key)
            return data, plans[key]
        what_if_of(workspace, data)  # bad input answered at once, without waiting in the queue
        while key in running:
            try:
                return data, await asyncio.shield(running[key])
            except Cancelled:  # the page that asked first moved on; this request still wants the answer
                await asyncio.sleep(0)
        solve = asyncio.ensure_future(solves.run(_page(request), partial(plan_with_uncertainty, workspace, data)))
        running[key] = solve
        try:
            solved = await solve
        finally:
            if running.get(key) is solve:
                del running[key]
        plans[key] = solved
        while len(plans) > REMEMBERED_PLANS:
            plans.popitem(last=False)
        return data, solved

    async def page(request: Request) -> Response:
        if token is not None and query_values(request.scope, "token"):
            # The printed URL's token becomes a cookie for this origin alone; the address bar loses it.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
            return response
        return HTMLResponse(await run_in_threadpool(render_page, workspace))

    async def script(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _errors(404, [("request", None, "no such file")])
        return Response(static[name], media_type=STATIC[name])

    async def plan_of_record(request: Request) -> Response:
        from planner.cycle.roll import plan_state, state_json

        return JSONResponse(state_json(plan_state(workspace.record)))

    async def plan_what_if_route(request: Request) -> Response:
        async def respond(data: Any, solved: tuple[Plan, dict[str, Any]]) -> Response:
            return JSONResponse(answer(workspace, solved[0], data, solved[1]))

        return await _answered(request, respond)

    async def report(request: Request) -> Response:
        fmt = request.path_params["format"]
        if fmt not in ("html", "xlsx"):
            return _errors(404, [("request", None, "reports come as html or xlsx")])

        async def respond(data: Any, solved: tuple[Plan, dict[str, Any]]) -> Response:
            from planner.publish import render
            from planner.reports.plan_report import build_report

            # Rendering takes a moment (an xlsx most): off the event loop, so other pages are answered meanwhile.
            content = await run_in_threadpool(lambda: render(build_report(solved[0]), fmt))
            media = "text/html; charset=utf-8" if fmt == "html" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            return Response(content, media_type=media, headers={"content-disposition": f'attachment; filename="report.{fmt}"'})

        return await _answered(request, respond)

    async def scenario(request: Request) -> Response:
        try:
            text = scenario_file(workspace, await _what_if(request))
        except InputError as error:
            return _input_errors(error)
        return Response(text, media_type="application/yaml; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="what-if.yaml"'})

    async def progress(request: Request) -> Response:
        page_id = (query_values(request.scope, "page") or [""])[0]
        return JSONResponse({**solves.progress(page_id[:64]), "time_limit": workspace.time_limit,
                             "completed": solves.completed, "cancelled": solves.cancelled})

    async def controls(request: Request) -> Response:
        return JSONResponse({**page_data(workspace), "frontier_ready": workspace.frontier is not None})

    async def _answered(request: Request, respond: Callable[[Any, tuple[Plan, dict[str, Any]]], Awaitable[Response]]) -> Response:
        try:
            data, solved = await planned(request)
        except InputError as error:
            return _input_errors(error)
        except InfeasibleError as error:
            return _errors(422, [("what-if", None, f"no plan satisfies all the rules: {c}") for c in error.conflicts], infeasible=True)
        except Cancelled as error:
            return _errors(409, [("request", None, str(error))], cancelled=True)
        except Busy as error:
            return _errors(503, [("request", None, str(error))])
        except SolverError as error:
            return _errors(500, [("solver", None, str(error))])
        except PlannerError as error:
            return _errors(500, [("planner", None, str(error))])
        return await respond(data, solved)

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/static/{name}", script, methods=["GET"]),
        Route("/api/plan", plan_of_record, methods=["GET"]),
        Route("/api/plan", plan_what_if_route, methods=["POST"]),
        Route("/api/scenario", scenario, methods=["POST"]),
        Route("/api/report/{format}", report, methods=["POST"]),
        Route("/api/progress", progress, methods=["GET"]),
        Route("/api/workspace", controls, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.solves = solves
    return Guard(app, token, loopback_only=is_loopback(host))


class _BadJson(Exception):
    pass


async def _what_if(request: Request) -> Any:
    try:
        return json.loads(await request.body(), parse_constant=_refuse_constant)
    except (ValueError, _BadJson) as error:
        raise InputError([Problem("what-if", f"is not valid JSON: {error}")]) from error


def _refuse_constant(name: str) -> Any:
    raise _BadJson(f"{name} is not a number a scenario can hold")


def _page(request: Request) -> str | None:
    value = request.headers.get(PAGE_HEADER)
    return value[:64] if value else None


def key_of(where: str) -> str | None:
    """"what-if, key budget.total" -> "budget.total"; None when the problem names no key."""
    match = re.search(r"\bkey (\S+)$", where)
    return match.group(1) if match else None


def _input_errors(error: InputError) -> Response:
    return _errors(422, [(p.where, key_of(p.where), p.message) for p in error.problems])


def _errors(status: int, problems: list[tuple[str, str | None, str]], **flags: bool) -> Response:
    return JSONResponse({"errors": [{"where": where, "key": key, "message": message} for where, key, message in problems], **flags},
                        status_code=status)


def render_page(workspace: Workspace) -> str:
    """The page: the workspace template with the plan of record's report model (its summary section) and the controls' data."""
    from planner.cycle.roll import plan_state, state_json
    from planner.render.html import environment, script_json
    from planner.reports.plan_report import build_report

    report = build_report(workspace.record)
    data = {"controls": page_data(workspace), "record": answer(workspace, workspace.record, {})}
    return environment().get_template("workspace.html.j2").render(
        report=report, currency=report.currency, summary=report.section("summary"), glossary=report.section("glossary"),
        workspace_json=script_json(data),
        record=state_json(plan_state(workspace.record)))
