"""uvicorn's httptools protocol with bounds on the request head and body, and on connections per client.

httptools (llhttp) buffers a header however long it is, and uvicorn waits for a request head
however slowly it comes. This protocol counts the bytes received while a request's line and
headers are incomplete and answers 431 past `CQP_GRAPH_MAX_HEADER_BYTES`, without reading
more; and it closes, with 408, a connection whose request head is not complete within
`CQP_GRAPH_HEADER_TIMEOUT` seconds (slow-loris); likewise, with 408, a request whose body is not
complete within `CQP_GRAPH_BODY_TIMEOUT` seconds after its head. One client address may hold at
most `CQP_GRAPH_CLIENT_CONNECTIONS` open connections: past it, the new connection gets 429 and is
closed, so that one address cannot take every connection (`CQP_GRAPH_MAX_CONNECTIONS`).
`cqp-graph serve` uses it; with plain uvicorn:

    uvicorn cqp_graph.api:app --http cqp_graph.web.protocol:LimitedHttpToolsProtocol

Lives here: the connection layer's limits. Not here: the application (`app`), request-body limits of the
routes (`app.BodyLimit`, `api_routes`).
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cqp_graph.config import Settings


def _status(code: int, reason: str, message: str, extra: str = "") -> bytes:
    body = message.encode("utf-8")
    return (f"HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n{extra}"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("ascii") + body


class _HeadTooLarge(Exception):
    pass


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes: int | None = None  # class-wide; read from the settings on first use
    header_timeout: float | None = None
    body_timeout: float | None = None
    client_connections: int | None = None
    open_by_client: dict[str, int] = {}  # client address -> open connections (one event loop per server)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cls = type(self)
        if None in (cls.max_header_bytes, cls.header_timeout, cls.body_timeout, cls.client_connections):
            settings = Settings.from_env()
            cls.max_header_bytes = settings.max_header_bytes
            cls.header_timeout = settings.header_timeout
            cls.body_timeout = settings.body_timeout
            cls.client_connections = settings.client_connections
        self._head_bytes = 0
        self._in_head = True
        self._head_timer = None
        self._body_timer = None
        self._counted: str | None = None

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self.header_timeout:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _disarm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_too_slow(self) -> None:
        self._body_timer = None
        if self.transport.is_closing():
            return
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle.response_started:  # the app has answered already: just stop reading
            self.transport.close()
            return
        self._refuse(_status(408, "Request Timeout",
                             f"Corps de requête incomplet après {self.body_timeout:g} s "
                             "(CQP_GRAPH_BODY_TIMEOUT).\n"))

    def _refuse(self, payload: bytes) -> None:
        self._disarm_head_timer()
        self._disarm_body_timer()
        if not self.transport.is_closing():
            self.transport.write(payload)
            self.transport.close()

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            if self._head_bytes:
                self._refuse(_status(408, "Request Timeout",
                                     f"En-têtes de requête incomplets après {self.header_timeout:g} s "
                                     "(CQP_GRAPH_HEADER_TIMEOUT).\n"))
            else:  # an idle connection that never sent anything: just close it
                self.transport.close()

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._in_head, self._head_bytes = True, 0
        address = self.client[0] if self.client else ""
        opened = self.open_by_client.get(address, 0)
        if self.client_connections and opened >= self.client_connections:
            self._in_head = False  # nothing of this connection is read
            self._refuse(_status(429, "Too Many Requests",
                                 f"Trop de connexions ouvertes depuis cette adresse ({opened}, "
                                 "CQP_GRAPH_CLIENT_CONNECTIONS) ; réessayez quand l'une est fermée.\n",
                                 "retry-after: 5\r\n"))
            return
        self.open_by_client[address] = opened + 1
        self._counted = address
        self._arm_head_timer()

    def connection_lost(self, exc) -> None:
        self._disarm_head_timer()
        self._disarm_body_timer()
        if self._counted is not None:
            left = self.open_by_client.get(self._counted, 1) - 1
            if left > 0:
                self.open_by_client[self._counted] = left
            else:
                self.open_by_client.pop(self._counted, None)
            self._counted = None
        super().connection_lost(exc)

    def _too_large(self) -> None:
        self._refuse(_status(431, "Request Header Fields Too Large",
                             f"Ligne de requête et en-têtes de plus de {self.max_header_bytes} octets "
                             "(CQP_GRAPH_MAX_HEADER_BYTES).\n"))

    def data_received(self, data: bytes) -> None:  # uvicorn's, with the head counted and bounded
        if self._in_head:
            self._head_bytes += len(data)
            self._arm_head_timer()
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                return self._too_large()
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head and self._head_bytes > self.max_header_bytes:
            self._too_large()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_header_bytes:  # the whole head came in one read
            raise _HeadTooLarge()
        super().on_headers_complete()
        if self.body_timeout and self._body_timer is None:  # disarmed when the message is complete
            self._body_timer = self.loop.call_later(self.body_timeout, self._body_too_slow)

    def on_message_complete(self) -> None:
        self._disarm_body_timer()
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0  # the next bytes start the next request's head


#: what the connection layer above answers before any route runs, on every operation
TRANSPORT_ANSWERS = {
    "408": "request line, headers or body not complete in time (CQP_GRAPH_HEADER_TIMEOUT, CQP_GRAPH_BODY_TIMEOUT)",
    "429": "too many connections or requests in flight from this client address (CQP_GRAPH_CLIENT_CONNECTIONS, "
           "per-route limits); see Retry-After",
    "431": "request line and headers larger than CQP_GRAPH_MAX_HEADER_BYTES",
    "503": "the server holds CQP_GRAPH_MAX_CONNECTIONS connections already, or the work it needs is unavailable",
}


def document(app) -> None:
    """Declare, in `app`'s OpenAPI document, the answers this protocol may give on every operation."""
    generate = app.openapi

    def openapi():
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                for status, description in TRANSPORT_ANSWERS.items():
                    operation["responses"].setdefault(status, {"description": description})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
