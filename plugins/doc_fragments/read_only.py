# SPDX-License-Identifier: Apache-2.0
"""Documentation shared by golive's read-only check modules: the action attributes."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    details: Read-only, so it runs normally in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""
