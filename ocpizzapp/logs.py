"""Log lines in UTC, as plain text or one JSON object per line (LOG_FORMAT=json).

Every log line carries UTC, marked ``Z``. Loading the settings switches the
process's local time to TIME_ZONE (Paris), so the same handler wrote UTC
before django.setup() and Paris time after, while journald, cron's logger and
the deploy scripts write the server's clock (UTC): a log read across them
jumped by an hour or two.
"""

import json
import logging
import time


class UtcFormatter(logging.Formatter):
    """Every log line in UTC, whatever the server's or the site's time zone."""

    @staticmethod
    def converter(seconds: float | None = None, /) -> time.struct_time:
        return time.gmtime(seconds)

    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class JsonFormatter(UtcFormatter):
    """One JSON object per line, for journald, Heroku and log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
