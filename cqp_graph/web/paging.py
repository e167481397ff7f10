"""The parameters of a list: `limit`, `offset`, `format` and `q`, read and declared the same way everywhere.

The list APIs (`/api/missions`, `/api/competences`…) and the search (`/api/search`, `/search`) read them by hand
rather than through FastAPI's validation, so that a bad value is a 400 whose French message names the parameter,
the values it takes and the setting that bounds it. `parameters(...)` declares them in the OpenAPI document with
those bounds: `bound_openapi(schema, settings)` puts the served settings' values in place of the defaults.

Lives here: that reading, those declarations, the downloads of a list (`table_response`: JSON, CSV, XLSX).
Not here: the routes (`api_routes`, `search_routes`), the file writers (`cqp_graph.present.spreadsheet`).
"""

from __future__ import annotations

from dataclasses import fields

from fastapi import HTTPException, Request
from fastapi.responses import Response

from cqp_graph.config import Settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOWNLOADS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "xlsx": XLSX}
_DEFAULTS = {f.name: f.default for f in fields(Settings) if "env" in f.metadata and f.metadata.get("kind")}
_ENV = {f.name: f.metadata["env"] for f in fields(Settings) if "env" in f.metadata}


def setting_env(name: str) -> str:
    """The environment variable of a setting (`page_max` → CQP_GRAPH_PAGE_MAX)."""
    return _ENV[name]


def bad(message: str) -> HTTPException:
    return HTTPException(400, message)


def integer(request: Request, name: str, default: int, minimum: int, maximum: int, setting: str) -> int:
    """The query-string integer `name` (digits only) between `minimum` and `maximum`; 400 (French) otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18 or not minimum <= int(text) <= maximum:
        raise bad(f"paramètre « {name} » : « {raw[:40]} » n'est pas un nombre entier de {minimum} à {maximum} "
                  f"({setting_env(setting)})")
    return int(text)


def page(request: Request, settings: Settings, limit_setting: str = "page_max",
         default_limit: int | None = None) -> tuple[int, int]:
    """(limit, offset) of a page; the largest limit is the setting `limit_setting`, the default `default_limit`
    (the largest when None)."""
    most = getattr(settings, limit_setting)
    limit = integer(request, "limit", most if default_limit is None else min(default_limit, most), 1, most,
                    limit_setting)
    offset = integer(request, "offset", 0, 0, settings.max_offset, "max_offset")
    return limit, offset


def text(request: Request, name: str, maximum: int, setting: str, required: bool = False) -> str | None:
    """The query-string text `name`: at most `maximum` characters; 400 (French) when empty, or missing and
    `required`."""
    raw = request.query_params.get(name)
    if raw is None and not required:
        return None
    if not raw:
        raise bad(f"paramètre « {name} » manquant ou vide : écrivez un code ou des mots à chercher")
    if len(raw) > maximum:
        raise bad(f"paramètre « {name} » : au plus {maximum} caractères ({setting_env(setting)})")
    return raw


def choice(request: Request, name: str, values: list[str], default: str | None = None) -> str | None:
    """The query-string value `name`, one of `values`; 400 (French, naming them) otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw not in values:
        raise bad(f"paramètre « {name} » : « {raw[:40]} » inconnu (valeurs : {', '.join(values)})")
    return raw


# -- OpenAPI ----------------------------------------------------------------------------------------------------

def _bounded(setting: str, settings: Settings | None) -> int:
    return getattr(settings, setting) if settings is not None else _DEFAULTS[setting]


def page_parameters(settings: Settings | None = None, limit_setting: str = "page_max",
                    default_limit: int | None = None) -> list[dict]:
    """The `limit` and `offset` parameters, with their bounds (`x-cqp-setting`: replaced by `bound_openapi`)."""
    most = _bounded(limit_setting, settings)
    return [
        {"name": "limit", "in": "query", "required": False,
         "description": f"most items answered (1 to {setting_env(limit_setting)}; default "
                        f"{'that maximum' if default_limit is None else default_limit}); 400 otherwise",
         "schema": {"type": "integer", "minimum": 1, "maximum": most, "x-cqp-setting": limit_setting}},
        {"name": "offset", "in": "query", "required": False,
         "description": "items skipped before the first one answered (0 to CQP_GRAPH_MAX_OFFSET; default 0); "
                        "400 otherwise",
         "schema": {"type": "integer", "minimum": 0, "maximum": _bounded("max_offset", settings),
                    "x-cqp-setting": "max_offset"}},
    ]


def format_parameter() -> dict:
    return {"name": "format", "in": "query", "required": False,
            "description": "json (default), csv (UTF-8, comma, the JSON keys as header) or xlsx (an Excel workbook, "
                           "with the French column titles the named query declares); 400 for another value",
            "schema": {"type": "string", "enum": list(DOWNLOADS)}}


def text_parameter(name: str, setting: str, description: str, required: bool = False,
                   settings: Settings | None = None) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": _bounded(setting, settings),
                       "x-cqp-setting": setting}}


def list_responses() -> dict:
    """The responses of a list with downloads: 200 in JSON, CSV or XLSX, 400 for a bad parameter."""
    return {200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                              XLSX: {"schema": {"type": "string", "format": "binary"}}}},
            400: {"description": "a bad `limit`, `offset`, `format` or `q` (the French message names it and its "
                                 "bounds)"}}


def bound_openapi(schema: dict, settings: Settings) -> None:
    """Put the served settings' values in the bounds declared with `x-cqp-setting` (and drop that key).

    The declarations are shared by every application (module constants, which FastAPI puts in the document as
    they are): they are copied, never changed in place."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "parameters" not in operation:
                continue
            parameters = []
            for parameter in operation["parameters"]:
                declared = parameter.get("schema", {})
                if "x-cqp-setting" in declared:
                    bounded = {k: v for k, v in declared.items() if k != "x-cqp-setting"}
                    key = "maxLength" if declared.get("type") == "string" else "maximum"
                    bounded[key] = getattr(settings, declared["x-cqp-setting"])
                    parameter = {**parameter, "schema": bounded}
                parameters.append(parameter)
            operation["parameters"] = parameters


# -- answering a list ------------------------------------------------------------------------------------------

def table_response(rows: list[dict], fmt: str | None, name: str, etag: str = "",
                   columns: list[str] | None = None, titles: dict[str, str] | None = None) -> Response:
    """A list of rows as JSON (default), CSV (keys as header) or XLSX (`titles`: the French column titles a named
    query declares, else the keys), `name` the file's; `columns`: the header of an empty list (else the first
    row's keys)."""
    from cqp_graph.web.api_routes import json_bytes

    headers = {"ETag": f'"{etag}"'} if etag else {}
    if fmt in (None, "json"):
        return Response(json_bytes(rows), media_type="application/json", headers=headers)
    from cqp_graph.present.spreadsheet import csv_bytes, xlsx_bytes

    keys = list(rows[0]) if rows else list(columns or [])
    values = [[row.get(k) for k in keys] for row in rows]
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return Response(csv_bytes(keys, values), media_type=DOWNLOADS["csv"], headers={**headers, **disposition})
    body = xlsx_bytes({name: ([(titles or {}).get(k, k) for k in keys], values)})
    return Response(body, media_type=XLSX, headers={**headers, **disposition})
