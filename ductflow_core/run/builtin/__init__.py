"""The core's own behaviour, written as ordinary plugins so other plugins can wrap or replace it."""
