"""Schemathesis against every service's OpenAPI document, through the gateway, as a user and
as an admin: `python -m fuzz [--budget quick|long] [--base-url URL]`."""
