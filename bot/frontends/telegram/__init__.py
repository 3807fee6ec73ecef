"""The Telegram front end: python-telegram-bot `Application`, command handlers, publisher."""
