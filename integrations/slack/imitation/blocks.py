"""Block Kit checks as Slack applies them to a message (api.slack.com/reference/block-kit/blocks,
".../block-elements", ".../composition-objects"):

- a message has `text` or `blocks`; `blocks` is a list of at most 50 blocks;
- each block has a known `type`; `block_id` at most 255 characters;
- section: `text` (a text object, at most 3000 characters) or `fields` (at most 10, each at most
  2000), an optional `accessory`;
- header: plain_text at most 150; context: 1 to 10 elements; actions: 1 to 25 elements;
- a text object is {"type": "plain_text" | "mrkdwn", "text": ...} with non-empty text;
- a button: plain_text `text` at most 75, `action_id` at most 255, `value` at most 2000,
  `url` at most 3000, `style` "primary" or "danger".

A failure is reported as Slack does, `invalid_blocks` with one "[ERROR] ... [json-pointer:...]"
message per problem in `response_metadata.messages`.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BLOCK_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
# Slack truncates longer top-level text and refuses far longer; chat.postMessage's msg_too_long.
MAX_MESSAGE_TEXT = 40000

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)
ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "image",
        "multi_static_select",
        "overflow",
        "radio_buttons",
        "static_select",
        "timepicker",
        "users_select",
        "conversations_select",
        "channels_select",
    }
)


def _text_object(value: Any, pointer: str, limit: int, plain_only: bool = False) -> list[str]:
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(value, dict) or value.get("type") not in kinds:
        return [
            f"[ERROR] must be a text object of type {' or '.join(kinds)} [json-pointer:{pointer}]"
        ]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be a non-empty string [json-pointer:{pointer}/text]"]
    if len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _button(element: dict, pointer: str) -> list[str]:
    errors = _text_object(element.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, plain_only=True)
    for key, limit in (("action_id", MAX_ACTION_ID), ("value", MAX_BUTTON_VALUE), ("url", MAX_URL)):
        value = element.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(
                f"[ERROR] must be a string of at most {limit} characters "
                f"[json-pointer:{pointer}/{key}]"
            )
    if element.get("style") not in (None, "primary", "danger"):
        errors.append(f"[ERROR] must be one of primary, danger [json-pointer:{pointer}/style]")
    return errors


def _element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
        return [f"[ERROR] unknown element type [json-pointer:{pointer}/type]"]
    if element["type"] == "button":
        return _button(element, pointer)
    return []


def _block(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"[ERROR] must be an object [json-pointer:{pointer}]"]
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        return [f"[ERROR] unknown block type {kind!r} [json-pointer:{pointer}/type]"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
        errors.append(
            f"[ERROR] must be at most {MAX_BLOCK_ID} characters [json-pointer:{pointer}/block_id]"
        )
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"[ERROR] must provide text or fields [json-pointer:{pointer}]")
        if "text" in block:
            errors += _text_object(block["text"], f"{pointer}/text", MAX_SECTION_TEXT)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
                errors.append(
                    f"[ERROR] must have 1 to {MAX_FIELDS} items [json-pointer:{pointer}/fields]"
                )
            else:
                for i, field in enumerate(fields):
                    errors += _text_object(field, f"{pointer}/fields/{i}", MAX_FIELD_TEXT)
        if "accessory" in block:
            errors += _element(block["accessory"], f"{pointer}/accessory")
    elif kind == "header":
        errors += _text_object(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT, True)
    elif kind in ("context", "actions"):
        limit = MAX_CONTEXT_ELEMENTS if kind == "context" else MAX_ACTIONS_ELEMENTS
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
            errors.append(f"[ERROR] must have 1 to {limit} items [json-pointer:{pointer}/elements]")
        else:
            for i, element in enumerate(elements):
                at = f"{pointer}/elements/{i}"
                if kind == "actions":
                    errors += _element(element, at)
                elif isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                    errors += _text_object(element, at, MAX_SECTION_TEXT)
                elif not (isinstance(element, dict) and element.get("type") == "image"):
                    errors.append(f"[ERROR] must be a text or image element [json-pointer:{at}]")
    return errors


def message_problems(payload: dict) -> tuple[str, list[str]] | None:
    """None when Slack would take the message, else (error code, messages)."""
    text, blocks = payload.get("text"), payload.get("blocks")
    if text is not None and not isinstance(text, str):
        return "invalid_arguments", ["[ERROR] must be a string [json-pointer:/text]"]
    if not text and not blocks:
        return "no_text", []
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return "msg_too_long", []
    if blocks is None:
        return None
    if not isinstance(blocks, list):
        return "invalid_blocks_format", ["[ERROR] must be an array [json-pointer:/blocks]"]
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks", [
            f"[ERROR] must have at most {MAX_BLOCKS} items [json-pointer:/blocks]"
        ]
    errors = [e for i, block in enumerate(blocks) for e in _block(block, f"/blocks/{i}")]
    return ("invalid_blocks", errors) if errors else None


def buttons(blocks: list | None) -> list[tuple[str, dict]]:
    """Every button of a message with its block's id: (block_id, button)."""
    found = []
    for index, block in enumerate(blocks or []):
        block_id = block.get("block_id") or f"block-{index}"
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if block.get("type") == "section" and block.get("accessory"):
            elements.append(block["accessory"])
        found += [(block_id, e) for e in elements if e.get("type") == "button"]
    return found
