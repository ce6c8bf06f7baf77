"""The web pages of the API: server-rendered Jinja2 templates and a little JavaScript.

`install_web(app)` mounts the pages (`search_api.web.routes`) and `/static`."""

from __future__ import annotations

from fastapi import FastAPI


def install_web(app: FastAPI) -> None:
    from search_api.web.render import static_files
    from search_api.web.routes import pages

    app.include_router(pages)
    app.mount("/static", static_files(), name="static")
