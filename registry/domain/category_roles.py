"""A Casbin role manager for wide, shallow hierarchies.

pycasbin's default role manager copies every role of a name at each step of ``has_link``; a
data category granted by thousands of flows makes that thousands of copies per decision. This
one keeps, per name, its direct roles and separately those of them that lead further, so
``has_link`` follows only the few links that can lead somewhere: O(depth), whatever the width.
``has_link(a, b)`` is true when ``b`` is reachable from ``a`` through one to
``max_hierarchy_level`` links. Unlike Casbin's default, a name is not linked to itself:
categories, purposes and the flows granting them share one graph, and a request whose category
or purpose *is* a flow's key (``authorisation/flow``, printed in every answer) must not match
that flow: with the reflexive shortcut it was allowed for any purpose.
"""

from __future__ import annotations

from casbin.rbac import RoleManager


class WideRoleManager(RoleManager):  # type: ignore[misc]
    def __init__(self, max_hierarchy_level: int = 10) -> None:
        self.max_hierarchy_level = max_hierarchy_level
        self.clear()

    def clear(self) -> None:
        # Invariants: a name is a key of _roles only while it has roles, and _onward[name]
        # holds exactly those roles of name that are keys of _roles themselves.
        self._roles: dict[str, set[str]] = {}
        self._users: dict[str, set[str]] = {}
        self._onward: dict[str, set[str]] = {}

    def add_link(self, name1: str, name2: str, *domain: str) -> None:
        had_roles = name1 in self._roles
        self._roles.setdefault(name1, set()).add(name2)
        self._users.setdefault(name2, set()).add(name1)
        if name2 in self._roles:
            self._onward.setdefault(name1, set()).add(name2)
        if not had_roles:
            for user in self._users.get(name1, ()):
                self._onward.setdefault(user, set()).add(name1)

    def delete_link(self, name1: str, name2: str, *domain: str) -> None:
        roles = self._roles.get(name1)
        if not roles or name2 not in roles:
            return
        roles.discard(name2)
        users = self._users[name2]
        users.discard(name1)
        if not users:
            del self._users[name2]
        self._onward.get(name1, set()).discard(name2)
        if not roles:
            del self._roles[name1]
            self._onward.pop(name1, None)
            for user in self._users.get(name1, ()):
                self._onward[user].discard(name1)

    def has_link(self, name1: str, name2: str, *domain: str) -> bool:
        roles = self._roles.get(name1)
        if roles is None:
            return False
        if name2 in roles:  # most asks end here, without a walk
            return self.max_hierarchy_level > 0
        seen = {name1}
        frontier = [role for role in self._onward.get(name1, ()) if role not in seen]
        for _ in range(self.max_hierarchy_level - 1):
            if not frontier:
                return False
            seen.update(frontier)
            following: list[str] = []
            for name in frontier:
                roles = self._roles.get(name)
                if roles is None:
                    continue
                if name2 in roles:
                    return True
                following.extend(role for role in self._onward.get(name, ()) if role not in seen)
            frontier = following
        return False

    def get_roles(self, name: str, *domain: str) -> list[str]:
        return sorted(self._roles.get(name, ()))

    def get_users(self, name: str, *domain: str) -> list[str]:
        return sorted(self._users.get(name, ()))

    def print_roles(self) -> None:
        return None
