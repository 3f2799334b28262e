"""Decoder tests (package so helpers import as tests.decoder.*)."""
