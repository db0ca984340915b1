"""botocore service models, loaded once per process, and the HTTP routes of rest-protocol operations.

A request names its service only through the SigV4 credential scope (the signing name); several
models can share one (``dynamodb`` and ``dynamodbstreams``), so the catalog keeps every model per
signing name and the parser picks the one whose target prefix or route matches.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

from ..aws_session import model_session

# Query keys botocore adds to a rest request URI for routing only, absent from older clients' requests.
_OPTIONAL_URI_QUERY_KEYS = frozenset({"x-id"})


@dataclass(frozen=True)
class LocatedMember:
    name: str
    location: str  # "header" or "querystring"
    wire_name: str  # lower case for headers
    is_list: bool


@dataclass(frozen=True)
class Route:
    """One rest operation: method, path pattern and the query keys or headers that tell it apart."""

    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    labels: Mapping[str, str]  # regex group -> input member name
    query_literals: Mapping[str, str | None]  # key -> required value (None: key only)
    optional_literals: Mapping[str, str]  # e.g. x-id=GetObject: must match when present
    required_locations: tuple[tuple[str, str], ...]  # (header|querystring, wire name) of required members
    specificity: tuple[int, int]

    def match(
        self, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str]
    ) -> dict[str, str] | None:
        """The URI label values when this route serves the request, else None."""
        # cheap dict checks first: most routes of a method differ only in their query keys
        for key, value in self.query_literals.items():
            if key not in query or (value is not None and value not in query[key]):
                return None
        for key, value in self.optional_literals.items():
            if key in query and value not in query[key]:
                return None
        for location, name in self.required_locations:
            present = name in query if location == "querystring" else headers.get(name) is not None
            if not present:
                return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {self.labels[group]: unquote(value) for group, value in found.groupdict().items()}


class ServiceCatalog:
    """Thread-safe cache of service models and routes; one instance serves a whole process."""

    def __init__(self) -> None:
        self._session = model_session()
        self._lock = threading.Lock()
        self._models: dict[str, ServiceModel] = {}
        self._routes: dict[str, dict[str, tuple[Route, ...]]] = {}
        self._located: dict[tuple[str, str], tuple[LocatedMember, ...]] = {}
        self._by_signing_name: dict[str, tuple[ServiceModel, ...]] | None = None
        self._available = frozenset(self._session.get_available_services())

    def model(self, service_name: str) -> ServiceModel:
        with self._lock:
            found = self._models.get(service_name)
        if found is None:
            found = self._session.get_service_model(service_name)
            with self._lock:
                self._models[service_name] = found
        return found

    def for_signing_name(self, signing_name: str) -> tuple[ServiceModel, ...]:
        """Models signed as ``signing_name``, the same-named service alone when there is one.

        Use ``alternatives`` when that model does not fit the request (it loads every model once).
        """
        if signing_name in self._available:
            first = self.model(signing_name)
            if first.signing_name == signing_name:
                return (first,)
        return self.alternatives(signing_name)

    def alternatives(self, signing_name: str) -> tuple[ServiceModel, ...]:
        with self._lock:
            index = self._by_signing_name
        if index is None:
            built: dict[str, list[ServiceModel]] = {}
            for name in sorted(self._available):
                model = self.model(name)
                built.setdefault(model.signing_name, []).append(model)
            index = {key: tuple(models) for key, models in built.items()}
            with self._lock:
                self._by_signing_name = index
        return index.get(signing_name, ())

    def routes(self, model: ServiceModel, method: str) -> tuple[Route, ...]:
        """The routes of ``model`` for HTTP ``method``, most specific first."""
        with self._lock:
            by_method = self._routes.get(model.service_name)
        if by_method is None:
            ordered = sorted(
                (_route(model.operation_model(name)) for name in model.operation_names),
                key=lambda r: r.specificity,
                reverse=True,
            )
            by_method = {}
            for route in ordered:
                by_method.setdefault(route.method, []).append(route)
            by_method = {key: tuple(routes) for key, routes in by_method.items()}
            with self._lock:
                self._routes[model.service_name] = by_method
        return by_method.get(method, ())

    def located_members(self, operation: OperationModel) -> tuple[LocatedMember, ...]:
        """Input members sent in the query string or a header, for parsing them out of a request."""
        key = (operation.service_model.service_name, operation.name)
        with self._lock:
            found = self._located.get(key)
        if found is None:
            shape = operation.input_shape
            found = tuple(
                LocatedMember(
                    name, location, wire.lower() if location == "header" else wire, m.type_name == "list"
                )
                for name, m in (shape.members if shape is not None else {}).items()
                if (location := m.serialization.get("location")) in ("header", "querystring")
                for wire in (m.serialization.get("name", name),)
            )
            with self._lock:
                self._located[key] = found
        return found


@cache
def catalog() -> ServiceCatalog:
    return ServiceCatalog()


def _route(operation: OperationModel) -> Route:
    http = operation.http
    uri = http.get("requestUri", "/")
    path, _, query = uri.partition("?")
    members = operation.input_shape.members if operation.input_shape is not None else {}
    by_wire_name = {m.serialization.get("name", n): n for n, m in members.items()}
    labels: dict[str, str] = {}
    regex = ["^"]
    for i, part in enumerate(re.split(r"(\{[^}]+\})", path)):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            group = f"g{i}"
            labels[group] = by_wire_name.get(name, name)
            regex.append(f"(?P<{group}>{'.+' if greedy else '[^/]+'})")
        else:
            regex.append(re.escape(part))
    pattern = "".join(regex).rstrip("/")
    literals: dict[str, str | None] = {}
    optional: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, has_value, value = pair.partition("=")
        if key in _OPTIONAL_URI_QUERY_KEYS:
            optional[key] = value
        else:
            literals[key] = value if has_value else None
    required_names = set(operation.input_shape.required_members) if operation.input_shape is not None else ()
    required = tuple(
        (location, wire.lower() if location == "header" else wire)
        for n, m in members.items()
        if n in required_names and (location := m.serialization.get("location")) in ("header", "querystring")
        for wire in (m.serialization.get("name", n),)
    )
    literal_length = len(re.sub(r"\{[^}]+\}", "", path))
    return Route(
        operation=operation,
        method=http.get("method", "POST"),
        pattern=re.compile(pattern + "/?$"),
        labels=labels,
        query_literals=literals,
        optional_literals=optional,
        required_locations=required,
        specificity=(len(literals) + len(required), literal_length),
    )
