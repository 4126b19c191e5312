# SPDX-License-Identifier: Apache-2.0
"""Documentation shared by golive's Redis modules: credentials and TLS (the options of
community.general's redis_auth_argument_spec, with TLS off by default)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - redis-py on the target (Debian package C(python3-redis))
  - certifi, only with O(tls=true) and no O(ca_certs)
options:
  login_user:
    description:
      - ACL user to authenticate as; the default user when omitted.
    type: str
  login_password:
    description:
      - Password of O(login_user) (C(requirepass) for the default user).
      - Never shown in results or messages.
    type: str
  tls:
    description:
      - Connect with TLS, to every Redis node and Sentinel the module talks to.
    type: bool
    default: false
  validate_certs:
    description:
      - Verify the server certificate when O(tls=true).
    type: bool
    default: true
  ca_certs:
    description:
      - CA bundle to verify server certificates with; certifi's bundle when omitted.
    type: str
  client_cert_file:
    description:
      - Client certificate for TLS.
    type: str
  client_key_file:
    description:
      - Private key of O(client_cert_file).
    type: str
"""
