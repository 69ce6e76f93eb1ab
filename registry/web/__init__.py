"""The web pages for privacy officers, managers and auditors: Jinja templates rendered on the
server (no front-end build), calling the same services as the API and the CLI."""
