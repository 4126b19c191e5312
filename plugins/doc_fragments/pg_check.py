# SPDX-License-Identifier: Apache-2.0
"""Documentation shared by golive's read-only PostgreSQL check modules."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - psycopg2 on the target (Debian package C(python3-psycopg2))
attributes:
  check_mode:
    support: full
    details: Read-only, so it runs normally in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
