"""How a failed fetch is told: `FetchError` and the French sentences staff read.

The failures of `Fetcher` that need wording (HTTP status, rate limiting, timeouts, network
and TLS errors, the size cap) are built here, so every source tells them the same way:
what happened, in a staff member's words ("Le site a répondu 404 (page introuvable).")
rather than httpx's exception names.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Literal

import httpx

from veille.errors import VeilleError

if TYPE_CHECKING:
    from veille.sources.fetch import FetchPolicy


FetchErrorKind = Literal[
    "timeout", "network", "http", "too_large", "redirects", "robots", "rate_limited"
]

_STATUS_REASONS = {
    400: "requête refusée",
    401: "authentification requise",
    403: "accès refusé",
    404: "page introuvable",
    405: "méthode refusée",
    408: "délai dépassé côté serveur",
    410: "page supprimée",
    429: "trop de requêtes",
    500: "erreur interne du site",
    502: "passerelle en erreur",
    503: "service indisponible",
    504: "passerelle expirée",
}


class FetchError(VeilleError):
    """A fetch that failed; `str(exc)` is the sentence shown to staff."""

    def __init__(
        self,
        kind: FetchErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait, if any


def _status_error(status: int, retry_after: float | None) -> FetchError:
    if status == 429:
        return _rate_limited(status, retry_after)
    reason = _STATUS_REASONS.get(status)
    message = (
        f"Le site a répondu {status} ({reason})." if reason else f"Le site a répondu {status}."
    )
    return FetchError("http", message, status=status, retry_after=retry_after)


def _rate_limited(status: int, retry_after: float | None) -> FetchError:
    message = f"Le site demande de patienter ({status})"
    if retry_after is not None:
        message += f", nouvel essai dans {_number(retry_after)} s"
    return FetchError("rate_limited", message + ".", status=status, retry_after=retry_after)


def _too_large(max_bytes: int) -> FetchError:
    megabytes = max_bytes / (1024 * 1024)
    size = f"{_number(megabytes)} Mo" if megabytes >= 1 else f"{max_bytes // 1024} Ko"
    return FetchError("too_large", f"Réponse trop volumineuse (plus de {size}).")


def _timeout_error(seconds: float) -> FetchError:
    return FetchError(
        "timeout", f"Le site n'a pas répondu à temps (délai de {_number(seconds)} s dépassé)."
    )


def _httpx_timeout_error(exc: httpx.TimeoutException, policy: FetchPolicy) -> FetchError:
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchError(
            "timeout",
            f"Le site ne répond pas (connexion impossible en {_number(policy.connect_timeout)} s).",
        )
    if isinstance(exc, httpx.PoolTimeout):
        return _timeout_error(policy.total_timeout)
    return _timeout_error(policy.read_timeout)


def _network_error(exc: Exception) -> FetchError:
    return FetchError("network", _network_message(exc))


def _network_message(exc: Exception) -> str:
    causes = _causes(exc)
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "Impossible de joindre le site (connexion refusée)."
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        return "Impossible de joindre le site (certificat TLS invalide)."
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "Impossible de joindre le site (erreur TLS)."
    text = " ".join(str(c) for c in causes).lower()
    if "name or service not known" in text or "getaddrinfo" in text or "nodename" in text:
        return "Impossible de joindre le site (nom de domaine introuvable)."
    if "refused" in text:
        return "Impossible de joindre le site (connexion refusée)."
    if isinstance(exc, httpx.RemoteProtocolError):
        return "Le site a coupé la connexion avant la fin de la réponse."
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return "Adresse invalide."
    return f"Impossible de joindre le site (erreur réseau : {exc.__class__.__name__})."


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and its causes: httpx wraps the OSError that tells what happened."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _number(value: float) -> str:
    """French number: 20, 0,3, 2,5."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
