"""laneway's own HTTP/1.1 server (asyncio protocol over httptools), shared by the emulator and
the gateway."""
