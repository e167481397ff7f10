"""Content negotiation: pick the best offered media type for an Accept header.

Lives here: parsing `Accept` and choosing (RFC 9110). Not here: the media types offered (`formats`).
"""

from __future__ import annotations


def parse_accept(header: str | None) -> list[tuple[str, float, int]]:
    """(media range, q, position) sorted best first; an absent header accepts anything."""
    if not header:
        return [("*/*", 1.0, 0)]
    out = []
    for position, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            param = param.replace(" ", "").lower()
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0) if q == q else 0.0  # NaN and out-of-range weights are clamped
        out.append((media, q, position))
    return sorted(out, key=lambda item: (-item[1], _specificity(item[0]), item[2]))


def _specificity(media: str) -> int:
    if media == "*/*":
        return 2
    if media.endswith("/*"):
        return 1
    return 0


def _matches(media: str, offer: str) -> bool:
    return media == offer or media == "*/*" or (media.endswith("/*") and offer.startswith(media[:-1]))


def choose(header: str | None, offered: list[str]) -> str | None:
    """The offered type the client prefers most; None if none is acceptable.

    Each offer takes the q of the most specific range that matches it (RFC 9110 §12.5.1: `text/html;q=0, */*`
    refuses HTML even though `*/*` accepts everything); an offer whose q is 0 is not acceptable. Among offers of
    equal q, the more specific match wins, then the range listed first, then the offer listed first.
    """
    ranges = parse_accept(header)
    best, best_key = None, None
    for rank, offer in enumerate(offered):
        matching = [(_specificity(media), position, q) for media, q, position in ranges if _matches(media, offer)]
        if not matching:
            continue
        specificity, position, q = min(matching)
        if q <= 0:
            continue
        key = (-q, specificity, position, rank)
        if best_key is None or key < best_key:
            best, best_key = offer, key
    return best
