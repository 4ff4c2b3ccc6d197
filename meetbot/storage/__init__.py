"""The bot's database: stored room events (the record), the outbox, durable tasks."""
