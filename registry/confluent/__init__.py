"""The Confluent Schema Registry compatible API (JSON Schema): subjects are contracts."""

from registry.confluent.routes import PREFIX, install

__all__ = ["PREFIX", "install"]
