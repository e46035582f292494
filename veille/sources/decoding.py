"""Reading a response body under a size cap, gzip and deflate included.

The cap is on the decoded body, checked as it grows: an endless body or a compression bomb
is stopped after `max_bytes`, never held in memory whole.
"""

from __future__ import annotations

import zlib

import httpx

from veille.sources.fetch_errors import FetchError, _too_large


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    encoded = bool(response.headers.get("content-encoding"))
    if not encoded and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    decoder = _BoundedDecoder(response.headers.get("content-encoding", ""))
    body = bytearray()
    async for raw in response.aiter_raw():
        body += decoder.decode(raw, room=max_bytes + 1 - len(body))
        if len(body) > max_bytes:  # stops endless bodies and compression bombs early
            raise _too_large(max_bytes)
    return bytes(body)


class _BoundedDecoder:
    """Undoes gzip/deflate without ever producing more than the room left under the cap.

    httpx's own decoding (`aiter_bytes`) inflates a whole network chunk at once: one
    64 KB chunk of a gzip bomb becomes ~150 MB before any cap can be checked.
    """

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        # Like httpx, unknown codings ("utf-8", "none"...) sent by broken servers are ignored.
        known = [c for c in codings if c in ("gzip", "x-gzip", "deflate")]
        if len(known) > 1:
            raise FetchError(
                "network", "Réponse illisible (compression multiple non prise en charge)."
            )
        self._coding = known[0] if known else None
        wbits = zlib.MAX_WBITS | 16 if self._coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def decode(self, data: bytes, room: int) -> bytes:
        """At most `room` (>= 1; zlib reads 0 as "no limit") bytes of output."""
        if self._coding is None:
            return data
        try:
            return self._inflate(data, room)
        except zlib.error:
            raise FetchError("network", "Réponse illisible (compression invalide).") from None

    def _inflate(self, data: bytes, room: int) -> bytes:
        if self._coding == "deflate" and not self._started:
            self._started = True
            try:
                return self._zlib.decompress(data, room)
            except zlib.error:
                # Some servers send raw deflate without the zlib header (httpx does the same).
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        if self._zlib.eof:
            return b""  # trailing bytes after the compressed stream are ignored
        return self._zlib.decompress(data, room)
