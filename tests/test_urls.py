"""URLs are built from route names (walkapp.urls), never written out in code or templates; the
public URLs themselves stay what PRODUCT.md promises (so this file writes them out: it checks
the contract)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from walkapp import urls
from walkapp.app import ROUTES, create_app

ROOT = Path(__file__).resolve().parent.parent
APP_PREFIXES = ("/marches", "/constats", "/carte", "/actions", "/photos", "/open311", "/exports", "/api/",
                "/j/", "/connexion", "/deconnexion", "/compte", "/sw.js")
_QUOTED = "|".join(re.escape(p) for p in APP_PREFIXES)
# A path after a quote (Python, JS, HTML attributes) or any attribute that starts at the root.
HARD_CODED = re.compile(rf"""["'`](?:{_QUOTED})|\b(?:href|src|action|hx-get|hx-post)=["']/""")
# openapi.py completes the schema of routes it names by their documented path (its own contract).
PYTHON_ALLOWED = {"walkapp/openapi.py"}
# sw.js is a static file with no page to hand it URLs: its few are listed once, checked below.
JS_ALLOWED = {"static/js/sw.js"}


def _route_strings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that declare routes (decorator arguments, a Controller's `path`)
    or document them (docstrings)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            skipped.add(id(node.body[0].value))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                skipped.update(id(n) for n in ast.walk(decorator))
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.Assign) and any(getattr(t, "id", None) == "path" for t in item.targets):
                    skipped.update(id(n) for n in ast.walk(item.value))
    return skipped


def python_hard_coded(source: str) -> list[str]:
    tree = ast.parse(source)
    skipped = _route_strings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped:
            text = node.value
            if text.startswith(APP_PREFIXES) or HARD_CODED.search(text):
                found.append(f"line {node.lineno}: {text[:80]!r}")
    return found


def text_hard_coded(text: str) -> list[str]:
    return [f"line {n}: {line.strip()[:100]}" for n, line in enumerate(text.splitlines(), start=1)
            if HARD_CODED.search(line)]


def _hits(files, check, allowed: set[str]) -> dict[str, list[str]]:
    found = {}
    for path in sorted(files):
        name = path.relative_to(ROOT).as_posix()
        hits = [] if name in allowed else check(path.read_text(encoding="utf-8"))
        if hits:
            found[name] = hits
    return found


def test_no_app_path_is_written_out_in_python():
    files = [p for p in (ROOT / "walkapp").rglob("*.py") if "piccolo_migrations" not in p.parts]
    found = _hits(files, python_hard_coded, PYTHON_ALLOWED)
    assert not found, f"build these with walkapp.urls.url(route name): {found}"


def test_no_app_path_is_written_out_in_templates_or_scripts():
    files = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "static" / "js").rglob("*.js")]
    found = _hits(files, text_hard_coded, JS_ALLOWED)
    assert not found, f"use url('route.name', …) in templates, data-* attributes for scripts: {found}"


def test_the_checks_see_what_they_look_for():
    """Not blind: the forms this issue removed are caught; route declarations are not."""
    assert python_hard_coded('redirect(request, f"/marches/{walk.id}/terrain")')
    assert python_hard_coded('x = "/open311/cles"')
    assert python_hard_coded('JS = """fetch("/carte/popup/" + id)"""')
    assert not python_hard_coded('class C:\n    path = "/marches"\n    @get("/carte", name="map")\n'
                                 '    def f(self):\n        "`/carte` shows…"\n        return "Revenir à la carte"\n')
    assert text_hard_coded('<a href="/marches/{{ walk.id }}/terrain">')
    assert text_hard_coded('<form hx-post="/connexion">')
    assert text_hard_coded('fetch("/api/v1/csrf")')
    assert not text_hard_coded("<a href=\"{{ url('field.page', walk_id=walk.id) }}\">")


def test_every_route_has_a_name():
    app = create_app()
    # Litestar's own handlers (OPTIONS answers, the OpenAPI schema) need none: we never link them.
    ours = [(route.path, h) for route in app.routes for h in getattr(route, "route_handlers", [])
            if h.http_methods != {"OPTIONS"} and not route.path.startswith("/schema")]
    unnamed = sorted(f"{sorted(h.http_methods)} {path}" for path, h in ours if not h.name)
    assert len(ours) > 60
    assert not unnamed, unnamed
    assert len(ROUTES) >= 13


@pytest.mark.parametrize(("route", "params", "expected"), [
    ("home", {}, "/"),
    ("walks.list", {}, "/marches"),
    ("walk.detail", {"walk_id": 7}, "/marches/7"),
    ("field.page", {"walk_id": 7}, "/marches/7/terrain"),
    ("field.edit_page", {"walk_id": 7, "observation_id": 9}, "/marches/7/constats/9/modifier"),
    ("join.page", {"secret": "Ab-9_x"}, "/j/Ab-9_x"),
    ("map", {}, "/carte"),
    ("map.popup", {"observation_id": 9}, "/carte/popup/9"),
    ("constat.page", {"observation_id": 9}, "/constats/9"),
    ("photo", {"photo_id": 3, "variant": "vignette.jpg"}, "/photos/3/vignette.jpg"),
    ("actions.table", {}, "/actions"),
    ("action.unlink", {"action_id": 2, "observation_id": 9}, "/actions/2/constats/9/retirer"),
    ("photos.zip", {}, "/exports/photos.zip"),
    ("api.observations.create", {"walk_id": 7}, "/api/v1/walks/7/observations"),
    ("api.csrf", {}, "/api/v1/csrf"),
    ("api.geojson", {}, "/api/v1/observations.geojson"),
    ("open311.requests", {}, "/open311/v2/requests.json"),
    ("open311.media", {"name": "3.jpg"}, "/open311/v2/media/3.jpg"),  # a parameter called `name`
    ("apikeys.list", {}, "/open311/cles"),
    ("sign_in.page", {}, "/connexion"),
    ("service_worker", {}, "/sw.js"),
])
def test_route_names_give_the_public_urls(route, params, expected):
    assert urls.url(route, **params) == expected


def test_queries_templates_and_unknown_names():
    assert urls.url("map", query={"walk": 3, "issue": None, "angle": ""}) == "/carte?walk=3"
    assert urls.url("sign_in.page", query={"suite": "/marches/3"}) == "/connexion?suite=/marches/3"
    assert urls.url("action.new", query={"constats": "1,2"}) == "/actions/nouvelle?constats=1%2C2"
    assert urls.absolute("https://ex.fr/", "join.page", secret="s") == "https://ex.fr/j/s"
    assert urls.template("map.popup") == "/carte/popup/{observation_id}"
    assert urls.template("api.observations.create") == "/api/v1/walks/{walk_id}/observations"
    with pytest.raises(LookupError):
        urls.url("no.such.route")
    with pytest.raises(LookupError):
        urls.url("field.page")  # its walk_id is missing


def test_the_service_worker_knows_the_routes_urls():
    """sw.js lists the app URLs it recognises once (PATHS); each must still be its route's."""
    source = (ROOT / "static" / "js" / "sw.js").read_text(encoding="utf-8")
    block = re.search(r"var PATHS = \{(.*?)\};", source, re.S).group(1)
    paths = dict(re.findall(r'(\w+): "([^"]+)"', block))
    field_page = re.search(r"fieldPage: /(.*?)/,", block).group(1).replace("\\/", "/")
    assert re.fullmatch(field_page.replace("\\d", r"\d"), urls.url("field.page", walk_id=12))
    assert paths["signOut"] == urls.url("sign_out")
    assert urls.url("join", secret="abc").startswith(paths["joinPrefix"])
    assert urls.url("photo", photo_id=1, variant="vignette.jpg").startswith(paths["photoPrefix"])
    assert urls.url("photo", photo_id=1, variant="original").endswith(paths["originalSuffix"])
    assert create_app().route_reverse("static", file_path="/css/app.css").startswith(paths["staticPrefix"])
