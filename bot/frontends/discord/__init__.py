"""The Discord front end: discord.py's bot with one cog per feature, and the outbox publisher."""
