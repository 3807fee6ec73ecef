"""Pure renderers: an event in, text or a picture out."""
