"""The OpenAI API emulator: the offline upstream, the test bed, and an independent bill."""
