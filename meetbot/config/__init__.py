"""The bot's configuration (a YAML file validated by pydantic) and its agenda files."""
