"""The chat front ends: one package per platform, each speaking only to services and render."""
