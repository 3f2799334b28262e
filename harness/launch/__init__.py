"""QEMU brought up and driven: its argv and process, QMP, the files it loads, what goes in
(NMIs, COM2 bytes) and the memory log that comes out."""
