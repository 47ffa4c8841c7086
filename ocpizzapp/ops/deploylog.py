"""Lines in the deploy_logs format of the manual (chapter 4.5), in UTC like every log line."""

import datetime


def deploy_log_line(*, event: str, ok: bool, at: datetime.datetime | None = None) -> str:
    at = at or datetime.datetime.now(datetime.UTC)
    stamp = at.strftime("%Y-%m-%d_%H-%M-%S-") + f"{at.microsecond // 1000:03d}"
    return f"{stamp} : {event} > {'CORRECT' if ok else 'ERROR'}"
