"""uvicorn's httptools protocol with bounds on the request head: size (431) and time (408).

httptools (llhttp) buffers a header however long it is, and uvicorn waits for a request head
however slowly it comes. This protocol counts the bytes received while a request's line and
headers are incomplete and answers 431 past `CQP_GRAPH_MAX_HEADER_BYTES`, without reading
more; and it closes, with 408, a connection whose request head is not complete within
`CQP_GRAPH_HEADER_TIMEOUT` seconds (slow-loris). `cqp-graph serve` uses it; with plain uvicorn:

    uvicorn cqp_graph.api:app --http cqp_graph.web.protocol:LimitedHttpToolsProtocol
"""

from __future__ import annotations

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import Settings


def _status(code: int, reason: str, message: str) -> bytes:
    body = message.encode("utf-8")
    return (f"HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("ascii") + body


class _HeadTooLarge(Exception):
    pass


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes: int | None = None  # class-wide; read from the settings on first use
    header_timeout: float | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cls = type(self)
        if cls.max_header_bytes is None or cls.header_timeout is None:
            settings = Settings.from_env()
            cls.max_header_bytes = settings.max_header_bytes
            cls.header_timeout = settings.header_timeout
        self._head_bytes = 0
        self._in_head = True
        self._head_timer = None

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self.header_timeout:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, payload: bytes) -> None:
        self._disarm_head_timer()
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
        self._arm_head_timer()

    def connection_lost(self, exc) -> None:
        self._disarm_head_timer()
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

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0  # the next bytes start the next request's head
