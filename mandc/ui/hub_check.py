"""Whether a visitor's Hub dataset can be read from this Space, asked with a bounded wait.

``datasets.load_dataset`` retries a Hub it cannot reach for about 25 s before it fails, and says
so in terms meant for a command line. Before loading, the Space asks the Hub for the dataset's
metadata (one small request a try, two tries within ``MANDC_APP_HUB_WAIT`` seconds): a Hub that
does not answer, or a dataset that is not there, is told to the visitor at once, in their terms.
"""

from __future__ import annotations

import time

from ..errors import DatasetLoadError
from ..settings import get_settings

TRIES = 2
PAUSE_S = 0.2
"""Between tries: enough for a dropped connection to be re-dialled, a small part of the wait."""


def unreachable_message(repo_id: str) -> str:
    return (f"The Hub dataset {repo_id!r} could not be reached from this Space; upload the "
            "images instead.")


def check_hub_dataset(repo_id: str, wait: float | None = None) -> None:
    """Raise :class:`DatasetLoadError` with a visitor's message unless the Hub describes
    ``repo_id`` within ``wait`` seconds (default: the ``app_hub_wait`` setting). Offline
    (``HF_HUB_OFFLINE=1``) nothing is asked: the ``datasets`` cache may hold it."""
    if get_settings().hub_offline:
        return
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    wait = get_settings().app_hub_wait if wait is None else wait
    deadline = time.monotonic() + wait
    api = HfApi()
    for attempt in range(TRIES):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            api.dataset_info(repo_id, timeout=left / (TRIES - attempt))
            return
        except RepositoryNotFoundError:  # the Hub answers 401/404 alike for private ones
            raise DatasetLoadError(f"There is no public Hub dataset {repo_id!r}; check the id "
                                   "(owner/name), or upload the images instead.") from None
        except HfHubHTTPError as error:
            status = getattr(error.response, "status_code", None)
            if status is not None and status < 500 and status not in (408, 429):
                raise DatasetLoadError(
                    f"The Hub would not describe the dataset {repo_id!r} to this Space (HTTP "
                    f"{status}); upload the images instead.") from None
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError):
            pass
        if attempt + 1 < TRIES:
            time.sleep(min(PAUSE_S, max(deadline - time.monotonic(), 0.0)))
    raise DatasetLoadError(unreachable_message(repo_id))
