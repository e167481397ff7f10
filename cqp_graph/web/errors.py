"""Error handling of the server: every refusal is a 4xx with a French message, never a 500.

`install(app)` registers the exception handlers on a FastAPI application (and documents the
coverage and decision request bodies, whose schemas depend on the served graph). A refusal's body is
`{"detail": …}`: a French message, or an object with a `message` (and, for a referential to choose, `choix`).

Lives here: those handlers. Not here: the refusals themselves (raised by the routes).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from cqp_graph.inputs.files import InputError
from cqp_graph.query.catalogue import UnknownValue
from cqp_graph.query.knowledge import UnknownReferential
from cqp_graph.query.remote_store import StoreError, StoreTimeout

log = logging.getLogger("cqp_graph.web")


def _json(status: int, detail, headers=None) -> Response:
    from cqp_graph.web.api_routes import json_bytes

    return Response(json_bytes({"detail": detail}), status_code=status, media_type="application/json",
                    headers=headers)


def install(app: FastAPI) -> None:
    """Register the server's exception handlers on `app`."""
    from cqp_graph.web.api_routes import document_inputs

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = [{"champ": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                  for e in exc.errors()]
        return _json(422, {"message": "requête invalide", "erreurs": errors})

    french = {"Not Found": "ressource introuvable", "Method Not Allowed": "méthode non permise sur cette ressource"}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code in (204, 304):
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = french.get(exc.detail, exc.detail) if isinstance(exc.detail, str) else exc.detail
        return _json(exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError):
        return _json(422, exc.as_dict())

    @app.exception_handler(UnknownReferential)
    async def unknown_referential(request: Request, exc: UnknownReferential):
        # a referential the graph does not hold (404), or none named where the graph holds several (409)
        from cqp_graph.web.api_routes import referential_path

        choices = [{"name": name, "url": referential_path(name, "")} for name in exc.known]
        return _json(409 if exc.ambiguous else 404, {"message": str(exc), "choix": choices})

    @app.exception_handler(UnknownValue)
    async def unknown_value(request: Request, exc: UnknownValue):
        # a code the referential does not hold, given to a named query: the message names the close ones
        return _json(404, str(exc))

    @app.exception_handler(UnicodeError)
    async def bad_text(request: Request, exc: UnicodeError):
        # bytes of the request (path, query, headers) that are not text: the client's doing
        log.info("undecodable request %s: %s", request.url.path, exc)
        return _json(400, "la requête contient des octets qui ne sont pas du texte UTF-8")

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect):
        # the client closed the connection before its body was read: nothing to answer, nothing of ours to log
        log.info("client left before its request body was read: %s %s", request.method, request.url.path)
        return _json(400, "la connexion a été fermée avant la fin du corps de la requête")

    @app.exception_handler(StoreError)
    async def store_failed(request: Request, exc: StoreError):
        # the remote store (CQP_GRAPH_STORE) failed us: logged in full, answered without what the store said
        log.warning("remote store failed on %s %s: %s", request.method, request.url.path, exc)
        if isinstance(exc, StoreTimeout):
            return _json(504, "le magasin SPARQL configuré n'a pas répondu à temps (CQP_GRAPH_STORE_TIMEOUT) ; "
                              "réessayez plus tard")
        return _json(502, "le magasin SPARQL configuré n'a pas répondu comme attendu ; réessayez plus tard")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # a bug of ours, not the client's: logged with its traceback, answered without internals
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _json(500, "erreur interne du serveur ; elle a été consignée")

    document_inputs(app)
