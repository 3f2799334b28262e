"""Heisenvisor harness: run a built hypervisor under QEMU with a scenario and judge it."""
