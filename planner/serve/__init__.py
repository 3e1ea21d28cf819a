"""The leadership workspace (`planner serve`): live what-if budgets in the browser, and a JSON API behind them.

`workspace` plans (plan of record, what-ifs, the JSON answer), `jobs` runs the solves in a
bounded pool, `guard` is the front door, `app` the Starlette app, and `static/` the page's
script and styles (shipped in the package; the page template is templates/workspace.html.j2).
This module starts it all on uvicorn.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path


def url(host: str, port: int, token: str | None) -> str:
    """The address to open: the token in it for the first visit (the page swaps it for a cookie)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def serve(scenario_path: str | Path, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
          time_limit: float = 30.0, workers: int = 2, announce: Callable[[str], None] = lambda _: None) -> None:
    """Plan the plan of record, start its frontier in the background, and answer on host:port until stopped.

    `announce` is told what to show a person (the URL) once the workspace is ready.
    """
    import uvicorn

    from planner.serve.app import create_app
    from planner.serve.workspace import open_workspace, solve_frontier

    workspace = open_workspace(scenario_path, time_limit)
    threading.Thread(target=solve_frontier, args=(workspace,), name="planner-frontier", daemon=True).start()
    app = create_app(workspace, host, token, workers)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off",
                            limit_concurrency=256, timeout_keep_alive=5)
    server = uvicorn.Server(config)
    announce(url(host, port, token))
    try:
        server.run()
    finally:  # stop what still solves (the frontier, what-ifs nobody waits for) before leaving
        workspace.closing.set()
        app.app.state.solves.close()
