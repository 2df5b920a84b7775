"""Talking to the Hub the way ``hf`` does: its token lookup, one-line errors, bounded retries.

The token comes from huggingface_hub's own lookup (``HF_TOKEN``, else the login ``hf auth login``
stored); it is passed to the client and never printed, logged or put in a message (every message
built here goes through :func:`redact`). Transient failures — HTTP 408/409/429/5xx, timeouts,
dropped connections — are retried with jittered exponential backoff, a bounded number of times
(``MANDC_HUB_ATTEMPTS``, ``MANDC_HUB_BACKOFF``); then one line says what failed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx2
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..errors import HubError
from ..settings import get_settings

TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504}
NETWORK_ERRORS = (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)


def require_online(action: str) -> None:
    """Writing needs the Hub: say so at once under ``HF_HUB_OFFLINE=1``."""
    if get_settings().hub_offline:
        raise HubError(f"{action} needs the Hub, and HF_HUB_OFFLINE=1 forbids reaching it")


def require_token() -> str:
    """The user's token, or a clear error before anything is sent."""
    token = get_token()
    if not token:
        raise HubError("no Hugging Face token: set HF_TOKEN or log in with `hf auth login` "
                       "(a write token is needed to push)")
    return token


def api_with_timeout() -> HfApi:
    """An ``HfApi`` whose requests time out after ``MANDC_HUB_TIMEOUT`` seconds.

    huggingface_hub's shared client waits forever by default; the timeout is set through its
    public ``set_client_factory`` the first time a graph-repo command runs in this process.
    """
    _install_timeout(get_settings().hub_timeout)
    return HfApi()


_TIMEOUT_INSTALLED: list[float] = []


def _install_timeout(seconds: float) -> None:
    from huggingface_hub import set_client_factory

    try:  # the default factory keeps the client's offline check and request ids; not exported
        from huggingface_hub.utils._http import default_client_factory
    except ImportError:  # a huggingface_hub without it: keep its default client
        return
    if _TIMEOUT_INSTALLED == [seconds]:
        return

    def factory() -> httpx2.Client:
        client = default_client_factory()
        client.timeout = httpx2.Timeout(seconds)
        return client

    set_client_factory(factory)
    _TIMEOUT_INSTALLED[:] = [seconds]


def whoami(api: HfApi, token: str) -> str:
    """The token's user name (the author recorded on every pushed shard)."""
    try:
        return str(api.whoami(token=token)["name"])
    except HfHubHTTPError as error:
        raise HubError(describe(error, "checking the token", token)) from None
    except NETWORK_ERRORS as error:
        raise HubError(describe(error, "checking the token", token)) from None


def redact(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def status_of(error: BaseException) -> int | None:
    """The HTTP status behind an error (looking through wrapping exceptions), else None."""
    seen = error
    while seen is not None:
        if isinstance(seen, HfHubHTTPError) and seen.response is not None:
            return seen.response.status_code
        seen = seen.__cause__ or seen.__context__
    return None


def is_transient(error: BaseException) -> bool:
    seen = error
    while seen is not None:
        if isinstance(seen, NETWORK_ERRORS):
            return True
        if isinstance(seen, HfHubHTTPError) and seen.response is not None:
            return seen.response.status_code in TRANSIENT_STATUS
        seen = seen.__cause__ or seen.__context__
    return False


def describe(error: BaseException, action: str, token: str | None = None,
             repo: str | None = None) -> str:
    """One line for a failed request: what was being done, the status and the Hub's reason."""
    where = f" {repo}" if repo else ""
    status = status_of(error)
    if isinstance(error, OfflineModeIsEnabled):
        text = f"{action}: HF_HUB_OFFLINE=1 forbids reaching the Hub"
    elif isinstance(error, RevisionNotFoundError):
        text = f"{action}: revision not found in{where}"
    elif isinstance(error, RepositoryNotFoundError) and status in (401, 404):
        text = (f"{action}: dataset repo{where} not found, or private and the token cannot "
                f"read it")
    elif status == 401:
        text = (f"{action}: the Hub refused the token (HTTP 401); check HF_TOKEN or run "
                f"`hf auth login --force`")
    elif status == 403:
        text = (f"{action}: the token may not write to{where or ' this repo'} (HTTP 403); it "
                f"needs write access to the repo's namespace")
    elif status is not None:
        reason = _server_reason(error)
        text = f"{action}: HTTP {status}{f' ({reason})' if reason else ''}"
    else:
        root = error
        while root.__cause__ is not None or root.__context__ is not None:
            root = root.__cause__ or root.__context__
        kind = "timed out" if isinstance(root, httpx2.TimeoutException) else "connection failed"
        text = f"{action}: {kind} ({type(root).__name__}: {str(root) or 'no detail'})"
    return redact(" ".join(text.split()), token)


def _server_reason(error: BaseException) -> str:
    seen = error
    while seen is not None and not isinstance(seen, HfHubHTTPError):
        seen = seen.__cause__ or seen.__context__
    if seen is None:
        return ""
    reason = getattr(seen, "server_message", None) or ""
    return " ".join(str(reason).split())[:200]


def with_retries(attempt: Callable[[int], object], *, action: str, token: str | None,
                 repo: str, retry_if: Callable[[BaseException], bool] = is_transient,
                 attempts: int | None = None, backoff: float | None = None):
    """Run ``attempt(n)`` until it returns, retrying what ``retry_if`` accepts with jittered
    exponential backoff; after the last try, one :class:`HubError` line says what failed."""
    settings = get_settings()
    attempts = attempts or settings.hub_attempts
    wait = settings.hub_backoff if backoff is None else backoff
    for number in range(1, attempts + 1):
        try:
            return attempt(number)
        except HubError:
            raise
        except Exception as error:  # noqa: BLE001 - classified, then re-raised as one line
            if not retry_if(error):
                if isinstance(error, (HfHubHTTPError, *NETWORK_ERRORS, OfflineModeIsEnabled,
                                      LocalEntryNotFoundError)):
                    raise HubError(describe(error, action, token, repo)) from None
                raise
            if number == attempts:
                raise HubError(f"{describe(error, action, token, repo)}; gave up after "
                               f"{attempts} attempts") from None
            time.sleep(min(wait * 2 ** (number - 1), wait * 16) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")
