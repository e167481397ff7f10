"""schemathesis hooks (loaded by the CLI through SCHEMATHESIS_HOOKS): how to send a SPARQL query body.

The SPARQL 1.1 Protocol's direct POST carries the query as `application/sparql-query` text; schemathesis has no
serializer for that media type, so it is sent as UTF-8 text, like `text/plain`.

Lives here: that serializer. Not here: the run itself and its settings (tests/test_schemathesis.py).
"""

from __future__ import annotations

import schemathesis


@schemathesis.serializer("application/sparql-query")
def sparql_query(ctx, value):
    if isinstance(value, bytes):
        return {"data": value}
    return {"data": str(value).encode("utf-8", "surrogatepass")}
