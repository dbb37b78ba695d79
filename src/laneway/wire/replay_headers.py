"""The header replay sends beside each call's body: which repeat of a workload line it is, so an
emulator draws each repeat afresh (OpenAI ignores it; the gateway forwards it)."""

REPEAT_HEADER = b"x-emulator-repeat"
