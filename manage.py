#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ocpizzapp.settings")
    from django.core.management import execute_from_command_line

    if sys.argv[1:2] == ["verify_deployment"]:
        # Settings that refuse to load (a missing secret) still get their named ERROR line.
        from ocpizzapp.ops.preflight import verify_settings_or_exit

        verify_settings_or_exit()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
