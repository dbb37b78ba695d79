"""The OpenAI wire format: the only package that knows the API's JSON field names."""
