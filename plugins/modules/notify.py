#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Documentation of the golive.ops.notify action plugin (it runs on the control node only).

DOCUMENTATION = r"""
---
module: notify
short_description: Send a deploy event to a signed webhook and/or Telegram (never fails the deploy)
description:
  - Runs on the control node (an action plugin; nothing is shipped to a host).
  - POSTs C({event, deployment, sent_at}) as JSON to O(url), with the headers
    C(X-Golive-Event) and C(X-Golive-Signature) (C(sha256=) and the hex HMAC-SHA256 of the exact
    body under O(secret)). Receivers recompute the HMAC over the raw body and compare in constant
    time.
  - With O(telegram_bot_token), also sends a one-line message to O(telegram_chat_id) through
    the Bot API at O(telegram_api_url). A 429 answer's C(parameters.retry_after) is honoured (at
    most 30 s a wait, O(telegram_retries) times).
  - A refused connection, a timeout or a non-2xx answer is a warning, never a failure.
version_added: 0.1.0
author: golive maintainers
options:
  url:
    description: Webhook URL; empty sends no webhook (and with no Telegram token, skips).
    type: str
  telegram_api_url:
    description: Telegram Bot API base URL.
    type: str
    default: https://api.telegram.org
  telegram_bot_token:
    description: Bot token; empty sends nothing to Telegram.
    type: str
  telegram_chat_id:
    description: Chat to send to (an integer; negative for groups).
    type: int
  telegram_retries:
    description: How many times a 429 answer is retried after its retry_after.
    type: int
    default: 2
  environment:
    description: Named in the Telegram message (golive_environment).
    type: str
  secret:
    description: HMAC key.
    type: str
  event:
    description: The event.
    type: str
    choices: [started, succeeded, failed, rolled_back]
    required: true
  deployment:
    description: The deployment record sent as C(deployment).
    type: dict
  timeout:
    description: Seconds the call may take.
    type: float
    default: 5
"""

EXAMPLES = r"""
- name: Tell the team
  golive.ops.notify:
    url: https://hooks.example.com/golive
    secret: "{{ vault_webhook_secret }}"
    event: succeeded
    deployment: "{{ result }}"
"""

RETURN = r"""
delivered:
  description: Whether the webhook answered 2xx.
  returned: when a URL is set
  type: bool
detail:
  description: The HTTP status or the error.
  returned: when a URL is set
  type: str
telegram_delivered:
  description: Whether Telegram accepted the message.
  returned: when a bot token is set
  type: bool
telegram_detail:
  description: The HTTP status (and the 429 waits) or the error; never the token.
  returned: when a bot token is set
  type: str
"""
