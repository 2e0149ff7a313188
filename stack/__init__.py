"""Runs Feira on one machine without containers: Postgres, nginx and services under supervisord."""
