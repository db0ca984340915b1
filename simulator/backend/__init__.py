"""The AWS APIs behind the gateway: embedded moto (default), LocalStack, or any endpoint URL."""

from .base import Backend
from .factory import make_backend
from .moto_embedded import EmbeddedMoto
from .remote import RemoteEndpoint, localstack_endpoint

__all__ = ["Backend", "EmbeddedMoto", "RemoteEndpoint", "localstack_endpoint", "make_backend"]
