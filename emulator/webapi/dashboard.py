"""The agent dashboard page: GET / and its files under /dashboard/. No auth for the files themselves; the page's
own Web API calls send a bearer token."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

STATIC = Path(__file__).resolve().parent.parent / "static" / "dashboard"

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
def index():
    return send_from_directory(STATIC, "index.html", max_age=0)


@blueprint.get("/dashboard/<path:name>")
def asset(name: str):
    return send_from_directory(STATIC, name, max_age=0)
