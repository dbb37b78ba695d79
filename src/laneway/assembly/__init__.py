"""The composition root (`root`): from a `GatewayConfig` to the parts laneway runs on, in one
place; and the upstream it wires in (`upstream`). See laneway.assembly.root."""

from laneway.assembly.root import Assembly, build_gateway
from laneway.assembly.upstream import (
    EMULATOR_KEY_ENV,
    EMULATOR_PROVIDER,
    Ledger,
    Upstream,
    default_transport,
    effective_providers,
)

__all__ = [
    "EMULATOR_KEY_ENV",
    "EMULATOR_PROVIDER",
    "Assembly",
    "Ledger",
    "Upstream",
    "build_gateway",
    "default_transport",
    "effective_providers",
]
