"""A stand-in for macOS's Keychain backend, which can't run here: it replaces an item by deleting
it and then adding the new one, and its add can fail (a locked keychain, a denied access prompt).

Items live in the JSON file REPLACING_KEYRING_FILE. REPLACING_KEYRING_FAIL names the user whose
replacement fails after the delete; REPLACING_KEYRING_FAIL_ALL=1 makes every add of that user fail.
"""

from __future__ import annotations

import json
import os

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError


class DeleteThenAdd(KeyringBackend):
    priority = 1

    def _items(self) -> dict:
        try:
            with open(os.environ["REPLACING_KEYRING_FILE"]) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _save(self, items: dict) -> None:
        with open(os.environ["REPLACING_KEYRING_FILE"], "w") as f:
            json.dump(items, f)

    def get_password(self, service, username):
        return self._items().get(f"{service}/{username}")

    def set_password(self, service, username, password):
        items = self._items()
        key = f"{service}/{username}"
        replacing = key in items
        if replacing:
            del items[key]
            self._save(items)
        failing = username == os.environ.get("REPLACING_KEYRING_FAIL")
        if failing and (replacing or os.environ.get("REPLACING_KEYRING_FAIL_ALL")):
            raise PasswordSetError("the keychain refused the new item")
        items[key] = password
        self._save(items)

    def delete_password(self, service, username):
        items = self._items()
        if f"{service}/{username}" not in items:
            raise PasswordDeleteError("no such item")
        del items[f"{service}/{username}"]
        self._save(items)
