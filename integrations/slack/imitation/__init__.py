"""A small imitation of Slack for tests and the demo (no machine here reaches Slack).

Standalone like the Xero sandbox: plain WSGI, no Django, no database. It speaks the two ways the
product posts (incoming webhooks, chat.postMessage), checks messages as Slack does (blocks.py),
records what it received, injects faults, and clicks buttons as a person in Slack would: a
signed block_actions request to the app (interactions.py).
"""
